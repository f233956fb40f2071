import EddyCore
import EddyWire
/// The producer state of one partition: which idempotent producers wrote here, their epochs and
/// latest sequences, their open transactions and the aborted ones. It is Kafka's
/// `ProducerStateManager` and `ProducerAppendInfo` (storage/internals/log) as a plain value with no
/// I/O and no clock, so a test drives it with nothing else around.
///
/// How the partition uses it, under the partition's lock:
/// - **Produce:** `check(batch)` decides and changes nothing. On `.accept` the log appends the batch,
///   and only once the append succeeded `recordAppend(batch, firstOffset:lastOffset:)` records it,
///   so a failed append leaves nothing to undo. `.duplicate` answers the retry with the original
///   offsets (Kafka sends logAppendTime -1 then); `.reject` answers with its error code. Idempotent
///   producers send one batch per partition per request, so batches are checked one at a time.
/// - **WriteTxnMarkers:** `check(marker)`, append the control batch, `recordMarker(_:at:)`; an
///   aborted `CompletedTransaction` goes to the partition's transaction index.
/// - **Fetch:** `lastStableOffset(highWatermark:)` bounds read_committed reads;
///   `abortedTransactions(from:upTo:)` fills the response's aborted transactions.
/// - **Housekeeping:** `highWatermarkAdvanced(to:)`, `truncateHead(logStartOffset:)` after retention
///   or DeleteRecords, `removeExpiredProducers(now:)` every few minutes (Kafka: 10).
/// - **Restart:** `restore` the newest snapshot, then `replay` every batch header from its offset on.
///   A truncation of the log's tail is handled the same way: the table cannot forget appends itself.
///
/// Timestamps come from the batches and markers (as in Kafka), not from a clock, so replaying the log
/// rebuilds exactly the table that recording it built.
public struct ProducerStateTable: Equatable, Sendable {
    /// Batches remembered per producer for answering retries: Kafka's NUM_BATCHES_TO_RETAIN, which is
    /// also the most in-flight requests an idempotent producer may have.
    public static let maxBatchesPerProducer = 5
    /// producer.id.expiration.ms: a producer idle this long is forgotten (unless a transaction is open).
    public static let producerIdExpirationMs: Int64 = 86_400_000

    public internal(set) var producers: [ProducerId: ProducerStateEntry] = [:]
    /// Open transactions by first offset, ascending. A copy of the entries' `ongoingTxnFirstOffset`
    /// kept sorted so the last stable offset costs nothing; transactions start at the log end, so a
    /// new one almost always goes last.
    var ongoing: [(firstOffset: Offset, producerId: ProducerId)] = []
    /// Aborted transactions in marker order (ascending `lastOffset`), until the log start passes them.
    public internal(set) var aborted: [AbortedTransaction] = []
    /// Completed transactions whose markers may not be replicated yet: Kafka keeps the last stable
    /// offset at their first offset until the high watermark passes the marker, so that the LSO never
    /// moves back if a new leader lacks the marker. `highWatermarkAdvanced(to:)` and `truncateHead`
    /// forget them; a partition that calls neither keeps every completed transaction here.
    public internal(set) var unreplicated: [CompletedTransaction] = []

    public init() {}

    public static func == (a: ProducerStateTable, b: ProducerStateTable) -> Bool {
        a.producers == b.producers && a.aborted == b.aborted && a.unreplicated == b.unreplicated
            && a.ongoing.elementsEqual(b.ongoing) { $0.firstOffset == $1.firstOffset && $0.producerId == $1.producerId }
    }

    // MARK: Produce

    /// Decides what to do with a data batch before it is appended. Changes nothing.
    ///
    /// The order of the checks is Kafka's: a retry of a remembered batch first (UnifiedLog.
    /// analyzeAndValidateProducerState), then the epoch, the sequence and the transaction state
    /// (ProducerAppendInfo.appendDataBatch).
    public func check(_ batch: AppendingBatch) -> ProducerCheck {
        let id = batch.producerId
        guard id.isIdempotent else { return .accept }
        guard batch.isWellFormed else {
            return .reject(.invalidRecord, "producer \(id): epoch \(batch.producerEpoch), base sequence "
                + "\(batch.baseSequence), lastOffsetDelta \(batch.lastOffsetDelta)")
        }
        // A producer the partition knows nothing of is accepted at any sequence. Kafka 3.x does the
        // same (ProducerAppendInfo.checkSequence since KIP-360, 2.5): its state may have expired or
        // its batches been deleted by retention, and UNKNOWN_PRODUCER_ID (59) is no longer sent.
        guard let entry = producers[id] else { return .accept }
        if let original = entry.duplicate(of: batch) { return .duplicate(original) }
        if batch.producerEpoch < entry.epoch {
            return .reject(.invalidProducerEpoch, "producer \(id): epoch \(batch.producerEpoch) is older than \(entry.epoch)")
        }
        if batch.producerEpoch > entry.epoch {
            guard batch.baseSequence == .zero else {
                return .reject(.outOfOrderSequenceNumber, "producer \(id): new epoch \(batch.producerEpoch) "
                    + "must start at sequence 0, not \(batch.baseSequence)")
            }
        } else {
            let expected = entry.lastSequence?.advanced(by: 1) ?? .zero
            guard batch.baseSequence == expected else {
                return .reject(.outOfOrderSequenceNumber, "producer \(id) epoch \(entry.epoch): sequence "
                    + "\(batch.baseSequence), expected \(expected)")
            }
        }
        if entry.ongoingTxnFirstOffset != nil && !batch.isTransactional {
            return .reject(.invalidTxnState, "producer \(id): non-transactional batch during its transaction")
        }
        return .accept
    }

    /// Records a batch that `check` accepted and the log then appended at `firstOffset...lastOffset`.
    public mutating func recordAppend(_ batch: AppendingBatch, firstOffset: Offset, lastOffset: Offset) {
        let verdict = check(batch)
        precondition(verdict == .accept, "recordAppend of a batch the table did not accept: \(verdict)")
        precondition(lastOffset.rawValue - firstOffset.rawValue == Int64(batch.lastOffsetDelta),
                     "offsets \(firstOffset)...\(lastOffset) do not match lastOffsetDelta \(batch.lastOffsetDelta)")
        apply(batch, firstOffset: firstOffset, lastOffset: lastOffset)
    }

    // MARK: Transaction markers

    /// Decides whether a COMMIT/ABORT marker from the transaction coordinator may be appended.
    /// Changes nothing. A marker for a producer the partition has not seen is accepted (Kafka creates
    /// its entry then): the coordinator may end a transaction whose data never arrived here.
    public func check(_ marker: TransactionMarker) -> ProducerCheck {
        let id = marker.producerId
        guard id.isIdempotent, marker.producerEpoch.rawValue >= 0 else {
            return .reject(.invalidRecord, "transaction marker with producer \(id), epoch \(marker.producerEpoch)")
        }
        guard let entry = producers[id] else { return .accept }
        // Kafka's checkProducerEpoch answers a stale marker like stale data, with INVALID_PRODUCER_EPOCH;
        // the coordinator then drops the marker (TransactionMarkerRequestCompletionHandler).
        if marker.producerEpoch < entry.epoch {
            return .reject(.invalidProducerEpoch, "marker for producer \(id): epoch \(marker.producerEpoch) "
                + "is older than \(entry.epoch)")
        }
        if marker.coordinatorEpoch < entry.coordinatorEpoch {
            return .reject(.transactionCoordinatorFenced, "marker for producer \(id): coordinator epoch "
                + "\(marker.coordinatorEpoch) is older than \(entry.coordinatorEpoch)")
        }
        return .accept
    }

    /// Records a marker that `check` accepted and the log then appended at `offset`. Returns the
    /// transaction it ended, or nil when the producer had none open here (a marker for a transaction
    /// that wrote nothing to this partition changes no offsets).
    @discardableResult
    public mutating func recordMarker(_ marker: TransactionMarker, at offset: Offset) -> CompletedTransaction? {
        let verdict = check(marker)
        precondition(verdict == .accept, "recordMarker of a marker the table did not accept: \(verdict)")
        return apply(marker, at: offset)
    }

    // MARK: Replay

    /// Replays a data batch read back from the log after a restored snapshot: no checks, only the
    /// state changes. Batches whose header cannot be tracked (negative sequence or delta) are skipped.
    public mutating func replay(_ batch: AppendingBatch, firstOffset: Offset, lastOffset: Offset) {
        apply(batch, firstOffset: firstOffset, lastOffset: lastOffset)
    }

    /// Replays a transaction marker read back from the log. A control batch left empty by compaction
    /// carries no marker and is not replayed (Kafka skips it too).
    public mutating func replay(_ marker: TransactionMarker, at offset: Offset) {
        apply(marker, at: offset)
    }

    // MARK: Reads

    /// The first offset of the oldest open transaction: no read_committed consumer may read past it.
    public var firstUndecidedOffset: Offset? { ongoing.first?.firstOffset }

    /// The partition's last stable offset: read_committed consumers read below it. It is the high
    /// watermark held back by the oldest open transaction and by completed transactions whose
    /// markers are not below the high watermark yet (Kafka's firstUnstableOffset).
    public func lastStableOffset(highWatermark: Offset) -> Offset {
        var stable = min(highWatermark, firstUndecidedOffset ?? highWatermark)
        for completed in unreplicated where completed.lastOffset >= highWatermark {
            stable = min(stable, completed.firstOffset)
        }
        return stable
    }

    /// The aborted transactions a read_committed fetch of `[fetchOffset, upTo)` must report: those
    /// whose range overlaps it (Kafka's TransactionIndex.collectAbortedTxns), in marker order.
    public func abortedTransactions(from fetchOffset: Offset, upTo: Offset) -> [AbortedTransaction] {
        // `aborted` is sorted by marker offset: skip the ones that end before the fetch.
        var low = 0, high = aborted.count
        while low < high {
            let mid = (low + high) / 2
            if aborted[mid].lastOffset < fetchOffset { low = mid + 1 } else { high = mid }
        }
        return aborted[low...].filter { $0.firstOffset < upTo }
    }

    // MARK: Housekeeping

    /// Forgets completed transactions whose markers are below the high watermark: they no longer hold
    /// the last stable offset back. Only memory: `lastStableOffset(highWatermark:)` gives the same
    /// answers for this and any higher watermark with or without the call.
    public mutating func highWatermarkAdvanced(to highWatermark: Offset) {
        unreplicated.removeAll { $0.lastOffset < highWatermark }
    }

    /// The log start moved to `logStartOffset` (retention, DeleteRecords): forgets the transactions
    /// that end below it. Producers stay, as in Kafka 3.x, until they expire; forgetting them with
    /// their segments would make their next batch look like a stranger's.
    public mutating func truncateHead(logStartOffset: Offset) {
        aborted.removeAll { $0.lastOffset < logStartOffset }
        unreplicated.removeAll { $0.lastOffset < logStartOffset }
    }

    /// Forgets producers idle for `expirationMs` (measured from their last batch or marker
    /// timestamp), except those with a transaction open: that one still holds the LSO and must end
    /// with a marker.
    public mutating func removeExpiredProducers(now: Timestamp, expirationMs: Int64 = producerIdExpirationMs) {
        producers = producers.filter { _, entry in
            entry.ongoingTxnFirstOffset != nil || now.millis - entry.lastTimestamp.millis < expirationMs
        }
    }

    // MARK: State changes

    private mutating func apply(_ batch: AppendingBatch, firstOffset: Offset, lastOffset: Offset) {
        let id = batch.producerId
        guard id.isIdempotent, batch.hasSequenceRange else { return }
        var entry = producers[id] ?? ProducerStateEntry(epoch: batch.producerEpoch)
        let metadata = BatchMetadata(firstSeq: batch.baseSequence, lastSeq: batch.lastSequence,
                                     firstOffset: firstOffset, lastOffset: lastOffset, maxTimestamp: batch.maxTimestamp)
        entry.add(metadata, epoch: batch.producerEpoch)
        if batch.isTransactional && entry.ongoingTxnFirstOffset == nil {
            entry.ongoingTxnFirstOffset = firstOffset
            let at = ongoing.lastIndex { $0.firstOffset < firstOffset }.map { $0 + 1 } ?? 0
            ongoing.insert((firstOffset, id), at: at)
        }
        producers[id] = entry
    }

    @discardableResult
    private mutating func apply(_ marker: TransactionMarker, at offset: Offset) -> CompletedTransaction? {
        let id = marker.producerId
        guard id.isIdempotent else { return nil }
        var entry = producers[id] ?? ProducerStateEntry(epoch: marker.producerEpoch)
        var completed: CompletedTransaction?
        if let firstOffset = entry.ongoingTxnFirstOffset {
            let ended = CompletedTransaction(producerId: id, firstOffset: firstOffset, lastOffset: offset,
                                             isAborted: marker.controlType == .abort)
            ongoing.removeAll { $0.producerId == id }
            unreplicated.append(ended)
            if ended.isAborted {
                aborted.append(AbortedTransaction(producerId: id, firstOffset: firstOffset, lastOffset: offset))
            }
            completed = ended
        }
        entry.adopt(epoch: marker.producerEpoch)
        entry.coordinatorEpoch = marker.coordinatorEpoch
        entry.ongoingTxnFirstOffset = nil
        entry.lastTimestamp = marker.timestamp
        producers[id] = entry
        return completed
    }

    // MARK: Invariants

    /// The first broken invariant, or nil. Tests assert it after every step; `restore` refuses a
    /// snapshot whose contents break one.
    func invariantViolation() -> String? {
        for (id, entry) in producers {
            if !id.isIdempotent { return "producer id \(id) tracked" }
            if entry.batches.count > Self.maxBatchesPerProducer { return "producer \(id): \(entry.batches.count) batches" }
            for (i, batch) in entry.batches.enumerated() {
                if batch.firstOffset > batch.lastOffset { return "producer \(id): batch \(batch) ends before it starts" }
                if i > 0 && entry.batches[i - 1].lastOffset >= batch.firstOffset {
                    return "producer \(id): batches out of offset order"
                }
            }
        }
        let open = Self.openTransactions(producers)
        if !open.elementsEqual(ongoing, by: { $0.firstOffset == $1.firstOffset && $0.producerId == $1.producerId }) {
            return "open transactions \(ongoing) disagree with the producers' \(open)"
        }
        for i in ongoing.indices.dropFirst() where ongoing[i - 1].firstOffset >= ongoing[i].firstOffset {
            return "two transactions open at offset \(ongoing[i].firstOffset)"
        }
        for (i, txn) in aborted.enumerated() {
            if txn.firstOffset >= txn.lastOffset { return "aborted transaction \(txn) ends before it starts" }
            if i > 0 && aborted[i - 1].lastOffset >= txn.lastOffset { return "aborted transactions out of marker order" }
        }
        if let bad = unreplicated.first(where: { $0.firstOffset >= $0.lastOffset }) {
            return "completed transaction \(bad) ends before it starts"
        }
        return nil
    }

    /// The producers' open transactions sorted by first offset (then id, to be deterministic).
    static func openTransactions(_ producers: [ProducerId: ProducerStateEntry]) -> [(firstOffset: Offset, producerId: ProducerId)] {
        producers.compactMap { id, entry in entry.ongoingTxnFirstOffset.map { (firstOffset: $0, producerId: id) } }
            .sorted { ($0.firstOffset, $0.producerId) < ($1.firstOffset, $1.producerId) }
    }
}
