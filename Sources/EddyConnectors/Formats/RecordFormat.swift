import EddyEngine
import EddyFormats

/// How a source's bytes become rows: JSON (one object per record or line) or CSV, with the declared
/// schema. The schema is the contract: a record that does not fit it is dead-lettered, not guessed at.
public enum RecordFormat: Sendable, CustomStringConvertible {
    case jsonLines(Schema, JSONDecodeOptions = JSONDecodeOptions())
    case csv(Schema, CSVDecodeOptions = CSVDecodeOptions())
    /// Parquet files, read whole (a file source's batches end on file boundaries).
    case parquet(Schema)

    /// JSON records (Kafka message values, one object each): the same decoder as JSON lines.
    public static func json(_ schema: Schema) -> RecordFormat { .jsonLines(schema) }

    public var schema: Schema {
        switch self {
        case .jsonLines(let schema, _), .csv(let schema, _), .parquet(let schema): schema
        }
    }

    /// The same format without the columns `names` (a file source's partition columns, which come
    /// from directory names instead of the files).
    func without(_ names: [String]) -> RecordFormat {
        guard !names.isEmpty else { return self }
        let kept = Schema(schema.fields.filter { !names.contains($0.name) })
        switch self {
        case .jsonLines(_, let options): return .jsonLines(kept, options)
        case .csv(_, let options): return .csv(kept, options)
        case .parquet: return .parquet(kept)
        }
    }

    /// Whether a file is decoded whole rather than line by line.
    public var isWholeFile: Bool {
        if case .parquet = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .jsonLines: "json"
        case .csv: "csv"
        case .parquet: "parquet"
        }
    }

    /// A decoder producing `columns` (nil: all declared columns, in declared order).
    func makeDecoder(columns: [String]?) throws(EngineError) -> RowDecoder {
        switch self {
        case .jsonLines(let schema, let options):
            // JSON decodes only the wanted fields, skipping the others without converting them.
            let wanted = columns.map { names in Schema(schema.fields.filter { names.contains($0.name) }) } ?? schema
            return .json(try JSONRowDecoder(schema: wanted, options: options))
        case .csv(let schema, let options):
            // CSV fields are found by position or header anyway: decode all, then keep the wanted ones.
            let keep = columns.map { names in schema.fields.indices.filter { names.contains(schema.fields[$0].name) } }
            return .csv(try CSVRowDecoder(schema: schema, options: options), keep: keep)
        case .parquet:
            throw .configuration("parquet is read a file at a time, not as records or lines")
        }
    }
}

/// One decoder of either format. Two optionals rather than an enum with payloads: mutating a
/// payload pulled out of an enum would copy every column builder (copy-on-write) on each call.
struct RowDecoder {
    private var json: JSONRowDecoder?
    private var csv: CSVRowDecoder?
    /// CSV: the declared columns to keep (nil: all).
    private let keep: [Int]?

    static func json(_ decoder: JSONRowDecoder) -> RowDecoder { RowDecoder(json: decoder, csv: nil, keep: nil) }
    static func csv(_ decoder: CSVRowDecoder, keep: [Int]?) -> RowDecoder { RowDecoder(json: nil, csv: decoder, keep: keep) }

    /// Decodes the lines of `buffer`; failures carry line numbers counted from `firstLineNumber`.
    /// Throws only for a CSV header that does not fit the schema.
    mutating func appendLines(_ buffer: UnsafeRawBufferPointer, firstLineNumber: Int, failures: inout [DecodeFailure]) throws(EngineError) -> Int {
        if json != nil { return json!.appendLines(buffer, firstLineNumber: firstLineNumber, failures: &failures) }
        return try csv!.appendLines(buffer, firstLineNumber: firstLineNumber, failures: &failures)
    }

    /// Whether the format starts each file with a header line (CSV with `hasHeader`).
    var expectsHeader: Bool { csv?.options.hasHeader ?? false }

    /// Decodes one record (a message value); nil when it became a row.
    mutating func appendRecord(_ bytes: UnsafeRawBufferPointer) -> DecodeFailure? {
        if json != nil { return json!.appendRecord(bytes) }
        var failures: [DecodeFailure] = []
        let before = csv!.rowsDecoded
        let rows: Int
        do {
            rows = try csv!.appendLines(bytes, firstLineNumber: 1, failures: &failures)
        } catch {
            csv!.truncate(toRows: before)
            return DecodeFailure(code: .malformedCSV, reason: error.message)
        }
        // A record is one row or none: the rows of a record that fails are not kept.
        if let failure = failures.first {
            csv!.truncate(toRows: before)
            return failure
        }
        guard rows == 1 else {
            csv!.truncate(toRows: before)
            return DecodeFailure(code: .fieldCount, reason: "a CSV record must hold exactly one row, found \(rows)")
        }
        return nil
    }

    /// Drops the last row decoded (a record taken back).
    mutating func dropLastRow() {
        if json != nil { json!.truncate(toRows: json!.rowCount - 1) } else { csv!.truncate(toRows: csv!.rowsDecoded - 1) }
    }

    mutating func finish() -> RecordBatch {
        if json != nil { return json!.finish() }
        let batch = csv!.finish()
        return keep.map { batch.select($0) } ?? batch
    }
}
