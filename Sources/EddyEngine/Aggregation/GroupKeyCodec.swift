/// Encodes a row's group key (the values of its key columns) as one byte string, so the group table
/// compares and stores keys of any column types the same way (one `memcmp`-like compare, one copy into
/// an arena) instead of dispatching on column types per row.
///
/// Encoding, column after column, little-endian:
///
/// | column type                     | bytes                                   |
/// |---------------------------------|-----------------------------------------|
/// | any, NULL                       | `00`                                    |
/// | int64, timestamp, decimal(s)    | `01` + 8 bytes two's complement         |
/// | float64                         | `01` + 8 bytes IEEE 754, normalised (-0.0 → 0.0, one NaN) |
/// | bool                            | `01` + `00` (false) or `01` (true)      |
/// | utf8                            | `01` + u32 byte length + the bytes      |
///
/// Equal keys have equal encodings and the encoding is decodable without the batch, which is what the
/// snapshot stores. Floats are normalised (Spark's NormalizeFloatingNumbers) so -0.0 and 0.0 are one
/// group and so are all NaNs.
struct GroupKeyCodec: Sendable, Hashable {
    let types: [DataType]

    /// Per-batch encoded keys: key `i` is `bytes[offsets[i] ..< offsets[i + 1]]`. Kept between batches
    /// by the operator so the buffers' capacity is reused.
    struct Buffer: Sendable {
        var offsets: [Int] = [0]
        var bytes: [UInt8] = []
        var cursors: [Int] = []

        var count: Int { offsets.count - 1 }

        mutating func removeAll() {
            offsets.removeAll(keepingCapacity: true)
            offsets.append(0)
            bytes.removeAll(keepingCapacity: true)
        }

        /// Appends one already encoded key.
        mutating func append(_ key: UnsafeRawBufferPointer) {
            bytes.append(contentsOf: key)
            offsets.append(bytes.count)
        }

        func withKey<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            let start = offsets[index], end = offsets[index + 1]
            return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        }
    }

    /// Encodes the keys of rows `0 ..< rowCount` of `columns` (the key columns, in key order).
    func encode(_ columns: [Column], rowCount: Int, into buffer: inout Buffer) {
        precondition(columns.count == types.count, "key column count differs from the codec")
        // Lengths first (column by column), then a prefix sum, then the bytes column by column.
        var offsetArray = takeArray(&buffer.offsets)
        var byteArray = takeArray(&buffer.bytes)
        var cursorArray = takeArray(&buffer.cursors)
        defer {
            buffer.offsets = offsetArray
            buffer.bytes = byteArray
            buffer.cursors = cursorArray
        }
        offsetArray.removeAll(keepingCapacity: true)
        offsetArray.append(contentsOf: repeatElement(0, count: rowCount + 1))
        var offsets = offsetArray.mutableSpan
        for column in columns {
            let words = column.validity?.words ?? []
            let hasNulls = column.validity != nil
            switch column.values {
            case .int64, .float64, .bool:
                let width = column.type == .bool ? 2 : 9
                if hasNulls {
                    for row in 0..<rowCount { offsets[row + 1] += ValidityBits.isSet(words, row) ? width : 1 }
                } else {
                    for row in 0..<rowCount { offsets[row + 1] += width }
                }
            case .utf8(let strings):
                let stringOffsets = strings.offsets.span
                for row in 0..<rowCount {
                    let present = !hasNulls || ValidityBits.isSet(words, row)
                    offsets[row + 1] += present ? 5 + Int(stringOffsets[row + 1] - stringOffsets[row]) : 1
                }
            }
        }
        for row in 0..<rowCount { offsets[row + 1] += offsets[row] }
        let total = offsets[rowCount]
        byteArray.removeAll(keepingCapacity: true)
        byteArray.append(contentsOf: repeatElement(0, count: total))
        cursorArray.removeAll(keepingCapacity: true)
        cursorArray.append(contentsOf: offsetArray[0..<rowCount])
        var cursors = cursorArray.mutableSpan
        byteArray.withUnsafeMutableBytes { out in
            for column in columns {
                let words = column.validity?.words ?? []
                let hasNulls = column.validity != nil
                switch column.values {
                case .int64(let values):
                    let span = values.span
                    for row in 0..<rowCount {
                        let at = cursors[row]
                        if hasNulls && !ValidityBits.isSet(words, row) {
                            out[at] = 0
                            cursors[row] = at + 1
                        } else {
                            out[at] = 1
                            out.storeBytes(of: span[row].littleEndian, toByteOffset: at + 1, as: Int64.self)
                            cursors[row] = at + 9
                        }
                    }
                case .float64(let values):
                    let span = values.span
                    for row in 0..<rowCount {
                        let at = cursors[row]
                        if hasNulls && !ValidityBits.isSet(words, row) {
                            out[at] = 0
                            cursors[row] = at + 1
                        } else {
                            out[at] = 1
                            let bits = GroupKeyHasher.normalizedBits(span[row])
                            out.storeBytes(of: bits.littleEndian, toByteOffset: at + 1, as: UInt64.self)
                            cursors[row] = at + 9
                        }
                    }
                case .bool(let values):
                    let span = values.span
                    for row in 0..<rowCount {
                        let at = cursors[row]
                        if hasNulls && !ValidityBits.isSet(words, row) {
                            out[at] = 0
                            cursors[row] = at + 1
                        } else {
                            out[at] = 1
                            out[at + 1] = span[row] ? 1 : 0
                            cursors[row] = at + 2
                        }
                    }
                case .utf8(let strings):
                    let stringOffsets = strings.offsets.span
                    strings.bytes.withUnsafeBytes { source in
                        for row in 0..<rowCount {
                            let at = cursors[row]
                            if hasNulls && !ValidityBits.isSet(words, row) {
                                out[at] = 0
                                cursors[row] = at + 1
                            } else {
                                let start = Int(stringOffsets[row]), length = Int(stringOffsets[row + 1]) - start
                                out[at] = 1
                                out.storeBytes(of: UInt32(length).littleEndian, toByteOffset: at + 1, as: UInt32.self)
                                if length > 0 {
                                    (out.baseAddress! + at + 5).copyMemory(from: source.baseAddress! + start, byteCount: length)
                                }
                                cursors[row] = at + 5 + length
                            }
                        }
                    }
                }
            }
        }
    }

    /// Encodes one UTF-8 value (or NULL) as the key of a single-utf8-column key.
    static func appendUTF8Key(_ value: UnsafeRawBufferPointer?, to bytes: inout [UInt8]) {
        guard let value else {
            bytes.append(0)
            return
        }
        bytes.append(1)
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: value)
    }

    /// Appends the key's values to `builders` (one per key column, in key order). The key must be well
    /// formed (encoded by `encode` or checked by `isWellFormed`).
    func decode(_ key: UnsafeRawBufferPointer, into builders: inout [ColumnBuilder]) {
        var at = 0
        for (index, type) in types.enumerated() {
            let flag = key[at]
            at += 1
            if flag == 0 {
                builders[index].appendNull()
                continue
            }
            switch type {
            case .int64, .timestamp, .date, .decimal:
                builders[index].append(Int64(littleEndian: key.loadUnaligned(fromByteOffset: at, as: Int64.self)))
                at += 8
            case .float64:
                builders[index].append(Double(bitPattern: UInt64(littleEndian: key.loadUnaligned(fromByteOffset: at, as: UInt64.self))))
                at += 8
            case .bool:
                builders[index].append(key[at] != 0)
                at += 1
            case .utf8:
                let length = Int(UInt32(littleEndian: key.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                builders[index].appendUTF8(UnsafeRawBufferPointer(rebasing: key[(at + 4)..<(at + 4 + length)]))
                at += 4 + length
            }
        }
    }

    /// Decodes keys into columns, one per key column.
    func decodeColumns(_ buffer: Buffer) -> [Column] {
        buffer.bytes.withUnsafeBytes { decodeColumns($0, offsets: buffer.offsets.dropLast(), count: buffer.count) }
    }

    /// Decodes the keys starting at `offsets[i]` in `bytes` (well formed) into one column per key
    /// column, column by column: a cursor per key walks past the columns already decoded, so each
    /// column is a tight loop on its own type.
    func decodeColumns(_ bytes: UnsafeRawBufferPointer, offsets: some Collection<Int>, count: Int) -> [Column] {
        var cursors = Array(offsets)
        precondition(cursors.count == count, "one offset per key")
        var columns: [Column] = []
        for type in types {
            var words = [UInt64](repeating: 0, count: (count + 63) >> 6)
            var nulls = 0
            func present(_ index: Int) -> Bool {
                let at = cursors[index]
                cursors[index] = at + 1
                if bytes[at] == 0 {
                    nulls += 1
                    return false
                }
                words[index >> 6] |= 1 << UInt64(index & 63)
                return true
            }
            let values: ColumnValues
            switch type {
            case .int64, .timestamp, .date, .decimal:
                var ints = [Int64](repeating: 0, count: count)
                for index in 0..<count where present(index) {
                    ints[index] = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: cursors[index], as: Int64.self))
                    cursors[index] += 8
                }
                values = .int64(ints)
            case .float64:
                var doubles = [Double](repeating: 0, count: count)
                for index in 0..<count where present(index) {
                    doubles[index] = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: cursors[index], as: UInt64.self)))
                    cursors[index] += 8
                }
                values = .float64(doubles)
            case .bool:
                var bools = [Bool](repeating: false, count: count)
                for index in 0..<count where present(index) {
                    bools[index] = bytes[cursors[index]] != 0
                    cursors[index] += 1
                }
                values = .bool(bools)
            case .utf8:
                var stringOffsets: [Int32] = [0]
                stringOffsets.reserveCapacity(count + 1)
                var stringBytes: [UInt8] = []
                for index in 0..<count {
                    if present(index) {
                        let at = cursors[index]
                        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                        stringBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(at + 4)..<(at + 4 + length)]))
                        cursors[index] = at + 4 + length
                    }
                    stringOffsets.append(Int32(stringBytes.count))
                }
                values = .utf8(Utf8Values(offsets: stringOffsets, bytes: stringBytes))
            }
            columns.append(Column(type: type, values: values, validity: nulls == 0 ? nil : Bitmap(words: words, count: count)))
        }
        return columns
    }

    /// The key hashes (before `GroupKeyHasher.finalize`) of the keys in `buffer`, computed exactly as
    /// for batch rows: decode into columns, then hash column by column.
    func keyHashes(_ buffer: Buffer) -> [UInt64] {
        var hashes = [UInt64](repeating: GroupKeyHasher.seed, count: buffer.count)
        for column in decodeColumns(buffer) { GroupKeyHasher.combineColumn(column, into: &hashes) }
        return hashes
    }

    /// Orders two well-formed keys as output rows are ordered: column by column, NULL first, then values
    /// ascending (numbers by value, NaN after every number; strings by bytes; false before true).
    func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        var atA = 0, atB = 0
        for type in types {
            let flagA = a[atA], flagB = b[atB]
            atA += 1
            atB += 1
            if flagA != flagB { return flagA < flagB ? -1 : 1 }
            if flagA == 0 { continue }
            switch type {
            case .int64, .timestamp, .date, .decimal:
                let x = Int64(littleEndian: a.loadUnaligned(fromByteOffset: atA, as: Int64.self))
                let y = Int64(littleEndian: b.loadUnaligned(fromByteOffset: atB, as: Int64.self))
                if x != y { return x < y ? -1 : 1 }
                atA += 8
                atB += 8
            case .float64:
                let x = Double(bitPattern: UInt64(littleEndian: a.loadUnaligned(fromByteOffset: atA, as: UInt64.self)))
                let y = Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: atB, as: UInt64.self)))
                let order = Self.compareFloats(x, y)
                if order != 0 { return order }
                atA += 8
                atB += 8
            case .bool:
                if a[atA] != b[atB] { return a[atA] < b[atB] ? -1 : 1 }
                atA += 1
                atB += 1
            case .utf8:
                let lengthA = Int(UInt32(littleEndian: a.loadUnaligned(fromByteOffset: atA, as: UInt32.self)))
                let lengthB = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: atB, as: UInt32.self)))
                let order = Self.compareBytes(
                    UnsafeRawBufferPointer(rebasing: a[(atA + 4)..<(atA + 4 + lengthA)]),
                    UnsafeRawBufferPointer(rebasing: b[(atB + 4)..<(atB + 4 + lengthB)]))
                if order != 0 { return order }
                atA += 4 + lengthA
                atB += 4 + lengthB
            }
        }
        return 0
    }

    /// An order-preserving 64-bit prefix of the first key column: keys with smaller prefixes sort first;
    /// equal prefixes need `compare`. NULL maps to 0 (first).
    func sortPrefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        guard let type = types.first, key[0] != 0 else { return 0 }
        switch type {
        case .int64, .timestamp, .date, .decimal:
            return UInt64(bitPattern: Int64(littleEndian: key.loadUnaligned(fromByteOffset: 1, as: Int64.self))) ^ (1 << 63)
        case .float64:
            let bits = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
            // Negative floats: flip every bit; positive: flip the sign. The canonical NaN is positive and
            // above +infinity, as `compareFloats` orders it.
            return bits & (1 << 63) != 0 ? ~bits : bits ^ (1 << 63)
        case .bool:
            return UInt64(key[1]) + 1
        case .utf8:
            let length = Int(UInt32(littleEndian: key.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
            var prefix: UInt64 = 0
            for index in 0..<8 {
                prefix <<= 8
                if index < length { prefix |= UInt64(key[5 + index]) }
            }
            return prefix
        }
    }

    /// Whether `key` is a canonical encoding for these types: flags 0 or 1, every length inside the key,
    /// floats normalised, bools 0 or 1, nothing left over. Snapshot restore checks every key with this
    /// before any other code reads it.
    func isWellFormed(_ key: UnsafeRawBufferPointer) -> Bool {
        var at = 0
        for type in types {
            guard at < key.count else { return false }
            let flag = key[at]
            at += 1
            if flag == 0 { continue }
            guard flag == 1 else { return false }
            switch type {
            case .int64, .timestamp, .date, .decimal:
                guard key.count - at >= 8 else { return false }
                at += 8
            case .float64:
                guard key.count - at >= 8 else { return false }
                let bits = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                guard GroupKeyHasher.normalizedBits(Double(bitPattern: bits)) == bits else { return false }
                at += 8
            case .bool:
                guard at < key.count, key[at] <= 1 else { return false }
                at += 1
            case .utf8:
                guard key.count - at >= 4 else { return false }
                let length = Int(UInt32(littleEndian: key.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                guard key.count - at - 4 >= length else { return false }
                at += 4 + length
            }
        }
        return at == key.count
    }

    /// Floats in output order: numbers ascending (-0.0 == 0.0), NaN after every number (Spark's order).
    @inline(__always)
    static func compareFloats(_ x: Double, _ y: Double) -> Int {
        if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    /// Byte-wise lexicographic order (UTF-8 byte order is code point order).
    @inline(__always)
    static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = Swift.min(a.count, b.count)
        var index = 0
        while index + 8 <= common {
            let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            index += 8
        }
        while index < common {
            if a[index] != b[index] { return a[index] < b[index] ? -1 : 1 }
            index += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Byte equality with word-sized loads (keys are short; no call into the C library).
    @inline(__always)
    static func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var index = 0
        while index + 8 <= count {
            if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
                return false
            }
            index += 8
        }
        if count - index >= 4 {
            if a.loadUnaligned(fromByteOffset: index, as: UInt32.self) != b.loadUnaligned(fromByteOffset: index, as: UInt32.self) {
                return false
            }
            index += 4
        }
        while index < count {
            if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
            index += 1
        }
        return true
    }
}
