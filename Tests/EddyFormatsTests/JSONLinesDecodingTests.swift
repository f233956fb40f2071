import EddyEngine
import EddyFormats
import XCTest

/// `JSONRowDecoder.appendLines`: splitting, blank lines, CRLF, line numbers and byte ranges.
final class JSONLinesDecodingTests: XCTestCase {
    let schema = Schema([Field("id", .int64), Field("name", .utf8)])

    func testSplitsLinesAndSkipsBlankOnes() throws {
        var decoder = try JSONRowDecoder(schema: schema)
        let text = "{\"id\":1,\"name\":\"a\"}\n\n   \n\t\r\n{\"id\":2,\"name\":\"b\"}\r\n{\"id\":3}"
        let (rows, failures) = decoder.lines(text)
        XCTAssertEqual(rows, 3)
        XCTAssertEqual(failures, [])
        XCTAssertEqual(decoder.finish().rows, [
            [.int64(1), .string("a")], [.int64(2), .string("b")], [.int64(3), .null],
        ])
    }

    func testFailuresCarryLineNumbersAndByteRanges() throws {
        var decoder = try JSONRowDecoder(schema: schema)
        let lines = [
            #"{"id":1}"#,
            #"{"id":"x"}"#,
            "",
            #"{"id":2"#,
            #"{"id":3}"#,
            #"[4]"#,
        ]
        let text = lines.joined(separator: "\r\n") + "\n"
        let bytes = Array(text.utf8)
        let (rows, failures) = decoder.lines(bytes: bytes, firstLineNumber: 101)
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures.map(\.line), [102, 104, 106])
        XCTAssertEqual(failures.map(\.code), [.typeMismatch, .malformedJSON, .notAnObject])
        XCTAssertEqual(failures[0].reason, #"field id: expected BIGINT, found string "x""#)
        XCTAssertEqual(failures[1].description, "line 104: malformed JSON at byte 7: expected ',' or '}'")
        // The byte ranges cut out exactly the bad lines (without CR LF), ready to dead-letter.
        for (failure, line) in zip(failures, [lines[1], lines[3], lines[5]]) {
            let range = try XCTUnwrap(failure.byteRange)
            XCTAssertEqual(String(decoding: bytes[range], as: UTF8.self), line)
        }
        XCTAssertEqual(decoder.finish().rows, [[.int64(1), .null], [.int64(3), .null]])
    }

    func testOversizedLinesFailAsTooLarge() throws {
        var decoder = try JSONRowDecoder(schema: schema, options: JSONDecodeOptions(maxRecordBytes: 20))
        let (rows, failures) = decoder.lines("{\"id\":1}\n{\"id\":2,\"name\":\"much too long\"}\n{\"id\":3}\n")
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures.map(\.code), [.tooLarge])
        XCTAssertEqual(failures.first?.line, 2)
    }

    func testEmptyBufferAndOnlyBlankLines() throws {
        var decoder = try JSONRowDecoder(schema: schema)
        XCTAssertEqual(decoder.lines("").rows, 0)
        XCTAssertEqual(decoder.lines("\n\n\r\n  \n").rows, 0)
        XCTAssertEqual(decoder.lines("\n\n\r\n  \n").failures, [])
        XCTAssertEqual(decoder.finish().count, 0)
    }

    func testManyLinesAcrossCalls() throws {
        var decoder = try JSONRowDecoder(schema: schema)
        var total = 0
        for chunk in 0..<10 {
            let text = (0..<500).map { #"{"name":"n\#($0)","id":\#(chunk * 500 + $0)}"# }.joined(separator: "\n")
            total += decoder.lines(text).rows
        }
        XCTAssertEqual(total, 5000)
        let batch = decoder.finish()
        XCTAssertEqual(batch.columns[0].int64s, (0..<5000).map(Int64.init))
        XCTAssertEqual(batch.columns[1].utf8.string(4999), "n499")
    }
}
