import EddyCore
import EddyLog
import EddyWire
import NIOCore

/// The broker side of transactions: the internal compacted topic `__transaction_state` (the
/// coordinator's write-ahead log, Kafka's record layout), transaction markers written to every
/// partition of a transaction, and transactional offset commits settled by those markers.
extension Broker {
    static let transactionStateTopic = "__transaction_state"

    /// Creates `__transaction_state` when missing (one partition: this node coordinates every
    /// transactional id).
    func openTransactionStateTopic() throws {
        if topics.topic(Self.transactionStateTopic) == nil {
            _ = try topics.create(Self.transactionStateTopic, partitions: 1,
                                  overrides: ["cleanup.policy": "compact", "segment.bytes": String(config.offsetsTopicSegmentBytes)])
        }
    }

    static func isInternal(_ topic: String) -> Bool { topic == offsetsTopic || topic == transactionStateTopic }

    /// Every record of `__transaction_state`, in log order.
    func readTransactionState() throws -> [(key: [UInt8], value: [UInt8]?)] {
        guard let partition = topics.partition(Self.transactionStateTopic, 0) else { return [] }
        var records: [(key: [UInt8], value: [UInt8]?)] = []
        try eachBatch(of: partition) { batch in
            guard !batch.header.isControl else { return }
            for record in try batch.records() {
                guard let key = record.key else { continue }
                records.append((Array(key.readableBytesView), record.value.map { Array($0.readableBytesView) }))
            }
        }
        return records
    }

    /// Appends one coordinator record and returns once it is fsynced.
    func appendTransactionState(key: [UInt8], value: [UInt8]?) async throws {
        guard let partition = topics.partition(Self.transactionStateTopic, 0) else {
            throw TopicError(code: .coordinatorNotAvailable, message: "no \(Self.transactionStateTopic)")
        }
        let record = Record(key: ByteBuffer(bytes: key), value: value.map { ByteBuffer(bytes: $0) }, offsetDelta: 0)
        let batch = try RecordBatch(try RecordBatch.encode(records: [record], baseTimestamp: Timestamp(millis: clock())))
        try await appendDurably(partition, batch)
    }

    /// Appends a broker-made batch (no producer checks) and waits for its fsync.
    func appendDurably(_ partition: Partition, _ batch: RecordBatch) async throws {
        let appended = try await blocking { try partition.withLog { try $0.appendInternal(batch) } }
        appendSignal.notify()
        try await groupCommit.waitDurable(partition, through: appended.lastOffset.rawValue)
    }

    /// Writes the COMMIT or ABORT marker to every partition of a transaction, settles the
    /// producer's transactional offsets in the `__consumer_offsets` partitions among them, and
    /// returns once every marker is fsynced. A partition that no longer exists (its topic was
    /// deleted) is skipped; a partition refusing the marker as stale is logged and skipped, as
    /// Kafka's coordinator does.
    func writeMarkers(_ markers: TxnMarkers) async throws {
        var written: [(Partition, Int64)] = []
        for tp in markers.partitions {
            guard let partition = topics.partition(tp.topic, tp.partition.rawValue) else { continue }
            do {
                let offset = try await blocking {
                    try partition.withLog {
                        try $0.appendMarker(producerId: markers.producerId, producerEpoch: markers.producerEpoch,
                                            coordinatorEpoch: 0, commit: markers.commit)
                    }
                }
                written.append((partition, offset.rawValue))
                // As on reload: the marker in the log decides the offsets, so settle them only
                // when it was written.
                if tp.topic == Self.offsetsTopic {
                    groups.settleTransactionalOffsets(producerId: markers.producerId, commit: markers.commit,
                                                      offsetsPartition: Int(tp.partition.rawValue),
                                                      partitions: topics.topic(Self.offsetsTopic)?.partitions.count ?? 1)
                }
            } catch let rejection as ProducerRejection {
                logger.warning("marker for \(markers.transactionalId) refused by \(tp): \(rejection)")
            }
        }
        appendSignal.notify()
        for (partition, offset) in written { try await groupCommit.waitDurable(partition, through: offset) }
    }

    /// The `__consumer_offsets` partition of a group.
    func offsetsPartition(for group: String) -> TopicPartition {
        let count = topics.topic(Self.offsetsTopic)?.partitions.count ?? 1
        return TopicPartition(Self.offsetsTopic, PartitionID(Int32(OffsetRecords.partition(for: group, partitions: count))))
    }
}
