import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

final class RetentionTests: LogTestCase {
    let batchSize = makeBatch(count: 2).bytes.readableBytes
    override var clockStartMs: Int64 { 1_000_000 }

    override var baseConfig: LogConfig {
        var config = LogConfig()
        config.segmentBytes = batchSize * 2
        return config
    }

    // MARK: Planner

    func summary(_ base: Int64, _ next: Int64, size: Int, ts: Int64 = 0) -> RetentionPlanner.Segment {
        RetentionPlanner.Segment(baseOffset: Offset(base), nextOffset: Offset(next), size: size, largestTimestamp: ts)
    }

    func testPlannerRules() {
        let segments = [summary(0, 10, size: 100, ts: 100), summary(10, 20, size: 100, ts: 300), summary(20, 25, size: 50, ts: 600)]
        XCTAssertEqual(RetentionPlanner.expiredByTime(segments, now: 1_000, retentionMs: 800), 1)
        XCTAssertEqual(RetentionPlanner.expiredByTime(segments, now: 1_000, retentionMs: 900), 0)
        XCTAssertEqual(RetentionPlanner.expiredByTime(segments, now: 1_000, retentionMs: 500), 2, "stops at the first segment to keep")
        XCTAssertEqual(RetentionPlanner.expiredByTime(segments, now: 10_000, retentionMs: 500), 3, "the active one too when all are expired")
        XCTAssertEqual(RetentionPlanner.expiredByTime(segments, now: 10_000, retentionMs: -1), 0)
        XCTAssertEqual(RetentionPlanner.exceedingSize(segments, retentionBytes: 150), 1)
        XCTAssertEqual(RetentionPlanner.exceedingSize(segments, retentionBytes: 149), 1)
        XCTAssertEqual(RetentionPlanner.exceedingSize(segments, retentionBytes: 50), 2)
        XCTAssertEqual(RetentionPlanner.exceedingSize(segments, retentionBytes: 0), 3)
        XCTAssertEqual(RetentionPlanner.exceedingSize(segments, retentionBytes: -1), 0)
        XCTAssertEqual(RetentionPlanner.belowLogStart(segments, logStartOffset: Offset(15)), 1)
        XCTAssertEqual(RetentionPlanner.belowLogStart(segments, logStartOffset: Offset(25)), 3)
        let emptyActive = [summary(0, 10, size: 100), summary(10, 10, size: 0)]
        XCTAssertEqual(RetentionPlanner.exceedingSize(emptyActive, retentionBytes: 0), 1, "an empty active segment stays")
    }

    // MARK: Log

    func testRetentionByTime() throws {
        let log = try open { $0.retentionMs = 10_000 }
        // Segments: [0,2) ts 1000, [4,6)... each batch of 2 records; two batches per segment.
        for ts: Int64 in [1_000, 2_000, 5_000, 6_000, 9_000, 20_000] { _ = try log.append(makeBatch(count: 2, baseTimestamp: ts)) }
        XCTAssertEqual(log.segments.map(\.baseOffset.rawValue), [0, 4, 8])
        clock.ms = 2_001 + 10_000 + 1
        XCTAssertEqual(try log.applyRetention(), 1, "segment 0's largest timestamp is 2001")
        XCTAssertEqual(log.logStartOffset, Offset(4))
        assertThrowsLogError(.offsetOutOfRange) { _ = try log.read(from: Offset(3), maxBytes: 100, minOneBatch: true) }
        XCTAssertFalse(Files.exists(Files.segmentPath(directory.partition, 0, "log")))
        XCTAssertFalse(Files.exists(Files.segmentPath(directory.partition, 0, "index")))
        clock.ms = 20_001 + 10_000 + 1
        XCTAssertEqual(try log.applyRetention(), 2, "all expired: roll, then delete both")
        XCTAssertEqual(log.segmentCount, 1)
        XCTAssertEqual(log.sizeInBytes, 0)
        XCTAssertEqual(log.logStartOffset, Offset(12))
        XCTAssertEqual(log.logEndOffset, Offset(12))
        XCTAssertEqual(try log.applyRetention(), 0, "an empty active segment is never deleted")
        _ = try log.append(makeBatch(count: 1, baseTimestamp: 1))
        XCTAssertEqual(try readAll(log).map(\.header.baseOffset), [Offset(12)])
        try log.close()
        let reopened = try open { $0.retentionMs = 10_000 }
        XCTAssertEqual(reopened.logStartOffset, Offset(12))
        XCTAssertEqual(reopened.logEndOffset, Offset(13))
    }

    func testRetentionByBytes() throws {
        let log = try open { $0.retentionBytes = Int64(batchSize * 3) }
        for _ in 0..<7 { _ = try log.append(makeBatch(count: 2)) }
        XCTAssertEqual(log.segmentCount, 4)
        XCTAssertEqual(try log.applyRetention(), 2, "7 batches: dropping two segments leaves 3, dropping a third would leave 1")
        XCTAssertEqual(log.sizeInBytes, Int64(batchSize * 3))
        XCTAssertEqual(log.logStartOffset, Offset(8))
        XCTAssertEqual(try readAll(log).count, 3)
        XCTAssertEqual(try log.applyRetention(), 0)
    }

    func testCompactPolicyKeepsSegments() throws {
        let log = try open {
            $0.retentionBytes = 0
            $0.cleanupPolicy = "compact"
        }
        for _ in 0..<5 { _ = try log.append(makeBatch(count: 2)) }
        XCTAssertEqual(try log.applyRetention(), 0)
        log.config.cleanupPolicy = "compact, delete"
        XCTAssertEqual(try log.applyRetention(), 3)
        XCTAssertEqual(log.sizeInBytes, 0)
    }

    func testDeleteRecordsPersistsAcrossReopen() throws {
        var log: PartitionLog? = try open()
        for _ in 0..<5 { _ = try log!.append(makeBatch(count: 2)) }
        XCTAssertEqual(try log!.deleteRecords(before: Offset(5)), Offset(5))
        XCTAssertEqual(log!.segments.map(\.baseOffset.rawValue), [4, 8], "segment 0 was wholly below")
        XCTAssertEqual(log!.flushedOffset, Offset(10), "moving the start past the flushed offset flushes")
        XCTAssertEqual(try log!.deleteRecords(before: Offset(3)), Offset(5), "never backwards")
        try log!.close()
        log = try open()
        XCTAssertEqual(log!.logStartOffset, Offset(5))
        assertThrowsLogError(.offsetOutOfRange) { _ = try log!.read(from: Offset(4), maxBytes: 100, minOneBatch: true) }
        XCTAssertEqual(try batches(in: log!.read(from: Offset(5), maxBytes: 1 << 20, minOneBatch: true).records).first?.header.baseOffset, Offset(4))
        XCTAssertEqual(try log!.deleteRecords(before: Offset(7)), Offset(7))
        log = nil  // crash
        log = try open()
        XCTAssertEqual(log!.logStartOffset, Offset(7))
        XCTAssertEqual(try log!.deleteRecords(before: Offset(1_000)), Offset(10), "clamped to the log end")
        XCTAssertEqual(log!.segmentCount, 1)
        XCTAssertEqual(log!.sizeInBytes, 0, "every segment was wholly below")
        XCTAssertEqual(try log!.read(from: Offset(10), maxBytes: 100, minOneBatch: true).records.readableBytes, 0)
        log = nil
        log = try open()
        XCTAssertEqual(log!.logStartOffset, Offset(10))
        XCTAssertEqual(log!.logEndOffset, Offset(10))
    }
}
