import EddyCore
import EddyWire
import NIOCore

/// A read as a consumer at an isolation level sees it (`PartitionLog.read(from:maxBytes:minOneBatch:isolation:below:)`):
/// whole batches as stored, and at read_committed the aborted transactions overlapping them. Fetch
/// hands both to the client, which skips the aborted records itself; an in-process reader lets
/// `forEachVisibleBatch` skip them.
public struct IsolatedRead: Sendable {
    public var read: ReadResult
    public var isolation: IsolationLevel
    /// The partition's last stable offset when the read was made.
    public var lastStableOffset: Offset
    /// At read_committed, the aborted transactions overlapping the read, in marker order; empty at
    /// read_uncommitted.
    public var abortedTransactions: [AbortedTransaction]

    /// The batches a consumer at this isolation level delivers records from, in offset order:
    /// control batches (transaction markers) left out, and at read_committed the transactional
    /// batches of aborted transactions too. Records of a batch may still lie before the offset the
    /// read started from (a batch is never split): the caller skips those. Returns the offset after
    /// the last batch read, visible or not (where the next read starts), nil when nothing was read.
    @discardableResult
    public func forEachVisibleBatch(_ body: (RecordBatch) throws -> Void) throws -> Offset? {
        var end: Offset?
        for batch in try RecordBatch.batches(in: read.records) {
            let header = batch.header
            end = header.nextOffset
            if header.isControl || (header.isTransactional && isAborted(header)) { continue }
            try body(batch)
        }
        return end
    }

    private func isAborted(_ header: RecordBatchHeader) -> Bool {
        abortedTransactions.contains { aborted in
            aborted.producerId.rawValue == header.producerId
                && aborted.firstOffset <= header.baseOffset && header.baseOffset <= aborted.lastOffset
        }
    }
}
