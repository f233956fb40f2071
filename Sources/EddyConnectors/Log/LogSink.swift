import EddyCore
import EddyEngine
import EddyFormats
import Foundation

/// Writes each micro-batch's rows to a topic of a `RecordLog` (the broker embedded in the same
/// process), exactly once, as JSON or CSV values (and keys of `keyFields`, when given: JSON objects, or
/// with `raw` one STRING column's text).
///
/// Each record carries `eddy.query.id`, `eddy.batch.id` and `eddy.batch.index` headers. A row goes to
/// the partition its key hashes to (Kafka's murmur2, as Java clients place keys), else to
/// `index mod partitions` (see `partitioner`), so a
/// batch replayed after a crash puts the same records in the same order into the same partitions; the
/// sink then writes in each partition only the records after the newest one of its query there (found
/// once among the partition's last `scanRecordsMax` records, then kept). A crash between two
/// partitions' appends, or in the middle of one, so leaves every record once. That holds when the
/// pipeline did not change before the replay, and the query's newest record is among the last
/// `scanRecordsMax` (else at least once), and the topic keeps its partition count (a row goes where
/// the count sends it). Readers see records as they are appended (no transactions yet), so they may
/// read a batch before its commit. Appends are durable as an acks=1 produce is: a crash of the process
/// loses nothing, a power loss may lose the newest records of a committed batch.
public struct LogSinkDescriptor: SinkDescriptor {
    public var log: any RecordLog
    public var topic: String
    /// Partitions of the topic when it is created.
    public var partitions: Int32
    /// Columns whose values form the record key; nil: no key.
    public var keyFields: [String]?
    public var valueFormat: MessageFormat
    public var keyFormat: MessageFormat
    /// Leave the key fields out of the value (Flink's 'value.fields-include' = 'EXCEPT_KEY').
    public var valueExceptKey: Bool
    /// Write each micro-batch in one transaction of the log (`TransactionalRecordLog`: a Kafka
    /// cluster), committed with a marker of the batch: read_committed readers see a batch all at once
    /// or not at all, and a replayed batch the log has committed is skipped.
    public var transactional = false
    /// Flink's `sink.partitioner`.
    public enum Partitioner: String, Sendable {
        case `default`
        case roundRobin = "round-robin"
        case fixed
    }
    public var partitioner = Partitioner.default
    /// The start of the transactional id (`<prefix>-<query id>-<topic>`; Flink's `sink.transactional-id-prefix`).
    public var transactionalIdPrefix = "eddy"
    /// Topic configs for a topic the sink creates (`cleanup.policy` = `compact` for upsert-kafka).
    public var topicConfigs: [String: String] = [:]

    /// The partition Kafka's Java client (and librdkafka's `murmur2_random`) puts a key in: positive
    /// murmur2 of its bytes modulo the partition count.
    public static func defaultPartition(key: ArraySlice<UInt8>, partitions: Int) -> Int {
        Int(LogSink.murmur2(key) & 0x7FFF_FFFF) % partitions
    }

    public init(log: any RecordLog, topic: String, partitions: Int32 = 1, keyFields: [String]? = nil,
                valueFormat: MessageFormat = .json, keyFormat: MessageFormat = .json, valueExceptKey: Bool = false) {
        self.log = log
        self.topic = topic
        self.partitions = partitions
        self.keyFields = keyFields
        self.valueFormat = valueFormat
        self.keyFormat = keyFormat
        self.valueExceptKey = valueExceptKey
    }

    public var description: String { "log[\(topic), \(valueFormat)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        try LogSink(self, context: context)
    }
}

final class LogSink: Sink {
    let descriptor: LogSinkDescriptor
    let context: SinkContext
    let partitionCount: Int
    let keyColumns: [Int]?
    /// The columns the value is made of.
    let valueColumns: [Int]
    /// Records and bytes (values, keys and headers) per append, well under the broker's 1 MiB
    /// max.message.bytes for a batch.
    static let batchRecordsMax = 1000
    static let batchBytesMax = 512 << 10
    /// How far back, per partition, the sink looks for its query's newest record.
    static let scanRecordsMax: Int64 = 100_000
    /// Per partition: the newest (batch, index) of this query written there (nil: none found).
    private var newest: [Int: QueryPosition?] = [:]

    init(_ descriptor: LogSinkDescriptor, context: SinkContext) throws(EngineError) {
        self.descriptor = descriptor
        self.context = context
        let partitions: Int
        do {
            partitions = try descriptor.log.ensureTopic(descriptor.topic, partitions: descriptor.partitions, configs: descriptor.topicConfigs)
        } catch {
            throw .execution("cannot open topic \(descriptor.topic): \(error)")
        }
        guard partitions > 0 else { throw .execution("topic \(descriptor.topic) has no partitions") }
        partitionCount = partitions
        keyColumns = try descriptor.keyFields.map { names throws(EngineError) in
            try names.map { name throws(EngineError) in
                guard let index = context.schema.index(of: name) else { throw .configuration("key field \(name) is not a column of the sink") }
                return index
            }
        }
        if descriptor.keyFormat == .raw {
            guard let keyColumns, keyColumns.count == 1, context.schema.fields[keyColumns[0]].type == .utf8 else {
                throw .configuration("a raw key is one STRING column; the key fields are \(descriptor.keyFields ?? [])")
            }
        }
        guard descriptor.valueFormat != .raw else { throw .configuration("raw is a key format; values are json or csv") }
        if descriptor.transactional && !(descriptor.log is any TransactionalRecordLog) {
            throw .configuration("\(descriptor.topic): this log has no transactions")
        }

        let keyed = Set(keyColumns ?? [])
        valueColumns = context.schema.fields.indices.filter { !descriptor.valueExceptKey || !keyed.contains($0) }
        guard !valueColumns.isEmpty else { throw .configuration("every column is in the key: the value would be empty") }
    }

    /// Fences the previous run and settles the transaction it left as the query starts, not at the
    /// first write: an open transaction holds read_committed readers back.
    func prepare() throws(EngineError) {
        if transactionalLog != nil { _ = try lastCommittedBatch() }
    }

    var description: String { descriptor.description }

    /// The transactional id (and marker group) of this query's writes to this topic: stable across
    /// restarts, so a restarted query fences its previous incarnation.
    var writer: String { "\(descriptor.transactionalIdPrefix)-\(context.queryId)-\(descriptor.topic)" }

    private var transactionalLog: (any TransactionalRecordLog)? { descriptor.transactional ? descriptor.log as? any TransactionalRecordLog : nil }

    /// The transactional path's newest committed batch, once asked (then kept up to date by `write`).
    private var committedBatch: Int64??

    func lastCommittedBatch() throws(EngineError) -> Int64? {
        if let log = transactionalLog {
            if let known = committedBatch { return known }
            var found: Int64?
            do { found = try log.committedBatch(writer: writer, topic: descriptor.topic) } catch {
                throw .execution("cannot read the committed batch of \(descriptor.topic): \(error)")
            }
            if found == nil {
                // No marker: a new query, or the marker's group expired (offsets.retention.minutes) while
                // the query was down. The newest committed record of this query names its batch (a
                // batch without rows leaves none, and writing it again writes nothing).
                found = try newestBatch(isolation: .readCommitted)
            }
            committedBatch = .some(found)
            return found
        }
        return try newestBatch(isolation: .readUncommitted)
    }

    /// The newest batch of this query with a record in the topic.
    private func newestBatch(isolation: IsolationLevel) throws(EngineError) -> Int64? {
        var last: Int64?
        for partition in 0..<partitionCount {
            let position: QueryPosition?
            if isolation == .readUncommitted {
                position = try newestPosition(partition)
            } else {
                do {
                    position = try QueryPosition.newest(of: context.queryId, in: descriptor.log, topic: descriptor.topic,
                                                        partition: PartitionID(Int32(partition)), scanRecords: Self.scanRecordsMax, isolation: isolation)
                } catch {
                    throw .execution("cannot read back \(descriptor.topic)-\(partition): \(error)")
                }
            }
            if let position { last = max(last ?? position.batchId, position.batchId) }
        }
        return last
    }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        // An empty batch still commits its marker in a transaction, so the committed batch advances.
        guard !batch.isEmpty || transactionalLog != nil else { return [] }
        let lines = descriptor.valueFormat.encode(valueColumns.count == batch.schema.count ? batch : batch.select(valueColumns))
        let keys = keyColumns.map { descriptor.keyFormat.encode(batch.select($0)) }
        var perPartition: [[LogAppend]] = Array(repeating: [], count: partitionCount)
        if let log = transactionalLog {
            // One transaction per batch; a batch whose marker is committed is not written again.
            if let committed = try lastCommittedBatch(), batchId <= committed { return [] }
            var records: [(partition: PartitionID, record: LogAppend)] = []
            records.reserveCapacity(batch.count)
            for index in 0..<batch.count {
                let key = keys?[index] ?? nil
                let partition = partition(key: key, index: index)
                records.append((PartitionID(Int32(partition)), record(key: key, value: lines[index], batchId: batchId, index: index)))
            }
            do { try log.appendTransaction(writer: writer, topic: descriptor.topic, batchId: batchId, records) } catch {
                committedBatch = nil  // asked again: the transaction may have committed before the failure was seen
                throw .execution("cannot write batch \(batchId) to \(descriptor.topic): \(error)")
            }
            committedBatch = .some(batchId)
            return []
        }
        for index in 0..<batch.count {
            let key = keys?[index] ?? nil
            let partition = partition(key: key, index: index)
            if let newest = try newestPosition(partition), QueryPosition(batchId: batchId, index: index) <= newest { continue }
            perPartition[partition].append(record(key: key, value: lines[index], batchId: batchId, index: index))
        }
        for (partition, records) in perPartition.enumerated() where !records.isEmpty {
            var start = 0
            while start < records.count {
                var end = start
                var bytes = 0
                while end < records.count, end - start < Self.batchRecordsMax {
                    let record = records[end]
                    let size = (record.value?.count ?? 0) + (record.key?.count ?? 0) + 96
                    if end > start && bytes + size > Self.batchBytesMax { break }
                    bytes += size
                    end += 1
                }
                let slice = Array(records[start..<end])
                do {
                    try descriptor.log.append(descriptor.topic, partition: PartitionID(Int32(partition)), slice)
                } catch {
                    throw .execution("cannot write to \(descriptor.topic)-\(partition): \(error)")
                }
                start += slice.count
            }
            let lastIndex = Int(String(decoding: records.last!.headers[2].value!, as: UTF8.self))!
            newest[partition] = QueryPosition(batchId: batchId, index: lastIndex)
        }
        return []
    }

    /// A row's record, with the query, batch and index in headers.
    private func record(key: ArraySlice<UInt8>?, value: ArraySlice<UInt8>?, batchId: Int64, index: Int) -> LogAppend {
        LogAppend(key: key.map(Array.init), value: value.map(Array.init), headers: [
            LogHeader(key: DeadLetter.queryIdHeader, value: Array(context.queryId.utf8)),
            LogHeader(key: DeadLetter.batchIdHeader, value: Array(String(batchId).utf8)),
            LogHeader(key: DeadLetter.indexHeader, value: Array(String(index).utf8)),
        ])
    }

    /// The newest record of this query in `partition`, looked up in the topic once.
    private func newestPosition(_ partition: Int) throws(EngineError) -> QueryPosition? {
        if let known = newest[partition] { return known }
        let found: QueryPosition?
        do {
            found = try QueryPosition.newest(of: context.queryId, in: descriptor.log, topic: descriptor.topic,
                                             partition: PartitionID(Int32(partition)), scanRecords: Self.scanRecordsMax)
        } catch {
            throw .execution("cannot read back \(descriptor.topic)-\(partition): \(error)")
        }
        newest[partition] = .some(found)
        return found
    }

    /// The partition of row `index`: by `sink.partitioner` (`default`: a keyed row where Kafka's Java
    /// client puts its key, an unkeyed one round-robin by index; `round-robin`; `fixed`: partition 0).
    func partition(key: ArraySlice<UInt8>?, index: Int) -> Int {
        switch descriptor.partitioner {
        case .fixed: return 0
        case .roundRobin: return index % partitionCount
        case .default: return key.map { LogSinkDescriptor.defaultPartition(key: $0, partitions: partitionCount) } ?? index % partitionCount
        }
    }

    /// Kafka's murmur2 of a key (see `LogSinkDescriptor.defaultPartition`).
    static func murmur2(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        let m: UInt32 = 0x5BD1_E995
        var h: UInt32 = 0x9747_B28C ^ UInt32(truncatingIfNeeded: bytes.count)
        var index = bytes.startIndex
        while bytes.endIndex - index >= 4 {
            var k = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        let tail = bytes.endIndex - index
        if tail == 3 { h ^= UInt32(bytes[index + 2]) << 16 }
        if tail >= 2 { h ^= UInt32(bytes[index + 1]) << 8 }
        if tail >= 1 {
            h ^= UInt32(bytes[index])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}

/// How rows become Kafka message bytes (a key or a value).
public enum MessageFormat: String, Sendable, Hashable, CustomStringConvertible {
    /// One JSON object per row (nested for dotted names).
    case json
    /// One CSV record per row, without a header or the line end.
    case csv
    /// One STRING column's UTF-8 bytes; NULL is a null message (Flink's 'raw').
    case raw

    public var description: String { rawValue }

    /// Each row's message; nil for a raw NULL.
    func encode(_ batch: RecordBatch) -> [ArraySlice<UInt8>?] {
        var bytes: [UInt8] = []
        switch self {
        case .json:
            JSONLinesEncoder().encode(batch, into: &bytes)
            return bytes.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(batch.count).map { $0 }
        case .csv:
            var ends: [Int] = []
            CSVEncoder(options: EncodeOptions(includeHeader: false)).encode(batch, into: &bytes, rowEnds: &ends)
            var start = 0
            return ends.map { end in
                defer { start = end }
                return bytes[start..<(end - 1)]  // without the LF
            }
        case .raw:
            let column = batch.columns[0]
            return (0..<batch.count).map { row in
                guard case .string(let text) = column.value(at: row) else { return nil }
                return ArraySlice(text.utf8)
            }
        }
    }
}
