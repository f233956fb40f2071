import EddyCore
import EddyWire
import NIOCore

/// Transactions as one partition sees them: the transaction coordinator's COMMIT/ABORT markers,
/// the last stable offset (LSO: below it, every transaction is decided), and the aborted
/// transactions a read_committed consumer must skip. The decisions are the producer-state table's.
extension PartitionLog {
    /// Appends a transaction marker (a control batch of one record) for `producerId`, ending its
    /// transaction in this partition. Throws `ProducerRejection` for a stale producer or
    /// coordinator epoch (the marker is then not written). Returns the marker's offset.
    @discardableResult
    public func appendMarker(producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32, commit: Bool) throws -> Offset {
        try checkUsable()
        let time = now()
        let marker = TransactionMarker(producerId: ProducerId(producerId), producerEpoch: ProducerEpoch(producerEpoch),
                                       coordinatorEpoch: CoordinatorEpoch(coordinatorEpoch),
                                       controlType: commit ? .commit : .abort, timestamp: Timestamp(millis: time))
        if case .reject(let code, let detail) = producers.check(marker) { throw ProducerRejection(code: code, detail: detail) }
        let record = EndTransactionMarker(type: commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch).record()
        let bytes = try RecordBatch.encode(records: [record], baseTimestamp: Timestamp(millis: time), producerId: producerId,
                                           producerEpoch: producerEpoch, baseSequence: -1, isTransactional: true, isControl: true)
        let result = try write([try RecordBatch(bytes)], trackingProducers: false)
        producers.recordMarker(marker, at: result.baseOffset)
        producers.highWatermarkAdvanced(to: logEndOffset)
        return result.baseOffset
    }

    /// Appends a batch outside the producer checks: the broker's own transactional records (a
    /// transactional offset commit in `__consumer_offsets`, whose batches carry no sequence).
    public func appendInternal(_ batch: RecordBatch) throws -> AppendResult {
        try checkUsable()
        try StoredBatch.validateForAppend(batch, maxMessageBytes: Int.max)
        return try write([batch], trackingProducers: false)
    }

    /// The last stable offset: the first offset of the oldest undecided transaction, or the log end.
    public var lastStableOffset: Offset { producers.lastStableOffset(highWatermark: logEndOffset) }

    /// Aborted transactions overlapping [from, upTo), for a read_committed Fetch.
    public func abortedTransactions(from: Offset, upTo: Offset) -> [AbortedTransaction] {
        producers.abortedTransactions(from: from, upTo: upTo)
    }

    /// The offset a reader at `isolation` reads up to: the last stable offset (read_committed) or
    /// the log end (ListOffsets' "latest", the end of a source's readable range).
    public func readableEnd(_ isolation: IsolationLevel) -> Offset {
        isolation == .readCommitted ? lastStableOffset : logEndOffset
    }

    /// The one read_committed rule, for Fetch and in-process readers alike: `read` up to `limit`
    /// (when given) and, at read_committed, below the last stable offset, with the aborted
    /// transactions overlapping what can be returned.
    public func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool, isolation: IsolationLevel,
                     below limit: Offset? = nil) throws -> IsolatedRead {
        let stable = lastStableOffset
        switch isolation {
        case .readUncommitted:
            let result = try limit.map { try read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch, below: $0) }
                ?? read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch)
            return IsolatedRead(read: result, isolation: isolation, lastStableOffset: stable, abortedTransactions: [])
        case .readCommitted:
            let end = min(stable, limit ?? stable)
            let result = try read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch, below: end)
            return IsolatedRead(read: result, isolation: isolation, lastStableOffset: stable,
                                abortedTransactions: abortedTransactions(from: offset, upTo: end))
        }
    }

    /// `read` that stops before the first batch at or past `limit` (the LSO for read_committed).
    public func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool, below limit: Offset) throws -> ReadResult {
        var result = try read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch)
        var position = result.records.readerIndex
        let end = result.records.writerIndex
        while position + RecordBatchHeader.logOverhead <= end {
            guard let base: Int64 = result.records.getInteger(at: position),
                  let length: Int32 = result.records.getInteger(at: position + RecordBatchHeader.Position.batchLength) else { break }
            if base >= limit.rawValue { break }
            position += Int(length) + RecordBatchHeader.logOverhead
        }
        result.records = result.records.getSlice(at: result.records.readerIndex, length: min(position, end) - result.records.readerIndex)!
        return result
    }
}
