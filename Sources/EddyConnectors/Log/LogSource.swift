import EddyCore
import EddyEngine
import EddyFormats

/// Reads a topic of a `RecordLog` (the broker embedded in the same process: no sockets), with no
/// consumer group; offsets per partition live in the query's checkpoint (as Spark's Kafka source
/// keeps them), so a restart resumes exactly. Record values are decoded with the format; keys and Kafka timestamps are not
/// columns yet.
public struct LogSourceDescriptor: SourceDescriptor {
    public enum StartingOffsets: String, Sendable {
        case earliest
        case latest
    }

    public var log: any RecordLog
    public var topic: String
    public var format: RecordFormat
    public var startingOffsets: StartingOffsets
    /// Only committed transactional records (read_committed); true by default, as Eddy's own
    /// transactional sinks need.
    public var readCommitted: Bool

    public var schema: Schema { format.schema }
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

    init(_ descriptor: LogSourceDescriptor, columns: [String]?) throws(EngineError) {
        self.descriptor = descriptor
        self.columns = columns
        schema = columns.map { names in Schema(descriptor.schema.fields.filter { names.contains($0.name) }) } ?? descriptor.schema
        _ = try descriptor.format.makeDecoder(columns: columns)
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
            var decoder = try descriptor.format.makeDecoder(columns: columns)
            var letters: [DeadLetter] = []
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
            chunks.append(SourceChunk(partition: partition, batch: decoder.finish(), deadLetters: letters))
        }
        return chunks
    }

    private func letter(_ record: LogRecord, partition: PartitionID, reason: String) -> DeadLetter {
        DeadLetter(reason: .malformed, detail: reason, source: description, partition: partition, offset: record.offset.rawValue,
                   key: record.key.map { Array($0) }, value: record.value.map { Array($0) } ?? [])
    }
}
