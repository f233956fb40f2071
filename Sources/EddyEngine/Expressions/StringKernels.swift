/// Kernels of the TEXT functions. They read raw UTF-8 and write one new byte buffer per batch; a `String`
/// is created only for the rare non-ASCII value that Unicode case mapping needs. Positions and lengths
/// count Unicode scalars (what Postgres counts for UTF-8 text), not bytes and not grapheme clusters: `é`
/// written as `e` + U+0301 has length 2.
enum StringKernels {
    /// Accumulates a TEXT result column.
    struct Output {
        var offsets: [Int32]
        var bytes: [UInt8]

        init(count: Int, byteCapacity: Int) {
            offsets = [0]
            offsets.reserveCapacity(count + 1)
            bytes = []
            bytes.reserveCapacity(byteCapacity)
        }

        @inline(__always)
        mutating func append(_ start: UnsafePointer<UInt8>, _ length: Int) {
            bytes.append(contentsOf: UnsafeBufferPointer(start: start, count: length))
        }

        /// Ends the current value. Traps rather than wrap past the 2 GiB a batch's offsets can address.
        @inline(__always)
        mutating func endValue() {
            offsets.append(Int32(bytes.count))
        }

        func column(validity: [UInt64]?, count: Int) -> Column {
            Column(
                type: .utf8, values: .utf8(Utf8Values(offsets: offsets, bytes: bytes)),
                validity: validity.map { Bitmap(words: $0, count: count) })
        }
    }

    /// Whether every byte is ASCII, eight bytes at a time.
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return true }
            return isASCII(base, buffer.count)
        }
    }

    @inline(__always)
    static func isASCII(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        var index = 0
        var high: UInt64 = 0
        while index + 8 <= length {
            high |= UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
            index += 8
        }
        while index < length {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    // MARK: lower / upper

    /// `lower` / `upper`. An all-ASCII batch maps its byte buffer in one pass and keeps the offsets; otherwise
    /// ASCII values are mapped bytewise and the others go through Swift's full Unicode case mapping.
    static func changeCase(_ column: Column, upper: Bool) -> Column {
        let values = column.utf8
        let count = column.count
        if isASCII(values.bytes) {
            let mapped = values.bytes.withUnsafeBufferPointer { source in
                [UInt8](unsafeUninitializedCapacity: source.count) { out, initialized in
                    for index in 0..<source.count { out[index] = mapASCII(source[index], upper: upper) }
                    initialized = source.count
                }
            }
            return Column(type: .utf8, values: .utf8(Utf8Values(offsets: values.offsets, bytes: mapped)), validity: column.validity)
        }
        var output = Output(count: count, byteCapacity: values.bytes.count)
        values.withUnsafeAccess { bytes, offsets in
            for row in 0..<count {
                let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
                if isASCII(bytes + start, length) {
                    for index in start..<(start + length) { output.bytes.append(mapASCII(bytes[index], upper: upper)) }
                } else {
                    let text = String(decoding: UnsafeBufferPointer(start: bytes + start, count: length), as: UTF8.self)
                    output.bytes.append(contentsOf: (upper ? text.uppercased() : text.lowercased()).utf8)
                }
                output.endValue()
            }
        }
        return output.column(validity: column.validity?.words, count: count)
    }

    @inline(__always)
    private static func mapASCII(_ byte: UInt8, upper: Bool) -> UInt8 {
        if upper {
            return byte &- UInt8(ascii: "a") < 26 ? byte &- 32 : byte
        }
        return byte &- UInt8(ascii: "A") < 26 ? byte &+ 32 : byte
    }

    // MARK: length

    /// Unicode scalars per value: the bytes that are not UTF-8 continuation bytes.
    static func length(_ column: Column) -> Column {
        let values = column.utf8
        let count = column.count
        let ascii = isASCII(values.bytes)
        let lengths = values.withUnsafeAccess { bytes, offsets in
            [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                for row in 0..<count {
                    let start = Int(offsets[row]), end = Int(offsets[row + 1])
                    if ascii {
                        out[row] = Int64(end - start)
                    } else {
                        var scalars = 0
                        for index in start..<end { scalars &+= bytes[index] & 0xC0 != 0x80 ? 1 : 0 }
                        out[row] = Int64(scalars)
                    }
                }
                initialized = count
            }
        }
        return .int64(lengths, validity: column.validity)
    }

    // MARK: substring

    /// `substring(s, start[, length])` with Postgres semantics: the characters at positions
    /// `start ..< start + length` (1-based) that exist, so `substring('hello', 0, 3)` is `he` and a start past
    /// the end gives ''. A negative length is an error.
    static func substring(
        _ column: Column, start: Datum, length: Datum?, count: Int, text: String
    ) throws(EngineError) -> Datum {
        if case .scalar(let value) = start, value.isNull { return .scalar(.null) }
        if let length, case .scalar(let value) = length, value.isNull { return .scalar(.null) }
        let values = column.utf8
        let ascii = isASCII(values.bytes)
        var validity = BitWords.and(column.validity?.words, start.validityWords(count: count))
        if let length { validity = BitWords.and(validity, length.validityWords(count: count)) }
        var output = Output(count: count, byteCapacity: values.bytes.count)
        var negativeLength: Int64?
        values.withUnsafeAccess { bytes, offsets in
            for row in 0..<count {
                defer { output.endValue() }
                if let validity, !BitWords.test(validity, row) { continue }
                let first = start.int64(at: row)
                var end = Int64.max  // exclusive, 1-based
                if let length {
                    let characters = length.int64(at: row)
                    if characters < 0 {
                        if negativeLength == nil { negativeLength = characters }
                        continue
                    }
                    let (sum, overflow) = first.addingReportingOverflow(characters)
                    end = overflow ? (first > 0 ? .max : .min) : sum
                }
                let from = max(first, 1)
                guard end > from else { continue }
                let rowStart = Int(offsets[row]), rowEnd = Int(offsets[row + 1])
                // Character positions → byte positions.
                let lower: Int, upper: Int
                if ascii {
                    lower = rowStart + Int(min(from - 1, Int64(rowEnd - rowStart)))
                    upper = end == .max ? rowEnd : rowStart + Int(min(end - 1, Int64(rowEnd - rowStart)))
                } else {
                    lower = advance(bytes, from: rowStart, end: rowEnd, characters: from - 1)
                    upper = end == .max ? rowEnd : advance(bytes, from: lower, end: rowEnd, characters: end - from)
                }
                if upper > lower { output.append(bytes + lower, upper - lower) }
            }
        }
        if let negativeLength {
            throw .execution("negative substring length \(negativeLength) in \(text)")
        }
        return .column(output.column(validity: validity, count: count))
    }

    /// The byte position `characters` Unicode scalars after `from`, stopping at `end`.
    @inline(__always)
    static func advance(_ bytes: UnsafePointer<UInt8>, from: Int, end: Int, characters: Int64) -> Int {
        var index = from
        var remaining = characters
        while remaining > 0 && index < end {
            index += 1
            while index < end && bytes[index] & 0xC0 == 0x80 { index += 1 }
            remaining -= 1
        }
        return index
    }

    // MARK: trim

    enum TrimSide: Sendable, Hashable {
        case both, leading, trailing
    }

    /// Removes the characters of `characters` (each one Unicode scalar, as UTF-8) from the chosen ends.
    static func trim(_ column: Column, side: TrimSide, characters: [[UInt8]]) -> Column {
        let values = column.utf8
        let count = column.count
        // One ASCII character (the default, space) is a byte test.
        let single: UInt8? = characters.count == 1 && characters[0].count == 1 ? characters[0][0] : nil
        var output = Output(count: count, byteCapacity: values.bytes.count)
        values.withUnsafeAccess { bytes, offsets in
            @inline(__always)
            func matchLength(at index: Int, end: Int) -> Int {
                if let single { return bytes[index] == single ? 1 : 0 }
                for character in characters where index + character.count <= end {
                    if character.withUnsafeBufferPointer({ ByteStrings.prefixEqual(bytes + index, $0.baseAddress!, character.count) }) {
                        return character.count
                    }
                }
                return 0
            }
            for row in 0..<count {
                var lower = Int(offsets[row]), upper = Int(offsets[row + 1])
                if side != .trailing {
                    while lower < upper {
                        let matched = matchLength(at: lower, end: upper)
                        if matched == 0 { break }
                        lower += matched
                    }
                }
                if side != .leading {
                    while upper > lower {
                        // Step back to the start of the last character.
                        var characterStart = upper - 1
                        while characterStart > lower && bytes[characterStart] & 0xC0 == 0x80 { characterStart -= 1 }
                        if matchLength(at: characterStart, end: upper) != upper - characterStart { break }
                        upper = characterStart
                    }
                }
                output.append(bytes + lower, upper - lower)
                output.endValue()
            }
        }
        return output.column(validity: column.validity?.words, count: count)
    }

    // MARK: concat

    /// Concatenates TEXT operands row by row. `skipNulls` is `concat()` (NULL operands contribute nothing and
    /// the result is never NULL); otherwise it is `||` (NULL when any operand is).
    static func concat(_ operands: [Datum], skipNulls: Bool, count: Int) -> Datum {
        var validity: [UInt64]?
        if !skipNulls {
            for operand in operands {
                if case .scalar(let value) = operand, value.isNull { return .scalar(.null) }
                validity = BitWords.and(validity, operand.validityWords(count: count))
            }
        }
        var byteCapacity = 0
        for operand in operands {
            switch operand {
            case .column(let column): byteCapacity += column.utf8.bytes.count
            case .scalar(.string(let text)): byteCapacity += text.utf8.count * count
            default: break
            }
        }
        var output = Output(count: count, byteCapacity: byteCapacity)
        // Each operand's buffers (or a scalar's bytes) are taken out once, not per row.
        enum Piece {
            case column(Utf8Values, validity: [UInt64]?)
            case constant([UInt8])
            case nothing
        }
        let pieces: [Piece] = operands.map { operand in
            switch operand {
            case .column(let column): .column(column.utf8, validity: column.validity?.words)
            case .scalar(.string(let text)): .constant(Array(text.utf8))
            case .scalar: .nothing
            case .bits: preconditionFailure("concat of a boolean operand")
            }
        }
        for row in 0..<count {
            if let validity, !BitWords.test(validity, row) {
                output.endValue()
                continue
            }
            for piece in pieces {
                switch piece {
                case .column(let values, let pieceValidity):
                    if let pieceValidity, !BitWords.test(pieceValidity, row) { continue }
                    let start = Int(values.offsets[row]), end = Int(values.offsets[row + 1])
                    values.bytes.withUnsafeBufferPointer { bytes in
                        output.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                    }
                case .constant(let bytes):
                    output.bytes.append(contentsOf: bytes)
                case .nothing:
                    break
                }
            }
            output.endValue()
        }
        return .column(output.column(validity: validity, count: count))
    }
}
