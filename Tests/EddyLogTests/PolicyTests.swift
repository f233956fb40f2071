import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

/// The pure decisions, without files.
final class PolicyTests: XCTestCase {
    func testRollPolicy() {
        var config = LogConfig()
        config.segmentBytes = 1_000
        config.segmentMs = 100
        let segment = RollPolicy.Segment(baseOffset: Offset(10), size: 900, firstAppendMs: 1_000, indexesFull: false)
        func reason(_ s: RollPolicy.Segment, batch: Int = 100, last: Int64 = 20, now: Int64 = 1_050) -> RollPolicy.Reason? {
            RollPolicy.reason(s, batchSize: batch, lastOffset: Offset(last), now: now, config: config)
        }
        XCTAssertNil(reason(segment), "exactly segment.bytes fits")
        XCTAssertEqual(reason(segment, batch: 101), .size)
        XCTAssertNil(reason(segment, now: 1_100))
        XCTAssertEqual(reason(segment, now: 1_101), .age)
        var full = segment
        full.indexesFull = true
        XCTAssertEqual(reason(full), .indexFull)
        XCTAssertEqual(reason(segment, last: 10 + Int64(Int32.max) + 1), .offsetOverflow)
        XCTAssertNil(reason(segment, last: 10 + Int64(Int32.max)))
        var empty = segment
        empty.size = 0
        empty.indexesFull = true
        XCTAssertNil(reason(empty, batch: 5_000, now: 1_000_000), "an empty segment never rolls")
    }

    func testSegmentFileNames() {
        XCTAssertEqual(SegmentFileName.name(Offset(0), .log), "00000000000000000000.log")
        XCTAssertEqual(SegmentFileName.name(Offset(1234), .timeindex), "00000000000000001234.timeindex")
        XCTAssertEqual(SegmentFileName.name(Offset(Int64.max), .index), "09223372036854775807.index")
        XCTAssertEqual(SegmentFileName.parse("00000000000000001234.index")?.base, Offset(1234))
        XCTAssertEqual(SegmentFileName.parse("00000000000000001234.index")?.kind, .index)
        XCTAssertNil(SegmentFileName.parse("1234.log"))
        XCTAssertNil(SegmentFileName.parse("00000000000000001234.log.deleted"))
        XCTAssertNil(SegmentFileName.parse("0000000000000000123x.log"))
        XCTAssertNil(SegmentFileName.parse("log-start-offset"))
    }

    func testSegmentIndexesRule() {
        var indexes = SegmentIndexes(baseOffset: Offset(100), indexBytes: 1 << 20)
        // 100-byte batches, interval 250: entries before the 4th batch (300 bytes since start), then every 3rd.
        let timestamps: [Int64] = [50, 40, 70, 60, 90, 90, 80]
        for (i, ts) in timestamps.enumerated() {
            indexes.add(position: i * 100, lastOffset: Offset(100 + Int64(i) * 2 + 1), maxTimestamp: ts, size: 100, intervalBytes: 250)
        }
        XCTAssertEqual(indexes.offsets.count, 2)
        XCTAssertEqual(indexes.offsets[0].offset, Offset(107))
        XCTAssertEqual(indexes.offsets[0].position, 300)
        XCTAssertEqual(indexes.offsets[1].position, 600)
        XCTAssertEqual(indexes.maxTimestamp, 90)
        XCTAssertEqual(indexes.offsetOfMaxTimestamp, Offset(109), "the first batch that reached 90")
        // Time entries go with offset entries, holding the largest timestamp so far and where it was.
        XCTAssertEqual(indexes.times.count, 2)
        XCTAssertEqual(indexes.times[0].timestamp, 70)
        XCTAssertEqual(indexes.times[0].offset, Offset(105))
        XCTAssertEqual(indexes.times[1].timestamp, 90)
        XCTAssertEqual(indexes.times[1].offset, Offset(109))
        // A larger timestamp after the last entry reaches the time index when the segment is sealed.
        indexes.add(position: 700, lastOffset: Offset(115), maxTimestamp: 95, size: 100, intervalBytes: 250)
        XCTAssertEqual(indexes.times.count, 2)
        indexes.seal()
        XCTAssertEqual(indexes.times.last?.timestamp, 95)
        XCTAssertEqual(indexes.times.last?.offset, Offset(115))
        indexes.seal()
        XCTAssertEqual(indexes.times.count, 3, "sealing twice adds nothing")
    }

    func testStoredHeaderForLogAppendTime() throws {
        let batch = makeBatch(count: 2, baseTimestamp: 10)
        let (bytes, header) = StoredBatch.storedHeader(of: batch, baseOffset: Offset(42), logAppendTime: 99_999)
        XCTAssertEqual(bytes.readableBytes, RecordBatchHeader.size)
        var whole = bytes
        var payload = batch.payload
        whole.writeBuffer(&payload)
        let stored = try RecordBatch(whole)
        XCTAssertNoThrow(try stored.validate())
        XCTAssertEqual(stored.header, header)
        XCTAssertEqual(stored.header.baseOffset, Offset(42))
        XCTAssertEqual(stored.header.partitionLeaderEpoch, 0)
        XCTAssertEqual(stored.header.maxTimestamp, Timestamp(millis: 99_999))
        XCTAssertEqual(stored.header.timestampType, .logAppendTime)
        let createTime = StoredBatch.storedHeader(of: batch, baseOffset: Offset(42), logAppendTime: nil)
        XCTAssertEqual(createTime.header.crc, batch.header.crc, "CreateTime keeps the producer's CRC")
    }

    func testOffsetCheckpointFile() throws {
        let directory = TemporaryDirectory(name)
        defer { directory.cleanUp() }
        try FileSystem.makeDirectory(directory.path)
        let file = OffsetCheckpointFile(path: directory.path + "/cp", directory: directory.path)
        XCTAssertNil(try file.read())
        try file.write(Offset(12_345))
        XCTAssertEqual(try file.read(), Offset(12_345))
        XCTAssertEqual(String(decoding: Files.bytes(directory.path + "/cp"), as: UTF8.self), "0\n12345\n")
        XCTAssertFalse(Files.exists(directory.path + "/cp.tmp"))
        Files.write(directory.path + "/cp", Array("1\n5\n".utf8))
        XCTAssertThrowsError(try file.read())
    }
}
