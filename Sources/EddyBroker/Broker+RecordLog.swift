import EddyCore
import EddyLog
import EddyWire
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

/// The broker as a `RecordLog` for readers and writers in the same process (the engine's log source
/// and dead-letter sink): no sockets, no request encoding, and Fetch's isolation rules
/// (`PartitionLog.read(…isolation:)`, `IsolatedRead.forEachVisibleBatch`).
extension Broker: RecordLog {
    public func partitionCount(_ topic: String) -> Int? {
        topics.topic(topic)?.partitions.count
    }

    @discardableResult
    public func topicNames() -> [String] { topics.all.map(\.name) }

    public func ensureTopic(_ topic: String, partitions: Int32, configs: [String: String]) throws -> Int {
        do {
            return try topics.create(topic, partitions: partitions, overrides: configs).partitions.count
        } catch let error as TopicError where error.code == .topicAlreadyExists {
            return topics.topic(topic)?.partitions.count ?? 0
        }
    }

    public func readableRanges(_ topic: String, isolation: IsolationLevel) -> [ReadableRange]? {
        topics.topic(topic)?.partitions.map { partition in
            partition.withLog { log in ReadableRange(start: log.logStartOffset, end: log.readableEnd(isolation)) }
        }
    }

    public func offsets(_ topic: String, atOrAfter millis: Int64, isolation: IsolationLevel) throws -> [Offset]? {
        try topics.topic(topic)?.partitions.map { partition in
            try partition.withLog { log in
                let end = log.readableEnd(isolation)
                guard let found = try log.offset(forTimestamp: millis) else { return end }
                return min(found.offset, end)
            }
        }
    }

    public func read(_ topic: String, partition index: PartitionID, from: Offset, to: Offset, maxBytes: Int,
                     isolation: IsolationLevel, _ visit: (LogRecord) throws -> Void) throws -> Offset {
        try read(topic, partition: index, from: from, to: to, maxBytes: maxBytes, isolation: isolation, headers: true, visit)
    }

    public func read(_ topic: String, partition index: PartitionID, from: Offset, to: Offset, maxBytes: Int,
                     isolation: IsolationLevel, headers wantsHeaders: Bool, _ visit: (LogRecord) throws -> Void) throws -> Offset {
        let read = try partition(topic, index).withLog { log in
            try log.read(from: from, maxBytes: maxBytes, minOneBatch: true, isolation: isolation, below: to)
        }
        // The read stops before `to`, so every batch starts below it; the last may end past it.
        let end = try read.forEachVisibleBatch { batch in
            let header = batch.header
            let logAppend = header.timestampType == .logAppendTime
            for record in try batch.records() {
                let offset = Offset(header.baseOffset.rawValue + Int64(record.offsetDelta))
                guard offset >= from, offset < to else { continue }
                let timestamp = logAppend ? header.maxTimestamp : Timestamp(millis: header.baseTimestamp.millis + record.timestampDelta)
                let headers = wantsHeaders ? record.headers.map { LogHeader(key: $0.key, value: $0.value.map { Array($0.readableBytesView) }) } : []
                try withBytes(record.key) { key in
                    try withBytes(record.value) { value in
                        try visit(LogRecord(offset: offset, timestamp: timestamp, key: key, value: value, headers: headers))
                    }
                }
            }
        }
        return end.map { max(from, min($0, to)) } ?? from
    }

    @discardableResult
    public func append(_ topic: String, partition index: PartitionID, _ records: [LogAppend]) throws -> Offset {
        if topics.topic(topic) == nil { try ensureTopic(topic, partitions: config.defaultPartitions) }
        let target = try partition(topic, index)
        let encoded = try RecordBatch.encode(
            records: records.enumerated().map { position, record in
                Record(key: record.key.map { ByteBuffer(bytes: $0) }, value: record.value.map { ByteBuffer(bytes: $0) },
                       headers: record.headers.map { RecordHeader(key: $0.key, value: $0.value.map { ByteBuffer(bytes: $0) }) },
                       offsetDelta: Int32(position))
            },
            baseTimestamp: Timestamp(millis: clock()))
        let result = try target.withLog { log in try log.append(try RecordBatch(encoded)) }
        appendSignal.notify()  // wake long-polling fetches
        return result.baseOffset
    }

    private func partition(_ topic: String, _ index: PartitionID) throws -> Partition {
        guard let partition = topics.partition(topic, index.rawValue) else {
            throw RecordLogError(.unknownTopicOrPartition, "\(TopicPartition(topic, index)) does not exist")
        }
        return partition
    }
}

/// `body` with a view of `buffer`'s readable bytes, or nil for a null buffer.
private func withBytes<T>(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
    guard let buffer else { return try body(nil) }
    return try buffer.withUnsafeReadableBytes { try body($0) }
}

/// In-process readers that own their offsets (the engine's log source) commit them to a consumer
/// group as a client's OffsetCommit without group management would (generation -1, no member):
/// stored durably in `__consumer_offsets`, so Kafka tools and the dashboard show the group's lag.
extension Broker: GroupOffsetsRecordLog {
    /// Blocks until the commit is durable: call it from a thread of the caller's own (the engine's
    /// batch threads), never from Swift's cooperative pool, which the commit itself runs on. A group
    /// with members (a consumer group in use) is refused, as Kafka refuses generation -1 commits to it.
    public func commitGroupOffsets(group: String, topic: String, _ offsets: [PartitionID: Offset]) throws {
        if let described = groups.describe(groupId: group), !described.members.isEmpty {
            throw GroupInUse(description: "group \(group) has members: its offsets belong to its consumers")
        }
        let (accepted, errors) = screenOffsets(offsets.map { (TopicPartition(topic, $0.key), $0.value.rawValue, -1, nil) },
                                               check: group.isEmpty ? .invalidGroupId : .none)
        if let (tp, code) = errors.first {
            throw RecordLogError(.unknownTopicOrPartition, "cannot commit \(tp) for group \(group): \(code.name)")
        }
        guard !accepted.isEmpty else { return }
        // The caller is a batch thread, not the cooperative pool: it may wait for the fsync.
        try waitFor { [self] in
            try await appendOffsetRecords(group: group, accepted.map { (OffsetRecords.Key(group: group, topicPartition: $0.key), $0.value) })
        }
        groups.offsetsCommitted(groupId: group, memberId: "", accepted)
    }

    public func committedGroupOffsets(group: String, topic: String) throws -> [PartitionID: Offset] {
        var offsets: [PartitionID: Offset] = [:]
        for (tp, committed) in groups.committed(groupId: group) where tp.topic == topic && committed.offset >= 0 {
            offsets[tp.partition] = Offset(committed.offset)
        }
        return offsets
    }
}

/// A commit refused because the group is in use by consumers.
public struct GroupInUse: Error, CustomStringConvertible {
    public let description: String
}
