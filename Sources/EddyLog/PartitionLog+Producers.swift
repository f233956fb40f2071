import EddyCore
import EddyWire
import NIOCore

/// A batch the producer-state table refused (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
/// INVALID_TXN_STATE, …): the code travels to the client as is.
public struct ProducerRejection: Error, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    public let detail: String
    public var description: String { "\(code): \(detail)" }
}

extension AppendingBatch {
    /// The producer fields of a data batch; nil for a batch without a producer id (not idempotent).
    init?(_ header: RecordBatchHeader) {
        guard header.producerId >= 0 else { return nil }
        self.init(producerId: ProducerId(header.producerId), producerEpoch: ProducerEpoch(header.producerEpoch),
                  baseSequence: ProducerSequence(header.baseSequence), lastOffsetDelta: header.lastOffsetDelta,
                  isTransactional: header.isTransactional, maxTimestamp: header.maxTimestamp)
    }
}

/// Idempotent and transactional producers (`ProducerStateTable`): each append is checked against
/// the table first; the table is snapshotted to `producer-state.snapshot` (its format is on
/// `ProducerStateTable+Snapshot`) when a segment rolls and at close, and rebuilt at open from the
/// snapshot plus the batch headers appended after it, so it survives a restart or a crash.
extension PartitionLog {
    static let producerSnapshotName = "producer-state.snapshot"

    var producerSnapshotPath: String { directory + "/" + Self.producerSnapshotName }

    /// The table's verdict on a data batch about to be appended: nil to append it, or the original
    /// offsets of a retried batch (nothing is appended). Throws `ProducerRejection`.
    func checkProducer(_ header: RecordBatchHeader) throws -> BatchMetadata? {
        guard let appending = AppendingBatch(header) else { return nil }
        switch producers.check(appending) {
        case .accept: return nil
        case .duplicate(let original): return original
        case .reject(let code, let detail): throw ProducerRejection(code: code, detail: detail)
        }
    }

    /// After a data batch was written at `header`'s offsets.
    func recordProducer(_ header: RecordBatchHeader) {
        guard let appending = AppendingBatch(header) else { return }
        producers.recordAppend(appending, firstOffset: header.baseOffset, lastOffset: header.lastOffset)
        producers.highWatermarkAdvanced(to: logEndOffset)
    }

    /// Writes the table as of the log end (at a roll, and at close).
    func snapshotProducers() throws {
        try FileSystem.replaceDurably(producerSnapshotPath, ByteBuffer(bytes: producers.snapshot(at: logEndOffset)), directory: nil)
    }

    /// At open: the snapshot if it is readable and not past the log end (a crash can cut the log
    /// below it), then every batch from its offset (or the log start) to the end.
    func loadProducers() throws {
        var from = logStartOffset
        producers = ProducerStateTable()
        if let bytes = try FileSystem.readAll(producerSnapshotPath) {
            do {
                let (table, offset) = try ProducerStateTable.restore(Array(bytes.readableBytesView))
                if offset <= logEndOffset {
                    producers = table
                    from = max(offset, logStartOffset)
                } else {
                    recoveryReport?.notes.append("producer snapshot at \(offset) is past the log end \(logEndOffset); rebuilt from the log")
                }
            } catch {
                recoveryReport?.notes.append("ignored \(producerSnapshotPath): \(error); rebuilt from the log")
            }
        }
        for index in segmentIndex(containing: from)..<segments.count {
            let segment = segments[index]
            try segment.forEachBatch(from: from) { header, position in
                if header.producerId >= 0 {
                    if header.isControl {
                        let batch = try segment.batch(at: position, size: header.totalSize)
                        if let record = try batch.records().first, let marker = try? EndTransactionMarker(decoding: record) {
                            producers.replay(TransactionMarker(
                                producerId: ProducerId(header.producerId), producerEpoch: ProducerEpoch(header.producerEpoch),
                                coordinatorEpoch: CoordinatorEpoch(marker.coordinatorEpoch),
                                controlType: marker.type == .commit ? .commit : .abort, timestamp: header.maxTimestamp),
                                at: header.baseOffset)
                        }
                    } else if let appending = AppendingBatch(header) {
                        producers.replay(appending, firstOffset: header.baseOffset, lastOffset: header.lastOffset)
                    }
                }
                return true
            }
            if segment !== active { segment.closeFile() }
        }
        producers.highWatermarkAdvanced(to: logEndOffset)
    }
}
