import EddyCore
import EddyWire
@testable import EddyBroker
import XCTest

final class TransactionLogTests: XCTestCase {
    private func md(
        _ state: TransactionState, id: String = "t1", pid: Int64 = 1000, epoch: Int16 = 2, partitions: [String] = [],
        start: Int64 = 3, lastUpdate: Int64 = 5
    ) -> TransactionMetadata {
        TransactionMetadata(
            transactionalId: id, producerId: pid, producerEpoch: epoch, timeoutMs: 60_000, state: state,
            partitions: Set(partitions.map(tp)), startTimestamp: state == .empty ? -1 : start, lastUpdateTimestamp: lastUpdate)
    }

    func testKeyAndValueBytesFollowKafkasV0Layout() {
        let record = TxnCoordinator.record(for: md(.ongoing, partitions: ["b-1", "a-2", "a-0"]))
        XCTAssertEqual(record.key, [0, 0, /* "t1" */ 0, 2, 0x74, 0x31])
        XCTAssertEqual(
            record.value,
            [
                0, 0,  // version
                0, 0, 0, 0, 0, 0, 0x03, 0xE8,  // producer id 1000
                0, 2,  // epoch
                0, 0, 0xEA, 0x60,  // timeout 60000
                1,  // Ongoing
                0, 0, 0, 2,  // two topics
                0, 1, 0x61, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2,  // "a": [0, 2]
                0, 1, 0x62, 0, 0, 0, 1, 0, 0, 0, 1,  // "b": [1]
                0, 0, 0, 0, 0, 0, 0, 5,  // last update
                0, 0, 0, 0, 0, 0, 0, 3,  // start
            ])
        // Empty writes null partitions and start -1.
        XCTAssertEqual(
            TxnCoordinator.record(for: md(.empty)).value,
            [0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8, 0, 2, 0, 0, 0xEA, 0x60, 0, 0xFF, 0xFF, 0xFF, 0xFF]
                + [0, 0, 0, 0, 0, 0, 0, 5] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        // Complete* writes an empty array.
        XCTAssertEqual(TxnCoordinator.record(for: md(.completeAbort)).value![17..<21], [0, 0, 0, 0])
    }

    func testEveryStoredStateRoundTrips() throws {
        let cases = [
            md(.empty), md(.ongoing, partitions: ["a-0", "ü-7"]), md(.ongoing), md(.prepareCommit, partitions: ["x-1"]),
            md(.prepareAbort, partitions: ["x-1", "y-2"]), md(.completeCommit), md(.completeAbort),
            md(.empty, id: "", pid: Int64.max, epoch: Int16.max), md(.ongoing, id: "ünïcødé", partitions: ["t-2147483647"]),
        ]
        for original in cases {
            let (key, value) = TxnCoordinator.record(for: original)
            let id = try XCTUnwrap(TransactionLog.decodeKey(key))
            XCTAssertEqual(try TransactionLog.decodeValue(value!, transactionalId: id), original)
        }
    }

    func testUnreadableRecordsGiveTypedErrors() {
        let key = TransactionLog.key(transactionalId: "t1")
        let good = TransactionLog.value(md(.ongoing, partitions: ["a-0"]))
        func patched(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var v = good
            v.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            return v
        }
        let table: [(String, [UInt8], [UInt8]?, TransactionLogError.Code)] = [
            ("empty key", [], good, .truncated),
            ("key cut in its string", [0, 0, 0, 5, 0x61], good, .truncated),
            ("null key string", [0, 0, 0xFF, 0xFF], good, .invalidField),
            ("key not UTF-8", [0, 0, 0, 1, 0xFF], good, .invalidField),
            ("bytes after the key", key + [0], good, .trailingBytes),
            ("value cut short", key, Array(good.dropLast()), .truncated),
            ("bytes after the value", key, good + [0], .trailingBytes),
            ("value v1", key, patched(0, [0, 1]), .unsupportedVersion),
            ("state 9", key, patched(16, [9]), .unknownState),
            ("state Dead", key, patched(16, [6]), .unexpectedState),
            ("state PrepareEpochFence", key, patched(16, [7]), .unexpectedState),
            ("negative producer id", key, patched(2, [0xFF]), .invalidField),
            ("negative epoch", key, patched(10, [0xFF, 0xFF]), .invalidField),
            ("Ongoing at epoch 32767", key, patched(10, [0x7F, 0xFF]), .invalidField),
            ("zero timeout", key, patched(12, [0, 0, 0, 0]), .invalidField),
            ("topic count -2", key, patched(17, [0xFF, 0xFF, 0xFF, 0xFE]), .invalidField),
            ("partition count -1", key, patched(24, [0xFF, 0xFF, 0xFF, 0xFF]), .invalidField),
            ("CompleteCommit with partitions", key, patched(16, [4]), .invalidField),
            ("Ongoing with no start", key, Array(good.dropLast(8)) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], .invalidField),
        ]
        for (name, key, value, code) in table {
            var c = TxnCoordinator(config: .test, producerIds: SequentialProducerIds())
            let first = TxnCoordinator.record(for: md(.empty, id: "first"))
            XCTAssertThrowsError(try c.load(records: [first, (key, value)], now: 0), name) { error in
                let e = error as! TransactionLogError
                XCTAssertEqual(e.code, code, "\(name): \(e)")
                XCTAssertEqual(e.recordIndex, 1, name)
            }
        }
        // Once the key is read, the error names the id.
        var c = TxnCoordinator(config: .test, producerIds: SequentialProducerIds())
        XCTAssertThrowsError(try c.load(records: [(key, [0, 0, 1])], now: 0)) { error in
            XCTAssertEqual((error as! TransactionLogError).transactionalId, "t1")
            XCTAssertEqual("\(error)", "__transaction_state: truncated in record 0 (transactional id t1): needs 8 bytes at byte 2, has 1")
        }
    }

    func testAFailedLoadChangesNothing() throws {
        var d = TxnDriver()
        _ = d.initPid("t1")
        let before = d.coordinator.list()
        XCTAssertThrowsError(try d.coordinator.load(records: [TxnCoordinator.record(for: md(.empty, id: "t2")), ([9], nil)], now: 0))
        XCTAssertEqual(d.coordinator.list(), before)
    }
}

final class TxnRecoveryTests: XCTestCase {
    func testTheLastRecordWinsAndTombstonesRemove() throws {
        var d = TxnDriver()
        _ = d.initPid("t2")
        d.now = 86_400_000 - 10
        _ = d.initPid("t1")
        _ = d.initPid("t3")
        _ = d.initPid("t3")
        _ = d.add("t1", 1001, 0, ["a-0"])
        XCTAssertEqual(d.advance(to: 86_400_000), ["persist t2 tombstone"])
        // A key of a version Eddy does not know is skipped, as Kafka does.
        d.log.append(([0, 9, 1, 2, 3], [4, 5, 6]))
        let before = d.coordinator.list()
        XCTAssertEqual(try d.restart(), [])
        XCTAssertEqual(d.coordinator.list(), before)
        XCTAssertEqual(d.coordinator.list().map(\.transactionalId), ["t1", "t3"])
        XCTAssertEqual(d.md("t3")?.producerEpoch, 1)
    }

    func testRestartDuringCommitRewritesTheMarkers() throws {
        var d = TxnDriver()
        _ = d.initPid("t1")
        _ = d.add("t1", 1000, 0, ["a-0", "b-0"])
        _ = d.endTxn("t1", 1000, 0, commit: true)
        // The broker dies before the markers are written.
        d.now = 700
        XCTAssertEqual(try d.restart(), ["markers t1 COMMIT pid=1000 epoch=0 [a-0, b-0]"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn CONCURRENT_TRANSACTIONS"])
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteCommit pid=1000 epoch=0 []"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn NONE"])
        XCTAssertEqual(d.coordinator.describe(transactionalId: "t1")?.lastUpdateTimestamp, 700)
    }

    func testRestartDuringAFencingAbortRewritesTheMarkersWithTheBumpedEpoch() throws {
        var d = TxnDriver()
        _ = d.initPid("t1")
        _ = d.add("t1", 1000, 0, ["a-0"])
        XCTAssertEqual(d.initPid("t1").count, 3)
        XCTAssertEqual(try d.restart(), ["markers t1 ABORT pid=1000 epoch=1 [a-0]"])
        XCTAssertEqual(d.initPid("t1"), ["init CONCURRENT_TRANSACTIONS pid=-1 epoch=-1"])
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=2 []", "init NONE pid=1000 epoch=2"])
    }

    func testAPreparedTransactionWithNoPartitionsCompletesOnLoad() throws {
        var d = TxnDriver()
        d.log.append(
            TxnCoordinator.record(
                for: TransactionMetadata(
                    transactionalId: "t1", producerId: 5, producerEpoch: 0, timeoutMs: 1000, state: .prepareAbort,
                    partitions: [], startTimestamp: 0, lastUpdateTimestamp: 0)))
        d.now = 10
        XCTAssertEqual(try d.restart(), ["persist t1 CompleteAbort pid=5 epoch=0 []"])
    }

    func testAnOngoingTransactionKeepsItsTimeoutAcrossARestart() throws {
        var d = TxnDriver()
        _ = d.initPid("t1", timeout: 10_000)
        d.now = 2000
        _ = d.add("t1", 1000, 0, ["a-0"])
        d.now = 5000
        XCTAssertEqual(try d.restart(), [])
        XCTAssertEqual(d.coordinator.nextDeadline, 12_001)
        XCTAssertEqual(d.add("t1", 1000, 0, ["b-0"]), ["persist t1 Ongoing pid=1000 epoch=0 [a-0, b-0]", "answer NONE"])
        XCTAssertEqual(d.advance(to: 12_001).last, "markers t1 ABORT pid=1000 epoch=1 [a-0, b-0]")
        // Restarting long after the timeout: due at once.
        _ = d.initPid("t2", timeout: 1000)
        _ = d.add("t2", 1001, 0, ["a-0"])
        d.now = 50_000
        XCTAssertEqual(try d.restart(), ["markers t1 ABORT pid=1000 epoch=1 [a-0, b-0]"])
        XCTAssertLessThanOrEqual(d.coordinator.nextDeadline!, d.now)
        XCTAssertEqual(d.advance(to: 50_000).first, "persist t2 PrepareAbort pid=1001 epoch=1 [a-0]")
    }

    func testWhatTheRecordDoesNotHoldIsForgottenAsInKafka() throws {
        // The last epoch (KIP-360 retry detection) is not in the v0 record: a retry that spans a
        // restart is fenced, as Kafka documents.
        var d = TxnDriver()
        _ = d.initPid("t1")
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 0), ["persist t1 Empty pid=1000 epoch=1 []", "init NONE pid=1000 epoch=1"])
        _ = try d.restart()
        XCTAssertEqual(d.md("t1")?.lastProducerEpoch, -1)
        XCTAssertEqual(d.initPid("t1", pid: 1000, epoch: 0), ["init PRODUCER_FENCED pid=-1 epoch=-1"])
    }
}
