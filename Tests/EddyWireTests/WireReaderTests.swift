import NIOCore
import XCTest

@testable import EddyWire

/// Hostile lengths and counts inside a body: typed errors, and nothing allocated past the input.
final class WireReaderTests: XCTestCase {
    private func reader(_ bytes: [UInt8]) -> WireReader { WireReader(ByteBuffer(bytes: bytes)) }

    private func assertCode<T>(_ code: WireError.Code, _ body: @autoclosure () throws -> T, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertEqual((error as? WireError)?.code, code, "\(error)", line: line)
        }
    }

    func testNegativeLengthsOtherThanNullAreRefused() {
        var r = reader([0xFF, 0xFE, 0x61])  // int16 -2
        assertCode(.invalidLength, try r.nullableString(compact: false))
        var b = reader([0xFF, 0xFF, 0xFF, 0xF0])  // int32 -16
        assertCode(.invalidLength, try b.nullableBytes(compact: false))
        var a = reader([0x80, 0x00, 0x00, 0x00])  // int32.min as an array count
        assertCode(.invalidLength, try a.nullableArray(compact: false) { try $0.int8() })
    }

    func testNullIsAcceptedOnlyWhereNullable() throws {
        var r = reader([0xFF, 0xFF])
        XCTAssertNil(try r.nullableString(compact: false))
        var s = reader([0xFF, 0xFF])
        assertCode(.unexpectedNull, try s.string(compact: false))
        var c = reader([0x00])  // compact null
        assertCode(.unexpectedNull, try c.array(compact: true) { try $0.int8() })
    }

    func testLengthsBeyondTheInputAreRefusedBeforeAllocating() {
        // A count of two billion elements in a 4-byte body: refused without reserving capacity.
        var a = reader([0x7F, 0xFF, 0xFF, 0xFF])
        assertCode(.invalidLength, try a.array(compact: false) { try $0.int64() })
        var s = reader([0x7F, 0xFF, 0x61, 0x62])
        assertCode(.invalidLength, try s.string(compact: false))
        var compact = reader([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])  // compact length 2^32 - 2
        assertCode(.invalidLength, try compact.bytes(compact: true))
        var records = reader([0x00, 0x10, 0x00, 0x00, 0x01])
        assertCode(.invalidLength, try records.records(compact: false))
    }

    func testVarintsWiderThanTheirTypeAreRefused() {
        var v32 = reader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        assertCode(.invalidVarint, try v32.uvarint())
        var v64 = reader(Array(repeating: 0xFF, count: 10) + [0x01])
        assertCode(.invalidVarint, try v64.uvarlong())
        var unterminated = reader([0x80, 0x80])
        assertCode(.truncated, try unterminated.uvarint())
    }

    func testVarintsRoundTripAtTheirLimits() throws {
        var w = WireWriter()
        let ints: [Int32] = [0, -1, 1, 63, -64, 64, Int32.max, Int32.min]
        let longs: [Int64] = [0, -1, 300, Int64.max, Int64.min]
        for v in ints { w.varint(v) }
        for v in longs { w.varlong(v) }
        w.uvarint(UInt32.max)
        var r = WireReader(w.buffer)
        for v in ints { XCTAssertEqual(try r.varint(), v) }
        for v in longs { XCTAssertEqual(try r.varlong(), v) }
        XCTAssertEqual(try r.uvarint(), UInt32.max)
        XCTAssertEqual(r.remaining, 0)
    }

    func testTaggedFieldsOutOfOrderOrOverrunningAreRefused() {
        var outOfOrder = reader([2, 5, 0, 3, 0])  // two fields: tag 5 then tag 3
        assertCode(.invalidValue, try outOfOrder.taggedFields { _, _ in })
        var overrun = reader([1, 0, 9, 1])  // one field of 9 bytes, 1 present
        assertCode(.truncated, try overrun.taggedFields { _, _ in })
        var tooMany = reader([0x7F])  // 127 fields in no bytes
        assertCode(.invalidLength, try tooMany.taggedFields { _, _ in })
    }

    func testStringsLongerThanKafkaAllowsAreRefusedOnEncode() {
        var w = WireWriter()
        assertCode(.limitExceeded, try w.string(String(repeating: "a", count: 32_768), compact: true))
    }
}
