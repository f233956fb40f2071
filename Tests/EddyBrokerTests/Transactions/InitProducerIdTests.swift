import EddyCore
import EddyWire
@testable import EddyBroker
import XCTest

final class InitProducerIdTests: XCTestCase {
    func testIdempotentProducersGetFreshIdsAndNothingIsPersisted() {
        var d = TxnDriver()
        XCTAssertEqual(d.initPid(nil), ["init NONE pid=1000 epoch=0"])
        XCTAssertEqual(d.initPid(nil), ["init NONE pid=1001 epoch=0"])
        // KIP-360 for an idempotent producer: still just a fresh id, as in Kafka.
        XCTAssertEqual(d.initPid(nil, pid: 1001, epoch: 0), ["init NONE pid=1002 epoch=0"])
        XCTAssertTrue(d.log.isEmpty)
        XCTAssertEqual(d.coordinator.list(), [])
    }

    func testNewTransactionalIdStartsAtEpochZero() {
        var d = TxnDriver()
        d.now = 500
        XCTAssertEqual(d.initPid("t1", timeout: 30_000), ["persist t1 Empty pid=1000 epoch=0 []", "init NONE pid=1000 epoch=0"])
        XCTAssertEqual(
            d.coordinator.describe(transactionalId: "t1"),
            TransactionDescription(
                transactionalId: "t1", state: .empty, producerId: 1000, producerEpoch: 0, timeoutMs: 30_000,
                startTimestamp: -1, lastUpdateTimestamp: 500, partitions: []))
        XCTAssertEqual(d.coordinator.nextDeadline, 500 + 86_400_000, "only the id's expiry is timed")
    }

    func testReInitBumpsTheEpochAndFencesTheOldOne() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        XCTAssertEqual(d.initPid("t1", timeout: 10_000), ["persist t1 Empty pid=1000 epoch=1 []", "init NONE pid=1000 epoch=1"])
        XCTAssertEqual(d.md("t1")?.timeoutMs, 10_000, "the new instance's timeout applies")
        // The old instance (epoch 0): fenced, in the words its request version understands.
        XCTAssertEqual(d.add("t1", 1000, 0, ["a-0"], version: 2), ["answer PRODUCER_FENCED"])
        XCTAssertEqual(d.add("t1", 1000, 0, ["a-0"], version: 1), ["answer INVALID_PRODUCER_EPOCH"])
        XCTAssertEqual(d.addOffsets("t1", 1000, 0, version: 2), ["answer PRODUCER_FENCED"])
        XCTAssertEqual(d.addOffsets("t1", 1000, 0, version: 1), ["answer INVALID_PRODUCER_EPOCH"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true, version: 2), ["endTxn PRODUCER_FENCED"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true, version: 1), ["endTxn INVALID_PRODUCER_EPOCH"])
        // The new one carries on.
        XCTAssertEqual(d.add("t1", 1000, 1, ["a-0"]), ["persist t1 Ongoing pid=1000 epoch=1 [a-0]", "answer NONE"])
    }

    func testBadRequestsAreRefusedWithoutChangingAnything() {
        var d = TxnDriver()
        XCTAssertEqual(d.initPid("t1", timeout: 60_001), ["init INVALID_TRANSACTION_TIMEOUT pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid("t1", timeout: 0), ["init INVALID_TRANSACTION_TIMEOUT pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid("t1", timeout: -5), ["init INVALID_TRANSACTION_TIMEOUT pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid(""), ["init INVALID_REQUEST pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid("t1", pid: 5, epoch: -1), ["init INVALID_REQUEST pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid("t1", pid: -1, epoch: 3), ["init INVALID_REQUEST pid=-1 epoch=-1"])
        XCTAssertEqual(d.coordinator.list(), [])
        XCTAssertEqual(d.coordinator.producerIds.next, 1000, "no producer id spent")
        XCTAssertEqual(d.initPid("t1", timeout: 60_000), ["persist t1 Empty pid=1000 epoch=0 []", "init NONE pid=1000 epoch=0"])
    }

    func testInitDuringAnOngoingTransactionAbortsItAndAsksTheClientToRetry() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        _ = d.add("t1", 1000, 0, ["a-0", "b-1"])
        d.now = 100
        // The new instance: the old transaction is aborted under a bumped epoch (which fences the
        // old instance on the partitions), and the client is told to retry.
        XCTAssertEqual(
            d.initPid("t1"),
            [
                "persist t1 PrepareAbort pid=1000 epoch=1 [a-0, b-1]",
                "init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1",
                "markers t1 ABORT pid=1000 epoch=1 [a-0, b-1]",
            ])
        // Retries while the markers are being written.
        XCTAssertEqual(d.initPid("t1"), ["init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1"])
        // The old instance is fenced already.
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn PRODUCER_FENCED"])
        XCTAssertEqual(d.add("t1", 1000, 0, ["c-0"]), ["answer PRODUCER_FENCED"])
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteAbort pid=1000 epoch=1 []"])
        // The retry succeeds with a second bump: epoch 1 was never handed out.
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
        XCTAssertEqual(d.endTxn("t1", 1000, 1, commit: false), ["endTxn PRODUCER_FENCED"])
    }

    func testInitDuringAnEmptyOngoingTransactionCompletesTheAbortAtOnce() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        XCTAssertEqual(d.add("t1", 1000, 0, []), ["persist t1 Ongoing pid=1000 epoch=0 []", "answer NONE"])
        XCTAssertEqual(
            d.initPid("t1"),
            [
                "persist t1 PrepareAbort pid=1000 epoch=1 []",
                "init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1",
                "persist t1 CompleteAbort pid=1000 epoch=1 []",
            ])
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
    }

    func testInitWhileCommitMarkersArePendingIsRetried() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.endTxn("t1", 1000, 0, commit: true)
        XCTAssertEqual(d.initPid("t1"), ["init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1"])
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=1 []", "init NONE pid=1000 epoch=1"])
    }

    // MARK: KIP-360

    func testKIP360BumpWithTheCurrentEpochAndItsRetry() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        _ = d.initPid("t1")  // epoch 1
        // The producer hit an error and bumps its own epoch.
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 1), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
        XCTAssertEqual(d.md("t1")?.lastProducerEpoch, 1)
        // The answer was lost; the retry gets the same epoch, not another bump.
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 1), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
        // An epoch that is neither current nor the last: a zombie.
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 0), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 0, version: 3), ["init INVALID_PRODUCER_EPOCH pid=-1 epoch=-1"])
        // Another producer id altogether.
        XCTAssertEqual(d.initPid("t1", pid: 77, epoch: 2), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
        // A plain InitProducerId (new instance) forgets the last epoch: the old retry is now fenced.
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=3 []", "init NONE pid=1000 epoch=3"])
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 2), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
    }

    func testKIP360ForAnIdTheCoordinatorDoesNotKnow() {
        // The id expired (or the client recovers from UNKNOWN_PRODUCER_ID): it gets a fresh start.
        var d = TxnDriver()
        XCTAssertEqual(d.initPid("t1", pid: 42, epoch: 7), ["persist t1 Empty pid=1000 epoch=0 []", "init NONE pid=1000 epoch=0"])
    }

    func testKIP360AfterTheTransactionWasAbortedByTheCoordinator() {
        // The epoch went up under the producer (timeout): its own epoch is stale, so it is fenced.
        var d = TxnDriver()
        _ = d.initPid("t1", timeout: 1000)
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.advance(to: 1001)
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 0), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
    }

    // MARK: Epoch exhaustion

    /// A coordinator whose log holds t1 at `epoch` in `state`.
    private func driver(epoch: Int16, state: TransactionState, partitions: Set<TopicPartition> = []) throws -> TxnDriver {
        var d = TxnDriver(firstProducerId: 2000)
        let md = TransactionMetadata(
            transactionalId: "t1", producerId: 1000, producerEpoch: epoch, timeoutMs: 60_000, state: state,
            partitions: partitions, startTimestamp: state == .empty ? -1 : 0, lastUpdateTimestamp: 0)
        d.log.append(TxnCoordinator.record(for: md))
        _ = try d.restart()
        return d
    }

    func testAnExhaustedEpochRotatesTheProducerId() throws {
        var d = try driver(epoch: 32765, state: .completeCommit)
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=32766 []", "init NONE pid=1000 epoch=32766"])
        // 32766 is the last epoch handed out: the next InitProducerId starts a new producer id.
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=2000 epoch=0 []", "init NONE pid=2000 epoch=0"])
        XCTAssertEqual(d.md("t1")?.lastProducerEpoch, -1)
    }

    func testKIP360RotationAndItsRetry() throws {
        var d = try driver(epoch: 32766, state: .empty)
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 32766), ["persist t1 Empty pid=2000 epoch=0 []", "init NONE pid=2000 epoch=0"])
        XCTAssertEqual(d.md("t1")?.previousProducerId, 1000)
        XCTAssertEqual(d.md("t1")?.lastProducerEpoch, 32766)
        // The retry names the old producer id: recognised, same answer.
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 32766), ["persist t1 Empty pid=2000 epoch=0 []", "init NONE pid=2000 epoch=0"])
        // The old producer id with an epoch that is not exhausted is a zombie.
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 5), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
    }

    func testFencingAtTheLastUsableEpochThenRotating() throws {
        var d = try driver(epoch: 32766, state: .ongoing, partitions: [tp("a-0")])
        XCTAssertEqual(
            d.initPid("t1"),
            [
                "persist t1 PrepareAbort pid=1000 epoch=32767 [a-0]",
                "init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1",
                "markers t1 ABORT pid=1000 epoch=32767 [a-0]",
            ])
        _ = d.markersWritten("t1")
        // Epoch 32767 was never handed out, so nobody may use it.
        XCTAssertEqual(d.add("t1", 1000, 32767, ["a-0"]), ["answer PRODUCER_FENCED"])
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=2000 epoch=0 []", "init NONE pid=2000 epoch=0"])
    }

    func testWithNoProducerIdToBeHadNothingChanges() throws {
        var c = TransactionCoordinator(config: .test, producerIds: ScarceProducerIds(remaining: 1))
        func initPid(_ id: String?) -> [String] {
            c.initProducerId(
                transactionalId: id, timeoutMs: 1000, producerId: -1, producerEpoch: -1, requestVersion: 4, now: 0, token: 1
            ).map(render)
        }
        XCTAssertEqual(initPid(nil), ["init NONE pid=1000 epoch=0"])
        XCTAssertEqual(initPid(nil), ["init COORDINATOR_NOT_AVAILABLE pid=-1 epoch=-1"])
        XCTAssertEqual(initPid("t1"), ["init COORDINATOR_NOT_AVAILABLE pid=-1 epoch=-1"])
        XCTAssertEqual(c.list(), [])
        // A rotation needs a new id too.
        let exhausted = TransactionMetadata(
            transactionalId: "t2", producerId: 7, producerEpoch: 32766, timeoutMs: 1000, state: .empty, partitions: [],
            startTimestamp: -1, lastUpdateTimestamp: 0)
        _ = try c.load(records: [TxnCoordinator.record(for: exhausted)], now: 0)
        XCTAssertEqual(initPid("t2"), ["init COORDINATOR_NOT_AVAILABLE pid=-1 epoch=-1"])
        XCTAssertEqual(c.transactions["t2"], exhausted)
    }

    func testAnExhaustedEpochWithAStaleExpectedEpochIsFencedNotRotated() throws {
        var d = try driver(epoch: 32766, state: .empty)
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 100), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
        XCTAssertEqual(d.md("t1")?.producerId, 1000)
    }
}

/// Hands out `remaining` ids, then none.
struct ScarceProducerIds: ProducerIdSource {
    var next: Int64 = 1000
    var remaining: Int

    mutating func nextProducerId() -> Int64? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        defer { next += 1 }
        return next
    }
}
