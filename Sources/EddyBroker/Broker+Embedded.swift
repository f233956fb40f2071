import EddyCore
import EddyLog
import EddyWire
import NIOCore

/// The broker's log for readers in the same process (the engine's embedded-log source): no sockets,
/// no request encoding; the same isolation rules as Fetch.
extension Broker {
    /// One record as an in-process reader sees it.
    public struct EmbeddedRecord: Sendable {
        public var offset: Int64
        public var timestampMs: Int64
        public var key: ByteBuffer?
        public var value: ByteBuffer?
        public var headers: [(key: String, value: ByteBuffer?)] = []
    }

    /// The number of partitions of `topic`, nil when it does not exist.
    public func partitionCount(_ topic: String) -> Int? {
        topics.topic(topic)?.partitions.count
    }

    /// Creates `topic` with `partitions` unless it exists; returns its partition count.
    @discardableResult
    public func ensureTopic(_ topic: String, partitions: Int32) throws -> Int {
        do {
            return try topics.create(topic, partitions: partitions, overrides: [:]).partitions.count
        } catch let error as TopicError where error.code == .topicAlreadyExists {
            return topics.topic(topic)?.partitions.count ?? 0
        }
    }

    /// Per partition: the offset a reader can read up to (the last stable offset for read_committed,
    /// the log end otherwise) and the log start offset.
    public func readableRange(_ topic: String, readCommitted: Bool) -> [(start: Int64, end: Int64)]? {
        guard let found = topics.topic(topic) else { return nil }
        return found.partitions.map { partition in
            partition.withLog { log in
                (log.logStartOffset.rawValue, (readCommitted ? log.lastStableOffset : log.logEndOffset).rawValue)
            }
        }
    }

    /// Records of `partition` in [from, to), in offset order, without control records; with
    /// `readCommitted`, records of aborted transactions are left out (as a read_committed consumer
    /// would see them). Reads at most about `maxBytes` of batches per call; call again from the
    /// returned next offset. Throws when [from, to) is no longer in the log (retention moved past it).
    public func readRecords(_ topic: String, partition: Int, from: Int64, to: Int64, maxBytes: Int,
                            readCommitted: Bool) throws -> (records: [EmbeddedRecord], next: Int64) {
        guard let found = topics.topic(topic), found.partitions.indices.contains(partition) else {
            throw TopicError(code: .unknownTopicOrPartition, message: "\(topic)-\(partition) does not exist")
        }
        let (read, aborted) = try found.partitions[partition].withLog { log in
            let limit = readCommitted ? log.lastStableOffset : log.logEndOffset
            let read = try log.read(from: Offset(from), maxBytes: maxBytes, minOneBatch: true, below: Offset(min(to, limit.rawValue)))
            let aborted = readCommitted ? log.abortedTransactions(from: Offset(from), upTo: Offset(to)) : []
            return (read, aborted)
        }
        var records: [EmbeddedRecord] = []
        var next = from
        for batch in try RecordBatch.batches(in: read.records) {
            let header = batch.header
            guard header.baseOffset.rawValue < to else { break }
            next = max(next, min(header.nextOffset.rawValue, to))
            if header.isControl { continue }
            if header.isTransactional, aborted.contains(where: { $0.producerId.rawValue == header.producerId
                && $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset }) { continue }
            let logAppend = header.timestampType == .logAppendTime
            for record in try batch.records() {
                let offset = header.baseOffset.rawValue + Int64(record.offsetDelta)
                guard offset >= from, offset < to else { continue }
                let timestamp = logAppend ? header.maxTimestamp.millis : header.baseTimestamp.millis + record.timestampDelta
                records.append(EmbeddedRecord(offset: offset, timestampMs: timestamp, key: record.key, value: record.value,
                                              headers: record.headers.map { ($0.key, $0.value) }))
            }
        }
        return (records, next)
    }
}

extension Broker {
    /// A record an in-process writer appends (dead letters, engine sinks).
    public struct EmbeddedAppend: Sendable {
        public var key: [UInt8]?
        public var value: [UInt8]?
        public var headers: [(String, [UInt8])]

        public init(key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8])] = []) {
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    /// Appends `records` to one partition as one batch (created with the broker's defaults when the
    /// topic is missing) and returns the first offset. Durability follows the topic's flush policy,
    /// as an acks=1 produce does.
    @discardableResult
    public func appendRecords(_ topic: String, partition: Int, _ records: [EmbeddedAppend]) throws -> Int64 {
        if topics.topic(topic) == nil { try ensureTopic(topic, partitions: config.defaultPartitions) }
        guard let found = topics.topic(topic), found.partitions.indices.contains(partition) else {
            throw TopicError(code: .unknownTopicOrPartition, message: "\(topic)-\(partition) does not exist")
        }
        let now = clock()
        let encoded = try RecordBatch.encode(
            records: records.enumerated().map { index, record in
                Record(key: record.key.map { ByteBuffer(bytes: $0) }, value: record.value.map { ByteBuffer(bytes: $0) },
                       headers: record.headers.map { RecordHeader(key: $0.0, value: ByteBuffer(bytes: $0.1)) },
                       offsetDelta: Int32(index))
            },
            baseTimestamp: Timestamp(millis: now))
        let batch = try RecordBatch(encoded)
        let result = try found.partitions[partition].withLog { log in try log.append(batch) }
        appendSignal.notify()  // wake long-polling fetches
        return result.baseOffset.rawValue
    }
}
