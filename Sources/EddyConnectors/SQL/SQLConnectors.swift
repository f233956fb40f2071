import EddyCore
import EddyEngine
import EddyFormats
import EddyKafka
import EddyParquet
import EddySQL
import Foundation

/// One `KafkaClusterLog` per set of client properties in the process, so that a script's tables on
/// one cluster share its connections.
public final class ClusterLogs: @unchecked Sendable {
    public static let shared = ClusterLogs()
    private let lock = NSLock()
    private var logs: [[String: String]: KafkaClusterLog] = [:]

    public func log(_ properties: [String: String]) throws -> KafkaClusterLog {
        try lock.withLock {
            if let known = logs[properties] { return known }
            let created = try KafkaClusterLog(properties: properties)
            logs[properties] = created
            return created
        }
    }
}

/// The connectors `CREATE TABLE … WITH ('connector' = …)` can name today, with Flink's option names.
public enum SQLConnectors {
    /// filesystem, datagen, print, blackhole, sqlite, jdbc/postgres, and kafka over `embedded`: the broker running in this
    /// process, if any (`eddy run --broker-data-dir`), named by the address it listens on.
    /// With `planningOnly` (`eddy explain`), kafka tables plan against a log that is never read.
    public static func standard(embedded: (log: any RecordLog, address: String)? = nil, planningOnly: Bool = false,
                                output: @escaping @Sendable (String) -> Void = { print($0) }) -> ConnectorRegistry {
        let kafka = embedded ?? (planningOnly ? (UnconnectedLog(), "the embedded broker") : nil)
        return ConnectorRegistry([FilesystemConnector(), DatagenConnector(), PrintConnector(output: output), BlackholeConnector(),
                                  KafkaConnector(embedded: kafka, planningOnly: planningOnly),
                                  UpsertKafkaConnector(kafka: KafkaConnector(embedded: kafka, planningOnly: planningOnly)), SQLiteConnector(),
                                  PostgresConnector(name: "jdbc"), PostgresConnector(name: "postgres"), WebhookConnector()])
    }
}

/// `'connector' = 'kafka'`: a topic of the broker embedded in this process, or of the cluster
/// 'properties.bootstrap.servers' names (any Kafka-protocol cluster, through librdkafka:
/// `KafkaClusterLog`), through `RecordLog`.
/// As a source: no consumer group (offsets live in the query's checkpoint, as Spark's Kafka source
/// keeps them); values in `'format'` (or `'value.format'`) json or csv; the `'key.fields'` columns
/// from the record key in `'key.format'` (json, csv or raw); metadata columns `partition`, `offset`
/// and `timestamp`. As a sink: the same formats (`'value.fields-include'` = 'EXCEPT_KEY' leaves the
/// key's columns out of the value), appended exactly once (`LogSinkDescriptor`); the topic is
/// created with `'sink.partitions'`.
struct KafkaConnector: TableConnector {
    let name = "kafka"
    let embedded: (log: any RecordLog, address: String)?
    /// Tables are planned, never read (`eddy explain`): any bootstrap servers are accepted.
    var planningOnly = false
    let optionKeys: Set<String> = [
        "topic", "topic-pattern", "format", "value.format", "properties.bootstrap.servers", "properties.group.id", "scan.startup.mode",
        "scan.startup.timestamp-millis", "scan.startup.specific-offsets",
        "properties.isolation.level", "properties.auto.offset.reset", "key.format", "key.fields", "value.fields-include",
        "sink.partitions", "sink.delivery-guarantee", "scan.bounded.mode", "scan.bounded.timestamp-millis",
        "scan.bounded.specific-offsets", "sink.partitioner", "scan.fail-on-data-loss", "sink.transactional-id-prefix",
    ]
    /// librdkafka's (Kafka's) client properties, passed verbatim to the cluster's clients.
    let optionPrefixes = ["properties."]
    let metadataKeys: Set<String> = Set(LogSourceDescriptor.Metadata.allCases.map(\.rawValue))

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try log(table)
        _ = try topics(table)
        _ = try format(table)
        _ = try keyFields(table)
        _ = try table.options.choice("value.fields-include", ["ALL", "EXCEPT_KEY"])
        _ = try table.options.choice("sink.delivery-guarantee", ["exactly-once", "at-least-once", "none"])
        _ = try startingOffsets(table)
        _ = try table.options.choice("properties.isolation.level", ["read_committed", "read_uncommitted"])
        _ = try boundedEnd(table)
        _ = try table.options.choice("scan.fail-on-data-loss", ["true", "false"])
        for (column, key) in table.metadata {
            let wanted = LogSourceDescriptor.Metadata(rawValue: key)!.type
            guard let field = table.schema.field(named: column), field.type == wanted else {
                let typeName = wanted == .timestamp ? "TIMESTAMP(3)" : key == "headers" ? "STRING (a JSON object of the headers)" : wanted == .utf8 ? "STRING" : "BIGINT (or INT)"
                throw SQLError("metadata '\(key)' is \(typeName): declare `\(column)` so", at: table.location)
            }
        }
    }

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        try validate(table)
        let topics = try topics(table)
        let log = try log(table)
        let key = try keyFields(table)
        // Key columns come from the key (Flink's rule, whether or not the value holds them too).
        let physical = Schema(table.schema.fields.filter { table.metadata[$0.name] == nil && !(key?.fields.contains($0.name) ?? false) })
        let format: RecordFormat = try format(table) == "csv" ? .csv(physical, CSVDecodeOptions(hasHeader: false)) : .json(physical)
        var descriptor = LogSourceDescriptor.log(log, topics: topics, format: format, startingOffsets: try startingOffsets(table),
                                                 readCommitted: table.options["properties.isolation.level"] != "read_uncommitted")
        descriptor.metadata = table.metadata.mapValues { LogSourceDescriptor.Metadata(rawValue: $0)! }
        descriptor.key = key.map { LogSourceDescriptor.KeyColumns(format: $0.format, fields: $0.fields) }
        descriptor.declaredSchema = table.schema
        descriptor.boundedEnd = try boundedEnd(table)
        descriptor.groupId = table.options["properties.group.id"]
        descriptor.failOnDataLoss = try table.options.choice("scan.fail-on-data-loss", ["true", "false"], default: "true") == "true"
        if case .list(let names) = topics, !planningOnly {
            for topic in names {
                do { _ = try log.ensureTopic(topic, partitions: 1) } catch {
                    throw SQLError("cannot open topic '\(topic)': \(error)", at: table.options.location(of: "topic"))
                }
            }
        }
        return descriptor
    }

    /// Flink's 'topic' (one, or a list 'a;b') or 'topic-pattern' (a regular expression the whole
    /// topic name matches).
    func topics(_ table: TableDefinition) throws(SQLError) -> LogSourceDescriptor.Topics {
        let topic = table.options["topic"], pattern = table.options["topic-pattern"]
        if let pattern {
            guard topic == nil else {
                throw SQLError("'topic' and 'topic-pattern' cannot both be set: name the topics, or give the pattern they match",
                               at: table.options.location(of: "topic-pattern"))
            }
            do { _ = try NSRegularExpression(pattern: pattern) } catch {
                throw SQLError("'topic-pattern' /\(pattern)/ is not a regular expression", at: table.options.location(of: "topic-pattern"))
            }
            return .pattern(pattern)
        }
        let names = try table.options.required("topic", "the topic the table reads (or 'topic-pattern')")
            .split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }), Set(names).count == names.count else {
            throw SQLError("'topic' lists topics separated by ';', each once", at: table.options.location(of: "topic"))
        }
        return .list(names)
    }

    /// The one topic a sink writes.
    func sinkTopic(_ table: TableDefinition) throws(SQLError) -> String {
        if table.options["topic-pattern"] != nil {
            throw SQLError("a kafka sink writes one topic: 'topic-pattern' is for reading", at: table.options.location(of: "topic-pattern"))
        }
        guard case .list(let names) = try topics(table), names.count == 1 else {
            throw SQLError("a kafka sink writes one topic; 'topic' lists several", at: table.options.location(of: "topic"))
        }
        return names[0]
    }

    /// Appends each batch's rows as values (and keys of 'key.fields'), exactly once.
    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        try validate(table)
        guard mode == .append else {
            throw SQLError("the kafka sink takes appends (window results, rows of a query without aggregation); write an updating result to 'connector' = 'upsert-kafka'",
                           at: table.location)
        }
        if !table.metadata.isEmpty {
            throw SQLError("metadata columns are read, not written: the kafka sink cannot set \(table.metadata.keys.sorted().joined(separator: ", "))",
                           at: table.location)
        }
        let partitions = Int32(try table.options.integer("sink.partitions", in: 1...10_000) ?? 1)
        let key = try keyFields(table)
        let exceptKey = try table.options.choice("value.fields-include", ["ALL", "EXCEPT_KEY"], default: "ALL") == "EXCEPT_KEY"
        if exceptKey && key == nil {
            throw SQLError("'value.fields-include' = 'EXCEPT_KEY' needs 'key.fields'", at: table.options.location(of: "value.fields-include"))
        }
        let log = try log(table)
        var sink = LogSinkDescriptor(log: log, topic: try sinkTopic(table), partitions: partitions, keyFields: key?.fields, valueFormat: try format(table) == "csv" ? .csv : .json,
                                     keyFormat: key?.format ?? .json, valueExceptKey: exceptKey)
        // Each micro-batch is one transaction (a cluster's, or the embedded broker's) unless the table asks for less.
        let guarantee = try table.options.choice("sink.delivery-guarantee", ["exactly-once", "at-least-once", "none"], default: "exactly-once")
        sink.transactional = guarantee == "exactly-once" && log is any TransactionalRecordLog
        if let prefix = table.options["sink.transactional-id-prefix"] { sink.transactionalIdPrefix = prefix }
        if let partitioner = try table.options.choice("sink.partitioner", ["default", "round-robin", "fixed"]) {
            sink.partitioner = LogSinkDescriptor.Partitioner(rawValue: partitioner)!
        }
        return sink
    }

    /// Flink's 'key.fields' ('a;b') with 'key.format' (json, csv, or raw for one STRING column): the
    /// columns a record's key is made of.
    func keyFields(_ table: TableDefinition) throws(SQLError) -> (format: MessageFormat, fields: [String])? {
        guard let text = table.options["key.fields"] else {
            if table.options["key.format"] != nil {
                throw SQLError("'key.format' needs 'key.fields' (the columns of the key, separated by ';')", at: table.options.location(of: "key.format"))
            }
            return nil
        }
        guard let formatName = try table.options.choice("key.format", ["json", "csv", "raw"]), let format = MessageFormat(rawValue: formatName) else {
            throw SQLError("'key.fields' needs 'key.format': 'json', 'csv' or 'raw'", at: table.options.location(of: "key.fields"))
        }
        let fields = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        // (A CREATE TABLE … AS is checked again once its columns are known.)
        for field in fields where !table.schema.fields.isEmpty && table.schema.field(named: field) == nil {
            throw SQLError("'key.fields' names `\(field)`, which is not a column of `\(table.name)`", at: table.options.location(of: "key.fields"))
        }
        for field in fields where table.metadata[field] != nil {
            throw SQLError("'key.fields' names `\(field)`, a metadata column", at: table.options.location(of: "key.fields"))
        }
        if format == .raw, fields.count != 1 || (table.schema.field(named: fields[0]).map { $0.type != .utf8 } ?? false) {
            throw SQLError("'key.format' = 'raw' holds one STRING column: 'key.fields' names \(fields.count == 1 ? "a column of another type" : "\(fields.count) columns")",
                           at: table.options.location(of: "key.format"))
        }
        return (format, fields)
    }

    /// The embedded broker when 'properties.bootstrap.servers' is absent or names it; otherwise the
    /// cluster it names, through librdkafka with every 'properties.*' option passed verbatim.
    func log(_ table: TableDefinition) throws(SQLError) -> any RecordLog {
        let servers = table.options["properties.bootstrap.servers"]
        if let embedded, servers == nil || planningOnly
            || servers!.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == embedded.address }) {
            return embedded.log
        }
        guard servers != nil else {
            throw SQLError("""
                connector 'kafka' needs 'properties.bootstrap.servers' (the cluster to read or write), or a broker \
                embedded in this process: run with --broker-data-dir DIR to embed one
                """, at: table.options.location(of: "connector"))
        }
        var properties: [String: String] = [:]
        for option in table.options.entries where option.key.hasPrefix("properties.") {
            properties[String(option.key.dropFirst("properties.".count))] = option.value
        }
        do {
            return try ClusterLogs.shared.log(properties)
        } catch {
            throw SQLError("cannot use the cluster \(servers!): \(error)", at: table.options.location(of: "properties.bootstrap.servers"))
        }
    }

    func format(_ table: TableDefinition) throws(SQLError) -> String {
        let key = table.options["value.format"] != nil ? "value.format" : "format"
        guard let format = try table.options.choice(key, ["json", "csv"]) else {
            throw SQLError("option 'format' is required: 'json' or 'csv' (Avro and Protobuf are not supported yet)", at: table.location)
        }
        return format
    }

    /// Flink's startup modes. A query keeps its offsets in its checkpoint: 'group-offsets' (the
    /// default) starts from the offsets 'properties.group.id' committed (which the query commits to
    /// after each batch), and a partition without one, or without a group, starts where
    /// 'properties.auto.offset.reset' says (Kafka's default, latest); so does a partition
    /// 'specific-offsets' does not list.
    func startingOffsets(_ table: TableDefinition) throws(SQLError) -> LogSourceDescriptor.StartingOffsets {
        let reset: LogSourceDescriptor.StartingOffsets =
            try table.options.choice("properties.auto.offset.reset", ["earliest", "latest"], default: "latest") == "earliest" ? .earliest : .latest
        return try offsets(table, "scan.startup", default: "group-offsets", otherwise: reset)!
    }

    /// Flink's 'scan.bounded.mode': where a bounded read ends (nil: unbounded, unless the run is
    /// bounded, `eddy run --bounded`, which ends at the latest offsets). A partition that
    /// 'specific-offsets' does not list, or without a committed offset, ends at its latest offset.
    func boundedEnd(_ table: TableDefinition) throws(SQLError) -> LogSourceDescriptor.StartingOffsets? {
        let end = try offsets(table, "scan.bounded", default: "unbounded", otherwise: .latest)
        if table.options["scan.bounded.mode"] == "group-offsets", table.options["properties.group.id"] == nil {
            throw SQLError("'scan.bounded.mode' = 'group-offsets' needs 'properties.group.id' (the group whose offsets end the read)",
                           at: table.options.location(of: "scan.bounded.mode"))
        }
        return end ?? (table.bounded ? .latest : nil)
    }

    /// `<prefix>.mode` with its `<prefix>.timestamp-millis` and `<prefix>.specific-offsets`.
    private func offsets(_ table: TableDefinition, _ prefix: String, default fallback: String,
                         otherwise: LogSourceDescriptor.StartingOffsets) throws(SQLError) -> LogSourceDescriptor.StartingOffsets? {
        let modeKey = prefix + ".mode"
        let modes = (prefix == "scan.bounded" ? ["unbounded"] : []) + ["earliest-offset", "latest-offset", "group-offsets", "timestamp", "specific-offsets"]
            .filter { prefix != "scan.bounded" || $0 != "earliest-offset" }
        let mode = try table.options.choice(modeKey, modes, default: fallback)
        let timestampKey = prefix + ".timestamp-millis", specificKey = prefix + ".specific-offsets"
        for (key, wanted) in [(timestampKey, "timestamp"), (specificKey, "specific-offsets")] where table.options[key] != nil && mode != wanted {
            throw SQLError("'\(key)' is used only with '\(modeKey)' = '\(wanted)'", at: table.options.location(of: key))
        }
        switch mode {
        case "unbounded": return nil
        case "earliest-offset": return .earliest
        case "latest-offset": return .latest
        case "timestamp":
            guard let millis = try table.options.integer(timestampKey, in: Int64.min...Int64.max) else {
                throw SQLError("'\(modeKey)' = 'timestamp' needs '\(timestampKey)' (epoch milliseconds)", at: table.options.location(of: modeKey))
            }
            return .timestamp(millis)
        case "specific-offsets":
            return .specific(try specificOffsets(table, specificKey, modeKey: modeKey), otherwise: otherwise)
        default:
            return table.options["properties.group.id"] == nil ? otherwise : .group(otherwise: otherwise)
        }
    }

    /// 'partition:0,offset:42;partition:1,offset:300' (Flink's form).
    private func specificOffsets(_ table: TableDefinition, _ key: String, modeKey: String) throws(SQLError) -> [Int32: Int64] {
        guard let text = table.options[key] else {
            throw SQLError("'\(modeKey)' = 'specific-offsets' needs '\(key)' = 'partition:0,offset:42;partition:1,offset:300'",
                           at: table.options.location(of: modeKey))
        }
        var offsets: [Int32: Int64] = [:]
        for entry in text.split(separator: ";") {
            let fields = entry.split(separator: ",").map { $0.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
            guard fields.count == 2, fields.allSatisfy({ $0.count == 2 }), fields[0][0] == "partition", fields[1][0] == "offset",
                  let partition = Int32(fields[0][1]), partition >= 0, let offset = Int64(fields[1][1]), offset >= 0
            else {
                throw SQLError("cannot read '\(entry)' in '\(key)': write 'partition:0,offset:42' entries separated by ';'",
                               at: table.options.location(of: key))
            }
            guard offsets.updateValue(offset, forKey: partition) == nil else {
                throw SQLError("'\(key)' lists partition \(partition) twice", at: table.options.location(of: key))
            }
        }
        return offsets
    }
}

/// `'connector' = 'upsert-kafka'` (Flink's): a query's result as a changelog keyed by the table's
/// PRIMARY KEY, into a compacted topic of the embedded broker or of any cluster: each row a batch
/// changed is a record whose key is the primary key's columns (`'key.format'`) and whose value is the
/// row (`'value.format'`), so the compacted topic keeps each key's newest row. Written as the kafka
/// connector writes (exactly once; on a cluster, one transaction per micro-batch). A delete would be
/// a tombstone (a null value); no query of the engine deletes rows yet. Reading such a topic back as a
/// table (a changelog source) is not supported yet.
struct UpsertKafkaConnector: TableConnector {
    let name = "upsert-kafka"
    let kafka: KafkaConnector
    let optionKeys: Set<String> = [
        "topic", "properties.bootstrap.servers", "key.format", "value.format", "value.fields-include", "sink.partitions",
        "sink.delivery-guarantee", "sink.transactional-id-prefix",
    ]
    let optionPrefixes = ["properties."]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try kafka.log(table)
        _ = try kafka.sinkTopic(table)
        _ = try keyFormat(table)
        _ = try valueFormat(table)
        _ = try table.options.choice("value.fields-include", ["ALL", "EXCEPT_KEY"])
        _ = try table.options.choice("sink.delivery-guarantee", ["exactly-once", "at-least-once", "none"])
        // (A CREATE TABLE … AS has its columns only when `sink` is called.)
        if !table.schema.fields.isEmpty { _ = try primaryKey(table) }
    }

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        throw SQLError("""
            upsert-kafka is a sink only in Eddy for now: reading a compacted topic back as a changing table needs \
            changelog support in the engine; read the topic with 'connector' = 'kafka' as a stream of its records
            """, at: table.location)
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        try validate(table)
        let key = try primaryKey(table)
        let keyFormat = try keyFormat(table)
        if keyFormat == .raw, key.count != 1 || table.schema.field(named: key[0])?.type != .utf8 {
            throw SQLError("'key.format' = 'raw' holds one STRING column; the PRIMARY KEY is (\(key.joined(separator: ", ")))",
                           at: table.options.location(of: "key.format"))
        }
        let log = try kafka.log(table)
        let partitions = Int32(try table.options.integer("sink.partitions", in: 1...10_000) ?? 1)
        let exceptKey = try table.options.choice("value.fields-include", ["ALL", "EXCEPT_KEY"], default: "ALL") == "EXCEPT_KEY"
        var sink = LogSinkDescriptor(log: log, topic: try kafka.sinkTopic(table), partitions: partitions,
                                     keyFields: key, valueFormat: try valueFormat(table), keyFormat: keyFormat, valueExceptKey: exceptKey)
        let guarantee = try table.options.choice("sink.delivery-guarantee", ["exactly-once", "at-least-once", "none"], default: "exactly-once")
        // On the embedded broker without transactions: its log cleaner does not compact transactional
        // batches yet, and each record is a whole upsert, so a batch seen in part is only a batch
        // seen early (the header-dedup appends still write each change once).
        let embedded = kafka.embedded.map { $0.log === log } ?? false
        sink.transactional = guarantee == "exactly-once" && log is any TransactionalRecordLog && !embedded
        if let prefix = table.options["sink.transactional-id-prefix"] { sink.transactionalIdPrefix = prefix }
        // A key's records all go to one partition (murmur2, as Java clients place keys), so compaction keeps its newest.
        sink.partitioner = .default
        sink.topicConfigs = ["cleanup.policy": "compact"]
        return sink
    }

    private func primaryKey(_ table: TableDefinition) throws(SQLError) -> [String] {
        guard let key = table.primaryKey, !key.isEmpty else {
            throw SQLError("upsert-kafka needs a PRIMARY KEY (…) NOT ENFORCED: its columns are each record's key", at: table.location)
        }
        return key
    }

    private func keyFormat(_ table: TableDefinition) throws(SQLError) -> MessageFormat {
        guard let name = try table.options.choice("key.format", ["json", "csv", "raw"]), let format = MessageFormat(rawValue: name) else {
            throw SQLError("upsert-kafka needs 'key.format': 'json', 'csv' or 'raw'", at: table.location)
        }
        return format
    }

    private func valueFormat(_ table: TableDefinition) throws(SQLError) -> MessageFormat {
        guard let name = try table.options.choice("value.format", ["json", "csv"]), let format = MessageFormat(rawValue: name) else {
            throw SQLError("upsert-kafka needs 'value.format': 'json' or 'csv'", at: table.location)
        }
        return format
    }
}

/// `'connector' = 'filesystem'`: a directory of JSON-lines, CSV or Parquet files, with Hive-style
/// partition directories for `PARTITIONED BY`. As a source, new files are picked up at every trigger
/// (so `source.monitor-interval` is the trigger interval); as a sink, files per micro-batch with a
/// log (`_eddy_log/`, exactly once).
struct FilesystemConnector: TableConnector {
    let name = "filesystem"
    let partitionable = true
    let optionKeys: Set<String> = [
        "path", "format", "source.monitor-interval", "sink.output-mode",
        "csv.field-delimiter", "csv.ignore-first-line", "parquet.compression", "parquet.compression.codec.zstd.level", "parquet.row-group.rows",
        "parquet.page.size",
        "sink.rolling-policy.file-size", "sink.rolling-policy.rollover-interval",
    ]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try table.options.required("path", "the directory of the table's files")
        if try format(table) == "csv" { _ = try recordFormat(table) }
        _ = try parquetOptions(table)
        _ = try fileBytesMax(table)
        _ = try table.options.duration("sink.rolling-policy.rollover-interval")
        _ = try table.options.choice("sink.output-mode", ["append", "complete"])
        _ = try table.options.duration("source.monitor-interval")
    }

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        let path = try table.options.required("path", "the directory the files are in")
        var source: FileSourceDescriptor = .files(path, format: try recordFormat(table), bounded: table.bounded)
        source.partitionColumns = table.partitionKeys
        return source
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        let path = try table.options.required("path", "the directory the files go to")
        var sink: FileSinkDescriptor
        switch try format(table) {
        case "csv": sink = .files(path, format: .csv)
        case "parquet": sink = .files(path, format: .parquet, parquet: try parquetOptions(table))
        default: sink = .files(path, format: .jsonLines)
        }
        if let bytes = try fileBytesMax(table) { sink.fileBytesMax = bytes }
        sink.partitionBy = table.partitionKeys
        return sink
    }

    /// Flink's 'sink.rolling-policy.file-size': `128MB`, `1 gb`, `65536` (bytes), at least 1 KiB.
    func fileBytesMax(_ table: TableDefinition) throws(SQLError) -> Int? {
        let key = "sink.rolling-policy.file-size"
        guard let text = table.options[key] else { return nil }
        guard let bytes = parseByteSize(text), bytes >= 1024 else {
            throw SQLError("option '\(key)' is a size of at least 1 KiB such as '128MB', not '\(text)'", at: table.options.location(of: key))
        }
        return bytes
    }

    func format(_ table: TableDefinition) throws(SQLError) -> String {
        guard let format = try table.options.choice("format", ["json", "csv", "parquet"]) else {
            throw SQLError("option 'format' is required: 'json' (one object per line), 'csv' or 'parquet'", at: table.location)
        }
        return format
    }

    /// Flink's 'parquet.compression' (SNAPPY, the default, GZIP, ZSTD or UNCOMPRESSED, any case), and
    /// Eddy's row group rows and page bytes.
    func parquetOptions(_ table: TableDefinition) throws(SQLError) -> ParquetWriter.Options {
        var options = ParquetWriter.Options(decimalPrecision: table.decimalPrecision)
        if let text = table.options["parquet.compression"] {
            guard let codec = ParquetWriter.Options.Codec(rawValue: text.lowercased()) else {
                throw SQLError("option 'parquet.compression' is SNAPPY, GZIP, ZSTD or UNCOMPRESSED, not '\(text)'",
                               at: table.options.location(of: "parquet.compression"))
            }
            options.codec = codec
        }
        if let rows = try table.options.integer("parquet.row-group.rows", in: 1...Int64(Int32.max)) { options.rowGroupRows = Int(rows) }
        if let bytes = try table.options.integer("parquet.page.size", in: 1024...(256 << 20)) { options.pageBytes = Int(bytes) }
        if let level = try table.options.integer("parquet.compression.codec.zstd.level", in: 1...22) { options.zstdLevel = Int(level) }
        return options
    }

    func recordFormat(_ table: TableDefinition) throws(SQLError) -> RecordFormat {
        switch try format(table) {
        case "parquet":
            return .parquet(table.schema)
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

/// `'connector' = 'datagen'`: generated rows, the same in every run. Either Eddy's event generator
/// (`'kind'` = purchases | transactions | sensors | bids, as `eddy gen` makes them; the table
/// declares the kind's columns, all or some), or rows for the declared schema as Flink's datagen makes
/// them: per column `fields.<column>.kind` random (`min`, `max`, `length`) or sequence (`start`,
/// `end`), `null-rate`, and for timestamps `max-past`. `'number-of-rows'` bounds the table; without it
/// rows arrive at `'rows-per-second'` (default 10000) without end. `'seed'`, `'partitions'`.
struct DatagenConnector: TableConnector {
    let name = "datagen"
    let optionKeys: Set<String> = ["kind", "number-of-rows", "rows-per-second", "seed", "partitions", "malformed-fraction"]
    let optionPrefixes = ["fields."]
    static let fieldProperties: Set<String> = ["kind", "min", "max", "length", "start", "end", "null-rate", "max-past"]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try descriptor(table)
    }

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        try descriptor(table)
    }

    func descriptor(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        var rate = try table.options.integer("rows-per-second", in: 1...10_000_000)
        var count = try table.options.integer("number-of-rows", in: 1...Int64.max)
        let seed = UInt64(try table.options.integer("seed") ?? 42)
        let partitions = Int(try table.options.integer("partitions", in: 1...1024) ?? 1)
        let generator: any RowGenerator
        if table.options["kind"] != nil {
            let kinds = EventGenerator.Kind.allCases.map(\.rawValue)
            let kind = EventGenerator.Kind(rawValue: try table.options.choice("kind", kinds)!)!
            var options = EventGenerator.Options()
            guard count != nil || rate != nil else {
                throw SQLError("datagen with 'kind' needs 'number-of-rows' (a bounded table) or 'rows-per-second' (an endless one)", at: table.location)
            }
            options.count = count ?? Int64.max / 2
            options.seed = seed
            if let text = table.options["malformed-fraction"] {
                guard let fraction = Double(text), (0...1).contains(fraction) else {
                    throw SQLError("option 'malformed-fraction' is a number from 0 to 1, got '\(text)'", at: table.options.location(of: "malformed-fraction"))
                }
                options.malformedFraction = fraction
            }
            let events = EventGenerator(kind, options: options)
            for field in table.schema.fields {
                guard let offered = events.schema.field(named: field.name) else {
                    throw SQLError("datagen kind '\(kind.rawValue)' has no column `\(field.name)`; it makes \(events.schema)", at: table.location)
                }
                guard offered.type == field.type else {
                    throw SQLError("datagen kind '\(kind.rawValue)' makes `\(field.name)` as \(offered.type), not \(field.type)", at: table.location)
                }
            }
            generator = events
        } else {
            var rows = RandomRows(columns: try columns(table), count: 0, seed: seed)
            // A sequence ends the table where it ends (Flink's rule).
            for column in rows.columns {
                if case .sequence(let start, let end) = column.kind { count = min(count ?? Int64.max, end - start + 1) }
            }
            if count == nil && rate == nil { rate = 10_000 }
            rows.count = count ?? Int64.max / 2
            rows.rowsPerSecond = rate
            generator = rows
        }
        return GeneratorSourceDescriptor(generator: generator, eventsPerSecond: count == nil ? rate : nil, partitions: partitions)
            .narrowed(to: table.schema)
    }

    /// The declared columns with their `fields.<column>.*` options, each checked.
    func columns(_ table: TableDefinition) throws(SQLError) -> [RandomRows.Column] {
        let options = table.options
        for option in options.entries where option.key.hasPrefix("fields.") {
            let rest = option.key.dropFirst("fields.".count)
            guard let dot = rest.lastIndex(of: "."), table.schema.field(named: String(rest[..<dot])) != nil,
                  Self.fieldProperties.contains(String(rest[rest.index(after: dot)...])) else {
                throw SQLError("option '\(option.key)' is not fields.<column>.<\(Self.fieldProperties.sorted().joined(separator: " | "))> for a column of `\(table.name)`",
                               at: option.location)
            }
        }
        var columns: [RandomRows.Column] = []
        for field in table.schema.fields {
            if field.name.contains(".") {
                throw SQLError("datagen does not make ROW columns yet (`\(field.name)`)", at: table.location)
            }
            var column = RandomRows.Column(name: field.name, type: field.type)
            func number(_ property: String) throws(SQLError) -> Double? {
                let key = "fields.\(field.name).\(property)"
                guard let text = options[key] else { return nil }
                guard let value = Double(text), value.isFinite, abs(value) < 4e18 else {
                    throw SQLError("option '\(key)' must be a number, got '\(text)'", at: options.location(of: key))
                }
                return value
            }
            let kind = try options.choice("fields.\(field.name).kind", ["random", "sequence"], default: "random")
            if kind == "sequence" {
                guard let start = try number("start"), let end = try number("end"), start <= end, start == start.rounded(), end == end.rounded() else {
                    throw SQLError("a sequence needs whole 'fields.\(field.name).start' ≤ 'fields.\(field.name).end'", at: table.location)
                }
                guard field.type != .float64 else { throw SQLError("a sequence makes whole numbers; `\(field.name)` is DOUBLE", at: table.location) }
                column.kind = .sequence(start: Int64(start), end: Int64(end))
            }
            column.min = try number("min") ?? column.min
            column.max = try number("max") ?? column.max
            // Decimals are drawn in units of their scale: the scaled range must fit 64 bits too.
            var factor = 1.0
            if case .decimal(let scale) = field.type { factor = pow(10, Double(scale)) }
            guard column.min <= column.max, (column.max - column.min) * factor < 4e18, abs(column.min) * factor < 4e18,
                  abs(column.max) * factor < 4e18 else {
                throw SQLError("""
                    the range of `\(field.name)` ('fields.\(field.name).min' \(column.min) to 'max' \(column.max); 0 to 1000000 by \
                    default) must run upwards and, in units of its scale, fit within ±4e18: set a smaller 'fields.\(field.name).max'
                    """, at: table.location)
            }
            if field.type == .int64, column.min != column.min.rounded() || column.max != column.max.rounded() {
                throw SQLError("'fields.\(field.name).min' and 'max' are whole numbers for a BIGINT column", at: table.location)
            }
            if case .sequence(let start, let end) = column.kind, abs(Double(start)) * factor >= 4e18 || abs(Double(end)) * factor >= 4e18 {
                throw SQLError("the sequence of `\(field.name)` is out of range for its scale", at: table.location)
            }
            if let length = try number("length") {
                guard length >= 0, length <= 1_048_576, length == length.rounded() else {
                    throw SQLError("'fields.\(field.name).length' is a whole number up to 1048576", at: options.location(of: "fields.\(field.name).length"))
                }
                column.length = Int(length)
            }
            if let rate = try number("null-rate") {
                guard (0...1).contains(rate) else { throw SQLError("'fields.\(field.name).null-rate' is from 0 to 1", at: table.location) }
                column.nullRate = rate
            }
            column.maxPastMs = try options.duration("fields.\(field.name).max-past")?.milliseconds ?? 0
            columns.append(column)
        }
        return columns
    }
}

/// A log that is never read: kafka tables in a plan that will not run (`eddy explain`).
final class UnconnectedLog: RecordLog {
    struct NotConnected: Error, CustomStringConvertible {
        var description: String { "no broker is embedded: the plan was made to be explained, not run" }
    }

    func partitionCount(_ topic: String) throws -> Int? { throw NotConnected() }
    func topicNames() throws -> [String] { throw NotConnected() }
    func ensureTopic(_ topic: String, partitions: Int32, configs: [String: String]) throws -> Int { throw NotConnected() }
    func readableRanges(_ topic: String, isolation: IsolationLevel) throws -> [ReadableRange]? { throw NotConnected() }
    func offsets(_ topic: String, atOrAfter millis: Int64, isolation: IsolationLevel) throws -> [Offset]? { throw NotConnected() }
    func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int, isolation: IsolationLevel,
              _ visit: (LogRecord) throws -> Void) throws -> Offset { throw NotConnected() }
    func append(_ topic: String, partition: PartitionID, _ records: [LogAppend]) throws -> Offset { throw NotConnected() }
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

    func write(batchId: Int64, _ batch: RecordBatch) -> [DeadLetter] {
        // At least once across restarts (standard output keeps no state): a replayed batch prints again.
        if let lastBatch, batchId <= lastBatch { return [] }
        lastBatch = batchId
        for row in batch.rows {
            output(prefix + kind + "[" + row.map(\.description).joined(separator: ", ") + "]")
        }
        return []
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
    func write(batchId: Int64, _ batch: RecordBatch) -> [DeadLetter] { [] }
}

/// `'connector' = 'sqlite'`: a table of an SQLite database file, written exactly once (see
/// `SQLiteSinkDescriptor`); updating results upsert on the SQL table's PRIMARY KEY.
struct SQLiteConnector: TableConnector {
    let name = "sqlite"
    let optionKeys: Set<String> = ["path", "table-name"]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try table.options.required("path", "the SQLite database file")
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        let path = try table.options.required("path", "the SQLite database file")
        if mode == .update && (table.primaryKey ?? []).isEmpty {
            throw SQLError("an updating result goes into an SQLite table by its PRIMARY KEY: declare PRIMARY KEY (…) NOT ENFORCED", at: table.location)
        }
        return SQLiteSinkDescriptor(path: path, table: table.options["table-name"] ?? table.name, primaryKey: table.primaryKey)
    }
}

/// `'connector' = 'jdbc'` (Flink's, for `jdbc:postgresql://` URLs) and `'connector' = 'postgres'`
/// (`postgres://` URLs): a table of a PostgreSQL database, written exactly once (see
/// `PostgresSinkDescriptor`); updating results upsert on the SQL table's PRIMARY KEY.
struct PostgresConnector: TableConnector {
    let name: String
    let optionKeys: Set<String> = ["url", "table-name", "username", "password", "sink.max-retries"]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try endpoint(table)
        _ = try table.options.integer("sink.max-retries", in: 0...100)
    }

    func endpoint(_ table: TableDefinition) throws(SQLError) -> PostgresEndpoint {
        let url = try table.options.required("url", name == "jdbc" ? "jdbc:postgresql://HOST:PORT/DATABASE" : "postgres://USER@HOST:PORT/DATABASE")
        if name == "jdbc" && !url.hasPrefix("jdbc:postgresql:") {
            throw SQLError("the jdbc connector writes PostgreSQL: 'url' = 'jdbc:postgresql://HOST:PORT/DATABASE'", at: table.options.location(of: "url"))
        }
        do {
            return try PostgresEndpoint(url: url, username: table.options["username"], password: table.options["password"])
        } catch {
            throw SQLError(error.message, at: table.options.location(of: "url"))
        }
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        if mode == .update && (table.primaryKey ?? []).isEmpty {
            throw SQLError("an updating result goes into a PostgreSQL table by its PRIMARY KEY: declare PRIMARY KEY (…) NOT ENFORCED", at: table.location)
        }
        return PostgresSinkDescriptor(endpoint: try endpoint(table), table: table.options["table-name"] ?? table.name,
                                      primaryKey: table.primaryKey, retries: Int(try table.options.integer("sink.max-retries", in: 0...100) ?? 5),
                                      decimalPrecision: table.decimalPrecision)
    }
}

/// `'connector' = 'webhook'`: rows POSTed as JSON arrays to `url`, at least once, retried with
/// back-off (see `WebhookSinkDescriptor`). Options: `url`; `headers.<Name>` for request headers;
/// `sink.batch-size` (rows per request, default 100), `sink.max-retries` (default 8),
/// `sink.retry-backoff` (the first wait, doubling up to 30 s; default 500 ms), `sink.timeout`
/// (per attempt; default 10 s).
struct WebhookConnector: TableConnector {
    let name = "webhook"
    let optionKeys: Set<String> = ["url", "format", "sink.batch-size", "sink.max-retries", "sink.retry-backoff", "sink.timeout"]
    let optionPrefixes = ["headers."]

    func validate(_ table: TableDefinition) throws(SQLError) {
        _ = try descriptor(table)
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        guard mode == .append else {
            throw SQLError("a webhook takes appended rows only (a request cannot be taken back): write windowed or filtered results", at: table.location)
        }
        return try descriptor(table)
    }

    private func descriptor(_ table: TableDefinition) throws(SQLError) -> WebhookSinkDescriptor {
        let options = table.options
        let url = try options.required("url", "where to POST the rows (http:// or https://)")
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw SQLError("option 'url' must be an http:// or https:// URL, got '\(url)'", at: options.location(of: "url"))
        }
        _ = try options.choice("format", ["json"], default: "json")
        var descriptor = WebhookSinkDescriptor(url: url)
        descriptor.headers = options.entries.filter { $0.key.hasPrefix("headers.") && $0.key.count > "headers.".count }
            .map { (String($0.key.dropFirst("headers.".count)), $0.value) }
        if let rows = try options.integer("sink.batch-size", in: 1...Int64(WebhookSinkDescriptor.batchRowsMax)) { descriptor.batchRows = Int(rows) }
        if let retries = try options.integer("sink.max-retries", in: 0...100) { descriptor.maxRetries = Int(retries) }
        if let backoff = try options.duration("sink.retry-backoff") { descriptor.initialBackoffMs = max(1, backoff.milliseconds) }
        if let timeout = try options.duration("sink.timeout") { descriptor.timeoutMs = max(1, timeout.milliseconds) }
        return descriptor
    }
}
