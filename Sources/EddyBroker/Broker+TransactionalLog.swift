import EddyCore
import EddyLog
import EddyWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The transactional producers of in-process writers: producer id, epoch and the next sequence of
/// each partition they wrote in this epoch.
final class InProcessProducers: Sendable {
    struct Producer: Sendable {
        var id: Int64
        var epoch: Int16
        var sequences: [TopicPartition: Int32] = [:]
    }

    private let producers = NIOLockedValueBox<[String: Producer]>([:])

    subscript(writer: String) -> Producer? {
        get { producers.withLockedValue { $0[writer] } }
        set { producers.withLockedValue { $0[writer] = newValue } }
    }
}

/// A transaction of an in-process writer that could not go on; the batch is written again on replay.
struct InProcessTransactionError: Error, CustomStringConvertible {
    let description: String
}

/// The engine's topic sinks write each micro-batch as one transaction of the broker they run in,
/// through the same coordinator, producer-state checks, markers and transactional offsets that
/// clients' transactions go through (InitProducerId, AddPartitionsToTxn, Produce, AddOffsetsToTxn,
/// TxnOffsetCommit, EndTxn), without the wire: read_committed consumers see a batch all at once,
/// exactly as from a cluster. The batch marker is the offset committed for partition 0 of the
/// topic in the group named after the writer, as `KafkaClusterLog` keeps it. Call from a thread of
/// the caller's own (the engine's batch threads), never from Swift's cooperative pool: these calls
/// wait for the broker's asynchronous work.
extension Broker: TransactionalRecordLog {
    /// Transactions of in-process writers are aborted by the coordinator past this.
    static let inProcessTransactionTimeoutMs: Int32 = 60_000
    /// Records and bytes per batch appended (the sink's batches of rows are split), well under the
    /// default max.message.bytes (1 MiB) that clients' batches are held to.
    static let inProcessBatchRecordsMax = 1000
    static let inProcessBatchBytesMax = 512 << 10

    public func committedBatch(writer: String, topic: String) throws -> Int64? {
        inProcessProducers[writer] = nil
        _ = try inProcessProducer(writer)  // fences an older writer of this id and settles its transaction
        guard let committed = groups.committed(groupId: writer)[TopicPartition(topic, PartitionID(0))], committed.offset > 0 else {
            return nil
        }
        return committed.offset - 1
    }

    public func appendTransaction(writer: String, topic: String, batchId: Int64, _ records: [(partition: PartitionID, record: LogAppend)]) throws {
        if topics.topic(topic) == nil { try ensureTopic(topic, partitions: config.defaultPartitions) }
        let producer = try inProcessProducer(writer)
        do {
            let sequences = try waitFor { [self] in
                try await transaction(writer, producer, topic: topic, batchId: batchId, records)
            }
            inProcessProducers[writer]?.sequences = sequences
        } catch {
            // A fenced or failed producer is dropped: the next use initialises it again, which aborts
            // what this one left open.
            inProcessProducers[writer] = nil
            _ = try? waitFor { [self] in
                await transactions.run(self) { c, token, now in
                    ((), c.endTxn(transactionalId: writer, producerId: producer.id, producerEpoch: producer.epoch, commit: false,
                                  requestVersion: 3, now: now, token: token))
                }
            }
            throw error
        }
    }

    /// The records, then the marker, then the commit; the producer's sequences after it.
    private func transaction(_ writer: String, _ producer: InProcessProducers.Producer, topic: String, batchId: Int64,
                             _ records: [(partition: PartitionID, record: LogAppend)]) async throws -> [TopicPartition: Int32] {
        func check(_ error: ErrorCode, _ what: String) throws {
            guard error == .none else { throw InProcessTransactionError(description: "\(what) of \(writer): \(error.name)") }
        }
        var sequences = producer.sequences
        var byPartition: [PartitionID: [LogAppend]] = [:]
        for entry in records { byPartition[entry.partition, default: []].append(entry.record) }
        let written = byPartition.keys.sorted().map { TopicPartition(topic, $0) }
        if !written.isEmpty {
            let (added, _) = await transactions.run(self) { c, _, now in
                c.addPartitions(transactionalId: writer, producerId: producer.id, producerEpoch: producer.epoch, partitions: written,
                                requestVersion: 3, now: now)
            }
            try check(added, "adding \(written.count) partitions of \(topic) to the transaction")
        }
        for tp in written {
            guard let partition = topics.partition(topic, tp.partition.rawValue) else {
                throw RecordLogError(.unknownTopicOrPartition, "\(tp) does not exist")
            }
            let rows = byPartition[tp.partition]!
            var start = 0, last: Int64 = -1
            while start < rows.count {
                var end = start, bytes = 0
                while end < rows.count, end - start < Self.inProcessBatchRecordsMax {
                    let size = Self.storedSize(rows[end])
                    if end > start && bytes + size > Self.inProcessBatchBytesMax { break }
                    bytes += size
                    end += 1
                }
                let chunk = rows[start..<end]
                let sequence = sequences[tp] ?? 0
                let batch = try RecordBatch(try RecordBatch.encode(
                    records: chunk.enumerated().map { position, record in
                        Record(key: record.key.map { ByteBuffer(bytes: $0) }, value: record.value.map { ByteBuffer(bytes: $0) },
                               headers: record.headers.map { RecordHeader(key: $0.key, value: $0.value.map { ByteBuffer(bytes: $0) }) },
                               offsetDelta: Int32(position))
                    },
                    baseTimestamp: Timestamp(millis: clock()), producerId: producer.id, producerEpoch: producer.epoch,
                    baseSequence: sequence, isTransactional: true))
                let appended = try await blocking { try partition.withLog { try $0.append(batch) } }
                appendSignal.notify()
                last = appended.lastOffset.rawValue
                // The next batch's base sequence, modulo 2^31 as the log's producer state counts.
                sequences[tp] = ProducerSequence(sequence).advanced(by: Int32(chunk.count)).rawValue
                start += chunk.count
            }
            // Durable before the transaction commits: one fsync per partition, after its last chunk.
            if last >= 0 { try await groupCommit.waitDurable(partition, through: last) }
        }
        // The marker: batch N commits offset N + 1, decided by the same marker as the records.
        let (offsetsAdded, _) = await transactions.run(self) { c, _, now in
            c.addOffsets(transactionalId: writer, producerId: producer.id, producerEpoch: producer.epoch,
                         offsetsPartition: offsetsPartition(for: writer), requestVersion: 3, now: now)
        }
        try check(offsetsAdded, "adding the batch marker to the transaction")
        let marker = [TopicPartition(topic, PartitionID(0)): CommittedOffset(offset: batchId + 1, leaderEpoch: -1, metadata: nil, commitTimestamp: clock())]
        try await appendOffsetRecords(group: writer, marker.map { (OffsetRecords.Key(group: writer, topicPartition: $0.key), $0.value) },
                                      transactionalProducer: (producer.id, producer.epoch))
        groups.addPendingTransactional(producerId: producer.id, groupId: writer, marker)
        let (_, answer) = await transactions.run(self) { c, token, now in
            ((), c.endTxn(transactionalId: writer, producerId: producer.id, producerEpoch: producer.epoch, commit: true,
                          requestVersion: 3, now: now, token: token))
        }
        guard case .endTxn(let ended) = answer else { throw InProcessTransactionError(description: "committing batch \(batchId) of \(writer): no answer") }
        try check(ended, "committing batch \(batchId)")
        return sequences
    }

    /// About the bytes a record takes in a batch.
    private static func storedSize(_ record: LogAppend) -> Int {
        var size = 32 + (record.key?.count ?? 0) + (record.value?.count ?? 0)
        for header in record.headers { size += header.key.utf8.count + (header.value?.count ?? 0) }
        return size
    }

    /// The writer's producer, initialised (InitProducerId) when this process has none yet: that
    /// fences an older one and completes or aborts the transaction it left, retried while the
    /// coordinator is still finishing it.
    private func inProcessProducer(_ writer: String) throws -> InProcessProducers.Producer {
        if let known = inProcessProducers[writer] { return known }
        let deadline = Date().addingTimeInterval(30)
        while true {
            let (_, answer) = try waitFor { [self] in
                await transactions.run(self) { c, token, now in
                    ((), c.initProducerId(transactionalId: writer, timeoutMs: Self.inProcessTransactionTimeoutMs, producerId: -1, producerEpoch: -1,
                                          requestVersion: 4, now: now, token: token))
                }
            }
            guard case .initProducerId(let error, let id, let epoch) = answer else {
                throw InProcessTransactionError(description: "the transactions of \(writer): the coordinator gave no producer id")
            }
            if error == .none {
                let producer = InProcessProducers.Producer(id: id, epoch: epoch)
                inProcessProducers[writer] = producer
                return producer
            }
            guard error == .concurrentTransactions || error == .coordinatorNotAvailable, Date() < deadline else {
                throw InProcessTransactionError(description: "the transactions of \(writer): \(error.name)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Runs `body` as a task and waits for it on this thread (see the extension's note).
    func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<Result<T, any Error>?>(nil)
        Task {
            do {
                let value = try await body()
                result.withLockedValue { $0 = .success(value) }
            } catch {
                result.withLockedValue { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        return try result.withLockedValue { $0! }.get()
    }
}
