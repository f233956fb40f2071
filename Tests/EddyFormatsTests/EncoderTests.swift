import EddyEngine
import EddyFormats
import XCTest

/// Exact output of `JSONLinesEncoder` and `CSVEncoder`.
final class EncoderTests: XCTestCase {
    let schema = Schema([
        Field("id", .int64), Field("amount", .decimal(scale: 2)), Field("ok", .bool), Field("name", .utf8),
        Field("at", .timestamp), Field("x", .float64),
    ])

    var batch: RecordBatch {
        RecordBatch(schema: schema, rows: [
            [.int64(1), .decimal(1250, scale: 2), .bool(true), .string("a\"b\\c\nd\u{1}é"), .timestamp(millis(2026, 11, 22, 4, 18, 27, 123)), .float64(0.1)],
            [.int64(-9), .decimal(-5, scale: 2), .bool(false), .string(""), .timestamp(-1), .float64(.nan)],
            [.null, .null, .null, .null, .null, .float64(-.infinity)],
        ])
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testJSONLines() {
        var output: [UInt8] = []
        JSONLinesEncoder().encode(batch, into: &output)
        XCTAssertEqual(text(output), #"""
        {"id":1,"amount":12.50,"ok":true,"name":"a\"b\\c\nd\u0001é","at":"2026-11-22T04:18:27.123Z","x":0.1}
        {"id":-9,"amount":-0.05,"ok":false,"name":"","at":"1969-12-31T23:59:59.999Z","x":null}
        {"id":null,"amount":null,"ok":null,"name":null,"at":null,"x":null}

        """#)
    }

    func testJSONEpochMillisAndShortestDoubles() {
        let schema = Schema([Field("t", .timestamp), Field("d", .float64)])
        let batch = RecordBatch(schema: schema, rows: [
            [.timestamp(1_795_321_107_123), .float64(1e-7)], [.timestamp(0), .float64(1e23)], [.timestamp(-5), .float64(-0.0)],
            [.timestamp(0), .float64(123456.789)],
        ])
        var output: [UInt8] = []
        JSONLinesEncoder(options: EncodeOptions(timestampFormat: .epochMilliseconds)).encode(batch, into: &output)
        XCTAssertEqual(text(output), """
        {"t":1795321107123,"d":1e-07}
        {"t":0,"d":1e+23}
        {"t":-5,"d":-0.0}
        {"t":0,"d":123456.789}

        """)
    }

    func testJSONNestsDottedNames() {
        let schema = Schema([Field("device.id", .int64), Field("user", .utf8), Field("device.os.name", .utf8), Field("device.os.v", .int64)])
        let batch = RecordBatch(schema: schema, rows: [[.int64(7), .string("ann"), .string("linux"), .null]])
        var nested: [UInt8] = []
        JSONLinesEncoder().encode(batch, into: &nested)
        XCTAssertEqual(text(nested), #"{"device":{"id":7,"os":{"name":"linux","v":null}},"user":"ann"}"# + "\n")
        var flat: [UInt8] = []
        JSONLinesEncoder(options: EncodeOptions(nestDottedNames: false)).encode(batch, into: &flat)
        XCTAssertEqual(text(flat), #"{"device.id":7,"user":"ann","device.os.name":"linux","device.os.v":null}"# + "\n")
    }

    func testJSONExpandedYears() {
        let batch = RecordBatch(schema: Schema([Field("t", .timestamp)]), rows: [
            [.timestamp(millis(12026, 1, 2, 3, 4, 5, 6))], [.timestamp(millis(-1, 12, 31))], [.timestamp(millis(0, 1, 1))],
        ])
        var output: [UInt8] = []
        JSONLinesEncoder().encode(batch, into: &output)
        XCTAssertEqual(text(output), """
        {"t":"+012026-01-02T03:04:05.006Z"}
        {"t":"-000001-12-31T00:00:00.000Z"}
        {"t":"0000-01-01T00:00:00.000Z"}

        """)
    }

    func testCSV() {
        var output: [UInt8] = []
        CSVEncoder().encode(batch, into: &output)
        XCTAssertEqual(text(output), """
        id,amount,ok,name,at,x
        1,12.50,true,"a""b\\c
        d\u{1}é",2026-11-22T04:18:27.123Z,0.1
        -9,-0.05,false,"",1969-12-31T23:59:59.999Z,NaN
        ,,,,,-Infinity

        """)
    }

    func testCSVHeaderOnlyAtTheStartOfOutput() {
        let encoder = CSVEncoder(options: EncodeOptions(timestampFormat: .epochMilliseconds, delimiter: UInt8(ascii: ";"), lineEnding: .crlf))
        let batch = RecordBatch(schema: Schema([Field("a;b", .utf8), Field("t", .timestamp)]), rows: [[.string("x;y"), .timestamp(5)]])
        var output: [UInt8] = []
        encoder.encode(batch, into: &output)
        encoder.encode(batch, into: &output)
        XCTAssertEqual(text(output), "\"a;b\";t\r\n\"x;y\";5\r\n\"x;y\";5\r\n")
        var noHeader: [UInt8] = []
        CSVEncoder(options: EncodeOptions(includeHeader: false)).encode(batch, into: &noHeader)
        XCTAssertEqual(text(noHeader), "x;y,1970-01-01T00:00:00.005Z\n")
        var explicit: [UInt8] = []
        CSVEncoder(options: EncodeOptions(includeHeader: false)).encodeHeader(batch.schema, into: &explicit)
        XCTAssertEqual(text(explicit), "a;b,t\n")
    }

    func testEmptyBatchesWriteNothingButTheHeader() {
        var json: [UInt8] = []
        JSONLinesEncoder().encode(RecordBatch.empty(schema), into: &json)
        XCTAssertEqual(json, [])
        var csv: [UInt8] = []
        CSVEncoder().encode(RecordBatch.empty(schema), into: &csv)
        XCTAssertEqual(text(csv), "id,amount,ok,name,at,x\n")
    }
}
