import EddyCore
import EddyWire
@testable import EddyBroker
import XCTest

final class TransactionFlowTests: XCTestCase {
    /// t1 initialised at time 0: producer 1000, epoch 0.
    private func initialised() -> TxnDriver {
        var d = TxnDriver()
        _ = d.initPid("t1")
        return d
    }

    func testAddingPartitionsStartsTheTransactionOnce() {
        var d = initialised()
        d.now = 10
        XCTAssertEqual(d.add("t1", 1000, 0, ["b-1", "a-0"]), ["persist t1 Ongoing pid=1000 epoch=0 [a-0, b-1]", "answer NONE"])
        d.now = 20
        // Already in the transaction: nothing to persist.
        XCTAssertEqual(d.add("t1", 1000, 0, ["a-0"]), ["answer NONE"])
        XCTAssertEqual(d.add("t1", 1000, 0, ["a-0", "c-2"]), ["persist t1 Ongoing pid=1000 epoch=0 [a-0, b-1, c-2]", "answer NONE"])
        let description = d.coordinator.describe(transactionalId: "t1")!
        XCTAssertEqual(description.startTimestamp, 10, "the transaction started with its first partition")
        XCTAssertEqual(description.lastUpdateTimestamp, 20)
    }

    func testAddOffsetsPutsTheGroupsOffsetsPartitionInTheTransaction() {
        var d = initialised()
        func validate(_ pid: Int64 = 1000, _ epoch: Int16 = 0, _ partition: String = "__consumer_offsets-7") -> ErrorCode {
            d.coordinator.validateTxnOffsetCommit(
                transactionalId: "t1", producerId: pid, producerEpoch: epoch, offsetsPartition: tp(partition))
        }
        XCTAssertEqual(validate(), .invalidTxnState, "TxnOffsetCommit before AddOffsetsToTxn")
        XCTAssertEqual(d.addOffsets("t1", 1000, 0), ["persist t1 Ongoing pid=1000 epoch=0 [__consumer_offsets-7]", "answer NONE"])
        XCTAssertEqual(d.addOffsets("t1", 1000, 0), ["answer NONE"])
        XCTAssertEqual(validate(), .none)
        XCTAssertEqual(validate(1000, 0, "__consumer_offsets-8"), .invalidTxnState, "another group's partition")
        XCTAssertEqual(validate(1001, 0), .invalidProducerIdMapping)
        XCTAssertEqual(
            d.coordinator.validateTxnOffsetCommit(
                transactionalId: "t9", producerId: 1000, producerEpoch: 0, offsetsPartition: tp("__consumer_offsets-7")),
            .invalidProducerIdMapping)
        XCTAssertEqual(
            d.endTxn("t1", 1000, 0, commit: true),
            [
                "persist t1 PrepareCommit pid=1000 epoch=0 [__consumer_offsets-7]",
                "endTxn NONE",
                "markers t1 COMMIT pid=1000 epoch=0 [__consumer_offsets-7]",
            ])
        XCTAssertEqual(validate(), .concurrentTransactions)
        _ = d.markersWritten("t1")
        XCTAssertEqual(validate(), .invalidTxnState, "the transaction is over")
        _ = d.initPid("t1")
        XCTAssertEqual(validate(1000, 0), .invalidProducerEpoch, "stale epoch, as the offsets log answers it")
    }

    func testCommitInOrder() {
        var d = initialised()
        _ = d.add("t1", 1000, 0, ["a-0", "b-1"])
        d.now = 50
        // The decision is persisted, then the client is answered, then the markers go out.
        XCTAssertEqual(
            d.endTxn("t1", 1000, 0, commit: true),
            [
                "persist t1 PrepareCommit pid=1000 epoch=0 [a-0, b-1]",
                "endTxn NONE",
                "markers t1 COMMIT pid=1000 epoch=0 [a-0, b-1]",
            ])
        XCTAssertEqual(d.state("t1"), .prepareCommit)
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteCommit pid=1000 epoch=0 []"])
        XCTAssertEqual(d.state("t1"), .completeCommit)
        XCTAssertEqual(d.coordinator.describe(transactionalId: "t1")?.startTimestamp, 0, "kept, as Kafka does")
        // The next transaction needs no InitProducerId.
        d.now = 60
        XCTAssertEqual(d.add("t1", 1000, 0, ["c-0"]), ["persist t1 Ongoing pid=1000 epoch=0 [c-0]", "answer NONE"])
        XCTAssertEqual(d.coordinator.describe(transactionalId: "t1")?.startTimestamp, 60)
    }

    func testAbortInOrder() {
        var d = initialised()
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.addOffsets("t1", 1000, 0)
        XCTAssertEqual(
            d.endTxn("t1", 1000, 0, commit: false),
            [
                "persist t1 PrepareAbort pid=1000 epoch=0 [__consumer_offsets-7, a-0]",
                "endTxn NONE",
                "markers t1 ABORT pid=1000 epoch=0 [__consumer_offsets-7, a-0]",
            ])
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteAbort pid=1000 epoch=0 []"])
    }

    func testEndTxnRetriesAndMismatches() {
        var d = initialised()
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn INVALID_TXN_STATE"], "nothing to end (Empty)")
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.endTxn("t1", 1000, 0, commit: true)
        // While the markers are written: the same decision is retried later, the other one is wrong.
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn CONCURRENT_TRANSACTIONS"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: false), ["endTxn INVALID_TXN_STATE"])
        XCTAssertEqual(d.add("t1", 1000, 0, ["b-0"]), ["answer CONCURRENT_TRANSACTIONS"])
        XCTAssertEqual(d.addOffsets("t1", 1000, 0), ["answer CONCURRENT_TRANSACTIONS"])
        _ = d.markersWritten("t1")
        // A retry of the completed commit succeeds; an abort after it does not.
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn NONE"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: false), ["endTxn INVALID_TXN_STATE"])

        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.endTxn("t1", 1000, 0, commit: false)
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: false), ["endTxn CONCURRENT_TRANSACTIONS"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn INVALID_TXN_STATE"])
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: false), ["endTxn NONE"])
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn INVALID_TXN_STATE"])
    }

    func testWrongProducerIdStaleEpochAndUnknownId() {
        var d = initialised()
        _ = d.initPid("t1")  // epoch 1
        let table: [(String, Int64, Int16, String)] = [
            ("nope", 1000, 1, "INVALID_PRODUCER_ID_MAPPING"),
            ("t1", 999, 1, "INVALID_PRODUCER_ID_MAPPING"),
            ("t1", 1000, 0, "PRODUCER_FENCED"),
            ("t1", 1000, 2, "PRODUCER_FENCED"),
            ("", 1000, 1, "INVALID_REQUEST"),
        ]
        for (id, pid, epoch, expected) in table {
            XCTAssertEqual(d.add(id, pid, epoch, ["a-0"]), ["answer \(expected)"], "\(id) \(pid) \(epoch)")
            XCTAssertEqual(d.addOffsets(id, pid, epoch), ["answer \(expected)"], "\(id) \(pid) \(epoch)")
            XCTAssertEqual(d.endTxn(id, pid, epoch, commit: true), ["endTxn \(expected)"], "\(id) \(pid) \(epoch)")
        }
        // A mismatched producer id is checked before the epoch, as in Kafka.
        XCTAssertEqual(d.endTxn("t1", 999, 0, commit: true, version: 1), ["endTxn INVALID_PRODUCER_ID_MAPPING"])
        XCTAssertEqual(d.state("t1"), .empty)
        XCTAssertEqual(d.log.count, 2, "nothing persisted by refused requests")
    }

    func testEmptyTransactionCompletesWithoutMarkers() {
        var d = initialised()
        XCTAssertEqual(d.add("t1", 1000, 0, []), ["persist t1 Ongoing pid=1000 epoch=0 []", "answer NONE"])
        XCTAssertEqual(
            d.endTxn("t1", 1000, 0, commit: true),
            [
                "persist t1 PrepareCommit pid=1000 epoch=0 []",
                "endTxn NONE",
                "persist t1 CompleteCommit pid=1000 epoch=0 []",
            ])
        XCTAssertTrue(d.pendingMarkers.isEmpty)
        XCTAssertEqual(d.endTxn("t1", 1000, 0, commit: true), ["endTxn NONE"])
    }

    func testSeveralTransactionalIdsAreIndependent() {
        var d = TxnDriver()
        XCTAssertEqual(d.initPid("t1"), ["persist t1 Empty pid=1000 epoch=0 []", "init NONE pid=1000 epoch=0"])
        XCTAssertEqual(d.initPid("t2"), ["persist t2 Empty pid=1001 epoch=0 []", "init NONE pid=1001 epoch=0"])
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.add("t2", 1001, 0, ["a-0", "b-0"])
        XCTAssertEqual(d.add("t2", 1000, 0, ["a-0"]), ["answer INVALID_PRODUCER_ID_MAPPING"], "t1's producer id")
        _ = d.endTxn("t1", 1000, 0, commit: true)
        XCTAssertEqual(
            d.endTxn("t2", 1001, 0, commit: false),
            ["persist t2 PrepareAbort pid=1001 epoch=0 [a-0, b-0]", "endTxn NONE", "markers t2 ABORT pid=1001 epoch=0 [a-0, b-0]"])
        XCTAssertEqual(d.markersWritten("t2"), ["persist t2 CompleteAbort pid=1001 epoch=0 []"])
        XCTAssertEqual(d.state("t1"), .prepareCommit)
        XCTAssertEqual(d.markersWritten("t1"), ["persist t1 CompleteCommit pid=1000 epoch=0 []"])
        XCTAssertEqual(d.coordinator.list().map(\.state), [.completeCommit, .completeAbort])
    }

    func testMarkersWrittenTwiceOrForNothingIsIgnored() {
        var d = initialised()
        XCTAssertEqual(d.coordinator.markersWritten(transactionalId: "t1", now: 0), [])
        XCTAssertEqual(d.coordinator.markersWritten(transactionalId: "zz", now: 0), [])
        _ = d.add("t1", 1000, 0, ["a-0"])
        _ = d.endTxn("t1", 1000, 0, commit: true)
        _ = d.markersWritten("t1")
        XCTAssertEqual(d.coordinator.markersWritten(transactionalId: "t1", now: 0), [])
    }

    func testListFilters() {
        var d = TxnDriver()
        _ = d.initPid("t3")
        _ = d.initPid("t1")
        _ = d.initPid("t2")
        _ = d.add("t2", 1002, 0, ["x-0"])
        XCTAssertEqual(d.coordinator.list().map(\.transactionalId), ["t1", "t2", "t3"])
        XCTAssertEqual(d.coordinator.list(states: [.ongoing]).map(\.transactionalId), ["t2"])
        XCTAssertEqual(d.coordinator.list(producerIds: [1000, 1001]).map(\.transactionalId), ["t1", "t3"])
        XCTAssertEqual(d.coordinator.list(states: [.empty], producerIds: [1002]), [])
        XCTAssertNil(d.coordinator.describe(transactionalId: "t4"))
        XCTAssertEqual(d.coordinator.describe(transactionalId: "t2")?.partitions, [tp("x-0")])
    }
}
