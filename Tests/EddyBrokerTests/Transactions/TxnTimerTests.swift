import EddyCore
import EddyWire
@testable import EddyBroker
import XCTest

final class TxnTimerTests: XCTestCase {
    func testATimedOutTransactionIsAbortedWithAnEpochBump() {
        var d = TxnDriver()
        _ = d.initPid("t1", timeout: 10_000)
        d.now = 1000
        _ = d.add("t1", 1000, 0, ["a-0", "b-0"])
        d.now = 5000
        _ = d.add("t1", 1000, 0, ["c-0"])  // more partitions do not extend the transaction
        // Kafka aborts once start + timeout < now.
        XCTAssertEqual(d.coordinator.nextDeadline, 11_001)
        XCTAssertEqual(d.advance(to: 11_000), [])
        XCTAssertEqual(
            d.advance(to: 11_001),
            ["persist t1 PrepareAbort pid=1000 epoch=1 [a-0, b-0, c-0]", "markers t1 ABORT pid=1000 epoch=1 [a-0, b-0, c-0]"])
        XCTAssertNil(d.coordinator.nextDeadline, "nothing timed while the markers are written")
        // The zombie finds out on its next request.
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn PRODUCER_FENCED"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true, version: 1), ["endTxn INVALID_PRODUCER_EPOCH"])
        XCTAssertEqual(d.add("t1", 1000, 0, ["d-0"]), ["answer PRODUCER_FENCED"])
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteAbort pid=1000 epoch=1 []"])
        XCTAssertEqual(d.coordinator.nextDeadline, 11_001 + 86_400_000, "now only the id's expiry")
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: false), ["endTxn PRODUCER_FENCED"])
        // A new instance takes over with a further bump.
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
    }

    func testTimedOutTransactionsAreAbortedInIdOrderAndEmptyOnesCompleteAtOnce() {
        var d = TxnDriver()
        _ = d.initPid("t2", timeout: 1000)
        _ = d.initPid("t1", timeout: 2000)
        _ = d.initPid("t3", timeout: 60_000)
        _ = d.add("t2", 1000, 0, ["a-0"])
        _ = d.add("t1", 1001, 0, [])
        _ = d.add("t3", 1002, 0, ["a-1"])
        XCTAssertEqual(d.coordinator.nextDeadline, 1001)
        XCTAssertEqual(
            d.advance(to: 5000),
            [
                "persist t1 PrepareAbort pid=1001 epoch=1 []",
                "persist t1 CompleteAbort pid=1001 epoch=1 []",
                "persist t2 PrepareAbort pid=1000 epoch=1 [a-0]",
                "markers t2 ABORT pid=1000 epoch=1 [a-0]",
            ])
        XCTAssertEqual(d.coordinator.nextDeadline, 60_001)
        XCTAssertEqual(d.state("t3"), .ongoing)
    }

    func testTimersFollowKafkasCheckPeriods() {
        var config = TransactionCoordinatorConfig.test
        config.abortTimedOutCheckIntervalMs = 10_000
        config.removeExpiredCheckIntervalMs = 3_600_000
        var d = TxnDriver(config)
        d.now = 1234
        _ = d.initPid("t1", timeout: 60_000)
        _ = d.add("t1", 1000, 0, ["a-0"])
        // 1234 + 60000 + 1 rounded up to the next check.
        XCTAssertEqual(d.coordinator.nextDeadline, 70_000)
        XCTAssertEqual(d.advance(to: 70_000).count, 2)
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.coordinator.nextDeadline, 86_400_000 + 3_600_000, "70000 + 1 day, rounded up to the hour")
        // A tick between checks still does what is due.
        XCTAssertEqual(d.advance(to: 86_400_000 + 70_000), ["persist t1 tombstone"])
    }

    func testIdleIdsExpireWithATombstone() {
        var d = TxnDriver()
        _ = d.initPid("idle")
        _ = d.initPid("busy", timeout: 60_000)
        _ = d.initPid("done")
        _ = d.add("done", 1002, 0, ["a-0"])
        _ = d.endTxn("done", 1002, 0, commit: true)
        _ = d.markersWritten("done")
        d.now = 86_400_000 - 30_000
        _ = d.add("busy", 1001, 0, ["a-0"])
        XCTAssertEqual(d.coordinator.nextDeadline, 86_400_000)
        // Ongoing transactions never expire; busy times out instead, 30 s later.
        XCTAssertEqual(d.advance(to: 86_400_000), ["persist done tombstone", "persist idle tombstone"])
        XCTAssertEqual(d.coordinator.list().map(\.transactionalId), ["busy"])
        XCTAssertEqual(d.coordinator.nextDeadline, 86_400_000 + 30_001)
        // The expired id is gone: its old producer id means nothing, a new InitProducerId starts over.
        XCTAssertEqual(d.add("idle", 1000, 0, ["a-0"]), ["answer INVALID_PRODUCER_ID_MAPPING"])
        XCTAssertEqual(d.initPid("idle"), ["persist idle Empty pid=1003 epoch=0 []", "init NONE pid=1003 epoch=0"])
    }

    func testActivityPostponesExpiry() {
        var d = TxnDriver()
        _ = d.initPid("t1")
        d.now = 1000
        _ = d.initPid("t1")
        XCTAssertEqual(d.coordinator.nextDeadline, 1000 + 86_400_000)
        XCTAssertEqual(d.advance(to: 86_400_000), [])
        XCTAssertEqual(d.advance(to: 86_401_000), ["persist t1 tombstone"])
        XCTAssertNil(d.coordinator.nextDeadline)
    }
}
