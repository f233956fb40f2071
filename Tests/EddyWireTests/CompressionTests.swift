import NIOCore
import XCTest

@testable import EddyWire

final class CompressionTests: XCTestCase {
    static let text = "hello, kafka! hello, kafka! hello, kafka!"

    // MARK: Samples

    /// Empty, small, 1 MiB of random-ish bytes (random with runs, like real payloads), and 1 MiB
    /// highly compressible.
    func samples(_ random: inout SeededRandom) -> [(String, ByteBuffer)] {
        var randomish = ByteBuffer()
        while randomish.readableBytes < 1 << 20 {
            let run = Int.random(in: 1...16, using: &random)
            if Bool.random(using: &random) {
                for _ in 0..<run { randomish.writeInteger(UInt8.random(in: 0...255, using: &random)) }
            } else {
                randomish.writeRepeatingByte(UInt8.random(in: 97...122, using: &random), count: run)
            }
        }
        var compressible = ByteBuffer()
        var i = 0
        while compressible.readableBytes < 1 << 20 {
            compressible.writeString("{\"user\":\(i % 100),\"event\":\"click\",\"page\":\"/home\"}\n")
            i += 1
        }
        return [
            ("empty", ByteBuffer()),
            ("small", ByteBuffer(string: Self.text)),
            ("1 MiB random-ish", randomish),
            ("1 MiB compressible", compressible),
        ]
    }

    // MARK: Round trips

    func testEveryCodecRoundTripsEverySample() throws {
        var random = SeededRandom("CompressionTests.roundTrip")
        for (name, sample) in samples(&random) {
            for codec in CompressionCodec.allCases {
                let compressed = try codec.compress(sample)
                let restored = try codec.decompress(compressed)
                XCTAssertEqual(restored, sample, "\(codec) \(name)")
                if name == "1 MiB compressible" && codec != .none {
                    XCTAssertLessThan(compressed.readableBytes, sample.readableBytes / 4, "\(codec) compresses")
                }
            }
        }
    }

    func testCompressionLevels() throws {
        var random = SeededRandom("CompressionTests.levels")
        let sample = samples(&random)[3].1
        for (codec, level) in [(CompressionCodec.gzip, 1), (.gzip, 9), (.lz4, 9), (.zstd, 1), (.zstd, 19)] {
            XCTAssertEqual(try codec.decompress(codec.compress(sample, level: level)), sample, "\(codec) level \(level)")
        }
    }

    func testFormatsAreTheOnesKafkaClientsUse() throws {
        let sample = ByteBuffer(string: Self.text)
        XCTAssertEqual(Array(try CompressionCodec.gzip.compress(sample).readableBytesView.prefix(2)), [0x1F, 0x8B])
        XCTAssertEqual(Array(try CompressionCodec.snappy.compress(sample).readableBytesView.prefix(16)),
                       SnappyCodec.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1])
        XCTAssertEqual(Array(try CompressionCodec.lz4.compress(sample).readableBytesView.prefix(4)), [0x04, 0x22, 0x4D, 0x18])
        XCTAssertEqual(Array(try CompressionCodec.zstd.compress(sample).readableBytesView.prefix(4)), [0x28, 0xB5, 0x2F, 0xFD])
    }

    /// Outputs of other implementations (the gzip, lz4 and zstd command-line tools, Python's zlib and
    /// python-snappy) of `text`.
    func testForeignStreamsDecode() throws {
        let foreign: [(CompressionCodec, String, [UInt8])] = [
            (.gzip, "gzip -c -n", [
                0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0xD7, 0x51,
                0xC8, 0x4E, 0x4C, 0xCB, 0x4E, 0x54, 0x54, 0xC8, 0xC0, 0xCD, 0x03, 0x00, 0xEF, 0x2D, 0x71, 0x35, 0x29,
                0x00, 0x00, 0x00,
            ]),
            (.gzip, "zlib.compress (zlib format)", [
                0x78, 0x9C, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0xD7, 0x51, 0xC8, 0x4E, 0x4C, 0xCB, 0x4E, 0x54, 0x54, 0xC8,
                0xC0, 0xCD, 0x03, 0x00, 0x25, 0xCC, 0x0D, 0xBE,
            ]),
            (.snappy, "snappy.compress (raw)", [
                0x29, 0x34, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x2C, 0x20, 0x6B, 0x61, 0x66, 0x6B, 0x61, 0x21, 0x20, 0x6A,
                0x0E, 0x00,
            ]),
            (.lz4, "lz4 -c (content checksum, no size)", [
                0x04, 0x22, 0x4D, 0x18, 0x64, 0x40, 0xA7, 0x18, 0x00, 0x00, 0x00, 0xEF, 0x68, 0x65, 0x6C, 0x6C, 0x6F,
                0x2C, 0x20, 0x6B, 0x61, 0x66, 0x6B, 0x61, 0x21, 0x20, 0x0E, 0x00, 0x03, 0x50, 0x61, 0x66, 0x6B, 0x61,
                0x21, 0x00, 0x00, 0x00, 0x00, 0x72, 0x10, 0x90, 0x1A,
            ]),
            (.zstd, "zstd -c (streamed: no content size)", [
                0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58, 0xA5, 0x00, 0x00, 0x70, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x2C, 0x20,
                0x6B, 0x61, 0x66, 0x6B, 0x61, 0x21, 0x20, 0x01, 0x00, 0x11, 0x4E, 0x25, 0x72, 0xA4, 0x33, 0xC1,
            ]),
        ]
        for (codec, origin, bytes) in foreign {
            let restored = try codec.decompress(ByteBuffer(bytes: bytes))
            XCTAssertEqual(String(buffer: restored), Self.text, origin)
        }
    }

    func testRawSnappyDecodes() throws {
        var random = SeededRandom("CompressionTests.rawSnappy")
        for (name, sample) in samples(&random) {
            let raw = try SnappyCodec.compressRaw(sample)
            XCTAssertNotEqual(Array(raw.readableBytesView.prefix(8)), SnappyCodec.xerialMagic)
            XCTAssertEqual(try CompressionCodec.snappy.decompress(raw), sample, name)
        }
    }

    func testConcatenatedStreamsDecode() throws {
        let a = ByteBuffer(string: "first part, ")
        let b = ByteBuffer(string: "second part")
        var expected = a
        expected.writeImmutableBuffer(b)
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            var joined = try codec.compress(a)
            joined.writeImmutableBuffer(try codec.compress(b))
            XCTAssertEqual(try codec.decompress(joined), expected, "\(codec)")
        }
    }

    // MARK: Hostile input

    func testTruncatedInputThrows() throws {
        var random = SeededRandom("CompressionTests.truncated")
        let sample = samples(&random)[3].1.getSlice(at: 0, length: 100_000)!
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let compressed = try codec.compress(sample)
            let n = compressed.readableBytes
            // Every cut near the ends and in the first block, then random cuts.
            var cuts = Array(0..<min(n, 300)) + Array(max(0, n - 300)..<n)
            for _ in 0..<200 { cuts.append(Int.random(in: 0..<n, using: &random)) }
            for cut in cuts {
                let prefix = compressed.getSlice(at: 0, length: cut)!
                do {
                    let restored = try codec.decompress(prefix)
                    // Only xerial snappy has cut points that are themselves valid (between blocks).
                    XCTAssertEqual(codec, .snappy, "\(codec) accepted \(cut) of \(n) bytes")
                    XCTAssertEqual(restored, sample.getSlice(at: 0, length: restored.readableBytes), "snappy prefix")
                } catch let error as WireError {
                    XCTAssertEqual(error.code, .compression, "\(codec) cut at \(cut): \(error)")
                }
            }
        }
    }

    func testCorruptInputThrowsWithTheLibrarysMessage() throws {
        let garbage = ByteBuffer(string: "this is not compressed at all, not in any format")
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            XCTAssertThrowsError(try codec.decompress(garbage), "\(codec)") { error in
                XCTAssertEqual((error as? WireError)?.code, .compression, "\(codec): \(error)")
            }
            XCTAssertThrowsError(try codec.decompress(ByteBuffer()), "\(codec) empty") { error in
                XCTAssertEqual((error as? WireError)?.code, .compression, "\(codec): \(error)")
            }
        }
        XCTAssertThrowsError(try CompressionCodec.gzip.decompress(garbage)) { error in
            XCTAssertTrue((error as? WireError)?.detail.contains("incorrect header check") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try CompressionCodec.zstd.decompress(garbage)) { error in
            XCTAssertTrue((error as? WireError)?.detail.contains("Unknown frame descriptor") ?? false, "\(error)")
        }
        // A flipped bit in gzip's deflate data or trailer is caught by its CRC-32.
        var gzip = try CompressionCodec.gzip.compress(ByteBuffer(string: Self.text))
        let last = gzip.writerIndex - 5
        gzip.setInteger(gzip.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
        XCTAssertThrowsError(try CompressionCodec.gzip.decompress(gzip))
        // A xerial block whose length runs past the end.
        var xerial = ByteBuffer(bytes: SnappyCodec.xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1])
        xerial.writeInteger(Int32(1000))
        xerial.writeString("short")
        XCTAssertThrowsError(try CompressionCodec.snappy.decompress(xerial)) { error in
            XCTAssertEqual((error as? WireError)?.code, .compression)
        }
    }

    /// Random bytes and randomly damaged streams: every codec throws a WireError or decodes; none crash.
    func testRandomAndDamagedInputNeverCrashes() throws {
        var random = SeededRandom("CompressionTests.damaged")
        let sample = samples(&random)[3].1.getSlice(at: 0, length: 50_000)!
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let good = try codec.compress(sample)
            for round in 0..<300 {
                var input: ByteBuffer
                if round % 3 == 0 {
                    input = ByteBuffer(bytes: (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
                } else {
                    input = good
                    for _ in 0..<Int.random(in: 1...4, using: &random) {
                        let at = Int.random(in: 0..<input.writerIndex, using: &random)
                        input.setInteger(UInt8.random(in: 0...255, using: &random), at: at)
                    }
                }
                do {
                    _ = try codec.decompress(input, maxDecompressedBytes: 1 << 20)
                } catch let error as WireError {
                    XCTAssertTrue(error.code == .compression || error.code == .limitExceeded, "\(codec): \(error)")
                }
            }
        }
    }

    func testDecompressionLimit() throws {
        var random = SeededRandom("CompressionTests.limit")
        let sample = samples(&random)[3].1
        let size = sample.readableBytes
        for codec in CompressionCodec.allCases {
            let compressed = try codec.compress(sample)
            XCTAssertEqual(try codec.decompress(compressed, maxDecompressedBytes: size), sample, "\(codec) at the limit")
            for limit in [0, 1000, size - 1] {
                XCTAssertThrowsError(try codec.decompress(compressed, maxDecompressedBytes: limit), "\(codec) \(limit)") { error in
                    XCTAssertEqual((error as? WireError)?.code, .limitExceeded, "\(codec): \(error)")
                }
            }
        }
        // Raw snappy and streamed zstd take other paths.
        XCTAssertThrowsError(try CompressionCodec.snappy.decompress(SnappyCodec.compressRaw(sample), maxDecompressedBytes: size - 1)) {
            XCTAssertEqual(($0 as? WireError)?.code, .limitExceeded)
        }
        let streamedZstd = ByteBuffer(bytes: [
            0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58, 0xA5, 0x00, 0x00, 0x70, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x2C, 0x20,
            0x6B, 0x61, 0x66, 0x6B, 0x61, 0x21, 0x20, 0x01, 0x00, 0x11, 0x4E, 0x25, 0x72, 0xA4, 0x33, 0xC1,
        ])
        XCTAssertEqual(try CompressionCodec.zstd.decompress(streamedZstd, maxDecompressedBytes: Self.text.utf8.count).readableBytes, Self.text.utf8.count)
        XCTAssertThrowsError(try CompressionCodec.zstd.decompress(streamedZstd, maxDecompressedBytes: Self.text.utf8.count - 1)) {
            XCTAssertEqual(($0 as? WireError)?.code, .limitExceeded)
        }
    }

    /// A streamed zstd frame makes the decoder allocate the window its header declares before any
    /// output: windows beyond what the limit needs (at least 8 MiB) are refused.
    func testZstdWindowIsBoundedByTheLimit() throws {
        // `zstd --long=27` from a pipe: a 2^27-byte (128 MiB) window for 41 bytes of text.
        let bigWindow = ByteBuffer(bytes: [
            0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x88, 0xA5, 0x00, 0x00, 0x70, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x2C, 0x20,
            0x6B, 0x61, 0x66, 0x6B, 0x61, 0x21, 0x20, 0x01, 0x00, 0x11, 0x4E, 0x25, 0x72, 0xA4, 0x33, 0xC1,
        ])
        XCTAssertThrowsError(try CompressionCodec.zstd.decompress(bigWindow)) {
            XCTAssertEqual(($0 as? WireError)?.code, .limitExceeded, "\($0)")
        }
        XCTAssertEqual(String(buffer: try CompressionCodec.zstd.decompress(bigWindow, maxDecompressedBytes: 128 << 20)), Self.text)
        XCTAssertEqual(ZstdCodec.windowLogMax(limit: 1000), 23)
        XCTAssertEqual(ZstdCodec.windowLogMax(limit: 64 << 20), 26)
        XCTAssertEqual(ZstdCodec.windowLogMax(limit: (64 << 20) + 1), 27)
        XCTAssertEqual(ZstdCodec.windowLogMax(limit: Int.max), 27)
    }

    /// A bomb: 64 MiB of zeros compresses to a few KiB; the default limit stops it at 64 MiB, a
    /// small limit long before.
    func testDecompressionBombIsStoppedEarly() throws {
        var zeros = ByteBuffer()
        zeros.writeRepeatingByte(0, count: 65 << 20)
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let bomb = try codec.compress(zeros)
            XCTAssertLessThan(bomb.readableBytes, 4 << 20, "\(codec)")
            XCTAssertThrowsError(try codec.decompress(bomb), "\(codec)") {
                XCTAssertEqual(($0 as? WireError)?.code, .limitExceeded, "\(codec)")
            }
        }
    }
}
