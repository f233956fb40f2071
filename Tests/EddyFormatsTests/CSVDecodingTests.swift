import EddyEngine
import EddyFormats
import XCTest

/// `CSVRowDecoder`: RFC 4180 syntax, header mapping, nulls, coercions and failures.
final class CSVDecodingTests: XCTestCase {
    let schema = Schema([Field("id", .int64), Field("name", .utf8), Field("amount", .decimal(scale: 2))])

    func testHeaderMapsColumnsByName() throws {
        var decoder = try CSVRowDecoder(schema: schema)
        let (rows, failures) = try decoder.lines("extra,amount,name,id\nx,1.5,ann,1\ny,,bob,2\n")
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures, [])
        XCTAssertEqual(decoder.header, ["extra", "amount", "name", "id"])
        XCTAssertEqual(decoder.finish().rows, [
            [.int64(1), .string("ann"), .decimal(150, scale: 2)],
            [.int64(2), .string("bob"), .null],
        ])
    }

    func testHeaderIsReadOnceAcrossCalls() throws {
        var decoder = try CSVRowDecoder(schema: schema)
        XCTAssertEqual(try decoder.lines("\u{FEFF}id,name,amount\r\n1,a,1\r\n").rows, 1)
        XCTAssertEqual(try decoder.lines("2,b,2\r\n3,c,3").rows, 2)
        XCTAssertEqual(decoder.header, ["id", "name", "amount"])
        XCTAssertEqual(decoder.finish().count, 3)
    }

    func testHeaderProblemsAreConfigurationErrors() throws {
        var missing = try CSVRowDecoder(schema: schema)
        XCTAssertThrowsError(try missing.lines("id,name\n1,a\n")) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .configuration)
            XCTAssertEqual("\(error)", "configuration error: column amount is missing from the CSV header (header has: id, name)")
        }
        var duplicated = try CSVRowDecoder(schema: schema)
        XCTAssertThrowsError(try duplicated.lines("id,name,amount,id\n")) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .configuration)
        }
        var malformed = try CSVRowDecoder(schema: schema)
        XCTAssertThrowsError(try malformed.lines("id,\"name\"x,amount\n"))
        XCTAssertThrowsError(try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(delimiter: UInt8(ascii: "\""))))
        XCTAssertThrowsError(try CSVRowDecoder(schema: Schema([Field("a", .int64), Field("a", .int64)])))
    }

    func testPositionalWithoutHeader() throws {
        var decoder = try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(hasHeader: false))
        XCTAssertEqual(try decoder.lines("1,a,2.5\n2,b,3\n").rows, 2)
        XCTAssertNil(decoder.header)
        XCTAssertEqual(decoder.finish().rows, [
            [.int64(1), .string("a"), .decimal(250, scale: 2)], [.int64(2), .string("b"), .decimal(300, scale: 2)],
        ])
    }

    func testQuotedFields() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("a", .utf8), Field("b", .utf8)]), options: CSVDecodeOptions(hasHeader: false))
        let text = [
            #""with, comma","with ""quotes""""#,
            "\"multi\nline\",\"crlf\r\ninside\"",
            #""",plain"#,
            #","""#,
            #""a""",b"#,
            "5\" screen,\"x\"\r",
            #""last","no terminator""#,
        ].joined(separator: "\n")
        let (rows, failures) = try decoder.lines(text)
        XCTAssertEqual(failures, [])
        XCTAssertEqual(rows, 7)
        XCTAssertEqual(decoder.finish().rows, [
            [.string("with, comma"), .string("with \"quotes\"")],
            [.string("multi\nline"), .string("crlf\r\ninside")],
            [.string(""), .string("plain")],
            [.null, .string("")],
            [.string("a\""), .string("b")],
            [.string("5\" screen"), .string("x")],
            [.string("last"), .string("no terminator")],
        ])
    }

    func testLineNumbersCountNewlinesInsideQuotes() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("a", .utf8), Field("n", .int64)]), options: CSVDecodeOptions(hasHeader: false))
        let text = "\"one\ntwo\nthree\",1\nx,bad\n\n\"y\",2\nz,oops\n"
        let bytes = Array(text.utf8)
        let (rows, failures) = try decoder.lines(bytes: bytes, firstLineNumber: 10)
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures.map(\.line), [13, 16])
        XCTAssertEqual(failures.map(\.code), [.typeMismatch, .typeMismatch])
        XCTAssertEqual(failures[0].reason, #"field n: expected BIGINT, found "bad""#)
        XCTAssertEqual(String(decoding: bytes[try XCTUnwrap(failures[1].byteRange)], as: UTF8.self), "z,oops")
    }

    func testEmptyFieldsAreNullButEmptyQuotedTextIsEmpty() throws {
        let types: [DataType] = [.bool, .int64, .float64, .utf8, .timestamp, .decimal(scale: 2)]
        for type in types {
            XCTAssertEqual(try decodeCSVValue(type, ""), .value(.null), "\(type)")
        }
        XCTAssertEqual(try decodeCSVValue(.utf8, #""""#), .value(.string("")))
        XCTAssertEqual(try decodeCSVValue(.int64, #""""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeCSVValue(.int64, "", nullable: false).failureCode, .missingField)
    }

    func testSingleColumnBlankLinesAreNullRecords() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("v", .utf8)]))
        XCTAssertEqual(try decoder.lines("v\na\n\n\"\"\r\n\nb\n").rows, 5)
        XCTAssertEqual(decoder.finish().rows, [[.string("a")], [.null], [.string("")], [.null], [.string("b")]])
    }

    func testBlankLinesAreSkippedForWiderRecords() throws {
        var decoder = try CSVRowDecoder(schema: schema)
        XCTAssertEqual(try decoder.lines("\n\r\nid,name,amount\n\n1,a,1\r\n\r\n\n2,b,2\n\n").rows, 2)
    }

    func testFieldCountMismatches() throws {
        var decoder = try CSVRowDecoder(schema: schema)
        let (rows, failures) = try decoder.lines("id,name,amount\n1,a,1,extra\n2,b\n3,c,3\n4,\"d,\",4,\n")
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(failures.map(\.code), [.fieldCount, .fieldCount, .fieldCount])
        XCTAssertEqual(failures.map(\.reason), ["expected 3 fields, found 4", "expected 3 fields, found 2", "expected 3 fields, found 4"])
        XCTAssertEqual(failures.map(\.line), [2, 3, 5])
        XCTAssertEqual(decoder.finish().rows, [[.int64(3), .string("c"), .decimal(300, scale: 2)]])
    }

    func testMalformedQuotingFailsAndRecovers() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("a", .utf8), Field("b", .int64)]), options: CSVDecodeOptions(hasHeader: false))
        let (rows, failures) = try decoder.lines("\"abc\"x,1\nok,2\n\"open,3\nnever closed\n")
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(failures.map(\.code), [.malformedCSV, .malformedCSV])
        XCTAssertEqual(failures[0].reason, "malformed CSV at byte 5: unexpected character after a closing quote")
        XCTAssertEqual(failures[1].reason, "malformed CSV at byte 0: unterminated quoted field")
        XCTAssertEqual(failures[1].line, 3)
        XCTAssertEqual(decoder.finish().rows, [[.string("ok"), .int64(2)]])
    }

    func testFailuresLeaveNoPartialRow() throws {
        var decoder = try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(hasHeader: false))
        let (rows, failures) = try decoder.lines("1,first,1\n2,POISON,bad\n3,,x\n4,second,4\n")
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures.count, 2)
        let batch = decoder.finish()
        XCTAssertEqual(batch.rows, [
            [.int64(1), .string("first"), .decimal(100, scale: 2)], [.int64(4), .string("second"), .decimal(400, scale: 2)],
        ])
        XCTAssertEqual(batch.columns[1].utf8.bytes, Array("firstsecond".utf8))
        XCTAssertEqual(batch.columns[1].nullCount, 0)
    }

    func testOtherDelimiters() throws {
        var semicolons = try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(delimiter: UInt8(ascii: ";")))
        XCTAssertEqual(try semicolons.lines("id;name;amount\n1;\"a;b\";1,5\n").failures.map(\.code), [.typeMismatch])
        XCTAssertEqual(try semicolons.lines("2;\"a;b\";1.5\n").rows, 1)
        XCTAssertEqual(semicolons.finish().rows, [[.int64(2), .string("a;b"), .decimal(150, scale: 2)]])
        var tabs = try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(delimiter: UInt8(ascii: "\t"), hasHeader: false))
        XCTAssertEqual(try tabs.lines("1\ta, b\t2\n").rows, 1)
        XCTAssertEqual(tabs.finish().rows, [[.int64(1), .string("a, b"), .decimal(200, scale: 2)]])
    }

    func testTextCoercionsMatchJSONStrings() throws {
        XCTAssertEqual(try decodeCSVValue(.bool, "TRUE"), .value(.bool(true)))
        XCTAssertEqual(try decodeCSVValue(.bool, "no").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeCSVValue(.int64, "1e3"), .value(.int64(1000)))
        XCTAssertEqual(try decodeCSVValue(.int64, "1.5").reason, #"field v: expected BIGINT, found "1.5" (not an integer)"#)
        XCTAssertEqual(try decodeCSVValue(.int64, " 1").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeCSVValue(.float64, "-2.5e-3"), .value(.float64(-2.5e-3)))
        XCTAssertEqual(try decodeCSVValue(.float64, "Infinity"), .value(.float64(.infinity)))
        XCTAssertEqual(try decodeCSVValue(.decimal(scale: 2), "0.125"), .value(.decimal(13, scale: 2)))
        XCTAssertEqual(try decodeCSVValue(.decimal(scale: 2), "\"1\"\"\"").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeCSVValue(.timestamp, "2026-11-22T04:18:27.123Z"), .value(.timestamp(millis(2026, 11, 22, 4, 18, 27, 123))))
        XCTAssertEqual(try decodeCSVValue(.timestamp, "1795321107"), .value(.timestamp(1_795_321_107)))
        XCTAssertEqual(try decodeCSVValue(.timestamp, "1795321107", options: CSVDecodeOptions(hasHeader: false, epochUnit: .seconds)),
                       .value(.timestamp(1_795_321_107_000)))
        XCTAssertEqual(try decodeCSVValue(.utf8, "\"\"\"quoted\"\" text\""), .value(.string("\"quoted\" text")))
    }

    func testInvalidUTF8InTextFields() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("a", .utf8), Field("b", .utf8)]), options: CSVDecodeOptions(hasHeader: false))
        let bytes = Array("ok,fine\nok,ba".utf8) + [0xFF] + Array("d\nok,\"q\"\"".utf8) + [0xC3] + Array("\"\n".utf8)
        let (rows, failures) = try decoder.lines(bytes: bytes)
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(failures.map(\.code), [.invalidUTF8, .invalidUTF8])
        XCTAssertEqual(failures[0].reason, "invalid UTF-8 at byte 5 in field b")
    }

    func testRecordSizeLimit() throws {
        var decoder = try CSVRowDecoder(schema: Schema([Field("a", .utf8)]), options: CSVDecodeOptions(hasHeader: false, maxRecordBytes: 8))
        let (rows, failures) = try decoder.lines("short\nmuch too long\nok\n")
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(failures.map(\.code), [.tooLarge])
    }
}
