import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

/// The producer-state table inside the log: checked on append, and rebuilt after a restart or a
/// crash from its snapshot and the batches after it.
final class ProducerLogTests: LogTestCase {
    func idempotent(pid: Int64 = 7, epoch: Int16 = 0, seq: Int32, count: Int = 2) -> RecordBatch {
        let records = (0..<count).map { Record(key: ByteBuffer(string: "k\($0)"), value: ByteBuffer(string: "v"), offsetDelta: Int32($0)) }
        let bytes = try! RecordBatch.encode(records: records, baseTimestamp: Timestamp(millis: clock.ms),
                                            producerId: pid, producerEpoch: epoch, baseSequence: seq)
        return try! RecordBatch(bytes)
    }

    func assertRejected(_ code: ErrorCode, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertEqual((error as? ProducerRejection)?.code, code, "\(error)", line: line)
        }
    }

    func testRetriesAreAnsweredWithTheOriginalOffsetsAndGapsRefused() throws {
        let log = try open()
        defer { try? log.close() }
        XCTAssertEqual(try log.append(idempotent(seq: 0)).baseOffset, Offset(0))
        XCTAssertEqual(try log.append(idempotent(seq: 2)).baseOffset, Offset(2))
        let retry = try log.append(idempotent(seq: 0))
        XCTAssertTrue(retry.isDuplicate)
        XCTAssertEqual(retry.baseOffset, Offset(0))
        XCTAssertEqual(retry.lastOffset, Offset(1))
        XCTAssertEqual(log.logEndOffset, Offset(4), "nothing appended for the retry")
        assertRejected(.outOfOrderSequenceNumber) { _ = try log.append(idempotent(seq: 9)) }
        XCTAssertEqual(try log.append(idempotent(epoch: 1, seq: 0)).baseOffset, Offset(4), "a new epoch starts at 0")
        assertRejected(.invalidProducerEpoch) { _ = try log.append(idempotent(epoch: 0, seq: 4)) }
        XCTAssertEqual(try log.append(makeBatch()).baseOffset, Offset(6), "batches without a producer id are not tracked")
    }

    func testStateSurvivesCleanRestartAndCrash() throws {
        var log = try open { $0.segmentBytes = 300 }
        for n in 0..<8 { _ = try log.append(idempotent(seq: Int32(n * 2))) }  // rolls a few times
        XCTAssertGreaterThan(log.segmentCount, 2)
        try log.close()
        log = try open { $0.segmentBytes = 300 }
        XCTAssertTrue(try log.append(idempotent(seq: 14)).isDuplicate, "clean restart: the snapshot at close")
        _ = try log.append(idempotent(seq: 16))
        try log.flush()
        // A crash: no close, so the snapshot is the one written at the last roll, and recovery
        // replays the batches after it.
        log = try open { $0.segmentBytes = 300 }
        defer { try? log.close() }
        let retry = try log.append(idempotent(seq: 16))
        XCTAssertTrue(retry.isDuplicate)
        XCTAssertEqual(retry.baseOffset, Offset(16))
        assertRejected(.outOfOrderSequenceNumber) { _ = try log.append(idempotent(seq: 20)) }
        XCTAssertEqual(try log.append(idempotent(seq: 18)).baseOffset, Offset(18))
    }

    func testDamagedSnapshotIsRebuiltFromTheLog() throws {
        var log = try open()
        _ = try log.append(idempotent(seq: 0))
        _ = try log.append(idempotent(seq: 2))
        try log.close()
        Files.write(directory.partition + "/" + PartitionLog.producerSnapshotName, [0, 1, 2, 3])
        log = try open()
        defer { try? log.close() }
        XCTAssertTrue(try log.append(idempotent(seq: 2)).isDuplicate)
        XCTAssertTrue(log.recoveryReport?.notes.contains { $0.contains("producer-state.snapshot") } ?? false)
    }
}
