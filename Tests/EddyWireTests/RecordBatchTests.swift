import EddyCore
import Foundation
import NIOCore
import XCTest

@testable import EddyWire

final class RecordBatchTests: XCTestCase {
    static let baseTimestamp = Timestamp(millis: 1_700_000_000_000)

    // MARK: Helpers

    /// Records with null and empty keys and values, headers (one with a null value), and varied sizes.
    func makeRecords(_ count: Int, _ random: inout SeededRandom) -> [Record] {
        (0..<count).map { i in
            let key: ByteBuffer? = i % 5 == 0 ? nil : (i % 13 == 0 ? ByteBuffer() : ByteBuffer(string: "key-\(i)"))
            var value: ByteBuffer? = nil
            if i % 7 != 0 {
                var v = ByteBuffer()
                for _ in 0..<Int.random(in: 0...300, using: &random) { v.writeInteger(UInt8.random(in: 32...126, using: &random)) }
                value = v
            }
            let headers = i % 3 == 0
                ? [RecordHeader(key: "trace-id", value: ByteBuffer(string: "\(i)")), RecordHeader(key: "ünïcode", value: nil)]
                : []
            return Record(key: key, value: value, headers: headers,
                          timestampDelta: Int64(i * 5 - (i % 4 == 0 ? 3 : 0)), offsetDelta: Int32(i))
        }
    }

    /// `batch` with its CRC recomputed, as if a producer had sent these bytes.
    func resealed(_ batch: ByteBuffer) -> ByteBuffer {
        var b = batch
        let crc = b.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        b.setInteger(crc, at: b.readerIndex + 17)
        return b
    }

    func assertThrows(_ code: WireError.Code, _ body: @autoclosure () throws -> some Any,
                      _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), message, file: file, line: line) { error in
            XCTAssertEqual((error as? WireError)?.code, code, "\(message): \(error)", file: file, line: line)
        }
    }

    // MARK: Round trips

    func testRoundTripWithEveryCodec() throws {
        var random = SeededRandom("RecordBatchTests.roundTrip")
        let records = makeRecords(500, &random)
        for codec in CompressionCodec.allCases {
            let bytes = try RecordBatch.encode(
                records: records, baseOffset: Offset(1000), baseTimestamp: Self.baseTimestamp, compression: codec,
                producerId: 77, producerEpoch: 2, baseSequence: 40, partitionLeaderEpoch: 9)
            let batches = try RecordBatch.batches(in: bytes)
            XCTAssertEqual(batches.count, 1)
            let batch = batches[0]
            try batch.validate()
            let h = batch.header
            XCTAssertEqual(h.compression, codec)
            XCTAssertEqual(h.baseOffset, Offset(1000))
            XCTAssertEqual(h.lastOffsetDelta, 499)
            XCTAssertEqual(h.lastOffset, Offset(1499))
            XCTAssertEqual(h.nextOffset, Offset(1500))
            XCTAssertEqual(h.recordCount, 500)
            XCTAssertEqual(h.baseTimestamp, Self.baseTimestamp)
            XCTAssertEqual(h.maxTimestamp, Timestamp(millis: Self.baseTimestamp.millis + 499 * 5))
            XCTAssertEqual(h.producerId, 77)
            XCTAssertEqual(h.producerEpoch, 2)
            XCTAssertEqual(h.baseSequence, 40)
            XCTAssertEqual(h.partitionLeaderEpoch, 9)
            XCTAssertEqual(h.timestampType, .createTime)
            XCTAssertFalse(h.isTransactional)
            XCTAssertFalse(h.isControl)
            XCTAssertEqual(h.totalSize, bytes.readableBytes)
            let decoded = try batch.records()
            XCTAssertEqual(decoded, records, "\(codec)")
            XCTAssertEqual(h.offset(of: decoded[3]), Offset(1003))
            XCTAssertEqual(h.timestamp(of: decoded[3]), Timestamp(millis: Self.baseTimestamp.millis + 15))
            if codec != .none {
                XCTAssertLessThan(bytes.readableBytes, try RecordBatch.encode(records: records, baseTimestamp: Self.baseTimestamp).readableBytes)
            }
            // The reader gives the same records one at a time.
            var reader = try batch.recordReader()
            var n = 0
            while let r = try reader.next() {
                XCTAssertEqual(r, records[n])
                n += 1
            }
            XCTAssertEqual(n, 500)
        }
    }

    func testEmptyAndSingleRecordBatches() throws {
        for codec in CompressionCodec.allCases {
            let empty = try RecordBatch(RecordBatch.encode(records: [], baseTimestamp: Self.baseTimestamp, compression: codec))
            try empty.validate()
            XCTAssertEqual(try empty.records(), [])
            let one = Record(key: nil, value: nil)
            let single = try RecordBatch(RecordBatch.encode(records: [one], baseTimestamp: Self.baseTimestamp, compression: codec))
            try single.validate()
            XCTAssertEqual(try single.records(), [one])
        }
        // An uncompressed batch of one record with null key and value: 61 + 7 bytes.
        XCTAssertEqual(try RecordBatch.encode(records: [Record(key: nil, value: nil)], baseTimestamp: Self.baseTimestamp).readableBytes, 68)
    }

    func testReadingOneRecordFromAWireReader() throws {
        let record = Record(key: ByteBuffer(string: "k"), value: nil,
                            headers: [RecordHeader(key: "h", value: ByteBuffer(string: "v"))],
                            timestampDelta: -5, offsetDelta: 70_000)
        var writer = WireWriter()
        record.write(to: &writer)
        XCTAssertEqual(writer.buffer.readableBytes, record.encodedSize)
        writer.buffer.writeString("next")
        var reader = WireReader(writer.buffer)
        XCTAssertEqual(try Record.read(from: &reader), record)
        XCTAssertEqual(reader.remaining, 4)
    }

    func testAttributesAndTimestampType() throws {
        let records = [Record(key: nil, value: ByteBuffer(string: "v"), timestampDelta: 10)]
        let bytes = try RecordBatch.encode(
            records: records, baseTimestamp: Self.baseTimestamp, maxTimestamp: Timestamp(millis: 1_800_000_000_000),
            compression: .lz4, timestampType: .logAppendTime, producerId: 5, producerEpoch: 1, baseSequence: 0,
            isTransactional: true)
        let batch = try RecordBatch(bytes)
        try batch.validate()
        XCTAssertEqual(batch.header.attributes, 3 | 0x08 | 0x10)
        XCTAssertEqual(batch.header.timestampType, .logAppendTime)
        XCTAssertTrue(batch.header.isTransactional)
        XCTAssertFalse(batch.header.isControl)
        XCTAssertFalse(batch.header.hasDeleteHorizon)
        // LogAppendTime: every record has the batch's maxTimestamp.
        XCTAssertEqual(batch.header.timestamp(of: try batch.records()[0]), Timestamp(millis: 1_800_000_000_000))

        var h = RecordBatchHeader()
        h.compression = .zstd
        h.isControl = true
        h.hasDeleteHorizon = true
        XCTAssertEqual(h.attributes, 4 | 0x20 | 0x40)
        h.compression = .gzip
        h.isControl = false
        XCTAssertEqual(h.attributes, 1 | 0x40)
    }

    func testControlBatchWithTransactionMarkers() throws {
        for type in [ControlRecordType.commit, .abort] {
            let marker = EndTransactionMarker(type: type, coordinatorEpoch: 12)
            let bytes = try RecordBatch.encode(
                records: [marker.record()], baseOffset: Offset(50), baseTimestamp: Self.baseTimestamp,
                producerId: 9000, producerEpoch: 4, isTransactional: true, isControl: true)
            let batch = try RecordBatch(bytes)
            try batch.validate()
            XCTAssertTrue(batch.header.isControl)
            XCTAssertTrue(batch.header.isTransactional)
            let record = try batch.records()[0]
            XCTAssertEqual(Array(record.key!.readableBytesView), [0, 0, 0, UInt8(type.rawValue)])
            XCTAssertEqual(Array(record.value!.readableBytesView), [0, 0, 0, 0, 0, 12])
            XCTAssertEqual(try ControlRecordKey(decoding: record.key!).type, type)
            XCTAssertEqual(try EndTransactionMarker(decoding: record), marker)
        }
        // A later key version with more bytes is read as far as version 0 goes.
        XCTAssertEqual(try ControlRecordKey(decoding: ByteBuffer(bytes: [0, 1, 0, 1, 9, 9])), ControlRecordKey(type: .commit, version: 1))
        assertThrows(.corruptRecordBatch, try ControlRecordKey(decoding: ByteBuffer(bytes: [0, 0, 1])))
        assertThrows(.corruptRecordBatch, try ControlRecordKey(decoding: ByteBuffer(bytes: [0xFF, 0xFF, 0, 1])))
        let leaderChange = Record(key: ControlRecordKey(type: .leaderChange).encoded(), value: ByteBuffer(bytes: [0, 0]))
        assertThrows(.invalidValue, try EndTransactionMarker(decoding: leaderChange))
        let shortValue = Record(key: ControlRecordKey(type: .commit).encoded(), value: ByteBuffer(bytes: [0, 0, 0]))
        assertThrows(.corruptRecordBatch, try EndTransactionMarker(decoding: shortValue))
    }

    func testAssigningBaseOffsetKeepsTheChecksumValid() throws {
        var random = SeededRandom("RecordBatchTests.assign")
        let batch = try RecordBatch(RecordBatch.encode(records: makeRecords(10, &random), baseTimestamp: Self.baseTimestamp))
        let appended = batch.assigning(baseOffset: Offset(123_456), partitionLeaderEpoch: 7)
        try appended.validate()
        let reparsed = try RecordBatch(appended.bytes)
        XCTAssertEqual(reparsed.header, appended.header)
        XCTAssertEqual(reparsed.header.baseOffset, Offset(123_456))
        XCTAssertEqual(reparsed.header.partitionLeaderEpoch, 7)
        XCTAssertEqual(batch.header.baseOffset, Offset(0), "the original is unchanged")
    }

    // MARK: Batches written by another implementation

    /// Batches built by kafka-python (scripts/record-batch-fixtures.py), one per codec, plus zstd
    /// streamed without a content size (as the Java client writes it) and a transactional batch.
    func testKafkaPythonBatchesDecode() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/record-batches")
        let names = ["none", "gzip", "snappy", "lz4", "zstd", "zstd-no-content-size"]
        for name in names {
            let data = try Data(contentsOf: directory.appendingPathComponent("kafka-python-\(name).bin"))
            let batches = try RecordBatch.batches(in: ByteBuffer(bytes: data))
            XCTAssertEqual(batches.count, 1)
            let batch = batches[0]
            try batch.validate()
            XCTAssertEqual(batch.header.compression.description, name.hasPrefix("zstd") ? "zstd" : name)
            XCTAssertEqual(batch.header.recordCount, 200)
            XCTAssertEqual(batch.header.lastOffsetDelta, 199)
            XCTAssertEqual(batch.header.baseTimestamp, Self.baseTimestamp)
            XCTAssertEqual(batch.header.maxTimestamp, Timestamp(millis: Self.baseTimestamp.millis + 199 * 3))
            let records = try batch.records()
            XCTAssertEqual(records.count, 200)
            for (i, r) in records.enumerated() {
                XCTAssertEqual(r, Self.kafkaPythonRecipe(i), "\(name) record \(i)")
            }
        }
        let data = try Data(contentsOf: directory.appendingPathComponent("kafka-python-transactional-gzip.bin"))
        let batch = try RecordBatch(ByteBuffer(bytes: data))
        try batch.validate()
        XCTAssertTrue(batch.header.isTransactional)
        XCTAssertEqual(batch.header.producerId, 4242)
        XCTAssertEqual(batch.header.producerEpoch, 3)
        XCTAssertEqual(batch.header.baseSequence, 17)
        XCTAssertEqual(try batch.records(), (0..<5).map(Self.kafkaPythonRecipe))
    }

    /// The other direction: our batches (same recipe, each codec) decoded by kafka-python, through
    /// `scripts/record-batch-fixtures.py --check` in the project's venv (installed by scripts/setup.sh).
    func testKafkaPythonDecodesOurBatches() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            return XCTFail("\(python.path) is missing: run scripts/setup.sh (make test does)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eddy-crosscheck-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for codec in CompressionCodec.allCases {
            let bytes = try RecordBatch.encode(records: (0..<200).map(Self.kafkaPythonRecipe),
                                               baseTimestamp: Self.baseTimestamp, compression: codec)
            try Data(bytes.readableBytesView).write(to: dir.appendingPathComponent("eddy-\(codec).bin"))
        }
        let process = Process()
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("scripts/record-batch-fixtures.py").path, "--check", dir.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertEqual(text.components(separatedBy: "200 records match").count - 1, CompressionCodec.allCases.count, text)
    }

    /// The recipe of scripts/record-batch-fixtures.py.
    static func kafkaPythonRecipe(_ i: Int) -> Record {
        let key = i % 7 == 0 ? nil : ByteBuffer(string: "key-\(i)")
        let value = i % 11 == 0 ? nil : ByteBuffer(string: "value-\(i)-" + String(repeating: "x", count: i % 50))
        let headers = i % 2 == 0
            ? [RecordHeader(key: "trace", value: ByteBuffer(string: "t\(i)")), RecordHeader(key: "empty", value: nil)] : []
        return Record(key: key, value: value, headers: headers, timestampDelta: Int64(i * 3), offsetDelta: Int32(i))
    }

    // MARK: Splitting

    func testSplittingSeveralBatchesAndAPartialTail() throws {
        var random = SeededRandom("RecordBatchTests.split")
        var all = ByteBuffer()
        var expected: [[Record]] = []
        for (i, codec) in CompressionCodec.allCases.enumerated() {
            let records = makeRecords(20 + i, &random)
            expected.append(records)
            all.writeImmutableBuffer(try RecordBatch.encode(records: records, baseOffset: Offset(Int64(i * 100)),
                                                            baseTimestamp: Self.baseTimestamp, compression: codec))
        }
        let batches = try RecordBatch.batches(in: all)
        XCTAssertEqual(try batches.map { try $0.records() }, expected)
        XCTAssertEqual(batches.map(\.header.baseOffset), [0, 100, 200, 300, 400].map { Offset($0) })

        // A Fetch response cut 30 bytes into the last batch.
        let lastSize = batches.last!.bytes.readableBytes
        let cut = all.getSlice(at: 0, length: all.readableBytes - lastSize + 30)!
        let (complete, tail) = try RecordBatch.batchesAllowingPartialTail(in: cut)
        XCTAssertEqual(complete.count, 4)
        XCTAssertEqual(tail?.readableBytes, 30)
        assertThrows(.truncated, try RecordBatch.batches(in: cut))
        XCTAssertTrue(try RecordBatch.batches(in: ByteBuffer()).isEmpty)
    }

    // MARK: Damage

    func testAlteredChecksumOrBytesAreCaught() throws {
        var random = SeededRandom("RecordBatchTests.checksum")
        for codec in [CompressionCodec.none, .zstd] {
            let good = try RecordBatch.encode(records: makeRecords(50, &random), baseTimestamp: Self.baseTimestamp, compression: codec)
            var badCRC = good
            badCRC.setInteger(badCRC.getInteger(at: 17, as: UInt32.self)! ^ 0x0100, at: 17)
            assertThrows(.checksumMismatch, try RecordBatch(badCRC).validate())
            // A flipped bit anywhere the CRC covers.
            for _ in 0..<50 {
                var flipped = good
                let at = Int.random(in: 21..<good.readableBytes, using: &random)
                flipped.setInteger(flipped.getInteger(at: at, as: UInt8.self)! ^ (1 << UInt8.random(in: 0...7, using: &random)), at: at)
                do {
                    try RecordBatch(flipped).validate()
                    XCTFail("\(codec): a flipped bit at \(at) passed validation")
                } catch let error as WireError {
                    XCTAssertTrue([.checksumMismatch, .compression].contains(error.code), "\(error)")
                }
            }
        }
    }

    func testTruncatedAtEveryByteThrows() throws {
        var random = SeededRandom("RecordBatchTests.truncated")
        for codec in [CompressionCodec.none, .gzip, .lz4] {
            let good = try RecordBatch.encode(records: makeRecords(12, &random), baseTimestamp: Self.baseTimestamp, compression: codec)
            for length in 0..<good.readableBytes {
                let prefix = good.getSlice(at: 0, length: length)!
                XCTAssertThrowsError(try RecordBatch(prefix), "\(codec) \(length)")
                if length > 0 { assertThrows(.truncated, try RecordBatch.batches(in: prefix), "\(codec) \(length)") }
                let (batches, tail) = try RecordBatch.batchesAllowingPartialTail(in: prefix)
                XCTAssertTrue(batches.isEmpty)
                XCTAssertEqual(tail?.readableBytes ?? 0, length)
                // Patch the length to match the cut and reseal: the records section is now truncated.
                if length >= RecordBatchHeader.size {
                    var patched = prefix
                    patched.setInteger(Int32(length - 12), at: 8)
                    let batch = try RecordBatch(resealed(patched))
                    try batch.validate()
                    XCTAssertThrowsError(try batch.records(), "\(codec) records cut at \(length)")
                }
            }
        }
    }

    func testLegacyMessageSetsAreRejected() throws {
        for magic: Int8 in [0, 1] {
            // offset, size, crc, magic, attributes, [timestamp,] key (null), value "hi"
            var legacy = ByteBuffer()
            legacy.writeInteger(Int64(0))
            legacy.writeInteger(Int32(magic == 0 ? 14 + 2 : 22 + 2))
            legacy.writeInteger(UInt32(0xDEAD_BEEF))
            legacy.writeInteger(magic)
            legacy.writeInteger(Int8(0))
            if magic == 1 { legacy.writeInteger(Int64(1_700_000_000_000)) }
            legacy.writeInteger(Int32(-1))
            legacy.writeInteger(Int32(2))
            legacy.writeString("hi")
            assertThrows(.unsupportedMagic, try RecordBatch.batches(in: legacy), "magic \(magic)")
            assertThrows(.unsupportedMagic, try RecordBatch.batchesAllowingPartialTail(in: legacy), "magic \(magic)")
            assertThrows(.unsupportedMagic, try RecordBatch(legacy), "magic \(magic)")
        }
        var future = try RecordBatch.encode(records: [], baseTimestamp: Self.baseTimestamp)
        future.setInteger(Int8(3), at: 16)
        assertThrows(.unsupportedMagic, try RecordBatch.batches(in: future))
    }

    func testRecordFramingIsChecked() throws {
        let records = [Record(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "value"))]
        let good = try RecordBatch.encode(records: records, baseTimestamp: Self.baseTimestamp)
        // The record at 61: length 12, attributes, tsDelta, offsetDelta, keyLen 1 (at 65), "k", valueLen 5,
        // "value", headers count 0 (at 73).
        XCTAssertEqual(good.getInteger(at: 61, as: UInt8.self), 12 << 1)

        func patched(_ edit: (inout ByteBuffer) -> Void) throws -> RecordBatch {
            var b = good
            edit(&b)
            return try RecordBatch(resealed(b))
        }
        // recordCount larger than the records.
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(Int32(2), at: 57) }.records())
        // recordCount that could not fit the bytes, and a negative one.
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(Int32(1_000_000), at: 57) }.records())
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(Int32(-1), at: 57) }.validate())
        // recordCount smaller: bytes remain after the last record.
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(Int32(0), at: 57) }.records())
        // Record length longer or shorter than its fields.
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(UInt8(11 << 1), at: 61) }.records())
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(UInt8(13 << 1), at: 61) }.records())
        // Key length -2 (zig-zag 3), and a key length past the record.
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(UInt8(3), at: 65) }.records())
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(UInt8(60 << 1), at: 65) }.records())
        // A negative header count (-1, zig-zag 1).
        assertThrows(.corruptRecordBatch, try patched { $0.setInteger(UInt8(1), at: 73) }.records())
        // batchLength that disagrees with the bytes; below the header size.
        assertThrows(.corruptRecordBatch, try RecordBatch({ var b = good; b.setInteger(Int32(10), at: 8); return b }()))
        assertThrows(.corruptRecordBatch, try RecordBatch.batches(in: { var b = good; b.setInteger(Int32(48), at: 8); return b }()))
        // Unknown compression codec 5.
        assertThrows(.compression, try patched { $0.setInteger(Int16(5), at: 21) })
        // A varint wider than 32 bits where the record length goes.
        assertThrows(.invalidVarint, try patched { b in
            for i in 0..<5 { b.setInteger(UInt8(0xFF), at: 61 + i) }
        }.records())
    }

    func testDecompressionLimitApplies() throws {
        var records: [Record] = []
        for i in 0..<1000 {
            records.append(Record(key: nil, value: ByteBuffer(repeating: 0x61, count: 1000), offsetDelta: Int32(i)))
        }
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let batch = try RecordBatch(RecordBatch.encode(records: records, baseTimestamp: Self.baseTimestamp, compression: codec))
            try batch.validate()
            XCTAssertLessThan(batch.bytes.readableBytes, 200_000)
            assertThrows(.limitExceeded, try batch.records(maxDecompressedBytes: 100_000), "\(codec)")
            XCTAssertEqual(try batch.records(maxDecompressedBytes: 2_000_000).count, 1000)
        }
    }

    /// Random bytes, and valid batches with random damage whose CRC is then recomputed (so the damage
    /// reaches the record decoder): every outcome is a WireError or a decoded batch, never a crash.
    func testRandomAndDamagedBatchesNeverCrash() throws {
        var random = SeededRandom("RecordBatchTests.random")
        var goods: [ByteBuffer] = []
        for codec in CompressionCodec.allCases {
            goods.append(try RecordBatch.encode(records: makeRecords(8, &random), baseTimestamp: Self.baseTimestamp, compression: codec))
        }
        var decoded = 0
        var thrown = 0
        for round in 0..<20_000 {
            var input: ByteBuffer
            if round % 4 == 0 {
                let n = Int.random(in: 0..<300, using: &random)
                input = ByteBuffer(bytes: (0..<n).map { _ in UInt8.random(in: 0...255, using: &random) })
                if n > 61 && Bool.random(using: &random) {  // make it look like a batch
                    input.setInteger(Int32(n - 12), at: 8)
                    input.setInteger(Int8(2), at: 16)
                    input.setInteger(Int16.random(in: 0...4, using: &random), at: 21)
                    input = resealed(input)
                }
            } else {
                input = goods[round % goods.count]
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let at = Int.random(in: 21..<input.writerIndex, using: &random)
                    input.setInteger(UInt8.random(in: 0...255, using: &random), at: at)
                }
                input = resealed(input)
            }
            do {
                for batch in try RecordBatch.batches(in: input) {
                    try batch.validate()
                    let records = try batch.records(maxDecompressedBytes: 1 << 20)
                    // The one-at-a-time reader agrees.
                    var reader = try batch.recordReader(maxDecompressedBytes: 1 << 20)
                    var again: [Record] = []
                    while let r = try reader.next() { again.append(r) }
                    XCTAssertEqual(again, records)
                }
                decoded += 1
            } catch is WireError {
                thrown += 1
            }
        }
        print("RecordBatchTests.random: \(decoded) decoded, \(thrown) threw")
        XCTAssertGreaterThan(thrown, 0)
    }
}
