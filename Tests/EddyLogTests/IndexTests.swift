import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

final class IndexTests: LogTestCase {
    override var baseConfig: LogConfig {
        var config = LogConfig()
        config.segmentBytes = 2_000
        config.indexIntervalBytes = 150
        return config
    }

    // MARK: Pure index types

    func testOffsetIndexLookupAndFormat() throws {
        var index = OffsetIndex(baseOffset: Offset(100), maxEntries: 3)
        XCTAssertEqual(index.lookup(Offset(150)), 0, "an empty index starts at the segment's start")
        index.append(offset: Offset(104), position: 300)
        index.append(offset: Offset(110), position: 700)
        XCTAssertFalse(index.isFull)
        index.append(offset: Offset(120), position: 900)
        XCTAssertTrue(index.isFull)
        XCTAssertEqual(index.lookup(Offset(99)), 0)
        XCTAssertEqual(index.lookup(Offset(103)), 0)
        XCTAssertEqual(index.lookup(Offset(104)), 300)
        XCTAssertEqual(index.lookup(Offset(109)), 300)
        XCTAssertEqual(index.lookup(Offset(110)), 700)
        XCTAssertEqual(index.lookup(Offset(1_000)), 900)
        let bytes = index.encoded()
        XCTAssertEqual(bytes.bytes, [0, 0, 0, 4, 0, 0, 1, 44, 0, 0, 0, 10, 0, 0, 2, 188, 0, 0, 0, 20, 0, 0, 3, 132])
        XCTAssertEqual(try OffsetIndex.decode(bytes, baseOffset: Offset(100), maxEntries: 3), index)
        XCTAssertThrowsError(try OffsetIndex.decode(bytes.getSlice(at: 0, length: 20)!, baseOffset: Offset(100), maxEntries: 3))
        var backwards = ByteBuffer()
        backwards.writeInteger(Int32(5)); backwards.writeInteger(Int32(10))
        backwards.writeInteger(Int32(5)); backwards.writeInteger(Int32(20))
        XCTAssertThrowsError(try OffsetIndex.decode(backwards, baseOffset: Offset(0), maxEntries: 3))
    }

    func testTimeIndexAppendsOnlyGrowingTimestamps() throws {
        var index = TimeIndex(baseOffset: Offset(10), maxEntries: 10)
        index.maybeAppend(timestamp: -1, offset: Offset(10))
        XCTAssertEqual(index.count, 0, "no timestamp, no entry")
        index.maybeAppend(timestamp: 500, offset: Offset(12))
        index.maybeAppend(timestamp: 500, offset: Offset(14))
        index.maybeAppend(timestamp: 400, offset: Offset(15))
        index.maybeAppend(timestamp: 900, offset: Offset(20))
        XCTAssertEqual(index.count, 2)
        XCTAssertEqual(index.lookup(100), Offset(10))
        XCTAssertEqual(index.lookup(500), Offset(12))
        XCTAssertEqual(index.lookup(899), Offset(12))
        XCTAssertEqual(index.lookup(5_000), Offset(20))
        let bytes = index.encoded()
        XCTAssertEqual(bytes.readableBytes, 24)
        XCTAssertEqual(bytes.bytes.prefix(12), [0, 0, 0, 0, 0, 0, 1, 244, 0, 0, 0, 2])
        XCTAssertEqual(try TimeIndex.decode(bytes, baseOffset: Offset(10), maxEntries: 10), index)
        XCTAssertThrowsError(try TimeIndex.decode(bytes.getSlice(at: 0, length: 13)!, baseOffset: Offset(10), maxEntries: 10))
    }

    // MARK: Rebuilding

    /// Fills a log over several segments and closes it; returns the index files' bytes by name.
    func buildClosedLog() throws -> [String: [UInt8]] {
        let log = try open()
        for i in 0..<60 { _ = try log.append(makeBatch(count: 1 + i % 3, valueSize: 30, baseTimestamp: 1_000 + Int64(i % 7) * 10)) }
        XCTAssertGreaterThan(log.segmentCount, 3)
        try log.close()
        var files: [String: [UInt8]] = [:]
        for name in Files.list(directory.partition) where name.hasSuffix("index") {
            files[name] = Files.bytes(directory.partition + "/" + name)
        }
        return files
    }

    func assertIndexFiles(_ expected: [String: [UInt8]], file: StaticString = #filePath, line: UInt = #line) {
        for (name, bytes) in expected {
            XCTAssertEqual(Files.bytes(directory.partition + "/" + name), bytes, name, file: file, line: line)
        }
    }

    func testIndexesRebuiltWhenDeleted() throws {
        let original = try buildClosedLog()
        let segmentNames = original.keys.filter { $0.hasSuffix(".index") }.sorted()
        XCTAssertTrue(original.values.contains { $0.count > 8 }, "the test needs real entries")
        Files.remove(directory.partition + "/" + segmentNames[0])
        Files.remove(directory.partition + "/" + segmentNames[1].replacingOccurrences(of: ".index", with: ".timeindex"))
        Files.remove(directory.partition + "/" + segmentNames.last!)
        let log = try open()
        let report = try XCTUnwrap(log.recoveryReport)
        XCTAssertEqual(report.rebuiltIndexes.count, 3, "\(report)")
        XCTAssertEqual(report.truncations, [])
        XCTAssertEqual(try readAll(log).count, 60)
        try log.close()
        assertIndexFiles(original)
    }

    func testIndexesRebuiltWhenCorruptedShortOrPointingPastTheEnd() throws {
        let original = try buildClosedLog()
        let names = original.keys.sorted()
        let index0 = directory.partition + "/" + names.first { $0.hasSuffix(".index") }!
        let indexes = names.filter { $0.hasSuffix(".index") && original[$0]!.count >= 16 }
        XCTAssertGreaterThanOrEqual(indexes.count, 3)
        // Garbage that is not whole entries.
        Files.write(index0, [1, 2, 3])
        // Shorter than expected: a whole entry removed from the end.
        let short = directory.partition + "/" + indexes[1]
        Files.write(short, Array(original[indexes[1]]!.dropLast(8)))
        // An entry pointing past the end of its log.
        let past = directory.partition + "/" + indexes[2]
        var bytes = original[indexes[2]]!
        bytes.replaceSubrange(bytes.count - 4..<bytes.count, with: [0, 0x10, 0, 0])
        Files.write(past, bytes)
        // A time index entry pointing past the end of its log, in a segment not damaged yet.
        let damaged = Set([index0, short, past].map { $0.replacingOccurrences(of: ".index", with: ".timeindex") })
        let timeName = names.first {
            $0.hasSuffix(".timeindex") && original[$0]!.count >= 12 && !damaged.contains(directory.partition + "/" + $0)
        }!
        var time = original[timeName]!
        time.replaceSubrange(8..<12, with: [0x7F, 0, 0, 0])
        Files.write(directory.partition + "/" + timeName, time)
        let log = try open()
        let report = try XCTUnwrap(log.recoveryReport)
        XCTAssertGreaterThanOrEqual(report.rebuiltIndexes.count, 4, "\(report)")
        XCTAssertEqual(report.truncations, [])
        XCTAssertEqual(try readAll(log).count, 60)
        try log.close()
        assertIndexFiles(original)
    }

    func testChangedIndexIntervalDoesNotLookLikeAShortIndex() throws {
        var log: PartitionLog? = try open { $0.indexIntervalBytes = 400 }
        for _ in 0..<60 { _ = try log!.append(makeBatch(count: 2, valueSize: 30)) }
        try log!.close()
        for interval in [10, 4_000, 400] {
            log = try open { $0.indexIntervalBytes = interval }
            XCTAssertEqual(log!.recoveryReport?.isEmpty, true, "interval \(interval): \(String(describing: log!.recoveryReport))")
            try log!.close()
        }
        // A truly short index is still caught.
        let name = Files.list(directory.partition).first { $0.hasSuffix(".index") && Files.bytes(directory.partition + "/" + $0).count >= 24 }!
        Files.write(directory.partition + "/" + name, Array(Files.bytes(directory.partition + "/" + name).dropLast(16)))
        log = try open { $0.indexIntervalBytes = 400 }
        XCTAssertEqual(log!.recoveryReport?.rebuiltIndexes.count, 1)
    }

    func testRebuiltIndexEqualsAppendedIndex() throws {
        var rng = SeededRandom(seed: 7)
        var log: PartitionLog? = try open { $0.segmentBytes = 1 << 20 }
        for _ in 0..<200 {
            let deltas = (0..<3).map { _ in Int64.random(in: -50...50, using: &rng) }
            _ = try log!.append(makeBatch(count: 3, valueSize: Int.random(in: 0...80, using: &rng),
                                          baseTimestamp: Int64.random(in: 1_000...2_000, using: &rng), timestampDeltas: deltas))
        }
        let appended = log!.active.indexes
        XCTAssertGreaterThan(appended.offsets.count, 10)
        XCTAssertGreaterThan(appended.times.count, 2)
        log = nil
        let recovered = try open { $0.segmentBytes = 1 << 20 }
        XCTAssertEqual(recovered.recoveryReport?.segmentsScanned, 1)
        XCTAssertEqual(recovered.active.indexes, appended)
    }

    // MARK: Timestamps

    func testOffsetForTimestampAndMaxTimestamp() throws {
        let log = try open { $0.segmentBytes = 400 }
        XCTAssertNil(try log.offset(forTimestamp: 0))
        XCTAssertNil(try log.maxTimestampOffset())
        // Batches of 3 records; timestamps are not monotonic across batches.
        let bases: [Int64] = [100, 200, 150, 400, 300, 500, 500, 450]
        for base in bases { _ = try log.append(makeBatch(count: 3, valueSize: 20, baseTimestamp: base, timestampStep: 10)) }
        XCTAssertGreaterThan(log.segmentCount, 2)
        // Record i of batch b has offset 3b + i and timestamp bases[b] + 10i.
        func expected(_ ts: Int64) -> (Offset, Int64)? {
            for (b, base) in bases.enumerated() {
                for i in 0..<3 where base + Int64(i) * 10 >= ts { return (Offset(Int64(b * 3 + i)), base + Int64(i) * 10) }
            }
            return nil
        }
        for ts: Int64 in [0, 100, 101, 120, 121, 165, 221, 300, 420, 425, 520, 521, 1_000] {
            let found = try log.offset(forTimestamp: ts)
            let want = expected(ts)
            XCTAssertEqual(found?.offset, want?.0, "timestamp \(ts)")
            XCTAssertEqual(found?.timestamp, want?.1, "timestamp \(ts)")
        }
        let max = try XCTUnwrap(log.maxTimestampOffset())
        XCTAssertEqual(max.timestamp, 520)
        XCTAssertEqual(max.offset, Offset(17), "the first record with the largest timestamp")
        // The same after a clean reopen (indexes from files) and after a crash (indexes rebuilt).
        try log.close()
        var reopened: PartitionLog? = try open { $0.segmentBytes = 400 }
        XCTAssertEqual(try reopened!.offset(forTimestamp: 425)?.offset, expected(425)?.0)
        XCTAssertEqual(try reopened!.maxTimestampOffset()?.offset, Offset(17))
        reopened = nil
        let recovered = try open { $0.segmentBytes = 400 }
        XCTAssertEqual(try recovered.offset(forTimestamp: 425)?.offset, expected(425)?.0)
        XCTAssertEqual(try recovered.maxTimestampOffset()?.offset, Offset(17))
        // Below the log start offset nothing is found.
        _ = try recovered.deleteRecords(before: Offset(19))
        XCTAssertEqual(try recovered.offset(forTimestamp: 0)?.offset, Offset(19))
        XCTAssertEqual(try recovered.maxTimestampOffset()?.offset, Offset(20), "offset 17 is gone; 20 has 520 too")
    }
}
