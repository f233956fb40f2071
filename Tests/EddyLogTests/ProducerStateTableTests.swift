import EddyCore
import EddyWire
import XCTest

@testable import EddyLog

private let p1: Int64 = 1001
private let p2: Int64 = 1002
private let p3: Int64 = 1003

/// Idempotent producers: sequences, retries, epochs.
final class IdempotentProducerTests: XCTestCase {
    func testNonIdempotentBatchesAreAcceptedAndNotTracked() {
        let partition = play([
            (.send(-1, epoch: -1, seq: -1, records: 3), .appended(0...2)),
            (.send(-1, epoch: -1, seq: -1, records: 3), .appended(3...5)),  // the same again: no dedup
            (.send(-1, epoch: 0, seq: 7), .appended(6...6)),
        ])
        XCTAssertTrue(partition.table.producers.isEmpty)
    }

    func testSequencesFollowOneAnother() {
        let partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 3), .appended(0...2)),
            (.send(p1, epoch: 0, seq: 3, records: 2), .appended(3...4)),
            (.send(p2, epoch: 0, seq: 0), .appended(5...5)),
            (.send(p1, epoch: 0, seq: 5), .appended(6...6)),
            (.send(p2, epoch: 0, seq: 1, records: 4), .appended(7...10)),
        ])
        XCTAssertEqual(partition.table.producers[ProducerId(p1)]?.lastSequence, ProducerSequence(5))
        XCTAssertEqual(partition.table.producers[ProducerId(p2)]?.lastSequence, ProducerSequence(4))
    }

    func testRetriesOfEachOfTheLastFiveBatchesAreDuplicates() {
        var partition = TestPartition()
        // Seven batches of two records: sequences 0-1, 2-3, ... at offsets 0-1, 2-3, ...
        func batch(_ i: Int32) -> ProducerEvent { .send(p1, epoch: 0, seq: 2 * i, records: 2) }
        func offsets(_ i: Int32) -> ClosedRange<Int64> { Int64(2 * i)...Int64(2 * i + 1) }
        play((0..<7).map { i -> (ProducerEvent, ProducerOutcome) in (batch(i), .appended(offsets(i))) }, on: &partition)
        let retries = (2..<7).map { i -> (ProducerEvent, ProducerOutcome) in (batch(i), .duplicate(offsets(i))) }
        play(retries + retries.reversed(), on: &partition)
        XCTAssertEqual(partition.logEnd, 14, "duplicates append nothing")
        play([(.send(p1, epoch: 0, seq: 14), .appended(14...14))], on: &partition)
    }

    func testRetryOlderThanTheLastFiveIsOutOfOrder() {
        var partition = TestPartition()
        play((0..<6).map { i in (.send(p1, epoch: 0, seq: Int32(i)), .appended(Int64(i)...Int64(i))) }, on: &partition)
        play([
            (.send(p1, epoch: 0, seq: 0), .rejected(.outOfOrderSequenceNumber)),  // pushed out by the sixth
            (.send(p1, epoch: 0, seq: 1), .duplicate(1...1)),
            (.send(p1, epoch: 0, seq: 5), .duplicate(5...5)),
        ], on: &partition)
    }

    func testGapsAndPartialOverlapsAreOutOfOrder() {
        play([
            (.send(p1, epoch: 0, seq: 0, records: 3), .appended(0...2)),
            (.send(p1, epoch: 0, seq: 4), .rejected(.outOfOrderSequenceNumber)),  // gap
            (.send(p1, epoch: 0, seq: 2), .rejected(.outOfOrderSequenceNumber)),  // overlaps, not a retry
            (.send(p1, epoch: 0, seq: 0, records: 2), .rejected(.outOfOrderSequenceNumber)),  // same start, other end
            (.send(p1, epoch: 0, seq: 3), .appended(3...3)),
        ])
    }

    func testSequenceWrapsPastInt32Max() {
        let max = Int32.max
        XCTAssertEqual(ProducerSequence(max).advanced(by: 1), .zero)
        XCTAssertEqual(ProducerSequence(max - 1).advanced(by: 4), ProducerSequence(2))
        XCTAssertEqual(ProducerSequence(max).advanced(by: max), ProducerSequence(max - 1))
        XCTAssertTrue(ProducerSequence(max).isFollowed(by: .zero))
        let partition = play([
            (.send(p1, epoch: 0, seq: max - 2, records: 2), .appended(0...1)),  // unknown producer: any start
            (.send(p1, epoch: 0, seq: max, records: 3), .appended(2...4)),  // max, 0, 1
            (.send(p1, epoch: 0, seq: max, records: 3), .duplicate(2...4)),
            (.send(p1, epoch: 0, seq: 2), .appended(5...5)),
            (.send(p1, epoch: 0, seq: 0), .rejected(.outOfOrderSequenceNumber)),
        ])
        let batch = partition.table.producers[ProducerId(p1)]!.batches[1]
        XCTAssertEqual([batch.firstSeq, batch.lastSeq], [ProducerSequence(max), ProducerSequence(1)])
    }

    func testEpochBumpStartsAtZeroAndForgetsTheOldEpoch() {
        let partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 2), .appended(0...1)),
            (.send(p1, epoch: 0, seq: 2), .appended(2...2)),
            (.send(p1, epoch: 1, seq: 3), .rejected(.outOfOrderSequenceNumber)),  // a new epoch starts at 0
            (.send(p1, epoch: 1, seq: 0), .appended(3...3)),
            (.send(p1, epoch: 0, seq: 0, records: 2), .rejected(.invalidProducerEpoch)),  // retry from the old epoch
            (.send(p1, epoch: 1, seq: 0), .duplicate(3...3)),
            (.send(p1, epoch: 1, seq: 1), .appended(4...4)),
            (.send(p1, epoch: 5, seq: 0), .appended(5...5)),  // epochs may skip
        ])
        XCTAssertEqual(partition.table.producers[ProducerId(p1)]?.batches.count, 1)
    }

    func testStaleEpochIsRejected() {
        play([
            (.send(p1, epoch: 3, seq: 0), .appended(0...0)),
            (.send(p1, epoch: 2, seq: 1), .rejected(.invalidProducerEpoch)),
            (.send(p1, epoch: 2, seq: 0), .rejected(.invalidProducerEpoch)),
            (.send(p1, epoch: 3, seq: 1), .appended(1...1)),
        ])
    }

    /// Kafka 3.x accepts an unknown producer at any sequence (its state may have expired); it does
    /// not answer UNKNOWN_PRODUCER_ID.
    func testUnknownProducerIsAcceptedAtAnySequence() {
        var partition = play([
            (.send(p1, epoch: 4, seq: 42, records: 2), .appended(0...1)),
            (.send(p1, epoch: 4, seq: 44), .appended(2...2)),
            (.send(p1, epoch: 4, seq: 46), .rejected(.outOfOrderSequenceNumber)),
        ])
        partition.clock += ProducerStateTable.producerIdExpirationMs
        partition.table.removeExpiredProducers(now: Timestamp(millis: partition.clock))
        play([(.send(p1, epoch: 4, seq: 46), .appended(3...3))], on: &partition)
    }

    func testMalformedHeadersAreInvalidRecords() {
        play([
            (.send(p1, epoch: 0, seq: -1), .rejected(.invalidRecord)),
            (.send(p1, epoch: -1, seq: 0), .rejected(.invalidRecord)),
            (.send(p1, epoch: 0, seq: 0, records: 0), .rejected(.invalidRecord)),  // lastOffsetDelta -1
            (.send(p1, epoch: 0, seq: 0), .appended(0...0)),
        ])
    }

    func testACheckThatIsNotRecordedLeavesNoTrace() {
        var partition = play([(.send(p1, epoch: 0, seq: 0), .appended(0...0))])
        let before = partition.table
        let batch = AppendingBatch(producerId: ProducerId(p1), producerEpoch: ProducerEpoch(0), baseSequence: ProducerSequence(1),
                                   lastOffsetDelta: 0, isTransactional: true, maxTimestamp: Timestamp(millis: 5))
        XCTAssertEqual(partition.table.check(batch), .accept)  // the append then fails: nothing recorded
        XCTAssertEqual(partition.table, before)
        XCTAssertNil(partition.table.firstUndecidedOffset)
        play([(.send(p1, epoch: 0, seq: 1), .appended(1...1))], on: &partition)
    }

    func testDuplicateAnswersWithTheOriginalMetadata() {
        var partition = TestPartition()
        partition.clock = 777
        play([(.send(p1, epoch: 0, seq: 0, records: 3), .appended(0...2))], on: &partition)
        let retry = AppendingBatch(producerId: ProducerId(p1), producerEpoch: ProducerEpoch(0), baseSequence: .zero,
                                   lastOffsetDelta: 2, maxTimestamp: Timestamp(millis: 999))
        XCTAssertEqual(partition.table.check(retry), .duplicate(BatchMetadata(
            firstSeq: .zero, lastSeq: ProducerSequence(2), firstOffset: Offset(0), lastOffset: Offset(2),
            maxTimestamp: Timestamp(millis: 777))))
    }
}

/// Transactional producers: open transactions, markers, the last stable offset, aborted lists.
final class TransactionalProducerTests: XCTestCase {
    func testOpenTransactionHoldsTheLastStableOffset() {
        var partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 2), .appended(0...1)),
            (.send(p2, epoch: 0, seq: 0, records: 2, txn: true), .appended(2...3)),
            (.send(p1, epoch: 0, seq: 2), .appended(4...4)),
            (.send(p2, epoch: 0, seq: 2, txn: true), .appended(5...5)),
        ])
        XCTAssertEqual(partition.table.firstUndecidedOffset, Offset(2))
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(6)), Offset(2))
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(1)), Offset(1))
        play([(.commit(p2, epoch: 0, coordinator: 3), .committed(2...6))], on: &partition)
        XCTAssertNil(partition.table.firstUndecidedOffset)
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(7)), Offset(7))
        XCTAssertEqual(partition.table.producers[ProducerId(p2)]?.coordinatorEpoch, CoordinatorEpoch(3))
        XCTAssertTrue(partition.table.abortedTransactions(from: Offset(0), upTo: Offset(100)).isEmpty)
    }

    /// Kafka keeps the LSO at a completed transaction's start until the high watermark passes its
    /// marker, so the LSO never goes back if a new leader lacks the marker.
    func testMarkerAboveTheHighWatermarkStillHoldsTheLastStableOffset() {
        var partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 3, txn: true), .appended(0...2)),
            (.commit(p1, epoch: 0), .committed(0...3)),
        ])
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(3)), Offset(0))  // marker not replicated
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(4)), Offset(4))
        partition.table.highWatermarkAdvanced(to: Offset(3))
        XCTAssertEqual(partition.table.unreplicated.count, 1)
        partition.table.highWatermarkAdvanced(to: Offset(4))
        XCTAssertTrue(partition.table.unreplicated.isEmpty)
        XCTAssertEqual(partition.table.lastStableOffset(highWatermark: Offset(4)), Offset(4))
    }

    func testAbortedTransactionsAreListedForReadCommittedFetches() {
        var partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 3, txn: true), .appended(0...2)),
            (.send(p2, epoch: 0, seq: 0, records: 2, txn: true), .appended(3...4)),
            (.abort(p1, epoch: 0), .aborted(0...5)),
            (.send(p3, epoch: 0, seq: 0, txn: true), .appended(6...6)),
            (.commit(p2, epoch: 0), .committed(3...7)),
            (.send(p1, epoch: 0, seq: 3, records: 2, txn: true), .appended(8...9)),
            (.abort(p3, epoch: 0), .aborted(6...10)),
            (.abort(p1, epoch: 0), .aborted(8...11)),
        ])
        let a1 = AbortedTransaction(producerId: ProducerId(p1), firstOffset: Offset(0), lastOffset: Offset(5))
        let a3 = AbortedTransaction(producerId: ProducerId(p3), firstOffset: Offset(6), lastOffset: Offset(10))
        let b1 = AbortedTransaction(producerId: ProducerId(p1), firstOffset: Offset(8), lastOffset: Offset(11))
        let ranges: [(from: Int64, upTo: Int64, expected: [AbortedTransaction])] = [
            (0, 12, [a1, a3, b1]),
            (0, 1, [a1]),
            (5, 6, [a1]),  // only the marker of a1 is in range
            (6, 7, [a3]),
            (6, 9, [a3, b1]),
            (7, 8, [a3]),
            (11, 12, [b1]),
            (12, 20, []),
            (1, 3, [a1]),
        ]
        for (from, upTo, expected) in ranges {
            XCTAssertEqual(partition.table.abortedTransactions(from: Offset(from), upTo: Offset(upTo)), expected,
                           "[\(from), \(upTo))")
        }
        partition.table.truncateHead(logStartOffset: Offset(6))
        XCTAssertEqual(partition.table.aborted, [a3, b1])
        XCTAssertEqual(partition.table.producers.count, 3, "producers outlive their batches")
        partition.table.truncateHead(logStartOffset: Offset(11))
        XCTAssertEqual(partition.table.aborted, [b1])
    }

    func testNonTransactionalBatchDuringATransactionIsRefused() {
        play([
            (.send(p1, epoch: 0, seq: 0, txn: true), .appended(0...0)),
            (.send(p1, epoch: 0, seq: 1), .rejected(.invalidTxnState)),
            (.send(p1, epoch: 0, seq: 1, txn: true), .appended(1...1)),
            (.commit(p1, epoch: 0), .committed(0...2)),
            (.send(p1, epoch: 0, seq: 2), .appended(3...3)),  // idempotent writes again after the commit
        ])
    }

    func testMarkersForUnknownProducersAndEmptyTransactions() {
        let partition = play([
            (.commit(p1, epoch: 2, coordinator: 4), .marked(0)),  // the coordinator may end txns with no data here
            (.send(p1, epoch: 2, seq: 5), .rejected(.outOfOrderSequenceNumber)),  // now known: epoch 2 starts at 0
            (.send(p1, epoch: 2, seq: 0, txn: true), .appended(1...1)),
            (.abort(p1, epoch: 2, coordinator: 4), .aborted(1...2)),
            (.abort(p1, epoch: 2, coordinator: 4), .marked(3)),  // a second marker ends nothing
        ])
        XCTAssertEqual(partition.table.producers[ProducerId(p1)]?.coordinatorEpoch, CoordinatorEpoch(4))
    }

    func testFencedMarkersAreRefused() {
        play([
            (.send(p1, epoch: 3, seq: 0, txn: true), .appended(0...0)),
            (.commit(p1, epoch: 2, coordinator: 0), .rejected(.invalidProducerEpoch)),
            (.commit(p1, epoch: 3, coordinator: 7), .committed(0...1)),
            (.send(p1, epoch: 3, seq: 1, txn: true), .appended(2...2)),
            (.abort(p1, epoch: 3, coordinator: 6), .rejected(.transactionCoordinatorFenced)),
            (.abort(p1, epoch: 3, coordinator: 8), .aborted(2...3)),
        ])
    }

    /// A coordinator aborting a timed-out transaction bumps the epoch in its marker: the producer's
    /// old batches are forgotten and its next batches must use the new epoch from sequence 0.
    func testMarkerWithANewerEpochFencesTheOldProducer() {
        let partition = play([
            (.send(p1, epoch: 0, seq: 0, records: 2, txn: true), .appended(0...1)),
            (.abort(p1, epoch: 1), .aborted(0...2)),
            (.send(p1, epoch: 0, seq: 2, txn: true), .rejected(.invalidProducerEpoch)),
            (.send(p1, epoch: 0, seq: 0, records: 2, txn: true), .rejected(.invalidProducerEpoch)),  // not a duplicate any more
            (.send(p1, epoch: 1, seq: 0, txn: true), .appended(3...3)),
        ])
        XCTAssertEqual(partition.table.firstUndecidedOffset, Offset(3))
    }

    func testInterleavedTransactions() {
        var partition = TestPartition()
        let rows: [(ProducerEvent, ProducerOutcome, undecided: Int64?)] = [
            (.send(p1, epoch: 0, seq: 0, txn: true), .appended(0...0), 0),
            (.send(p2, epoch: 0, seq: 0, txn: true), .appended(1...1), 0),
            (.send(p3, epoch: 0, seq: 0, txn: true), .appended(2...2), 0),
            (.commit(p2, epoch: 0), .committed(1...3), 0),
            (.abort(p1, epoch: 0), .aborted(0...4), 2),
            (.send(p1, epoch: 0, seq: 1, txn: true), .appended(5...5), 2),
            (.send(p2, epoch: 0, seq: 1, txn: true), .appended(6...6), 2),
            (.commit(p3, epoch: 0), .committed(2...7), 5),
            (.send(p3, epoch: 0, seq: 1), .appended(8...8), 5),
            (.commit(p1, epoch: 0), .committed(5...9), 6),
            (.abort(p2, epoch: 0), .aborted(6...10), nil),
        ]
        for (event, outcome, undecided) in rows {
            play([(event, outcome)], on: &partition)
            XCTAssertEqual(partition.table.firstUndecidedOffset, undecided.map { Offset($0) }, "after \(event)")
        }
        XCTAssertEqual(partition.table.abortedTransactions(from: Offset(0), upTo: Offset(11)).map(\.firstOffset),
                       [Offset(0), Offset(6)])
    }

    func testExpiryKeepsProducersWithOpenTransactions() {
        var partition = TestPartition()
        partition.clock = 10_000
        play([
            (.send(p1, epoch: 0, seq: 0), .appended(0...0)),
            (.send(p2, epoch: 0, seq: 0, txn: true), .appended(1...1)),
            (.send(p3, epoch: 0, seq: 0, txn: true), .appended(2...2)),
        ], on: &partition)
        partition.clock = 15_000
        play([(.commit(p3, epoch: 0), .committed(2...3))], on: &partition)

        partition.table.removeExpiredProducers(now: Timestamp(millis: 14_999), expirationMs: 5_000)
        XCTAssertEqual(Set(partition.table.producers.keys.map(\.rawValue)), [p1, p2, p3])
        partition.table.removeExpiredProducers(now: Timestamp(millis: 15_000), expirationMs: 5_000)
        XCTAssertEqual(Set(partition.table.producers.keys.map(\.rawValue)), [p2, p3], "idle for exactly 5 s")
        partition.table.removeExpiredProducers(now: Timestamp(millis: 1_000_000_000), expirationMs: 5_000)
        XCTAssertEqual(Set(partition.table.producers.keys.map(\.rawValue)), [p2], "open transaction")
        XCTAssertEqual(partition.table.firstUndecidedOffset, Offset(1))
        XCTAssertNil(partition.table.invariantViolation())
    }
}
