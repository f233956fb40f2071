import EddyEngine

/// Decodes JSON objects (one per Kafka message, or one per line) into the columns of a declared
/// schema. Only the schema's fields are decoded; everything else is skipped by scanning, which is what
/// makes a narrow projection of a wide event cheap.
///
/// ## Fields and paths
/// A field name is a path of object keys separated by dots: `device.id` reads `{"device":{"id":…}}`.
/// Keys are matched byte for byte after unescaping (case-sensitive); a key that itself contains a dot
/// cannot be addressed. A name cannot be both a value and a prefix of another name (`device` and
/// `device.id`). Keys the schema does not name are skipped whatever their value (string, number,
/// literal, object, array). Arrays are never decoded (there is no array column type yet).
///
/// ## Records
/// - A record is one JSON object, optionally surrounded by whitespace. Anything else fails:
///   `.notAnObject` for another JSON value, `.malformedJSON` for a syntax error, `.tooLarge` past
///   `maxRecordBytes`, `.tooDeep` past `maxDepth` levels of nesting.
/// - A failed record appends nothing: every column keeps the row count it had before the record.
/// - A missing field, JSON `null`, or `null` for an enclosing object (`"device": null`) gives a null;
///   for a NOT NULL field that fails the record with `.missingField`.
/// - Duplicate keys: the last occurrence wins, including a later `null` over an earlier value. A value
///   that fails to convert fails the record even if a later duplicate would have been valid.
/// - Validation: strings that are decoded are checked for well-formed UTF-8, JSON escapes and raw
///   control characters; skipped values are checked for JSON structure and escape syntax (enough to
///   find their end and reject broken records) but skipped strings are not UTF-8 validated.
///
/// ## Coercions (JSON value → column type); anything not listed fails with `.typeMismatch`
/// - `BOOLEAN` ← `true`/`false`; ← the strings `"true"`/`"false"` (ASCII case-insensitive).
/// - `BIGINT` ← a number whose value is an exact integer in Int64's range: `42`, `-7`, and also `1.0`,
///   `1e3`, `12.50e1` (exact integers written with a fraction or exponent); `1.5` fails (not an
///   integer), `9223372036854775808` fails (out of range). ← a string holding such a number (`"42"`).
/// - `DOUBLE` ← any number, correctly rounded (exact power-of-ten fast path, else `strtod`); ← a string
///   holding a number; ← the strings `"NaN"`, `"Infinity"`, `"+Infinity"`, `"-Infinity"`.
/// - `DECIMAL(18,s)` ← a number or a string holding one, computed exactly from its digits (never via a
///   Double); exponents allowed (`1.5e2`); digits beyond scale `s` are rounded half away from zero
///   (`0.125` → `0.13`, `-0.125` → `-0.13`); a result with more than 18 digits fails (out of range).
/// - `TEXT` ← a string, unescaped (`\" \\ \/ \b \f \n \r \t \uXXXX`, surrogate pairs combined into one
///   code point; a lone surrogate fails with `.invalidUTF8`); ← a number or `true`/`false`, kept as
///   their literal JSON text (`1.50e2` stays `"1.50e2"`). Objects and arrays fail.
/// - `TIMESTAMP` (epoch milliseconds, UTC) ← a number in `options.epochUnit` (sub-millisecond parts
///   truncated toward negative infinity; out of Int64 range fails); ← an ISO-8601 string
///   `2026-11-22T04:18:27.123Z`: `T`, `t` or a space between date and time, seconds optional, any
///   number of fraction digits (truncated to milliseconds), `Z`, `+hh:mm`, `-hh:mm`, `+hhmm` or `+hh`
///   offsets, no zone = UTC, or a date alone `2026-11-22` (midnight UTC); ← a string holding an epoch
///   number (`"1795321107123"`).
/// - Strings are never trimmed: `" 42"` is not a number.
///
/// Failure reasons give byte offsets counted from the start of the record.
public struct JSONRowDecoder: Sendable {
    public let schema: Schema
    public let options: JSONDecodeOptions
    /// Rows appended since the last `finish()`.
    public private(set) var rowCount = 0

    private var builders: [ColumnBuilder]
    private let kinds: [ColumnKind]
    private let nullable: [Bool]
    private let table: JSONPathTable
    /// Per node: where the next key lookup starts (see `JSONPathTable`).
    private var hints: [Int]
    /// Per column: the generation of the record that set it (a value or a null was appended).
    private var seenStamp: [UInt32]
    /// Per column: the generation of the record that gave it `null` (for the NOT NULL message).
    private var nullStamp: [UInt32]
    /// Counts records; never 0 while a record is decoded, so a zero stamp means "not this record".
    private var generation: UInt32 = 0
    /// Columns set by the current record.
    private var seenCount = 0
    /// Unescaped strings and keys.
    private var scratch: [UInt8] = []
    /// One bit per container open in a skipped value (see `skipValue`), room for `maxDepth` levels.
    private var skipStack: [UInt64]
    private let epochScale: Int

    public init(schema: Schema, options: JSONDecodeOptions = .init()) throws(EngineError) {
        guard options.maxRecordBytes > 0 else {
            throw .configuration("JSON maxRecordBytes must be positive, not \(options.maxRecordBytes)")
        }
        guard (1...JSONDecodeOptions.maxDepthLimit).contains(options.maxDepth) else {
            throw .configuration("JSON maxDepth must be within 1...\(JSONDecodeOptions.maxDepthLimit), not \(options.maxDepth)")
        }
        self.schema = schema
        self.options = options
        table = try JSONPathTable(schema: schema)
        builders = schema.fields.map { ColumnBuilder($0.type, capacity: 1024) }
        kinds = schema.fields.map { ColumnKind($0.type) }
        nullable = schema.fields.map(\.nullable)
        hints = Array(repeating: 0, count: table.nodeCount)
        seenStamp = Array(repeating: 0, count: schema.count)
        nullStamp = Array(repeating: 0, count: schema.count)
        epochScale = options.epochUnit.millisecondScale
        skipStack = Array(repeating: 0, count: options.maxDepth / 64 + 1)
        scratch.reserveCapacity(256)
    }

    /// Drops the rows decoded after the first `rows` (a caller taking a message whole or not at all,
    /// such as a Kafka record whose key did not decode).
    public mutating func truncate(toRows rows: Int) {
        precondition(rows <= rowCount, "cannot truncate \(rowCount) rows to \(rows)")
        for index in builders.indices { builders[index].truncate(to: rows) }
        rowCount = rows
    }

    /// Decodes one record (e.g. a Kafka message value). Appends exactly one row to every column and
    /// returns nil, or appends nothing and returns why. The failure's `byteRange` covers the record.
    public mutating func appendRecord(_ bytes: UnsafeRawBufferPointer) -> DecodeFailure? {
        guard let start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            return DecodeFailure(byteRange: 0..<0, code: .malformedJSON,
                                 reason: "malformed JSON at byte 0: empty record, expected a JSON object")
        }
        guard var failure = decode(start, start + bytes.count) else { return nil }
        failure.byteRange = 0..<bytes.count
        return failure
    }

    /// Decodes JSON lines: records separated by `\n` (a `\r` before it is dropped); blank lines
    /// (nothing but spaces and tabs) are skipped. Each failure is appended to `failures` with its line
    /// number (`firstLineNumber` is the number of the buffer's first line) and the line's byte range in
    /// `buffer` (without the terminator), so the caller can dead-letter the raw bytes. The buffer
    /// should end at a line boundary; a last line without `\n` is decoded as a whole line.
    /// Returns the number of rows appended.
    public mutating func appendLines(
        _ buffer: UnsafeRawBufferPointer, firstLineNumber: Int, failures: inout [DecodeFailure]
    ) -> Int {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let end = base + buffer.count
        var lineStart = base
        var lineNumber = firstLineNumber
        var appended = 0
        while lineStart < end {
            let newline = SWAR.find(UInt8(ascii: "\n"), lineStart, end)
            var lineEnd = newline
            if lineEnd > lineStart && lineEnd[-1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            if !Self.isBlank(lineStart, lineEnd) {
                if var failure = decode(lineStart, lineEnd) {
                    failure.line = lineNumber
                    failure.byteRange = (lineStart - base)..<(lineEnd - base)
                    failures.append(failure)
                } else {
                    appended += 1
                }
            }
            lineNumber += 1
            lineStart = newline + 1
        }
        return appended
    }

    /// The decoded rows as a batch of the declared schema; the decoder starts over, keeping its
    /// buffers' capacity.
    public mutating func finish() -> RecordBatch {
        defer { rowCount = 0 }
        if builders.isEmpty { return RecordBatch(emptyColumnsWithCount: rowCount) }
        var columns: [Column] = []
        columns.reserveCapacity(builders.count)
        for index in builders.indices { columns.append(builders[index].finish()) }
        return RecordBatch(schema: schema, columns: columns)
    }

    // MARK: - Records

    @inline(__always)
    private static func isBlank(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        var pointer = start
        while pointer < end {
            let byte = pointer.pointee
            if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\r") { return false }
            pointer += 1
        }
        return true
    }

    private mutating func decode(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> DecodeFailure? {
        if end - start > options.maxRecordBytes {
            return DecodeFailure(
                code: .tooLarge,
                reason: "record of \(end - start) bytes exceeds the limit of \(options.maxRecordBytes) bytes")
        }
        generation &+= 1
        if generation == 0 {
            for index in seenStamp.indices {
                seenStamp[index] = 0
                nullStamp[index] = 0
            }
            generation = 1
        }
        seenCount = 0
        let input = Input(base: start, end: end)
        do throws(JSONFault) {
            try parseRecord(input)
            try completeRow()
        } catch {
            for index in builders.indices { builders[index].truncate(to: rowCount) }
            return failure(error, input)
        }
        rowCount += 1
        return nil
    }

    /// Fills the columns the record did not set with nulls, or fails on a NOT NULL one.
    @inline(__always)
    private mutating func completeRow() throws(JSONFault) {
        guard seenCount != builders.count else { return }
        for column in builders.indices where seenStamp[column] != generation {
            guard nullable[column] else {
                throw JSONFault(.missing(column: column, wasNull: nullStamp[column] == generation), at: 0)
            }
            builders[column].appendNull()
        }
    }

    /// Marks `column` as set by this record; a duplicate key drops the earlier value (last one wins).
    @inline(__always)
    private mutating func willSet(_ column: Int) {
        if seenStamp[column] == generation {
            builders[column].truncate(to: rowCount)
        } else {
            seenStamp[column] = generation
            seenCount += 1
        }
    }

    /// A `null` for `column`: drops a value an earlier duplicate key set; `completeRow` appends the null.
    @inline(__always)
    private mutating func setNull(_ column: Int) {
        if seenStamp[column] == generation {
            builders[column].truncate(to: rowCount)
            seenStamp[column] = 0
            seenCount -= 1
        }
        nullStamp[column] = generation
    }

    // MARK: - Parsing

    private struct Input {
        let base: UnsafePointer<UInt8>
        let end: UnsafePointer<UInt8>

        @inline(__always)
        func offset(_ pointer: UnsafePointer<UInt8>) -> Int { pointer - base }
    }

    @inline(__always)
    private static func skipWhitespace(_ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) {
        while pointer < end {
            let byte = pointer.pointee
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            pointer += 1
        }
    }

    private mutating func parseRecord(_ input: Input) throws(JSONFault) {
        var pointer = input.base
        Self.skipWhitespace(&pointer, input.end)
        guard pointer < input.end else {
            throw JSONFault(.malformed("empty record, expected a JSON object"), at: input.offset(pointer))
        }
        guard pointer.pointee == UInt8(ascii: "{") else {
            if let found = JSONFault.Found(firstByte: pointer.pointee) {
                // Say "not an object" only for a well-formed JSON value (`not json` is malformed, not null).
                let start = pointer
                try skipValue(depth: 1, &pointer, input)
                Self.skipWhitespace(&pointer, input.end)
                guard pointer == input.end else {
                    throw JSONFault(.malformed("unexpected data after the value"), at: input.offset(pointer))
                }
                throw JSONFault(.notAnObject(found), at: input.offset(start))
            }
            throw JSONFault(.malformed("expected '{'"), at: input.offset(pointer))
        }
        pointer += 1
        try parseObject(node: 0, depth: 1, &pointer, input)
        Self.skipWhitespace(&pointer, input.end)
        guard pointer == input.end else {
            throw JSONFault(.malformed("unexpected data after the object"), at: input.offset(pointer))
        }
    }

    /// The members of an object whose `{` was just read, up to and including its `}`.
    private mutating func parseObject(
        node: Int, depth: Int, _ pointer: inout UnsafePointer<UInt8>, _ input: Input
    ) throws(JSONFault) {
        let end = input.end
        Self.skipWhitespace(&pointer, end)
        guard pointer < end else { throw JSONFault(.malformed("expected '\"' or '}'"), at: input.offset(pointer)) }
        if pointer.pointee == UInt8(ascii: "}") {
            pointer += 1
            return
        }
        while true {
            guard pointer < end, pointer.pointee == UInt8(ascii: "\"") else {
                throw JSONFault(.malformed("expected '\"' to start a key"), at: input.offset(pointer))
            }
            pointer += 1
            let target: JSONPathTable.Target?
            let position = hints[node]
            if let predicted = table.predict(node: node, position: position, key: &pointer, end: end) {
                target = predicted
                hints[node] = table.positionAfterPrediction(node: node, position: position)
            } else {
                let keyStart = pointer
                let (keyEnd, keyEscaped) = try Self.scanString(&pointer, input, validateUTF8: false)
                if !keyEscaped {
                    target = table.lookup(
                        node: node, key: keyStart, length: keyEnd - keyStart, readableEnd: end, hint: &hints[node])
                } else {
                    target = try lookupEscapedKey(node: node, keyStart, keyEnd, input)
                }
            }
            Self.skipWhitespace(&pointer, end)
            guard pointer < end, pointer.pointee == UInt8(ascii: ":") else {
                throw JSONFault(.malformed("expected ':' after a key"), at: input.offset(pointer))
            }
            pointer += 1
            Self.skipWhitespace(&pointer, end)
            if let target {
                if target >= 0 {
                    try parseValue(column: Int(target), &pointer, input)
                } else {
                    try parseNested(node: Int(-target - 1), depth: depth, &pointer, input)
                }
            } else {
                try skipValue(depth: depth, &pointer, input)
            }
            Self.skipWhitespace(&pointer, end)
            guard pointer < end else { throw JSONFault(.malformed("expected ',' or '}'"), at: input.offset(pointer)) }
            let byte = pointer.pointee
            pointer += 1
            if byte == UInt8(ascii: ",") {
                Self.skipWhitespace(&pointer, end)
                continue
            }
            if byte == UInt8(ascii: "}") { return }
            throw JSONFault(.malformed("expected ',' or '}'"), at: input.offset(pointer - 1))
        }
    }

    private mutating func lookupEscapedKey(
        node: Int, _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ input: Input
    ) throws(JSONFault) -> JSONPathTable.Target? {
        try unescape(start, end, input)
        let key = scratch
        return key.withUnsafeBufferPointer { buffer -> JSONPathTable.Target? in
            guard let keyBase = buffer.baseAddress else { return nil }
            var hint = 0
            return table.lookup(node: node, key: keyBase, length: buffer.count, readableEnd: keyBase + buffer.count,
                                hint: &hint)
        }
    }

    /// The value of a key that holds schema fields below it: an object, or `null` (all of them null).
    private mutating func parseNested(
        node: Int, depth: Int, _ pointer: inout UnsafePointer<UInt8>, _ input: Input
    ) throws(JSONFault) {
        guard pointer < input.end else { throw JSONFault(.malformed("expected a value"), at: input.offset(pointer)) }
        let byte = pointer.pointee
        if byte == UInt8(ascii: "{") {
            guard depth < options.maxDepth else { throw JSONFault(.tooDeep, at: input.offset(pointer)) }
            pointer += 1
            try parseObject(node: node, depth: depth + 1, &pointer, input)
            return
        }
        if byte == UInt8(ascii: "n") {
            try Self.expectLiteral("null", &pointer, input)
            let leaves = table.nodes[node]
            for index in leaves.leafStart..<(leaves.leafStart + leaves.leafCount) {
                setNull(Int(table.leafColumns[index]))
            }
            return
        }
        let valueStart = pointer
        try skipValue(depth: depth, &pointer, input)
        let found = JSONFault.Found(firstByte: byte) ?? .string
        throw JSONFault(.objectExpected(node: node, found: found), at: input.offset(valueStart),
                        foundEnd: input.offset(pointer))
    }

    /// A value for `column`: decoded, converted and appended.
    @inline(__always)
    private mutating func parseValue(column: Int, _ pointer: inout UnsafePointer<UInt8>, _ input: Input) throws(JSONFault) {
        let end = input.end
        guard pointer < end else { throw JSONFault(.malformed("expected a value"), at: input.offset(pointer)) }
        let kind = kinds[column]
        let byte = pointer.pointee
        if byte == UInt8(ascii: "\"") {
            let valueStart = pointer
            pointer += 1
            let textStart = pointer
            let (textEnd, escaped) = try Self.scanString(&pointer, input, validateUTF8: true)
            willSet(column)
            let detail: MismatchDetail?
            if !escaped {
                if kind == .utf8 {
                    builders[column].appendUTF8(UnsafeRawBufferPointer(start: textStart, count: textEnd - textStart))
                    return
                }
                detail = TextCoercion.append(text: textStart, textEnd, kind: kind, epochScale: epochScale,
                                             to: &builders[column])
            } else {
                try unescape(textStart, textEnd, input)
                let text = scratch
                detail = text.withUnsafeBufferPointer { buffer -> MismatchDetail? in
                    let textBase = buffer.baseAddress ?? textStart
                    return TextCoercion.append(text: textBase, textBase + buffer.count, kind: kind,
                                               epochScale: epochScale, to: &builders[column])
                }
            }
            if let detail {
                throw JSONFault(.mismatch(column: column, found: .string, detail: detail),
                                at: input.offset(valueStart), foundEnd: input.offset(pointer))
            }
            return
        }
        if byte == UInt8(ascii: "-") || byte &- 48 <= 9 {
            var number = ScannedNumber()
            guard let numberEnd = ScannedNumber.scan(pointer, end, allowPlus: false, into: &number) else {
                throw JSONFault(.malformed("invalid number"), at: input.offset(pointer))
            }
            willSet(column)
            if let detail = TextCoercion.append(number: number, text: pointer, numberEnd, kind: kind,
                                                epochScale: epochScale, to: &builders[column]) {
                throw JSONFault(.mismatch(column: column, found: .number, detail: detail),
                                at: input.offset(pointer), foundEnd: input.offset(numberEnd))
            }
            pointer = numberEnd
            return
        }
        switch byte {
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            let value = byte == UInt8(ascii: "t")
            let literalStart = pointer
            try Self.expectLiteral(value ? "true" : "false", &pointer, input)
            willSet(column)
            switch kind {
            case .bool:
                builders[column].append(value)
            case .utf8:
                builders[column].appendUTF8(UnsafeRawBufferPointer(start: literalStart, count: pointer - literalStart))
            default:
                throw JSONFault(.mismatch(column: column, found: value ? .true : .false, detail: .invalid),
                                at: input.offset(literalStart), foundEnd: input.offset(pointer))
            }
        case UInt8(ascii: "n"):
            try Self.expectLiteral("null", &pointer, input)
            setNull(column)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw JSONFault(.mismatch(column: column, found: byte == UInt8(ascii: "{") ? .object : .array,
                                      detail: .invalid), at: input.offset(pointer))
        default:
            throw JSONFault(.malformed("expected a value"), at: input.offset(pointer))
        }
    }

    /// Skips any JSON value, checking its structure; `depth` is that of the enclosing container.
    ///
    /// Iterative, not recursive: how deeply skipped values nest is up to the input, and the thread's
    /// stack must not be. Open containers are kept as bits in `skipStack` (1 = object, 0 = array).
    private mutating func skipValue(depth: Int, _ pointer: inout UnsafePointer<UInt8>, _ input: Input) throws(JSONFault) {
        let end = input.end
        var level = 0  // containers opened inside this value and not yet closed
        while true {
            // A value at `pointer`.
            guard pointer < end else { throw JSONFault(.malformed("expected a value"), at: input.offset(pointer)) }
            let byte = pointer.pointee
            switch byte {
            case UInt8(ascii: "\""):
                pointer += 1
                _ = try Self.scanString(&pointer, input, validateUTF8: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var number = ScannedNumber()
                guard let numberEnd = ScannedNumber.scan(pointer, end, allowPlus: false, into: &number) else {
                    throw JSONFault(.malformed("invalid number"), at: input.offset(pointer))
                }
                pointer = numberEnd
            case UInt8(ascii: "t"): try Self.expectLiteral("true", &pointer, input)
            case UInt8(ascii: "f"): try Self.expectLiteral("false", &pointer, input)
            case UInt8(ascii: "n"): try Self.expectLiteral("null", &pointer, input)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth + level < options.maxDepth else { throw JSONFault(.tooDeep, at: input.offset(pointer)) }
                let isObject = byte == UInt8(ascii: "{")
                pushSkipLevel(level, isObject: isObject)
                level += 1
                pointer += 1
                Self.skipWhitespace(&pointer, end)
                if pointer < end && pointer.pointee == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    pointer += 1
                    level -= 1
                } else {
                    if isObject { try Self.skipKeyAndColon(&pointer, input) }
                    continue  // the container's first value
                }
            default:
                throw JSONFault(.malformed("expected a value"), at: input.offset(pointer))
            }
            // After a complete value: close containers, or move on to the next member.
            var nextMember = false
            while level > 0 && !nextMember {
                let isObject = skipLevelIsObject(level - 1)
                Self.skipWhitespace(&pointer, end)
                guard pointer < end else {
                    throw JSONFault(.malformed(isObject ? "expected ',' or '}'" : "expected ',' or ']'"), at: input.offset(pointer))
                }
                let separator = pointer.pointee
                pointer += 1
                if separator == UInt8(ascii: ",") {
                    Self.skipWhitespace(&pointer, end)
                    if isObject { try Self.skipKeyAndColon(&pointer, input) }
                    nextMember = true
                } else if separator == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    level -= 1
                } else {
                    throw JSONFault(.malformed(isObject ? "expected ',' or '}'" : "expected ',' or ']'"),
                                    at: input.offset(pointer - 1))
                }
            }
            if level == 0 { return }
        }
    }

    /// `"key" :` of a skipped object's member, leaving `pointer` at the value.
    @inline(__always)
    private static func skipKeyAndColon(_ pointer: inout UnsafePointer<UInt8>, _ input: Input) throws(JSONFault) {
        guard pointer < input.end, pointer.pointee == UInt8(ascii: "\"") else {
            throw JSONFault(.malformed("expected '\"' to start a key"), at: input.offset(pointer))
        }
        pointer += 1
        _ = try scanString(&pointer, input, validateUTF8: false)
        skipWhitespace(&pointer, input.end)
        guard pointer < input.end, pointer.pointee == UInt8(ascii: ":") else {
            throw JSONFault(.malformed("expected ':' after a key"), at: input.offset(pointer))
        }
        pointer += 1
        skipWhitespace(&pointer, input.end)
    }

    @inline(__always)
    private mutating func pushSkipLevel(_ level: Int, isObject: Bool) {
        let bit: UInt64 = 1 << UInt64(level & 63)
        if isObject {
            skipStack[level >> 6] |= bit
        } else {
            skipStack[level >> 6] &= ~bit
        }
    }

    @inline(__always)
    private func skipLevelIsObject(_ level: Int) -> Bool {
        skipStack[level >> 6] & (1 << UInt64(level & 63)) != 0
    }

    @inline(__always)
    private static func expectLiteral(
        _ literal: StaticString, _ pointer: inout UnsafePointer<UInt8>, _ input: Input
    ) throws(JSONFault) {
        let count = literal.utf8CodeUnitCount
        guard input.end - pointer >= count else {
            throw JSONFault(.malformed("invalid literal (expected true, false or null)"), at: input.offset(pointer))
        }
        let bytes = literal.utf8Start
        for index in 0..<count where pointer[index] != bytes[index] {
            throw JSONFault(.malformed("invalid literal (expected true, false or null)"), at: input.offset(pointer))
        }
        pointer += count
    }

    /// Scans a string whose opening quote was just read, leaving `pointer` after the closing quote.
    /// Returns where the content ends (the closing quote) and whether it holds escapes. Checks escape
    /// syntax and rejects raw control characters; with `validateUTF8`, also checks UTF-8.
    @inline(__always)
    private static func scanString(
        _ pointer: inout UnsafePointer<UInt8>, _ input: Input, validateUTF8: Bool
    ) throws(JSONFault) -> (UnsafePointer<UInt8>, Bool) {
        let end = input.end
        var cursor = pointer
        var escaped = false
        while true {
            while end - cursor >= 8 {
                let word = SWAR.load(cursor)
                var mask = SWAR.equalMask(word, UInt8(ascii: "\"")) | SWAR.equalMask(word, UInt8(ascii: "\\"))
                    | SWAR.lessMask(word, 0x20)
                if validateUTF8 { mask |= word & SWAR.highBits }
                if mask != 0 {
                    cursor += SWAR.firstIndex(mask)
                    break
                }
                cursor += 8
            }
            guard cursor < end else {
                throw JSONFault(.malformed("unterminated string"), at: input.offset(cursor))
            }
            let byte = cursor.pointee
            if byte == UInt8(ascii: "\"") {
                pointer = cursor + 1
                return (cursor, escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                cursor = try skipEscape(cursor, input)
            } else if byte < 0x20 {
                throw JSONFault(.malformed("control character in string"), at: input.offset(cursor))
            } else if byte >= 0x80 && validateUTF8 {
                let length = UTF8Validation.sequenceLength(cursor, end)
                if length == 0 { throw JSONFault(.invalidUTF8(""), at: input.offset(cursor)) }
                cursor += length
            } else {
                cursor += 1
            }
        }
    }

    /// Checks the escape at `pointer` (a backslash) and returns the byte after it.
    private static func skipEscape(_ pointer: UnsafePointer<UInt8>, _ input: Input) throws(JSONFault) -> UnsafePointer<UInt8> {
        guard input.end - pointer >= 2 else {
            throw JSONFault(.malformed("unterminated string"), at: input.offset(input.end))
        }
        switch pointer[1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return pointer + 2
        case UInt8(ascii: "u"):
            guard input.end - pointer >= 6, hex4(pointer + 2) != nil else {
                throw JSONFault(.malformed("invalid \\u escape"), at: input.offset(pointer))
            }
            return pointer + 6
        default:
            throw JSONFault(.malformed("invalid escape"), at: input.offset(pointer))
        }
    }

    @inline(__always)
    private static func hex4(_ pointer: UnsafePointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        for index in 0..<4 {
            let byte = pointer[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - 55
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Unescapes the (already scanned) string content `start..<end` into `scratch` as UTF-8.
    private mutating func unescape(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ input: Input
    ) throws(JSONFault) {
        scratch.removeAll(keepingCapacity: true)
        var pointer = start
        while pointer < end {
            let backslash = SWAR.find(UInt8(ascii: "\\"), pointer, end)
            if backslash > pointer {
                scratch.append(contentsOf: UnsafeBufferPointer(start: pointer, count: backslash - pointer))
            }
            pointer = backslash
            guard pointer < end else { return }
            let escape = pointer[1]
            pointer += 2
            switch escape {
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                let escapeStart = pointer - 2
                guard var scalar = Self.hex4(pointer) else {
                    throw JSONFault(.malformed("invalid \\u escape"), at: input.offset(escapeStart))
                }
                pointer += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard end - pointer >= 6, pointer[0] == UInt8(ascii: "\\"), pointer[1] == UInt8(ascii: "u"),
                          let low = Self.hex4(pointer + 2), (0xDC00...0xDFFF).contains(low)
                    else {
                        throw JSONFault(.invalidUTF8("unpaired high surrogate escape"), at: input.offset(escapeStart))
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    pointer += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw JSONFault(.invalidUTF8("unpaired low surrogate escape"), at: input.offset(escapeStart))
                }
                Self.appendScalar(scalar, to: &scratch)
            default:
                scratch.append(escape)  // \" \\ \/
            }
        }
    }

    @inline(__always)
    private static func appendScalar(_ scalar: UInt32, to bytes: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            bytes.append(UInt8(scalar))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: - Failures

    private func failure(_ fault: JSONFault, _ input: Input) -> DecodeFailure {
        func excerpt(_ start: Int, _ end: Int) -> String {
            let limit = 48
            let shownEnd = min(end, start + limit)
            let text = String(decoding: UnsafeBufferPointer(start: input.base + start, count: shownEnd - start), as: UTF8.self)
            return shownEnd < end ? text + "…" : text
        }
        func describe(_ found: JSONFault.Found) -> String {
            switch found {
            case .string: "string \(excerpt(fault.offset, fault.foundEnd))"
            case .number: "number \(excerpt(fault.offset, fault.foundEnd))"
            case .true: "true"
            case .false: "false"
            case .null: "null"
            case .object: "an object"
            case .array: "an array"
            }
        }
        switch fault.kind {
        case .malformed(let message):
            return DecodeFailure(code: .malformedJSON, reason: "malformed JSON at byte \(fault.offset): \(message)")
        case .invalidUTF8(let message):
            let detail = message.utf8CodeUnitCount == 0 ? "" : ": \(message)"
            return DecodeFailure(code: .invalidUTF8, reason: "invalid UTF-8 at byte \(fault.offset)\(detail)")
        case .tooDeep:
            return DecodeFailure(
                code: .tooDeep,
                reason: "nesting deeper than \(options.maxDepth) levels at byte \(fault.offset)")
        case .notAnObject(let found):
            return DecodeFailure(code: .notAnObject, reason: "expected a JSON object, found \(describe(found))")
        case .mismatch(let column, let found, let detail):
            let field = schema.fields[column]
            return DecodeFailure(
                code: .typeMismatch,
                reason: "field \(field.name): expected \(field.type), found \(describe(found))\(detail.suffix)")
        case .objectExpected(let node, let found):
            return DecodeFailure(
                code: .typeMismatch,
                reason: "field \(table.nodePaths[node]): expected an object, found \(describe(found))")
        case .missing(let column, let wasNull):
            let name = schema.fields[column].name
            return DecodeFailure(
                code: .missingField,
                reason: wasNull ? "field \(name) is NOT NULL but the record has null" : "missing required field \(name)")
        }
    }
}
