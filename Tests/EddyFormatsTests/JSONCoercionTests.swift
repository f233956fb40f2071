import EddyTestSupport
import EddyEngine
import EddyFormats
import XCTest

/// Every coercion rule documented on `JSONRowDecoder`, accepted and rejected.
final class JSONCoercionTests: XCTestCase {
    // MARK: BOOLEAN

    func testBoolAcceptsLiteralsAndTheirStrings() throws {
        XCTAssertEqual(try decodeJSONValue(.bool, "true"), .value(.bool(true)))
        XCTAssertEqual(try decodeJSONValue(.bool, "false"), .value(.bool(false)))
        XCTAssertEqual(try decodeJSONValue(.bool, #""true""#), .value(.bool(true)))
        XCTAssertEqual(try decodeJSONValue(.bool, #""FALSE""#), .value(.bool(false)))
        XCTAssertEqual(try decodeJSONValue(.bool, "null"), .value(.null))
    }

    func testBoolRejectsNumbersAndOtherStrings() throws {
        XCTAssertEqual(try decodeJSONValue(.bool, "1").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.bool, #""yes""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.bool, #""""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.bool, "{}").reason, "field v: expected BOOLEAN, found an object")
        XCTAssertEqual(try decodeJSONValue(.bool, "1").reason, "field v: expected BOOLEAN, found number 1")
    }

    // MARK: BIGINT

    func testInt64AcceptsIntegerLiterals() throws {
        XCTAssertEqual(try decodeJSONValue(.int64, "42"), .value(.int64(42)))
        XCTAssertEqual(try decodeJSONValue(.int64, "-7"), .value(.int64(-7)))
        XCTAssertEqual(try decodeJSONValue(.int64, "-0"), .value(.int64(0)))
        XCTAssertEqual(try decodeJSONValue(.int64, "9223372036854775807"), .value(.int64(.max)))
        XCTAssertEqual(try decodeJSONValue(.int64, "-9223372036854775808"), .value(.int64(.min)))
    }

    func testInt64AcceptsExactIntegersWrittenWithFractionOrExponent() throws {
        XCTAssertEqual(try decodeJSONValue(.int64, "1.0"), .value(.int64(1)))
        XCTAssertEqual(try decodeJSONValue(.int64, "1e3"), .value(.int64(1000)))
        XCTAssertEqual(try decodeJSONValue(.int64, "12.50e1"), .value(.int64(125)))
        XCTAssertEqual(try decodeJSONValue(.int64, "1500E-2"), .value(.int64(15)))
        XCTAssertEqual(try decodeJSONValue(.int64, "0.000"), .value(.int64(0)))
        // 21 significant digits, exact after the exponent: exercises the dropped-digit path.
        XCTAssertEqual(try decodeJSONValue(.int64, "100000000000000000000e-2"), .value(.int64(1_000_000_000_000_000_000)))
    }

    func testInt64RejectsFractionsAndOverflow() throws {
        XCTAssertEqual(try decodeJSONValue(.int64, "1.5").reason, "field v: expected BIGINT, found number 1.5 (not an integer)")
        XCTAssertEqual(try decodeJSONValue(.int64, "1e-400").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, "9223372036854775808").reason,
                       "field v: expected BIGINT, found number 9223372036854775808 (out of range)")
        XCTAssertEqual(try decodeJSONValue(.int64, "-9223372036854775809").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, "1e19").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, "123456789012345678901234567890").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, "10000000000000000000.5").failureCode, .typeMismatch)
    }

    func testInt64FromStrings() throws {
        XCTAssertEqual(try decodeJSONValue(.int64, #""42""#), .value(.int64(42)))
        XCTAssertEqual(try decodeJSONValue(.int64, #""+42""#), .value(.int64(42)))
        XCTAssertEqual(try decodeJSONValue(.int64, #""-3e2""#), .value(.int64(-300)))
        XCTAssertEqual(try decodeJSONValue(.int64, #"" 42""#).reason, #"field v: expected BIGINT, found string " 42""#)
        XCTAssertEqual(try decodeJSONValue(.int64, #""4x""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, #""""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.int64, #""\u0034\u0032""#), .value(.int64(42)))  // escaped digits
    }

    func testInt64RejectsOtherKinds() throws {
        XCTAssertEqual(try decodeJSONValue(.int64, "true").reason, "field v: expected BIGINT, found true")
        XCTAssertEqual(try decodeJSONValue(.int64, "[1]").reason, "field v: expected BIGINT, found an array")
        XCTAssertEqual(try decodeJSONValue(.int64, #"{"a":1}"#).failureCode, .typeMismatch)
    }

    // MARK: DOUBLE

    func testFloat64FromNumbersRoundsCorrectly() throws {
        let cases = [
            "0.1", "1.5", "-2.25", "1e308", "5e-324", "2.2250738585072011e-308", "2.2250738585072014e-308",
            "1.7976931348623157e308", "123456789012345678901234567890", "0.30000000000000004",
            "9007199254740993", "9007199254740992", "1e23", "8.98846567431158e307", "4.9406564584124654e-324",
            "3.14159265358979323846264338327950288", "1e-22", "1e22", "123.456e-5", "0.000001",
        ]
        for text in cases {
            XCTAssertEqual(try decodeJSONValue(.float64, text), .value(.float64(Double(text)!)), text)
        }
        guard case .value(.float64(let negativeZero)) = try decodeJSONValue(.float64, "-0.0") else {
            return XCTFail("-0.0 did not decode")
        }
        XCTAssertEqual(negativeZero.sign, .minus)
        XCTAssertEqual(try decodeJSONValue(.float64, "1e400"), .value(.float64(.infinity)))
        XCTAssertEqual(try decodeJSONValue(.float64, "1e-400"), .value(.float64(0)))
    }

    func testFloat64FromRandomDecimalTextMatchesStrtod() throws {
        var random = SeededRandom(seed: testSeed("float parsing", default: 7))
        var decoder = try JSONRowDecoder(schema: Schema([Field("v", .float64)]))
        var texts: [String] = []
        for _ in 0..<3000 {
            let digits = Int.random(in: 1...22, using: &random)
            var mantissa = String(Int.random(in: 1...9, using: &random))
            for _ in 1..<digits { mantissa += String(Int.random(in: 0...9, using: &random)) }
            let point = Int.random(in: 0...digits, using: &random)
            var text = point < digits ? String(mantissa.prefix(point).isEmpty ? "0" : mantissa.prefix(point)) + "."
                + mantissa.dropFirst(point) : mantissa
            if Bool.random(using: &random) { text += "e" + String(Int.random(in: -330...310, using: &random)) }
            if Bool.random(using: &random) { text = "-" + text }
            texts.append(text)
            XCTAssertNil(decoder.append(#"{"v":"# + text + "}"), text)
        }
        let values = decoder.finish().columns[0].float64s
        for (text, value) in zip(texts, values) {
            XCTAssertEqual(value.bitPattern, Double(text)!.bitPattern, text)
        }
    }

    func testFloat64FromStrings() throws {
        XCTAssertEqual(try decodeJSONValue(.float64, #""3.25""#), .value(.float64(3.25)))
        XCTAssertEqual(try decodeJSONValue(.float64, #""-1e3""#), .value(.float64(-1000)))
        XCTAssertEqual(try decodeJSONValue(.float64, #""Infinity""#), .value(.float64(.infinity)))
        XCTAssertEqual(try decodeJSONValue(.float64, #""-Infinity""#), .value(.float64(-.infinity)))
        guard case .value(.float64(let nan)) = try decodeJSONValue(.float64, #""NaN""#) else { return XCTFail("NaN") }
        XCTAssertTrue(nan.isNaN)
        XCTAssertEqual(try decodeJSONValue(.float64, #""nan""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.float64, #""1.5x""#).failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.float64, "false").failureCode, .typeMismatch)
    }

    // MARK: DECIMAL

    func testDecimalIsExactAndRoundsHalfAwayFromZero() throws {
        let money = DataType.decimal(scale: 2)
        XCTAssertEqual(try decodeJSONValue(money, "123.45"), .value(.decimal(12345, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "7"), .value(.decimal(700, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "-0.5"), .value(.decimal(-50, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "0.125"), .value(.decimal(13, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "-0.125"), .value(.decimal(-13, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "0.124999"), .value(.decimal(12, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "0.005"), .value(.decimal(1, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "0.0049999999999999999999"), .value(.decimal(0, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "1.5e2"), .value(.decimal(15000, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "12345e-4"), .value(.decimal(123, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "1e-300"), .value(.decimal(0, scale: 2)))
        // 0.1 + 0.2 is exact here: no Double on the way.
        XCTAssertEqual(try decodeJSONValue(money, "1234567890123456.78"), .value(.decimal(123_456_789_012_345_678, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 0), "2.5"), .value(.decimal(3, scale: 0)))
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 0), "-2.5"), .value(.decimal(-3, scale: 0)))
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 18), "0.123456789012345678"),
                       .value(.decimal(123_456_789_012_345_678, scale: 18)))
        // More than 19 significant digits, rounding decided by the first dropped one.
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 18), "0.1234567890123456785000001"),
                       .value(.decimal(123_456_789_012_345_679, scale: 18)))
    }

    func testDecimalRejectsOverflowAndNonNumbers() throws {
        let money = DataType.decimal(scale: 2)
        XCTAssertEqual(try decodeJSONValue(money, "9999999999999999.99"), .value(.decimal(999_999_999_999_999_999, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "-9999999999999999.99"), .value(.decimal(-999_999_999_999_999_999, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(money, "10000000000000000").reason,
                       "field v: expected DECIMAL(18,2), found number 10000000000000000 (out of range)")
        XCTAssertEqual(try decodeJSONValue(money, "9999999999999999.995").failureCode, .typeMismatch)  // rounds up past 18 digits
        XCTAssertEqual(try decodeJSONValue(money, "1e17").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(money, #""abc""#).reason, #"field v: expected DECIMAL(18,2), found string "abc""#)
        XCTAssertEqual(try decodeJSONValue(money, "true").failureCode, .typeMismatch)
    }

    func testDecimalFromStrings() throws {
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 2), #""12.5""#), .value(.decimal(1250, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 2), #""-0.015""#), .value(.decimal(-2, scale: 2)))
        XCTAssertEqual(try decodeJSONValue(.decimal(scale: 2), #""1,5""#).failureCode, .typeMismatch)
    }

    // MARK: TEXT

    func testTextUnescapes() throws {
        XCTAssertEqual(try decodeJSONValue(.utf8, #""plain""#), .value(.string("plain")))
        XCTAssertEqual(try decodeJSONValue(.utf8, #""q\"b\\s\/b\bf\fn\nr\rt\t""#), .value(.string("q\"b\\s/b\u{8}f\u{C}n\nr\rt\t")))
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\u00e9\u20AC\u0000""#), .value(.string("é€\u{0}")))
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\ud83d\ude00 smile""#), .value(.string("😀 smile")))
        XCTAssertEqual(try decodeJSONValue(.utf8, #""héllo wörld, 日本""#), .value(.string("héllo wörld, 日本")))
        XCTAssertEqual(try decodeJSONValue(.utf8, #""""#), .value(.string("")))
    }

    func testTextRejectsLoneSurrogates() throws {
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\ud83d""#).failureCode, .invalidUTF8)
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\ude00""#).failureCode, .invalidUTF8)
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\ud83dx""#).failureCode, .invalidUTF8)
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\ud83d\u0041""#).failureCode, .invalidUTF8)
        XCTAssertEqual(try decodeJSONValue(.utf8, #""ab\ud83d""#).reason, "invalid UTF-8 at byte 8: unpaired high surrogate escape")
    }

    func testTextRejectsBadEscapesAndControlCharacters() throws {
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\x""#).reason, "malformed JSON at byte 6: invalid escape")
        XCTAssertEqual(try decodeJSONValue(.utf8, #""\u12G4""#).failureCode, .malformedJSON)
        XCTAssertEqual(try decodeJSONValue(.utf8, "\"a\u{1}b\"").reason, "malformed JSON at byte 7: control character in string")
        XCTAssertEqual(try decodeJSONValue(.utf8, "\"tab\there\"").failureCode, .malformedJSON)
    }

    func testTextKeepsNumberAndBoolLiteralText() throws {
        XCTAssertEqual(try decodeJSONValue(.utf8, "12.50"), .value(.string("12.50")))
        XCTAssertEqual(try decodeJSONValue(.utf8, "-1.5E+3"), .value(.string("-1.5E+3")))
        XCTAssertEqual(try decodeJSONValue(.utf8, "true"), .value(.string("true")))
        XCTAssertEqual(try decodeJSONValue(.utf8, "false"), .value(.string("false")))
        XCTAssertEqual(try decodeJSONValue(.utf8, "null"), .value(.null))
    }

    func testTextRejectsObjectsAndArrays() throws {
        XCTAssertEqual(try decodeJSONValue(.utf8, #"{"a":"b"}"#).reason, "field v: expected TEXT, found an object")
        XCTAssertEqual(try decodeJSONValue(.utf8, #"["a"]"#).reason, "field v: expected TEXT, found an array")
    }

    func testInvalidUTF8InStringsIsRejected() throws {
        let schema = Schema([Field("v", .utf8)])
        let cases: [[UInt8]] = [
            [0xC3, 0x28],  // bad continuation
            [0xC0, 0xAF],  // overlong
            [0xE0, 0x80, 0xAF],  // overlong 3-byte
            [0xED, 0xA0, 0x80],  // encoded surrogate
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xFF],
            [0x80],  // lone continuation
            [0xE2, 0x82],  // truncated
        ]
        for bad in cases {
            var decoder = try JSONRowDecoder(schema: schema)
            let record = Array(#"{"v":"ok"#.utf8) + bad + Array(#"xyz"}"#.utf8)
            let failure = decoder.append(bytes: record)
            XCTAssertEqual(failure?.code, .invalidUTF8, "\(bad)")
            XCTAssertEqual(failure?.reason, "invalid UTF-8 at byte 8", "\(bad)")
            XCTAssertEqual(decoder.rowCount, 0)
        }
        // Long strings take the eight-bytes-at-a-time path.
        var decoder = try JSONRowDecoder(schema: schema)
        let record = Array(#"{"v":"0123456789abcdef"#.utf8) + [0xC3] + Array(#"0123456789"}"#.utf8)
        XCTAssertEqual(decoder.append(bytes: record)?.reason, "invalid UTF-8 at byte 22")
        XCTAssertNil(decoder.append(#"{"v":"0123456789abcdef€0123456789"}"#))
    }

    // MARK: TIMESTAMP

    func testTimestampFromEpochNumbers() throws {
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1795321107123"), .value(.timestamp(1_795_321_107_123)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "-1"), .value(.timestamp(-1)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1795321107123.9"), .value(.timestamp(1_795_321_107_123)))
        let seconds = JSONDecodeOptions(epochUnit: .seconds)
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1795321107", options: seconds), .value(.timestamp(1_795_321_107_000)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1795321107.1239", options: seconds), .value(.timestamp(1_795_321_107_123)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "-0.0005", options: seconds), .value(.timestamp(-1)))
        let micros = JSONDecodeOptions(epochUnit: .microseconds)
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1795321107123456", options: micros), .value(.timestamp(1_795_321_107_123)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "-1", options: micros), .value(.timestamp(-1)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "-1000", options: micros), .value(.timestamp(-1)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, "1e30").reason,
                       "field v: expected TIMESTAMP, found number 1e30 (out of range)")
        XCTAssertEqual(try decodeJSONValue(.timestamp, "9223372036854776", options: seconds).failureCode, .typeMismatch)
    }

    func testTimestampFromISOStrings() throws {
        let base = millis(2026, 11, 22, 4, 18, 27, 123)
        XCTAssertEqual(formatTimestamp(base), "2026-11-22T04:18:27.123Z")
        let accepted: [(String, Int64)] = [
            ("2026-11-22T04:18:27.123Z", base),
            ("2026-11-22t04:18:27.123z", base),
            ("2026-11-22 04:18:27.123Z", base),
            ("2026-11-22T04:18:27.123", base),
            ("2026-11-22T05:18:27.123+01:00", base),
            ("2026-11-21T22:48:27.123-05:30", base),
            ("2026-11-22T05:18:27.123+0100", base),
            ("2026-11-22T06:18:27.123+02", base),
            ("2026-11-22T04:18:27.123456789Z", base),
            ("2026-11-22T04:18:27.1239Z", base),
            ("2026-11-22T04:18:27Z", base - 123),
            ("2026-11-22T04:18:27.5Z", base - 123 + 500),
            ("2026-11-22T04:18:27.12Z", base - 3),
            ("2026-11-22T04:18Z", millis(2026, 11, 22, 4, 18)),
            ("2026-11-22", millis(2026, 11, 22)),
            ("2024-02-29T00:00:00Z", millis(2024, 2, 29)),
            ("1969-12-31T23:59:59.999Z", -1),
            ("0000-01-01T00:00:00Z", millis(0, 1, 1)),
            ("+012026-01-01T00:00:00.000Z", millis(12026, 1, 1)),
            ("-000001-01-01T00:00:00.000Z", millis(-1, 1, 1)),
        ]
        for (text, expected) in accepted {
            XCTAssertEqual(try decodeJSONValue(.timestamp, "\"\(text)\""), .value(.timestamp(expected)), text)
        }
        // A string holding an epoch number.
        XCTAssertEqual(try decodeJSONValue(.timestamp, #""1795321107123""#), .value(.timestamp(1_795_321_107_123)))
        XCTAssertEqual(try decodeJSONValue(.timestamp, #""-5""#), .value(.timestamp(-5)))
    }

    func testTimestampRejectsInvalidDates() throws {
        let rejected = [
            "2026-13-01", "2026-00-10", "2026-02-30", "2023-02-29", "2026-11-31", "2026-11-22T24:00:00Z",
            "2026-11-22T04:60:00Z", "2026-11-22T04:18:60Z", "2026-11-22T04:18:27.Z", "2026-11-22X04:18:27Z",
            "2026-11-22T04:18:27+25:00", "2026-11-22T04:18:27+01:", "2026-11-22T4:18:27Z", "26-11-22",
            "2026-11-22T04:18:27.123Z ", "2026/11/22", "yesterday", "", "2026-11-22T",
        ]
        for text in rejected {
            let decoded = try decodeJSONValue(.timestamp, "\"\(text)\"")
            XCTAssertEqual(decoded.failureCode, .typeMismatch, text)
        }
        XCTAssertEqual(try decodeJSONValue(.timestamp, #""2026-02-30""#).reason,
                       #"field v: expected TIMESTAMP, found string "2026-02-30""#)
        XCTAssertEqual(try decodeJSONValue(.timestamp, "true").failureCode, .typeMismatch)
        XCTAssertEqual(try decodeJSONValue(.timestamp, "{}").failureCode, .typeMismatch)
    }

    // MARK: Nulls

    func testNullAndMissingGiveNullOrFailForNotNull() throws {
        for type in [DataType.bool, .int64, .float64, .utf8, .timestamp, .decimal(scale: 2)] {
            XCTAssertEqual(try decodeJSONValue(type, "null"), .value(.null), "\(type)")
            XCTAssertEqual(try decodeJSONValue(type, "null", nullable: false),
                           .failure(.missingField, "field v is NOT NULL but the record has null"), "\(type)")
        }
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64), Field("event_time", .timestamp, nullable: false)]))
        XCTAssertEqual(decoder.append(#"{"a":1}"#)?.reason, "missing required field event_time")
        XCTAssertEqual(decoder.append(#"{"a":1}"#)?.code, .missingField)
        XCTAssertNil(decoder.append(#"{"event_time":5}"#))
        XCTAssertEqual(decoder.finish().rows, [[.null, .timestamp(5)]])
    }
}
