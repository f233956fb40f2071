import EddyEngine
import EddyFormats
import EddySQL
import Foundation

/// The connectors `CREATE TABLE … WITH ('connector' = …)` can name today, with Flink's option names.
public enum SQLConnectors {
    /// filesystem, datagen, print and blackhole.
    public static func standard(output: @escaping @Sendable (String) -> Void = { print($0) }) -> ConnectorRegistry {
        ConnectorRegistry([FilesystemConnector(), DatagenConnector(), PrintConnector(output: output), BlackholeConnector()])
    }
}

/// `'connector' = 'filesystem'`: a directory of JSON-lines or CSV files. As a source, new files are
/// picked up at every trigger (so `source.monitor-interval` is the trigger interval); as a sink, one
/// file per micro-batch with a manifest (exactly once).
struct FilesystemConnector: TableConnector {
    let name = "filesystem"
    let optionKeys: Set<String> = [
        "path", "format", "source.monitor-interval", "sink.output-mode",
        "csv.field-delimiter", "csv.ignore-first-line", "json.timestamp-format.standard",
    ]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try table.options.required("path", "the directory of the table's files")
        if try format(table) == "csv" { _ = try recordFormat(table) }
        _ = try table.options.choice("sink.output-mode", ["append", "complete"])
        _ = try table.options.duration("source.monitor-interval")
    }

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        let path = try table.options.required("path", "the directory the files are in")
        return .files(path, format: try recordFormat(table), bounded: table.bounded)
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        let path = try table.options.required("path", "the directory the files go to")
        switch try format(table) {
        case "csv": return .files(path, format: .csv)
        default: return .files(path, format: .jsonLines)
        }
    }

    func format(_ table: TableDefinition) throws(SQLError) -> String {
        guard let format = try table.options.choice("format", ["json", "csv"]) else {
            throw SQLError("option 'format' is required: 'json' (one object per line) or 'csv'", at: table.location)
        }
        return format
    }

    func recordFormat(_ table: TableDefinition) throws(SQLError) -> RecordFormat {
        switch try format(table) {
        case "csv":
            var options = CSVDecodeOptions()
            if let delimiter = table.options["csv.field-delimiter"] {
                guard delimiter.utf8.count == 1, let byte = delimiter.utf8.first else {
                    throw SQLError("option 'csv.field-delimiter' is one character, got '\(delimiter)'", at: table.options.location(of: "csv.field-delimiter"))
                }
                options.delimiter = byte
            }
            if let header = try table.options.choice("csv.ignore-first-line", ["true", "false"]) { options.hasHeader = header == "true" }
            return .csv(table.schema, options)
        default:
            return .jsonLines(table.schema)
        }
    }
}

/// `'connector' = 'datagen'`: Eddy's deterministic event generator (`eddy gen`) as a source:
/// `'kind'` = purchases | transactions | sensors | bids, `'number-of-rows'` (bounded) or
/// `'rows-per-second'` (unbounded, paced by processing time), `'seed'`, `'partitions'`. The
/// table declares the kind's columns (all or some of them).
struct DatagenConnector: TableConnector {
    let name = "datagen"
    let optionKeys: Set<String> = ["kind", "number-of-rows", "rows-per-second", "seed", "partitions", "malformed-fraction"]

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        let kinds = EventGenerator.Kind.allCases.map(\.rawValue)
        guard let kindName = try table.options.choice("kind", kinds), let kind = EventGenerator.Kind(rawValue: kindName) else {
            throw SQLError("option 'kind' is required: one of \(kinds.joined(separator: ", ")) (random rows for any schema are not supported yet)", at: table.location)
        }
        var options = EventGenerator.Options()
        let rate = try table.options.integer("rows-per-second", in: 1...10_000_000)
        if let count = try table.options.integer("number-of-rows", in: 1...Int64.max) {
            options.count = count
        } else if rate == nil {
            throw SQLError("datagen needs 'number-of-rows' (a bounded table) or 'rows-per-second' (an endless one)", at: table.location)
        } else {
            options.count = Int64.max / 2
        }
        if let seed = try table.options.integer("seed") { options.seed = UInt64(seed) }
        if let text = table.options["malformed-fraction"] {
            guard let fraction = Double(text), (0...1).contains(fraction) else {
                throw SQLError("option 'malformed-fraction' is a number from 0 to 1, got '\(text)'", at: table.options.location(of: "malformed-fraction"))
            }
            options.malformedFraction = fraction
        }
        let partitions = Int(try table.options.integer("partitions", in: 1...1024) ?? 1)
        let generator = EventGenerator(kind, options: options)
        for field in table.schema.fields {
            guard let offered = generator.schema.field(named: field.name) else {
                throw SQLError("datagen kind '\(kindName)' has no column `\(field.name)`; it makes \(generator.schema)", at: table.location)
            }
            guard offered.type == field.type else {
                throw SQLError("datagen kind '\(kindName)' makes `\(field.name)` as \(offered.type), not \(field.type)", at: table.location)
            }
        }
        return GeneratorSourceDescriptor(generator: generator, eventsPerSecond: rate, partitions: partitions)
            .narrowed(to: table.schema)
    }
}

extension GeneratorSourceDescriptor {
    /// The generator read as the table declares it (a subset of its columns, in the table's order).
    func narrowed(to schema: Schema) -> any SourceDescriptor {
        schema.names == generator.schema.names ? self : NarrowedSource(inner: self, schema: schema)
    }
}

/// A source read through fewer columns than it produces.
struct NarrowedSource: SourceDescriptor {
    let inner: any SourceDescriptor
    let schema: Schema
    var isBounded: Bool { inner.isBounded }
    var description: String { inner.description }

    func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        var context = context
        context.requiredColumns = context.requiredColumns ?? schema.names
        return try inner.makeSource(context)
    }
}

/// `'connector' = 'print'`: rows to standard output as Flink prints them, `+I[a, b]` (and `+U` in
/// update mode), each line prefixed with `'print-identifier'` when set.
struct PrintConnector: TableConnector {
    let name = "print"
    let optionKeys: Set<String> = ["print-identifier"]
    let output: @Sendable (String) -> Void

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        PrintSinkDescriptor(identifier: table.options["print-identifier"], output: output)
    }
}

struct PrintSinkDescriptor: SinkDescriptor {
    let identifier: String?
    let output: @Sendable (String) -> Void
    var description: String { "print" + (identifier.map { "[\($0)]" } ?? "") }

    func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        PrintSink(prefix: identifier.map { "\($0)> " } ?? "", kind: context.mode == .append ? "+I" : "+U", output: output)
    }
}

final class PrintSink: Sink {
    let prefix: String
    let kind: String
    let output: @Sendable (String) -> Void
    private var lastBatch: Int64?

    init(prefix: String, kind: String, output: @escaping @Sendable (String) -> Void) {
        self.prefix = prefix
        self.kind = kind
        self.output = output
    }

    var description: String { "print" }
    func lastCommittedBatch() -> Int64? { lastBatch }

    func write(batchId: Int64, _ batch: RecordBatch) {
        // At least once across restarts (standard output keeps no state): a replayed batch prints again.
        if let lastBatch, batchId <= lastBatch { return }
        lastBatch = batchId
        for row in batch.rows {
            output(prefix + kind + "[" + row.map(\.description).joined(separator: ", ") + "]")
        }
    }
}

/// `'connector' = 'blackhole'`: takes every row and keeps none (benchmarks, tests).
struct BlackholeConnector: TableConnector {
    let name = "blackhole"
    let optionKeys: Set<String> = []

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor { BlackholeSinkDescriptor() }
}

struct BlackholeSinkDescriptor: SinkDescriptor {
    var description: String { "blackhole" }
    func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink { BlackholeSink() }
}

final class BlackholeSink: Sink {
    var description: String { "blackhole" }
    func lastCommittedBatch() -> Int64? { nil }
    func write(batchId: Int64, _ batch: RecordBatch) {}
}
