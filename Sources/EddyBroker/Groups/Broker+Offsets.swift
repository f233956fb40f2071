import EddyCore
import EddyLog
import EddyWire
import NIOCore

/// The broker side of committed offsets: the internal compacted topic `__consumer_offsets`
/// (created at start, `offsets.topic.num.partitions` partitions), appends that are answered once
/// fsynced, and the load at start.
extension Broker {
    static let offsetsTopic = "__consumer_offsets"

    /// Creates the offsets topic when missing, then reads it from the start into `groups`.
    func openOffsetsTopic() throws {
        if topics.topic(Self.offsetsTopic) == nil {
            _ = try topics.create(Self.offsetsTopic, partitions: config.offsetsTopicPartitions,
                                  overrides: ["cleanup.policy": "compact", "segment.bytes": String(config.offsetsTopicSegmentBytes)])
        }
        guard let topic = topics.topic(Self.offsetsTopic) else { return }
        var records = 0
        for partition in topic.partitions {
            // Transactional commits wait for their producer's marker: commit applies them, abort
            // drops them; those still undecided at the end become pending again.
            var undecided: [Int64: [(OffsetRecords.Key, CommittedOffset?)]] = [:]
            try eachBatch(of: partition) { batch in
                let pid = batch.header.producerId
                if batch.header.isControl {
                    guard let first = try batch.records().first, let marker = try? EndTransactionMarker(decoding: first),
                          let decided = undecided.removeValue(forKey: pid) else { return }
                    if marker.type == .commit { for (key, value) in decided { groups.load(key, value) } }
                    return
                }
                for record in try batch.records() {
                    guard let keyBytes = record.key else { continue }
                    do {
                        guard let key = try OffsetRecords.decodeKey(keyBytes) else { continue }
                        let value = try record.value.map(OffsetRecords.decodeValue)
                        if batch.header.isTransactional {
                            undecided[pid, default: []].append((key, value))
                        } else {
                            groups.load(key, value)
                        }
                        records += 1
                    } catch {
                        logger.warning("\(partition.topicPartition) offset \(batch.header.baseOffset): skipped \(error)")
                    }
                }
            }
            for (pid, entries) in undecided {
                for case let (key, value?) in entries { groups.loadPending(producerId: pid, key, value) }
            }
        }
        groups.finishLoading()
        if records > 0 { logger.info("loaded \(records) committed offsets from \(Self.offsetsTopic)") }
    }

    /// Every batch of a partition from its log start, in order (loading the internal topics).
    func eachBatch(of partition: Partition, _ visit: (RecordBatch) throws -> Void) throws {
        try partition.withLog { log in
            var offset = log.logStartOffset
            while offset < log.logEndOffset {
                let read = try log.read(from: offset, maxBytes: 1 << 20, minOneBatch: true)
                let batches = try RecordBatch.batches(in: read.records)
                guard let last = batches.last else { break }
                for batch in batches { try visit(batch) }
                offset = last.header.nextOffset
            }
        }
    }

    /// Appends offset records (nil value: tombstone) for one group to its __consumer_offsets
    /// partition, and returns once they are fsynced. With a producer, as a transactional batch of
    /// that producer (TxnOffsetCommit): the transaction's marker decides it.
    func appendOffsetRecords(group: String, _ entries: [(OffsetRecords.Key, CommittedOffset?)],
                             transactionalProducer: (id: Int64, epoch: Int16)? = nil) async throws {
        guard !entries.isEmpty, let topic = topics.topic(Self.offsetsTopic), !topic.partitions.isEmpty else { return }
        let partition = topic.partitions[OffsetRecords.partition(for: group, partitions: topic.partitions.count)]
        let now = clock()
        let records = entries.enumerated().map { i, entry in
            Record(key: OffsetRecords.encodeKey(entry.0), value: entry.1.map(OffsetRecords.encodeValue),
                   timestampDelta: 0, offsetDelta: Int32(i))
        }
        let batch = try RecordBatch(try RecordBatch.encode(
            records: records, baseTimestamp: Timestamp(millis: now), producerId: transactionalProducer?.id ?? -1,
            producerEpoch: transactionalProducer?.epoch ?? -1, isTransactional: transactionalProducer != nil))
        try await appendDurably(partition, batch)
    }

    /// Per group and partition with a committed offset: the lag behind the log end, in records and
    /// in time (from the timestamp of the first record not yet consumed).
    public func consumerLag() async throws -> [ConsumerLag] {
        let committed = groups.allCommitted
        let now = clock()
        var result: [ConsumerLag] = []
        for (group, offsets) in committed.sorted(by: { $0.key < $1.key }) {
            for (tp, c) in offsets.sorted(by: { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }) {
                guard let partition = topics.partition(tp.topic, tp.partition.rawValue) else { continue }
                let (end, firstUnconsumed) = try await blocking { () -> (Int64, Int64?) in
                    try partition.withLog { log in
                        let end = log.logEndOffset.rawValue
                        guard c.offset < end, c.offset >= log.logStartOffset.rawValue else { return (end, nil) }
                        let read = try log.read(from: Offset(c.offset), maxBytes: 1, minOneBatch: true)
                        guard let batch = try RecordBatch.batches(in: read.records).first else { return (end, nil) }
                        let records = try batch.records()
                        let first = records.first { batch.header.baseOffset.rawValue + Int64($0.offsetDelta) >= c.offset }
                        return (end, first.map { batch.header.baseTimestamp.millis + $0.timestampDelta } ?? batch.header.maxTimestamp.millis)
                    }
                }
                result.append(ConsumerLag(group: group, topicPartition: tp, committedOffset: c.offset, logEndOffset: end,
                                          lagRecords: max(0, end - c.offset),
                                          lagSeconds: firstUnconsumed.map { max(0, Double(now - $0) / 1000) } ?? 0))
            }
        }
        return result
    }
}

/// One group's position in one partition against the log end (the dashboard shows these).
public struct ConsumerLag: Sendable, Equatable {
    public let group: String
    public let topicPartition: TopicPartition
    public let committedOffset: Int64
    public let logEndOffset: Int64
    /// Records between the committed offset and the log end.
    public let lagRecords: Int64
    /// Age of the first record not yet committed past (0 when caught up).
    public let lagSeconds: Double
}
