import EddyEngine

/// Decodes CSV (RFC 4180) records into the columns of a declared schema.
///
/// ## Syntax
/// - Fields are separated by `options.delimiter`; records end with LF or CRLF (the last record may
///   have no terminator). A CR not followed by LF is data.
/// - A field starting with `"` is quoted: it ends at the next lone `"`, `""` inside stands for one
///   `"`, and delimiters, CR and LF inside are data (a record may span lines). After the closing quote
///   only a delimiter or the record's end may follow (`.malformedCSV` otherwise); a quote never closed
///   fails the rest of the buffer as one record.
/// - A `"` inside an unquoted field is kept as data (lenient, like most readers).
/// - Blank lines are skipped, except when records have a single field: then a blank line is a record
///   whose one field is empty (null), so a one-column file of nulls reads back.
///
/// ## Columns
/// - With `hasHeader`, the first record names the columns: declared fields are matched by exact name,
///   header columns the schema does not name are skipped, a declared field missing from the header (or
///   named twice in it) is a configuration error thrown by `appendLines`. A UTF-8 byte-order mark before
///   the header is ignored. Without a header, fields are matched by position.
/// - Every record must have as many fields as the header (or the schema): `.fieldCount` otherwise.
///
/// ## Values
/// - An empty unquoted field is null for every type (`.missingField` if the field is NOT NULL).
/// - An empty quoted field `""` is the empty string for `TEXT`; for other types it is text that is
///   not a value (`.typeMismatch`), as the JSON string `""` would be.
/// - Other fields convert exactly as JSON strings do (see `JSONRowDecoder`): `true`/`false`
///   (case-insensitive), integers (`1.0` and `1e3` are integers, `1.5` is not), numbers and `NaN`/
///   `Infinity`/`-Infinity` for doubles, exact decimals rounded half away from zero, ISO-8601 or epoch
///   numbers (in `options.epochUnit`) for timestamps. Fields are not trimmed. `TEXT` fields must be
///   valid UTF-8 (`.invalidUTF8`).
/// - A failed record appends nothing.
public struct CSVRowDecoder: Sendable {
    public let schema: Schema
    public let options: CSVDecodeOptions
    /// Rows appended since the last `finish()`.
    public private(set) var rowCount = 0
    /// The header's column names, once read (always nil without `hasHeader`).
    public private(set) var header: [String]?

    private var builders: [ColumnBuilder]
    private let kinds: [ColumnKind]
    private let nullable: [Bool]
    /// Per field position of a record: the column it fills, or -1 (skipped).
    private var fieldColumns: [Int]
    private var expectedFields: Int
    private var scratch: [UInt8] = []
    private let epochScale: Int

    public init(schema: Schema, options: CSVDecodeOptions = .init()) throws(EngineError) {
        let delimiter = options.delimiter
        guard delimiter < 0x80, delimiter != UInt8(ascii: "\""), delimiter != UInt8(ascii: "\r"),
              delimiter != UInt8(ascii: "\n")
        else {
            throw .configuration("CSV delimiter must be an ASCII byte other than '\"', CR and LF, not \(delimiter)")
        }
        guard options.maxRecordBytes > 0 else {
            throw .configuration("CSV maxRecordBytes must be positive, not \(options.maxRecordBytes)")
        }
        var names = Set<String>()
        for field in schema.fields {
            guard names.insert(field.name).inserted else {
                throw .configuration("field name \(field.name) appears twice in the schema")
            }
            if case .decimal(let scale) = field.type, !(0...18).contains(scale) {
                throw .configuration("field \(field.name): decimal scale \(scale) is outside 0...18")
            }
        }
        self.schema = schema
        self.options = options
        builders = schema.fields.map { ColumnBuilder($0.type, capacity: 1024) }
        kinds = schema.fields.map { ColumnKind($0.type) }
        nullable = schema.fields.map(\.nullable)
        fieldColumns = Array(schema.fields.indices)
        expectedFields = schema.count
        epochScale = options.epochUnit.millisecondScale
    }

    /// Decodes the records of `buffer`, which must end at a record boundary (after a terminator, or
    /// where the caller knows the last record ends). With `hasHeader`, the first record ever seen is the
    /// header. Failures are appended to `failures` with the line number of the record's first line
    /// (`firstLineNumber` numbers the buffer's first line) and the record's byte range in `buffer`
    /// (without its terminator). Returns the number of rows appended.
    ///
    /// Throws only for the header (`EngineError.configuration`): a declared column missing from it,
    /// named twice in it, or a malformed header record. Data errors are never thrown. A decoder whose
    /// header was rejected has read no header; the source is expected to stop.
    public mutating func appendLines(
        _ buffer: UnsafeRawBufferPointer, firstLineNumber: Int, failures: inout [DecodeFailure]
    ) throws(EngineError) -> Int {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let end = base + buffer.count
        var pointer = base
        var line = firstLineNumber
        var appended = 0
        while pointer < end {
            // Blank line.
            if let afterBlank = Self.blankLineEnd(pointer, end), expectedFields != 1 || (options.hasHeader && header == nil) {
                pointer = afterBlank
                line += 1
                continue
            }
            if options.hasHeader && header == nil {
                try readHeader(&pointer, end, &line)
                continue
            }
            let recordStart = pointer
            let recordLine = line
            var fault: CSVFault?
            var fieldIndex = 0
            var contentEnd = pointer
            while true {
                let field = nextField(&pointer, end)
                line += field.newlines
                if case .malformed(let message, let at) = field.ending {
                    fault = fault ?? .malformed(message, offset: at - recordStart)
                    // Resynchronise at the next line.
                    let newline = SWAR.find(UInt8(ascii: "\n"), pointer, end)
                    contentEnd = newline
                    if contentEnd > pointer && contentEnd[-1] == UInt8(ascii: "\r") { contentEnd -= 1 }
                    pointer = newline < end ? newline + 1 : end
                    if newline < end { line += 1 }
                    break
                }
                if fault == nil && fieldIndex < fieldColumns.count {
                    let column = fieldColumns[fieldIndex]
                    if column >= 0 { fault = decodeField(field, column: column, recordStart: recordStart) }
                }
                fieldIndex += 1
                if case .record(let terminated) = field.ending {
                    contentEnd = field.recordContentEnd
                    if terminated { line += 1 }
                    break
                }
            }
            if fault == nil && fieldIndex != expectedFields {
                fault = .fieldCount(found: fieldIndex)
            }
            if contentEnd - recordStart > options.maxRecordBytes {
                fault = .tooLarge(length: contentEnd - recordStart)
            }
            if let fault {
                for index in builders.indices { builders[index].truncate(to: rowCount) }
                failures.append(DecodeFailure(
                    line: recordLine, byteRange: (recordStart - base)..<(contentEnd - base), code: fault.code,
                    reason: describe(fault, recordStart: recordStart)))
            } else {
                rowCount += 1
                appended += 1
            }
        }
        return appended
    }

    /// Rows decoded since the last `finish`.
    public var rowsDecoded: Int { rowCount }

    /// Drops the rows decoded after the first `rows` (a caller taking a record whole or not at all).
    public mutating func truncate(toRows rows: Int) {
        precondition(rows <= rowCount, "cannot truncate \(rowCount) rows to \(rows)")
        for index in builders.indices { builders[index].truncate(to: rows) }
        rowCount = rows
    }

    /// The decoded rows as a batch of the declared schema; the decoder starts over (the header, once
    /// read, is kept).
    public mutating func finish() -> RecordBatch {
        defer { rowCount = 0 }
        if builders.isEmpty { return RecordBatch(emptyColumnsWithCount: rowCount) }
        var columns: [Column] = []
        columns.reserveCapacity(builders.count)
        for index in builders.indices { columns.append(builders[index].finish()) }
        return RecordBatch(schema: schema, columns: columns)
    }

    // MARK: - Tokenizing

    private struct Field {
        enum Ending {
            case delimiter
            /// The record ended; `terminated` when by a line terminator (not the buffer's end).
            case record(terminated: Bool)
            case malformed(StaticString, at: UnsafePointer<UInt8>)
        }

        var start: UnsafePointer<UInt8>
        var end: UnsafePointer<UInt8>
        var quoted: Bool
        var escapedQuotes: Bool
        var newlines: Int
        var ending: Ending
        /// Where the record's content ends when `ending` is `.record` (before CR LF).
        var recordContentEnd: UnsafePointer<UInt8>
    }

    /// If a blank line (LF, CR LF, or a lone CR at the buffer's end) starts at `pointer`, the byte after it.
    @inline(__always)
    private static func blankLineEnd(_ pointer: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>? {
        let byte = pointer.pointee
        if byte == UInt8(ascii: "\n") { return pointer + 1 }
        if byte == UInt8(ascii: "\r") {
            if pointer + 1 == end { return end }
            if pointer[1] == UInt8(ascii: "\n") { return pointer + 2 }
        }
        return nil
    }

    /// Reads one field at `pointer` and its ending, leaving `pointer` at the next field or record.
    @inline(__always)
    private func nextField(_ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Field {
        let delimiter = options.delimiter
        let start = pointer
        if start < end && start.pointee == UInt8(ascii: "\"") {
            let contentStart = start + 1
            var cursor = contentStart
            var escaped = false
            var newlines = 0
            while true {
                let quote = SWAR.find(UInt8(ascii: "\""), cursor, end)
                newlines += Self.countNewlines(cursor, quote)
                if quote == end {
                    pointer = end
                    return Field(start: contentStart, end: end, quoted: true, escapedQuotes: escaped, newlines: newlines,
                                 ending: .malformed("unterminated quoted field", at: start), recordContentEnd: end)
                }
                if quote + 1 < end && quote[1] == UInt8(ascii: "\"") {
                    escaped = true
                    cursor = quote + 2
                    continue
                }
                pointer = quote + 1
                var field = Field(start: contentStart, end: quote, quoted: true, escapedQuotes: escaped, newlines: newlines,
                                  ending: .record(terminated: false), recordContentEnd: pointer)
                if pointer == end { return field }
                let byte = pointer.pointee
                if byte == delimiter {
                    pointer += 1
                    field.ending = .delimiter
                } else if byte == UInt8(ascii: "\n") {
                    pointer += 1
                    field.ending = .record(terminated: true)
                } else if byte == UInt8(ascii: "\r") && (pointer + 1 == end || pointer[1] == UInt8(ascii: "\n")) {
                    let terminated = pointer + 1 < end
                    pointer += terminated ? 2 : 1
                    field.ending = .record(terminated: terminated)
                } else {
                    field.ending = .malformed("unexpected character after a closing quote", at: pointer)
                }
                return field
            }
        }
        // Unquoted: up to the next delimiter or LF, eight bytes at a time.
        var cursor = start
        while end - cursor >= 8 {
            let word = SWAR.load(cursor)
            let mask = SWAR.equalMask(word, delimiter) | SWAR.equalMask(word, UInt8(ascii: "\n"))
            if mask != 0 {
                cursor += SWAR.firstIndex(mask)
                break
            }
            cursor += 8
        }
        while cursor < end && cursor.pointee != delimiter && cursor.pointee != UInt8(ascii: "\n") { cursor += 1 }
        if cursor < end && cursor.pointee == delimiter {
            pointer = cursor + 1
            return Field(start: start, end: cursor, quoted: false, escapedQuotes: false, newlines: 0,
                         ending: .delimiter, recordContentEnd: cursor)
        }
        var contentEnd = cursor
        if contentEnd > start && contentEnd[-1] == UInt8(ascii: "\r") { contentEnd -= 1 }
        let terminated = cursor < end
        pointer = terminated ? cursor + 1 : end
        return Field(start: start, end: contentEnd, quoted: false, escapedQuotes: false, newlines: 0,
                     ending: .record(terminated: terminated), recordContentEnd: contentEnd)
    }

    @inline(__always)
    private static func countNewlines(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int {
        var count = 0
        var cursor = start
        while true {
            let newline = SWAR.find(UInt8(ascii: "\n"), cursor, end)
            if newline == end { return count }
            count += 1
            cursor = newline + 1
        }
    }

    /// The field's text into `scratch` with `""` turned into `"`.
    private mutating func unescapeQuotes(_ field: Field) {
        scratch.removeAll(keepingCapacity: true)
        var cursor = field.start
        while cursor < field.end {
            let quote = SWAR.find(UInt8(ascii: "\""), cursor, field.end)
            let runEnd = quote < field.end ? quote + 1 : field.end
            scratch.append(contentsOf: UnsafeBufferPointer(start: cursor, count: runEnd - cursor))
            cursor = quote < field.end ? quote + 2 : field.end
        }
    }

    // MARK: - Values

    private enum CSVFault {
        case malformed(StaticString, offset: Int)
        case fieldCount(found: Int)
        case missing(column: Int)
        case mismatch(column: Int, start: Int, end: Int, detail: MismatchDetail)
        case invalidUTF8(column: Int, offset: Int)
        case tooLarge(length: Int)

        var code: DecodeFailure.Code {
            switch self {
            case .malformed: .malformedCSV
            case .fieldCount: .fieldCount
            case .missing: .missingField
            case .mismatch: .typeMismatch
            case .invalidUTF8: .invalidUTF8
            case .tooLarge: .tooLarge
            }
        }
    }

    @inline(__always)
    private mutating func decodeField(_ field: Field, column: Int, recordStart: UnsafePointer<UInt8>) -> CSVFault? {
        if !field.quoted && field.start == field.end {
            guard nullable[column] else { return .missing(column: column) }
            builders[column].appendNull()
            return nil
        }
        let kind = kinds[column]
        if !field.escapedQuotes {
            return appendText(field.start, field.end, column: column, kind: kind, recordStart: recordStart,
                              sourceStart: field.start, sourceEnd: field.end)
        }
        unescapeQuotes(field)
        let text = scratch
        return text.withUnsafeBufferPointer { buffer -> CSVFault? in
            let textBase = buffer.baseAddress ?? field.start
            return appendText(textBase, textBase + buffer.count, column: column, kind: kind, recordStart: recordStart,
                              sourceStart: field.start, sourceEnd: field.end)
        }
    }

    /// Appends `start..<end` (unescaped text) to `column`; `sourceStart..<sourceEnd` is where it sits in
    /// the record, for messages.
    @inline(__always)
    private mutating func appendText(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, column: Int, kind: ColumnKind,
        recordStart: UnsafePointer<UInt8>, sourceStart: UnsafePointer<UInt8>, sourceEnd: UnsafePointer<UInt8>
    ) -> CSVFault? {
        if kind == .utf8 {
            if let invalid = UTF8Validation.firstInvalid(start, end) {
                // Offsets in unescaped text differ from the record's; report the field's start then.
                let offset = start == sourceStart ? invalid - recordStart : sourceStart - recordStart
                return .invalidUTF8(column: column, offset: offset)
            }
            builders[column].appendUTF8(UnsafeRawBufferPointer(start: start, count: end - start))
            return nil
        }
        if let detail = TextCoercion.append(text: start, end, kind: kind, epochScale: epochScale, to: &builders[column]) {
            return .mismatch(column: column, start: sourceStart - recordStart, end: sourceEnd - recordStart, detail: detail)
        }
        return nil
    }

    private func describe(_ fault: CSVFault, recordStart: UnsafePointer<UInt8>) -> String {
        switch fault {
        case .malformed(let message, let offset):
            return "malformed CSV at byte \(offset): \(message)"
        case .fieldCount(let found):
            return "expected \(expectedFields) fields, found \(found)"
        case .missing(let column):
            return "missing required field \(schema.fields[column].name) (empty field)"
        case .mismatch(let column, let start, let end, let detail):
            let field = schema.fields[column]
            let shownEnd = min(end, start + 48)
            var text = String(decoding: UnsafeBufferPointer(start: recordStart + start, count: shownEnd - start), as: UTF8.self)
            if shownEnd < end { text += "…" }
            return "field \(field.name): expected \(field.type), found \"\(text)\"\(detail.suffix)"
        case .invalidUTF8(let column, let offset):
            return "invalid UTF-8 at byte \(offset) in field \(schema.fields[column].name)"
        case .tooLarge(let length):
            return "record of \(length) bytes exceeds the limit of \(options.maxRecordBytes) bytes"
        }
    }

    // MARK: - Header

    private mutating func readHeader(
        _ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ line: inout Int
    ) throws(EngineError) {
        // A UTF-8 byte-order mark some tools write before the header.
        if end - pointer >= 3 && pointer[0] == 0xEF && pointer[1] == 0xBB && pointer[2] == 0xBF { pointer += 3 }
        var names: [String] = []
        while true {
            let field = nextField(&pointer, end)
            line += field.newlines
            if case .malformed(let message, _) = field.ending {
                throw .configuration("malformed CSV header on line \(line): \(message)")
            }
            if field.escapedQuotes {
                unescapeQuotes(field)
                names.append(String(decoding: scratch, as: UTF8.self))
            } else {
                names.append(String(decoding: UnsafeBufferPointer(start: field.start, count: field.end - field.start),
                                    as: UTF8.self))
            }
            if case .record(let terminated) = field.ending {
                if terminated { line += 1 }
                break
            }
        }
        var positions: [String: Int] = [:]
        var duplicated = Set<String>()
        for (position, name) in names.enumerated() where positions.updateValue(position, forKey: name) != nil {
            duplicated.insert(name)
        }
        var columns = Array(repeating: -1, count: names.count)
        for (column, field) in schema.fields.enumerated() {
            guard let position = positions[field.name] else {
                throw .configuration(
                    "column \(field.name) is missing from the CSV header (header has: \(names.joined(separator: ", ")))")
            }
            if duplicated.contains(field.name) {
                throw .configuration("column \(field.name) appears more than once in the CSV header")
            }
            columns[position] = column
        }
        header = names
        fieldColumns = columns
        expectedFields = names.count
    }
}
