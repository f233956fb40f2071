import EddyCore
import EddyEngine
import EddyFormats

/// Reads a topic of a `RecordLog` (the broker embedded in the same process: no sockets), with no
/// consumer group; offsets per partition live in the query's checkpoint (as Spark's Kafka source
/// keeps them), so a restart resumes exactly. Record values are decoded with the format; a record's
/// partition, offset and timestamp can be columns too (`metadata`, Flink's metadata columns). Keys
/// and headers are not columns yet.
public struct LogSourceDescriptor: SourceDescriptor {
    public enum StartingOffsets: String, Sendable {
        case earliest
        case latest
    }

    /// What a metadata column holds (Flink's kafka connector keys).
    public enum Metadata: String, Sendable, CaseIterable {
        /// The partition, as BIGINT.
        case partition
        /// The record's offset, as BIGINT.
        case offset
        /// The record's Kafka timestamp, as TIMESTAMP.
        case timestamp

        public var type: DataType { self == .timestamp ? .timestamp : .int64 }
    }

    public var log: any RecordLog
    public var topic: String
    public var format: RecordFormat
    public var startingOffsets: StartingOffsets
    /// Only committed transactional records (read_committed); true by default, as Eddy's own
    /// transactional sinks need.
    public var readCommitted: Bool
    /// Columns filled from the record rather than its value: name → what it holds.
    public var metadata: [String: Metadata] = [:]
    /// The columns in their declared order (the format's and the metadata columns); nil: the format's.
    public var declaredSchema: Schema?

    public var schema: Schema { declaredSchema ?? format.schema }
    public var description: String { "log[\(topic), \(format)]" }

    public func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        try LogSource(self, columns: context.requiredColumns)
    }
}

extension SourceDescriptor where Self == LogSourceDescriptor {
    /// A topic of a `RecordLog`: pass the embedded `Broker`.
    public static func log(_ log: any RecordLog, topic: String, format: RecordFormat,
                           startingOffsets: LogSourceDescriptor.StartingOffsets = .earliest,
                           readCommitted: Bool = true) -> LogSourceDescriptor {
        LogSourceDescriptor(log: log, topic: topic, format: format, startingOffsets: startingOffsets, readCommitted: readCommitted)
    }
}

final class LogSource: Source {
    let descriptor: LogSourceDescriptor
    let columns: [String]?
    let schema: Schema
    /// Bytes of batches fetched from the log per call.
    static let readBytesMax = 8 << 20

    /// The value columns to decode (nil: all of the format's), and the metadata columns wanted.
    let valueColumns: [String]?
    let metadataColumns: [(name: String, key: LogSourceDescriptor.Metadata)]

    init(_ descriptor: LogSourceDescriptor, columns: [String]?) throws(EngineError) {
        self.descriptor = descriptor
        self.columns = columns
        schema = columns.map { names in Schema(descriptor.schema.fields.filter { names.contains($0.name) }) } ?? descriptor.schema
        metadataColumns = schema.names.compactMap { name in descriptor.metadata[name].map { (name, $0) } }
        valueColumns = descriptor.metadata.isEmpty ? columns : schema.names.filter { descriptor.metadata[$0] == nil }
        _ = try descriptor.format.makeDecoder(columns: valueColumns)
    }

    var description: String { descriptor.description }

    private var isolation: IsolationLevel { descriptor.readCommitted ? .readCommitted : .readUncommitted }

    private func ranges() throws(EngineError) -> [(start: Int64, end: Int64)] {
        let found: [ReadableRange]?
        do { found = try descriptor.log.readableRanges(descriptor.topic, isolation: isolation) } catch {
            throw .execution("cannot list the partitions of \(descriptor.topic): \(error)")
        }
        guard let found else { throw .execution("topic \(descriptor.topic) does not exist in the embedded broker") }
        return found.map { ($0.start.rawValue, $0.end.rawValue) }
    }

    func initialOffsets() throws(EngineError) -> SourceOffsets {
        let ranges = try ranges()
        return SourceOffsets(ordered: ranges.map { range in descriptor.startingOffsets == .earliest ? range.start : range.end })
    }

    func latestOffsets() throws(EngineError) -> SourceOffsets {
        SourceOffsets(ordered: try ranges().map(\.end))
    }

    /// Up to `limit.maxRecords` offsets in all, shared among partitions in proportion to their lag.
    func planEnd(from start: SourceOffsets, limit: ReadLimit) throws(EngineError) -> SourceOffsets {
        let latest = try latestOffsets()
        var end = start
        let missing = latest.partitions.keys.filter { end[$0] == nil }
        if !missing.isEmpty {
            // Partitions added since the query started begin at their start.
            let initial = try initialOffsets()
            for partition in missing { end[partition] = initial[partition] ?? 0 }
        }
        let lag = latest.partitions.reduce(into: [PartitionID: Int64]()) { result, entry in
            result[entry.key] = max(0, entry.value - (end[entry.key] ?? 0))
        }
        let totalLag = lag.values.reduce(0, +)
        for (partition, behind) in lag {
            var take = behind
            if let maxRecords = limit.maxRecords, totalLag > maxRecords {
                take = max(1, behind * maxRecords / totalLag)
                take = min(take, behind)
            }
            end[partition] = (end[partition] ?? 0) + take
        }
        return end
    }

    func read(from start: SourceOffsets, to end: SourceOffsets) throws(EngineError) -> [SourceChunk] {
        var chunks: [SourceChunk] = []
        for partition in end.sortedPartitions {
            guard let to = end[partition] else { continue }
            var from = start[partition] ?? 0
            guard to > from else { continue }
            var decoder = try descriptor.format.makeDecoder(columns: valueColumns)
            var letters: [DeadLetter] = []
            // The metadata of each decoded row, when the plan reads any.
            var offsets: [Int64] = [], timestamps: [Int64] = []
            while from < to {
                let next: Offset
                do {
                    next = try descriptor.log.read(descriptor.topic, partition: partition, from: Offset(from), to: Offset(to),
                                                   maxBytes: Self.readBytesMax, isolation: isolation) { record in
                        guard let value = record.value else {
                            letters.append(letter(record, partition: partition, reason: "the record has no value (a tombstone)"))
                            return
                        }
                        if let failure = decoder.appendRecord(value) {
                            letters.append(letter(record, partition: partition, reason: failure.reason))
                        } else if !metadataColumns.isEmpty {
                            offsets.append(record.offset.rawValue)
                            timestamps.append(record.timestamp.millis)
                        }
                    }
                } catch {
                    throw .execution("cannot read \(descriptor.topic)-\(partition) at offset \(from): \(error)")
                }
                guard next.rawValue > from else {
                    throw .execution("\(descriptor.topic)-\(partition) ends before offset \(to) (log truncated?)")
                }
                from = next.rawValue
            }
            var batch = decoder.finish()
            if !metadataColumns.isEmpty { batch = withMetadata(batch, partition: partition, offsets: offsets, timestamps: timestamps) }
            chunks.append(SourceChunk(partition: partition, batch: batch, deadLetters: letters))
        }
        return chunks
    }

    /// The decoded value columns and the metadata columns, in the source's column order.
    private func withMetadata(_ values: RecordBatch, partition: PartitionID, offsets: [Int64], timestamps: [Int64]) -> RecordBatch {
        let columns = schema.names.map { name -> Column in
            switch descriptor.metadata[name] {
            case .partition: .int64(Array(repeating: Int64(partition.rawValue), count: offsets.count))
            case .offset: .int64(offsets)
            case .timestamp: .timestamp(timestamps)
            case nil: values.columns[values.schema.index(of: name)!]
            }
        }
        return RecordBatch(schema: schema, columns: columns)
    }

    private func letter(_ record: LogRecord, partition: PartitionID, reason: String) -> DeadLetter {
        DeadLetter(reason: .malformed, detail: reason, source: description, partition: partition, offset: record.offset.rawValue,
                   key: record.key.map { Array($0) }, value: record.value.map { Array($0) } ?? [])
    }
}
