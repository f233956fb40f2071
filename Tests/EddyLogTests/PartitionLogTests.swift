import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

final class PartitionLogTests: LogTestCase {

    func testAppendReadRoundTrip() throws {
        let log = try open()
        XCTAssertNil(log.recoveryReport, "a new directory has nothing to recover")
        XCTAssertEqual(log.logEndOffset, Offset(0))
        let inputs = [makeBatch(count: 3), makeBatch(count: 1, seed: 7), makeBatch(count: 5, valueSize: 100, compression: .gzip)]
        var expected = ByteBuffer()
        var next: Int64 = 0
        for batch in inputs {
            let result = try log.append(batch)
            XCTAssertEqual(result.baseOffset, Offset(next))
            XCTAssertEqual(result.lastOffset, Offset(next + Int64(batch.header.recordCount) - 1))
            XCTAssertEqual(result.logAppendTime, .none)
            XCTAssertEqual(result.logStartOffset, Offset(0))
            var bytes = stored(batch, at: Offset(next))
            expected.writeBuffer(&bytes)
            next += Int64(batch.header.recordCount)
        }
        XCTAssertEqual(log.logEndOffset, Offset(9))
        let read = try log.read(from: Offset(0), maxBytes: 1 << 20, minOneBatch: false)
        XCTAssertEqual(read.records, expected)
        XCTAssertEqual(read.highWatermark, Offset(9))
        XCTAssertEqual(read.logStartOffset, Offset(0))
        for batch in try batches(in: read.records) {
            XCTAssertNoThrow(try batch.validate(), "stored batches keep a valid CRC")
            XCTAssertEqual(batch.header.partitionLeaderEpoch, 0)
        }
        XCTAssertEqual(log.sizeInBytes, Int64(expected.readableBytes))
        XCTAssertEqual(try batches(in: read.records)[2].records().count, 5, "compressed batch decodes")
        XCTAssertTrue(Files.exists(Files.segmentPath(directory.partition, 0, "log")))
    }

    func testAppendBatchesAssignsConsecutiveOffsets() throws {
        let log = try open()
        _ = try log.append(makeBatch(count: 2))
        let result = try log.append(batches: [makeBatch(count: 3), makeBatch(count: 4)])
        XCTAssertEqual(result.baseOffset, Offset(2))
        XCTAssertEqual(result.lastOffset, Offset(8))
        let stored = try batches(in: log.read(from: Offset(2), maxBytes: 1 << 20, minOneBatch: true).records)
        XCTAssertEqual(stored.map(\.header.baseOffset), [Offset(2), Offset(5)])
        assertThrowsLogError(.invalidRecord) { _ = try log.append(batches: []) }
    }

    func testReadMidBatchReturnsWholeBatch() throws {
        let log = try open()
        _ = try log.append(makeBatch(count: 5))
        _ = try log.append(makeBatch(count: 5))
        for offset in 5..<10 {
            let found = try batches(in: log.read(from: Offset(Int64(offset)), maxBytes: 1 << 20, minOneBatch: true).records)
            XCTAssertEqual(found.map(\.header.baseOffset), [Offset(5)], "offset \(offset) is in the second batch")
        }
        let fromMiddle = try batches(in: log.read(from: Offset(3), maxBytes: 1 << 20, minOneBatch: true).records)
        XCTAssertEqual(fromMiddle.map(\.header.baseOffset), [Offset(0), Offset(5)])
    }

    func testMaxBytesAndMinOneBatch() throws {
        let log = try open()
        for _ in 0..<4 { _ = try log.append(makeBatch(count: 2, valueSize: 40)) }
        let size = makeBatch(count: 2, valueSize: 40).bytes.readableBytes
        func read(_ maxBytes: Int, _ minOne: Bool, from: Int64 = 0) throws -> [Offset] {
            try batches(in: log.read(from: Offset(from), maxBytes: maxBytes, minOneBatch: minOne).records).map(\.header.baseOffset)
        }
        XCTAssertEqual(try read(size * 2, false), [Offset(0), Offset(2)])
        XCTAssertEqual(try read(size * 2 + size - 1, false), [Offset(0), Offset(2)], "never part of a batch")
        XCTAssertEqual(try read(size * 3, false, from: 3), [Offset(2), Offset(4), Offset(6)])
        XCTAssertEqual(try read(size - 1, true), [Offset(0)], "minOneBatch returns a whole batch past maxBytes")
        XCTAssertEqual(try read(size - 1, false), [], "without minOneBatch a batch that does not fit is left")
        XCTAssertEqual(try read(0, true), [Offset(0)])
        XCTAssertEqual(try read(-5, false), [])
        XCTAssertEqual(try read(Int.max, false), [Offset(0), Offset(2), Offset(4), Offset(6)])
    }

    func testAReadIsOnePread() throws {
        let log = try open { $0.indexIntervalBytes = 500 }
        for _ in 0..<100 { _ = try log.append(makeBatch(count: 3, valueSize: 40)) }
        let file = try log.active.file()
        for (offset, maxBytes) in [(0, 1 << 20), (150, 1 << 20), (299, 10), (200, 1_000), (37, 0)] {
            let before = file.reads
            let read = try log.read(from: Offset(Int64(offset)), maxBytes: maxBytes, minOneBatch: true)
            XCTAssertFalse(read.records.readableBytes == 0)
            XCTAssertEqual(file.reads - before, 1, "read at \(offset) with maxBytes \(maxBytes)")
        }
    }

    func testOffsetOutOfRangeBelowStartAndAboveEnd() throws {
        let log = try open()
        _ = try log.append(makeBatch(count: 3))
        _ = try log.append(makeBatch(count: 3))
        XCTAssertEqual(try log.read(from: Offset(6), maxBytes: 100, minOneBatch: true).records.readableBytes, 0, "the end reads empty")
        assertThrowsLogError(.offsetOutOfRange) { _ = try log.read(from: Offset(7), maxBytes: 100, minOneBatch: true) }
        assertThrowsLogError(.offsetOutOfRange) { _ = try log.read(from: Offset(-1), maxBytes: 100, minOneBatch: true) }
        XCTAssertEqual(try log.deleteRecords(before: Offset(4)), Offset(4))
        assertThrowsLogError(.offsetOutOfRange) { _ = try log.read(from: Offset(3), maxBytes: 100, minOneBatch: true) }
        let read = try log.read(from: Offset(4), maxBytes: 1 << 20, minOneBatch: true)
        XCTAssertEqual(try batches(in: read.records).map(\.header.baseOffset), [Offset(3)], "the batch holding the start is whole")
        XCTAssertEqual(read.logStartOffset, Offset(4))
    }

    func testMessageTooLarge() throws {
        let log = try open { $0.maxMessageBytes = 200 }
        _ = try log.append(makeBatch(count: 1, valueSize: 10))
        assertThrowsLogError(.messageTooLarge) { _ = try log.append(makeBatch(count: 1, valueSize: 300)) }
        assertThrowsLogError(.messageTooLarge) {
            _ = try log.append(batches: [makeBatch(count: 1), makeBatch(count: 1, valueSize: 300)])
        }
        XCTAssertEqual(log.logEndOffset, Offset(1), "a rejected request appends none of its batches")
    }

    func testBadInputIsRejectedAndStoresNothing() throws {
        let log = try open()
        var corrupt = ByteBuffer(buffer: makeBatch(count: 2).bytes)
        corrupt.setInteger(UInt8(0xFF), at: corrupt.writerIndex - 1)
        assertThrowsLogError(.corruptMessage) { _ = try log.append(try RecordBatch(corrupt)) }
        let empty = try RecordBatch(try RecordBatch.encode(records: [], baseTimestamp: Timestamp(millis: 1)))
        assertThrowsLogError(.invalidRecord) { _ = try log.append(empty) }
        var gappy = [Record(key: nil, value: ByteBuffer(string: "a"), offsetDelta: 0), Record(key: nil, value: nil, offsetDelta: 5)]
        gappy[1].timestampDelta = 1
        let gap = try RecordBatch(try RecordBatch.encode(records: gappy, baseTimestamp: Timestamp(millis: 1)))
        assertThrowsLogError(.invalidRecord) { _ = try log.append(gap) }
        XCTAssertEqual(log.logEndOffset, Offset(0))
        XCTAssertEqual(log.sizeInBytes, 0)
    }

    func testLogAppendTimeRewritesTimestampsWithValidCRC() throws {
        let log = try open { $0.messageTimestampType = .logAppendTime }
        let batch = makeBatch(count: 3, baseTimestamp: 5)
        let result = try log.append(batch)
        XCTAssertEqual(result.logAppendTime, Timestamp(millis: clock.ms))
        let storedBatch = try batches(in: log.read(from: Offset(0), maxBytes: 1 << 20, minOneBatch: true).records)[0]
        XCTAssertNoThrow(try storedBatch.validate())
        XCTAssertEqual(storedBatch.header.timestampType, .logAppendTime)
        XCTAssertEqual(storedBatch.header.maxTimestamp, Timestamp(millis: clock.ms))
        XCTAssertEqual(storedBatch.header.baseTimestamp, Timestamp(millis: 5), "baseTimestamp is left as sent")
        for record in try storedBatch.records() {
            XCTAssertEqual(storedBatch.header.timestamp(of: record), Timestamp(millis: clock.ms))
        }
        XCTAssertEqual(storedBatch.payload, batch.payload, "records are stored untouched")
        XCTAssertEqual(try log.maxTimestampOffset()?.offset, Offset(0))
        XCTAssertEqual(try log.maxTimestampOffset()?.timestamp, clock.ms)
    }

    func testRollBySize() throws {
        let size = makeBatch(count: 1, valueSize: 50).bytes.readableBytes
        let log = try open { $0.segmentBytes = size * 3 }
        for _ in 0..<10 { _ = try log.append(makeBatch(count: 1, valueSize: 50)) }
        XCTAssertEqual(log.segmentCount, 4, "three batches fit a segment")
        XCTAssertEqual(log.segments.map(\.baseOffset), [Offset(0), Offset(3), Offset(6), Offset(9)])
        for segment in log.segments { XCTAssertLessThanOrEqual(segment.size, size * 3) }
        let names = Files.list(directory.partition).filter { $0.hasSuffix(".log") }
        XCTAssertEqual(names, ["00000000000000000000.log", "00000000000000000003.log", "00000000000000000006.log", "00000000000000000009.log"])
        XCTAssertEqual(try readAll(log).map(\.header.baseOffset), (0..<10).map { Offset(Int64($0)) })
        // A batch larger than segment.bytes still goes in (alone in its segment).
        let log2Dir = TemporaryDirectory(name + "big")
        defer { log2Dir.cleanUp() }
        var config = LogConfig()
        config.segmentBytes = 10
        let log2 = try PartitionLog.open(directory: log2Dir.partition, config: config, now: clock.now)
        _ = try log2.append(makeBatch(count: 1))
        _ = try log2.append(makeBatch(count: 1))
        XCTAssertEqual(log2.segmentCount, 2)
    }

    func testRollByAge() throws {
        let log = try open {
            $0.segmentMs = 1_000
            $0.retentionMs = -1
        }
        _ = try log.append(makeBatch())
        clock.advance(1_000)
        _ = try log.append(makeBatch())
        XCTAssertEqual(log.segmentCount, 1, "segment.ms must be exceeded")
        clock.advance(1)
        _ = try log.append(makeBatch())
        XCTAssertEqual(log.segmentCount, 2)
        XCTAssertEqual(log.active.baseOffset, Offset(6))
        // The new segment's age counts from its first append (the batch that rolled it).
        clock.advance(1_000)
        _ = try log.append(makeBatch())
        XCTAssertEqual(log.segmentCount, 2)
        clock.advance(1)
        XCTAssertEqual(try log.applyRetention(), 0)
        XCTAssertEqual(log.segmentCount, 3, "retention passes roll aged segments too")
        XCTAssertEqual(try log.applyRetention(), 0)
        XCTAssertEqual(log.segmentCount, 3, "an empty active segment never rolls")
        clock.advance(10_000)
        _ = try log.append(makeBatch())
        XCTAssertEqual(log.segmentCount, 3, "an empty segment has no age")
        XCTAssertEqual(try readAll(log).count, 5)
    }

    func testRollWhenIndexFull() throws {
        // 24 index bytes: three offset-index entries, two time-index entries.
        let log = try open {
            $0.segmentIndexBytes = 24
            $0.indexIntervalBytes = 1
        }
        for i in 0..<12 { _ = try log.append(makeBatch(count: 1, baseTimestamp: 1_000 + Int64(i))) }
        XCTAssertGreaterThan(log.segmentCount, 3)
        for segment in log.segments.dropLast() {
            XCTAssertTrue(segment.indexes.isFull, "segment \(segment.baseOffset) rolled with a full index")
            XCTAssertLessThanOrEqual(segment.indexes.offsets.count, 3)
        }
        XCTAssertEqual(try readAll(log).count, 12)
    }

    func testFlushAdvancesFlushedOffset() throws {
        let log = try open()
        XCTAssertEqual(log.flushedOffset, Offset(0))
        _ = try log.append(makeBatch(count: 4))
        XCTAssertEqual(log.flushedOffset, Offset(0), "append writes only")
        try log.flush()
        XCTAssertEqual(log.flushedOffset, Offset(4))
        try log.flush()
        XCTAssertEqual(log.flushedOffset, Offset(4))
    }

    func testFlushIfDueHonoursMessagesAndMs() throws {
        let log = try open {
            $0.flushIntervalMessages = 5
            $0.flushIntervalMs = 10_000
        }
        _ = try log.append(makeBatch(count: 4))
        try log.flushIfDue()
        XCTAssertEqual(log.flushedOffset, Offset(0))
        _ = try log.append(makeBatch(count: 1))
        try log.flushIfDue()
        XCTAssertEqual(log.flushedOffset, Offset(5), "flush.messages reached")
        _ = try log.append(makeBatch(count: 1))
        clock.advance(9_999)
        try log.flushIfDue()
        XCTAssertEqual(log.flushedOffset, Offset(5))
        clock.advance(1)
        try log.flushIfDue()
        XCTAssertEqual(log.flushedOffset, Offset(6), "flush.ms passed")
    }

    func testCloseWritesCleanShutdownMarkerAndReopenRemovesIt() throws {
        let log = try open()
        _ = try log.append(makeBatch(count: 3))
        try log.close()
        try log.close()
        let marker = directory.partition + "/.clean-shutdown"
        XCTAssertTrue(Files.exists(marker))
        assertThrowsLogError(.closed) { _ = try log.append(makeBatch()) }
        assertThrowsLogError(.closed) { _ = try log.read(from: Offset(0), maxBytes: 10, minOneBatch: true) }
        assertThrowsLogError(.closed) { try log.flush() }
        let reopened = try open()
        XCTAssertFalse(Files.exists(marker))
        let report = try XCTUnwrap(reopened.recoveryReport)
        XCTAssertTrue(report.cleanShutdown)
        XCTAssertEqual(report.segmentsScanned, 0, "a clean shutdown needs no scan")
        XCTAssertTrue(report.isEmpty)
        XCTAssertEqual(reopened.logEndOffset, Offset(3))
        XCTAssertEqual(reopened.flushedOffset, Offset(3))
        XCTAssertEqual(try readAll(reopened).count, 1)
    }

    func testUncleanReopenScansAndKeepsEverything() throws {
        var log: PartitionLog? = try open()
        for _ in 0..<5 { _ = try log!.append(makeBatch(count: 2)) }
        log = nil  // dropped without close: a crash that left the page cache intact
        let reopened = try open()
        let report = try XCTUnwrap(reopened.recoveryReport)
        XCTAssertFalse(report.cleanShutdown)
        XCTAssertEqual(report.segmentsScanned, 1)
        XCTAssertTrue(report.isEmpty, "\(report)")
        XCTAssertEqual(reopened.logEndOffset, Offset(10))
        XCTAssertEqual(reopened.flushedOffset, Offset(10), "recovery fsyncs what it kept")
        _ = try reopened.append(makeBatch(count: 1))
        XCTAssertEqual(try readAll(reopened).count, 6)
    }

    /// Bytes the file system has allocated to a file (st_blocks), and its size.
    private func allocation(_ path: String) throws -> (allocated: Int, size: Int) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw LogError(.io, "stat \(path)") }
        return (Int(info.st_blocks) * 512, Int(info.st_size))
    }

    func testPreallocationGrowsWithTheSegmentAndIsFreedAfterFsyncCloseAndRecovery() throws {
        let step = LogConfig.preallocationStepBytes
        let big = makeBatch(count: 64, valueSize: 4096)  // about 256 KiB
        func pastEnd(_ path: String) throws -> Int { let a = try allocation(path); return a.allocated - a.size }
        let log = try open { $0.segmentBytes = step * 4 }
        // A quiet partition reserves little: as much again as it holds, at least the batch.
        _ = try log.append(makeBatch(count: 1, valueSize: 1000))
        let first = Files.segmentPath(directory.partition, 0, "log")
        XCTAssertLessThan(try pastEnd(first), 64 << 10)
        // A busy one doubles its reservation up to the step: after 16 MiB + a batch, about 16 MiB lie ahead.
        for _ in 0..<65 { _ = try log.append(big) }
        let reserved = try pastEnd(first)
        try XCTSkipIf(reserved < 1 << 20, "this file system does not preallocate (fallocate unsupported)")
        XCTAssertGreaterThanOrEqual(reserved, step / 2)
        XCTAssertLessThanOrEqual(reserved, step + (64 << 10))
        XCTAssertEqual(Int64(try allocation(first).size), log.sizeInBytes, "the file's size is only what was appended")
        XCTAssertEqual(try readAll(log).count, 66)
        // The rolled segment keeps its reservation until its fsync, which frees what it did not use.
        try log.roll(now: clock.now())
        XCTAssertTrue(log.rolledSegmentAwaitsFlush)
        try log.flush()
        XCTAssertFalse(log.rolledSegmentAwaitsFlush)
        XCTAssertLessThan(try pastEnd(first), 64 << 10)
        // Close frees the active segment's.
        for _ in 0..<9 { _ = try log.append(big) }
        let secondBase = 1 + 65 * 64
        let second = Files.segmentPath(directory.partition, Int64(secondBase), "log")
        XCTAssertGreaterThan(try pastEnd(second), 1 << 20)
        try log.close()
        XCTAssertLessThan(try pastEnd(second), 64 << 10, "close frees the reservation")
        // A crash keeps it; recovery frees it and keeps every batch.
        var crashed: PartitionLog? = try open { $0.segmentBytes = step * 4 }
        for _ in 0..<10 { _ = try crashed!.append(big) }
        XCTAssertGreaterThan(try pastEnd(second), 1 << 20)
        crashed = nil  // dropped without close, as a crash leaves it
        let recovered = try open { $0.segmentBytes = step * 4 }
        XCTAssertFalse(try XCTUnwrap(recovered.recoveryReport).cleanShutdown)
        XCTAssertLessThan(try pastEnd(second), 64 << 10, "recovery frees what a crash left reserved")
        XCTAssertEqual(recovered.logEndOffset, Offset(Int64(secondBase + 19 * 64)))
        XCTAssertEqual(try readAll(recovered).count, 66 + 19)
        // Off: nothing is reserved.
        let plainDir = TemporaryDirectory(name + "plain")
        defer { plainDir.cleanUp() }
        var config = LogConfig()
        config.preallocate = false
        let plain = try PartitionLog.open(directory: plainDir.partition, config: config, now: clock.now)
        for _ in 0..<9 { _ = try plain.append(big) }
        XCTAssertLessThan(try pastEnd(Files.segmentPath(plainDir.partition, 0, "log")), 64 << 10)
    }

    /// This process's open descriptors on files under `directory` (from /proc/self/fd).
    private func openDescriptors(under directory: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
        return entries.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0))?.hasPrefix(directory) == true }.count
    }

    func testReadingALongLogKeepsFewDescriptorsOpen() throws {
        #if !os(Linux)
        throw XCTSkip("counts descriptors through /proc")
        #endif
        let size = makeBatch(count: 1, valueSize: 50).bytes.readableBytes
        let log = try open { $0.segmentBytes = size }
        for _ in 0..<30 { _ = try log.append(makeBatch(count: 1, valueSize: 50)) }
        try log.flush()
        XCTAssertEqual(log.segmentCount, 30)
        XCTAssertEqual(openDescriptors(under: directory.partition), 1, "only the active segment after the flush")
        // A consumer reading every offset, and timestamp lookups on every segment.
        for offset in 0..<30 {
            let read = try log.read(from: Offset(Int64(offset)), maxBytes: 1 << 20, minOneBatch: true)
            XCTAssertEqual(try batches(in: read.records).first?.header.baseOffset, Offset(Int64(offset)))
            XCTAssertLessThanOrEqual(openDescriptors(under: directory.partition), PartitionLog.maxOpenReadSegments + 1)
        }
        _ = try log.maxTimestampOffset()
        XCTAssertNotNil(try log.offset(forTimestamp: 0))
        XCTAssertEqual(openDescriptors(under: directory.partition), PartitionLog.maxOpenReadSegments + 1)
        // Segments read again reopen their files.
        XCTAssertEqual(try batches(in: log.read(from: Offset(0), maxBytes: 1 << 20, minOneBatch: true).records).count, 1)
    }

    func testDeleteRemovesDirectory() throws {
        let log = try open()
        _ = try log.append(makeBatch())
        try log.delete()
        XCTAssertFalse(Files.exists(directory.partition))
        assertThrowsLogError(.closed) { _ = try log.append(makeBatch()) }
    }

    func testManySegments() throws {
        let log = try open {
            $0.segmentBytes = 600
            $0.indexIntervalBytes = 100
        }
        var rng = SeededRandom(seed: 42)
        var expected: [(Offset, ByteBuffer)] = []
        for _ in 0..<600 {
            let batch = makeBatch(count: Int.random(in: 1...4, using: &rng), valueSize: Int.random(in: 0...60, using: &rng))
            let result = try log.append(batch)
            expected.append((result.baseOffset, stored(batch, at: result.baseOffset)))
        }
        XCTAssertGreaterThan(log.segmentCount, 100)
        func check(_ log: PartitionLog) throws {
            XCTAssertEqual(try readAll(log, maxBytes: 300).map(\.bytes), expected.map(\.1))
            for (i, (offset, bytes)) in expected.enumerated() {
                let last = i + 1 < expected.count ? expected[i + 1].0.rawValue - 1 : log.logEndOffset.rawValue - 1
                for o in [offset.rawValue, last] {
                    let read = try log.read(from: Offset(o), maxBytes: 1, minOneBatch: true)
                    XCTAssertEqual(read.records, bytes, "offset \(o)")
                }
            }
        }
        try check(log)
        try log.close()
        let reopened = try open()
        XCTAssertEqual(reopened.segmentCount, log.segmentCount)
        try check(reopened)
    }
}
