import EddyEngine

/// Writes batches in PostgreSQL's `COPY … FROM STDIN` text format: a line per row, fields separated
/// by tabs, NULL as `\N`, and backslash, tab, newline and carriage return in text escaped as `\\`,
/// `\t`, `\n`, `\r`. BOOLEAN → `t`/`f`; BIGINT and DECIMAL → exact digits; DOUBLE → shortest
/// round-trip text, `NaN`, `Infinity`, `-Infinity`; DATE → `2026-12-07`; TIMESTAMP → ISO-8601 UTC
/// with milliseconds (what `timestamptz` reads).
public struct CopyTextEncoder: Sendable {
    public init() {}

    /// Appends the rows `rows` (all by default) of `batch` to `output`.
    public func encode(_ batch: RecordBatch, rows: Range<Int>? = nil, into output: inout [UInt8]) {
        let rows = rows ?? 0..<batch.count
        let cells = ColumnCells(batch)
        let columnCount = batch.schema.count
        output.reserveCapacity(output.count + rows.count * (1 + columnCount * 12))
        for row in rows {
            for column in 0..<columnCount {
                if column > 0 { output.append(0x09) }
                if cells.isNull(column, row) {
                    output.append(0x5C)
                    output.append(0x4E)
                    continue
                }
                switch cells.kinds[column] {
                case .bool:
                    output.append(cells.bools[column][row] ? UInt8(ascii: "t") : UInt8(ascii: "f"))
                case .int64, .decimal, .float64:
                    cells.appendNumber(column, row, to: &output)
                case .date:
                    TextOutput.appendISODate(cells.ints[column][row], to: &output)
                case .timestamp:
                    TextOutput.appendISOTimestamp(cells.ints[column][row], to: &output)
                case .utf8:
                    cells.withString(column, row) { text in
                        for byte in text {
                            switch byte {
                            case 0x5C: output.append(0x5C); output.append(0x5C)
                            case 0x09: output.append(0x5C); output.append(UInt8(ascii: "t"))
                            case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
                            case 0x0D: output.append(0x5C); output.append(UInt8(ascii: "r"))
                            default: output.append(byte)
                            }
                        }
                    }
                }
            }
            output.append(0x0A)
        }
    }
}
