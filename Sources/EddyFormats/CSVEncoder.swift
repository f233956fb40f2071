import EddyEngine

/// Writes batches as CSV (RFC 4180) for file sinks. What it writes, `CSVRowDecoder` reads back to the
/// same rows under the same schema (with `hasHeader` matching `includeHeader`).
///
/// - Header: the field names, written by `encode(_:into:)` when `includeHeader` is set and the output
///   is empty (the start of a file), or explicitly with `encodeHeader(_:into:)`.
/// - A field is quoted (with `"` doubled) when it contains the delimiter, `"`, CR or LF, and an empty
///   string is written as `""`, so that it differs from null, which is an empty field.
/// - `BOOLEAN` → `true`/`false`; `BIGINT` → integer; `DECIMAL` → exact with all scale digits
///   (`12.50`); `DOUBLE` → shortest round-trip text, NaN → `NaN`, ±infinity → `Infinity`/`-Infinity`
///   (which the decoder reads back); `TIMESTAMP` → ISO-8601 UTC with milliseconds or epoch
///   milliseconds (`timestampFormat`); `TEXT` → as is (quoted when needed).
/// - Records end with LF, or CRLF with `lineEnding: .crlf`.
public struct CSVEncoder: Sendable {
    public var options: EncodeOptions

    public init(options: EncodeOptions = .init()) {
        self.options = options
    }

    /// Appends the header line naming `schema`'s fields.
    public func encodeHeader(_ schema: Schema, into output: inout [UInt8]) {
        for (index, field) in schema.fields.enumerated() {
            if index > 0 { output.append(options.delimiter) }
            var name = field.name
            name.withUTF8 { appendText($0, to: &output) }
        }
        appendLineEnd(to: &output)
    }

    /// Appends one record per row of `batch` (or of its `rows`), preceded by the header when
    /// `includeHeader` is set, `output` is empty and the rows start at the batch's first.
    public func encode(_ batch: RecordBatch, rows: Range<Int>? = nil, into output: inout [UInt8]) {
        var rowEnds: [Int] = []
        encode(batch, rows: rows, into: &output, rowEnds: &rowEnds)
    }

    /// As `encode(_:rows:into:)`, appending to `rowEnds` where each row's record ends in `output`
    /// (after its line end): a record per row, for messages (a quoted field may hold a line break, so
    /// records cannot be found by splitting lines).
    public func encode(_ batch: RecordBatch, rows: Range<Int>? = nil, into output: inout [UInt8], rowEnds: inout [Int]) {
        let rows = rows ?? 0..<batch.count
        precondition(rows.lowerBound >= 0 && rows.upperBound <= batch.count, "rows \(rows) outside the batch's \(batch.count)")
        if options.includeHeader && output.isEmpty && rows.lowerBound == 0 { encodeHeader(batch.schema, into: &output) }
        let cells = ColumnCells(batch)
        let columnCount = batch.schema.count
        let epochMillis = options.timestampFormat == .epochMilliseconds
        output.reserveCapacity(output.count + rows.count * (2 + columnCount * 12))
        for row in rows {
            for column in 0..<columnCount {
                if column > 0 { output.append(options.delimiter) }
                if cells.isNull(column, row) { continue }
                switch cells.kinds[column] {
                case .bool:
                    output.append(contentsOf: cells.bools[column][row] ? TextOutput.trueLiteral : TextOutput.falseLiteral)
                case .int64, .decimal, .float64:
                    cells.appendNumber(column, row, to: &output)
                case .timestamp:
                    let millis = cells.ints[column][row]
                    if epochMillis {
                        TextOutput.appendInteger(millis, to: &output)
                    } else {
                        TextOutput.appendISOTimestamp(millis, to: &output)
                    }
                case .date:
                    TextOutput.appendISODate(cells.ints[column][row], to: &output)
                case .utf8:
                    cells.withString(column, row) { appendText($0, to: &output) }
                }
            }
            appendLineEnd(to: &output)
            rowEnds.append(output.count)
        }
    }

    @inline(__always)
    private func appendLineEnd(to output: inout [UInt8]) {
        if options.lineEnding == .crlf { output.append(UInt8(ascii: "\r")) }
        output.append(UInt8(ascii: "\n"))
    }

    /// Text as a CSV field: as is, or quoted with `"` doubled when it must be.
    private func appendText(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        let delimiter = options.delimiter
        let needsQuotes = bytes.isEmpty || bytes.contains {
            $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
        }
        guard needsQuotes else {
            output.append(contentsOf: bytes)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in bytes {
            output.append(byte)
            if byte == UInt8(ascii: "\"") { output.append(byte) }
        }
        output.append(UInt8(ascii: "\""))
    }
}
