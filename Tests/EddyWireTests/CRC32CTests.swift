import NIOCore
import XCTest

@testable import EddyWire

final class CRC32CTests: XCTestCase {
    /// The check value of the CRC catalogue and the iSCSI vectors of RFC 3720 (B.4).
    func testKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(ByteBuffer(string: "123456789")), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(ByteBuffer()), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
        let portable = Array("123456789".utf8).withUnsafeBytes { CRC32C.updatePortable(0, $0) }
        XCTAssertEqual(portable, 0xE306_9283)
        print("CRC32C.usesHardware = \(CRC32C.usesHardware)")
    }

    /// The dispatched implementation (hardware here) equals the portable one on random bytes of every
    /// length up to 1100 and of lengths around the three-way interleave's block sizes (3 × 256 and
    /// 3 × 8192), at every alignment, whole and in two pieces.
    func testHardwareEqualsPortable() {
        var random = SeededRandom("CRC32CTests.hardwareEqualsPortable")
        let bytes = (0..<(100_000 + 16)).map { _ in UInt8.random(in: 0...255, using: &random) }
        var lengths = Array(0...1100)
        for edge in [768, 1536, 24576, 49152, 73728] { lengths += Array((edge - 9)...(edge + 9)) }
        for _ in 0..<200 { lengths.append(Int.random(in: 0...100_000, using: &random)) }
        bytes.withUnsafeBytes { all in
            for (i, length) in lengths.enumerated() {
                let offset = i % 16
                let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                let portable = CRC32C.updatePortable(0, slice)
                let dispatched = CRC32C.update(0, slice)
                XCTAssertEqual(dispatched, portable, "length \(length) offset \(offset)")
                let split = length == 0 ? 0 : Int.random(in: 0...length, using: &random)
                let pieces = CRC32C.update(
                    CRC32C.update(0, UnsafeRawBufferPointer(rebasing: slice[..<split])),
                    UnsafeRawBufferPointer(rebasing: slice[split...]))
                XCTAssertEqual(pieces, portable, "length \(length) split at \(split)")
                if dispatched != portable || pieces != portable { return }
            }
        }
    }

    func testByteBufferSlicesUseTheirReadableBytes() {
        var buffer = ByteBuffer(string: "xx123456789yy")
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: buffer.writerIndex - 2)
        XCTAssertEqual(CRC32C.checksum(buffer), 0xE306_9283)
        XCTAssertEqual(CRC32C.update(CRC32C.checksum(ByteBuffer(string: "1234")), ByteBuffer(string: "56789")), 0xE306_9283)
    }
}
