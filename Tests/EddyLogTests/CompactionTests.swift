import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

final class CompactionTests: LogTestCase {
    override var clockStartMs: Int64 { 10_000_000 }

    override var baseConfig: LogConfig {
        var config = LogConfig()
        config.cleanupPolicy = "compact"
        config.segmentBytes = 400
        config.indexIntervalBytes = 1
        config.deleteRetentionMs = 1_000
        return config
    }

    /// One batch of (key, value) records; a nil value is a tombstone.
    func batch(_ pairs: [(String, String?)], timestamp: Int64? = nil, compression: CompressionCodec = .none) -> RecordBatch {
        let records = pairs.enumerated().map { i, pair in
            Record(key: ByteBuffer(string: pair.0), value: pair.1.map { ByteBuffer(string: $0) },
                   timestampDelta: 0, offsetDelta: Int32(i))
        }
        let bytes = try! RecordBatch.encode(records: records, baseTimestamp: Timestamp(millis: timestamp ?? clock.ms),
                                            compression: compression)
        return try! RecordBatch(bytes)
    }

    /// Every record left in the log as "offset:key=value" (value "∅" for a tombstone).
    func contents(_ log: PartitionLog) throws -> [String] {
        try readAll(log).flatMap { batch in
            try batch.records().map { r in
                let key = r.key.map { String(buffer: $0) } ?? "-"
                let value = r.value.map { String(buffer: $0) } ?? "∅"
                return "\(batch.header.baseOffset.rawValue + Int64(r.offsetDelta)):\(key)=\(value)"
            }
        }
    }

    func testKeepsTheLatestValuePerKeyAndOffsetsStay() throws {
        let log = try open()
        defer { try? log.close() }
        _ = try log.append(batch([("a", "1"), ("b", "1")]))
        _ = try log.append(batch([("a", "2"), ("c", "1")]))
        _ = try log.append(batch([("b", "2")]))
        try log.roll(now: clock.ms)  // everything so far is inactive
        _ = try log.append(batch([("a", "3")]))  // active: never cleaned, and not in the map
        XCTAssertEqual(try contents(log), ["0:a=1", "1:b=1", "2:a=2", "3:c=1", "4:b=2", "5:a=3"])

        let stats = try XCTUnwrap(try log.compact(force: true))
        XCTAssertEqual(try contents(log), ["2:a=2", "3:c=1", "4:b=2", "5:a=3"],
                       "a=2 stays: a=3 is in the active segment, outside the pass")
        XCTAssertEqual(stats.recordsRemoved, 2)
        XCTAssertEqual(log.logEndOffset, Offset(6))
        XCTAssertEqual(log.logStartOffset, Offset(0))
        // A read from an offset that compaction removed starts at the next record that is left.
        let read = try batches(in: try log.read(from: Offset(0), maxBytes: 1 << 20, minOneBatch: true).records)
        XCTAssertEqual(read.first?.header.baseOffset, Offset(2))
    }

    func testSecondPassSeesNewerValuesAndSurvivesReopen() throws {
        var log = try open()
        for round in 0..<3 {
            for key in ["a", "b", "c", "d"] { _ = try log.append(batch([(key, "\(round)")])) }
        }
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["8:a=2", "9:b=2", "10:c=2", "11:d=2"])
        _ = try log.append(batch([("b", "3")]))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["8:a=2", "10:c=2", "11:d=2", "12:b=3"])
        try log.close()
        log = try open()
        defer { try? log.close() }
        XCTAssertEqual(try contents(log), ["8:a=2", "10:c=2", "11:d=2", "12:b=3"])
        XCTAssertEqual(log.logEndOffset, Offset(13))
        XCTAssertEqual(log.cleanerCheckpoint, Offset(13))
        XCTAssertNil(try log.planCleaning(force: true), "nothing dirty since the last pass")
    }

    func testTombstonesStayForDeleteRetentionThenGo() throws {
        let log = try open()
        defer { try? log.close() }
        _ = try log.append(batch([("a", "1"), ("b", "1")]))
        _ = try log.append(batch([("a", nil)]))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["1:b=1", "2:a=∅"], "the tombstone survives its first pass")
        _ = try log.append(batch([("c", "1")]))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["1:b=1", "2:a=∅", "3:c=1"], "younger than delete.retention.ms")
        clock.advance(1_001)
        _ = try log.append(batch([("c", "2")]))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["1:b=1", "4:c=2"])
    }

    func testCompressedBatchesAreRewrittenWithTheirCodec() throws {
        let log = try open { $0.segmentBytes = 1 << 20 }
        defer { try? log.close() }
        _ = try log.append(batch([("a", "1"), ("b", "1"), ("c", "1")], compression: .zstd))
        _ = try log.append(batch([("b", "2")], compression: .lz4))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        let batches = try readAll(log)
        XCTAssertEqual(batches.map(\.header.compression), [.zstd, .lz4])
        XCTAssertEqual(batches[0].header.lastOffsetDelta, 2, "the batch keeps its offset range")
        XCTAssertEqual(batches[0].header.recordCount, 2)
        XCTAssertEqual(try contents(log), ["0:a=1", "2:c=1", "3:b=2"])
        for b in batches { XCTAssertNoThrow(try b.validate()) }
    }

    func testDirtyRatioDecidesWhenAPassIsDue() throws {
        let log = try open { $0.minCleanableDirtyRatio = 0.5 }
        XCTAssertNil(try log.planCleaning(), "no inactive segment")
        for i in 0..<4 { _ = try log.append(batch([("k\(i)", "v")])) }
        try log.roll(now: clock.ms)
        XCTAssertNotNil(try log.planCleaning(), "all dirty")
        try log.compact()
        _ = try log.append(batch([("k0", "w")]))
        try log.roll(now: clock.ms)
        XCTAssertNil(try log.planCleaning(), "one small dirty segment of many clean bytes is below the ratio")
        XCTAssertNotNil(try log.planCleaning(force: true))
        try log.close()
        let deleting = try open { $0.cleanupPolicy = "delete" }
        XCTAssertNil(try deleting.planCleaning(force: true), "cleanup.policy=delete never compacts")
        try deleting.close()
    }

    func testAppendsAndRetentionBetweenTheSteps() throws {
        let log = try open { $0.cleanupPolicy = "compact,delete" }
        defer { try? log.close() }
        for round in 0..<2 {
            for key in ["a", "b"] { _ = try log.append(batch([(key, "\(round)")])) }
            try log.roll(now: clock.ms)
        }
        let plan = try XCTUnwrap(try log.planCleaning(force: true))
        let result = try LogCleaner.clean(plan, now: clock.ms)
        // Meanwhile: more appends, and the oldest segment goes (DeleteRecords).
        _ = try log.append(batch([("a", "9")]))
        _ = try log.deleteRecords(before: Offset(2))
        XCTAssertEqual(try log.installCleaned(result), 0, "the first segment is gone and the second lost nothing")
        XCTAssertEqual(try contents(log), ["2:a=1", "3:b=1", "4:a=9"])
        XCTAssertFalse(Files.list(directory.partition).contains { $0.hasSuffix(".cleaned") })
    }

    func testInterruptedPassLeavesTheLogWhole() throws {
        var log = try open()
        for round in 0..<2 {
            for key in ["a", "b"] { _ = try log.append(batch([(key, "\(round)")])) }
        }
        try log.roll(now: clock.ms)
        let plan = try XCTUnwrap(try log.planCleaning(force: true))
        _ = try LogCleaner.clean(plan, now: clock.ms)  // cleaned files written, never installed: a crash
        XCTAssertTrue(Files.list(directory.partition).contains { $0.hasSuffix(".cleaned") })
        try log.close()
        log = try open()
        XCTAssertEqual(try contents(log), ["0:a=0", "1:b=0", "2:a=1", "3:b=1"])
        XCTAssertFalse(Files.list(directory.partition).contains { $0.hasSuffix(".cleaned") })
        // A crash after the swap but before the index files were written: they are rebuilt.
        try log.compact(force: true)
        try log.close()
        for name in Files.list(directory.partition) where name.hasSuffix("index") { Files.remove(directory.partition + "/" + name) }
        log = try open()
        defer { try? log.close() }
        XCTAssertEqual(try contents(log), ["2:a=1", "3:b=1"])
        XCTAssertEqual(log.logEndOffset, Offset(4))
    }

    func testKeyMapLimitCleansWhatFits() throws {
        let log = try open { $0.cleanerMapBytes = 2 * (LogCleaner.mapEntryOverhead + 2) + 1 }
        _ = try log.append(batch([("k1", "a"), ("k2", "a")]))
        try log.roll(now: clock.ms)
        _ = try log.append(batch([("k1", "b"), ("k3", "b")]))
        try log.roll(now: clock.ms)
        let plan = try XCTUnwrap(try log.planCleaning(force: true))
        let result = try LogCleaner.clean(plan, now: clock.ms)
        XCTAssertEqual(result.cleanedUpTo, Offset(2), "the second segment's new key did not fit: the pass stops before it")
        try log.installCleaned(result)
        XCTAssertEqual(try contents(log), ["0:k1=a", "1:k2=a", "2:k1=b", "3:k3=b"])
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["1:k2=a", "2:k1=b", "3:k3=b"], "the next pass takes the rest")
        try log.close()

        let tiny = try open { $0.cleanerMapBytes = 10 }
        defer { try? tiny.close() }
        _ = try tiny.append(batch([("k9", "c")]))
        try tiny.roll(now: clock.ms)
        assertThrowsLogError(.limitExceeded) { _ = try tiny.compact(force: true) }
    }
}

extension CompactionTests {
    func testTransactionalRecordsNeverShadowOthers() throws {
        let log = try open()
        defer { try? log.close() }
        _ = try log.append(batch([("group-offset", "committed-7")]))
        // A transactional commit of the same key, whose transaction may be aborted.
        let txn = try RecordBatch(try RecordBatch.encode(
            records: [Record(key: ByteBuffer(string: "group-offset"), value: ByteBuffer(string: "pending-9"), offsetDelta: 0)],
            baseTimestamp: Timestamp(millis: clock.ms), producerId: 5, producerEpoch: 0, isTransactional: true))
        _ = try log.appendInternal(txn)
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["0:group-offset=committed-7", "1:group-offset=pending-9"],
                       "the older value stays: the transactional one may be aborted")
        _ = try log.append(batch([("group-offset", "committed-12")]))
        try log.roll(now: clock.ms)
        try log.compact(force: true)
        XCTAssertEqual(try contents(log), ["2:group-offset=committed-12"], "a later plain record shadows both")
    }
}
