import EddyTestSupport
import EddyEngine
import EddyFormats
import XCTest

/// Records, paths, skipping, duplicates, malformed input and limits of `JSONRowDecoder`.
final class JSONStructureTests: XCTestCase {
    let eventSchema = Schema([
        Field("category", .utf8), Field("amount", .decimal(scale: 2)), Field("event_time", .timestamp),
    ])

    func testDecodesTheBenchmarkEvent() throws {
        var decoder = try JSONRowDecoder(schema: eventSchema)
        XCTAssertNil(decoder.append(
            #"{"event_id":"9f86d081884c7d65","user_id":123456,"category":"electronics","amount":123.45,"country":"DE","event_time":1795321107123}"#))
        let batch = decoder.finish()
        XCTAssertEqual(batch.schema, eventSchema)
        XCTAssertEqual(batch.rows, [[.string("electronics"), .decimal(12345, scale: 2), .timestamp(1_795_321_107_123)]])
    }

    func testKeysInAnyOrderAndWhitespaceAnywhere() throws {
        var decoder = try JSONRowDecoder(schema: eventSchema)
        XCTAssertNil(decoder.append(" \t{ \"event_time\" :\n1 , \"amount\":\r\n2.5,\"category\" : \"x\" } \r\n"))
        XCTAssertNil(decoder.append(#"{"amount":1,"category":"y","event_time":2}"#))
        XCTAssertEqual(decoder.finish().rows, [
            [.string("x"), .decimal(250, scale: 2), .timestamp(1)],
            [.string("y"), .decimal(100, scale: 2), .timestamp(2)],
        ])
    }

    func testNestedPaths() throws {
        let schema = Schema([
            Field("device.id", .int64), Field("device.os.name", .utf8), Field("user", .utf8), Field("device.os.version", .int64),
        ])
        var decoder = try JSONRowDecoder(schema: schema)
        XCTAssertNil(decoder.append(#"{"device":{"id":7,"os":{"name":"linux","version":6},"model":"x1"},"user":"ann"}"#))
        XCTAssertNil(decoder.append(#"{"user":"bob","device":{"os":{"name":"mac"}}}"#))
        XCTAssertNil(decoder.append(#"{"device":null,"user":"cy"}"#))
        XCTAssertNil(decoder.append(#"{"device":{"id":1,"os":null}}"#))
        XCTAssertEqual(decoder.finish().rows, [
            [.int64(7), .string("linux"), .string("ann"), .int64(6)],
            [.null, .string("mac"), .string("bob"), .null],
            [.null, .null, .string("cy"), .null],
            [.int64(1), .null, .null, .null],
        ])
    }

    func testNestedPathGivenAScalarIsATypeMismatch() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("device.id", .int64)]))
        XCTAssertEqual(decoder.append(#"{"device":5}"#)?.reason, "field device: expected an object, found number 5")
        XCTAssertEqual(decoder.append(#"{"device":[1]}"#)?.code, .typeMismatch)
        XCTAssertEqual(decoder.append(#"{"device":"x"}"#)?.reason, #"field device: expected an object, found string "x""#)
        XCTAssertEqual(decoder.rowCount, 0)
    }

    func testSkipsUnknownFieldsOfEveryKind() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("keep", .int64), Field("also", .utf8)]))
        let record = #"""
        {"s":"a \"quoted\" \\ string with \u00e9 and \ud83d\ude00 and , } ] :","n":-12.5e-3,"z":0,"t":true,"f":false,
         "nul":null,"keep":1,"o":{"a":{"b":[1,{"c":"}"},[],{}]},"d":"x"},"arr":[[[]],{"k":[null,true]},"]"],
         "empty_o":{},"empty_a":[ ],"big":123456789012345678901234567890e400,"also":"yes","tail":{"keep":99}}
        """#.replacingOccurrences(of: "\n", with: "")
        XCTAssertNil(decoder.append(record))
        XCTAssertEqual(decoder.finish().rows, [[.int64(1), .string("yes")]])
    }

    func testSkippedValuesAreStillCheckedForStructure() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("keep", .int64)]))
        let broken = [
            #"{"x":[1,2,"keep":1}"#, #"{"x":{"a":1,},"keep":1}"#, #"{"x":[1,,2],"keep":1}"#, #"{"x":tru,"keep":1}"#,
            #"{"x":"\q","keep":1}"#, #"{"x":01,"keep":1}"#, #"{"x":{"a" 1},"keep":1}"#, #"{"x":[}],"keep":1}"#,
            #"{"x":-,"keep":1}"#, #"{"x":1.,"keep":1}"#, #"{"x":.5,"keep":1}"#, #"{"x":1e,"keep":1}"#,
        ]
        for record in broken {
            XCTAssertEqual(decoder.append(record)?.code, .malformedJSON, record)
        }
        XCTAssertEqual(decoder.rowCount, 0)
    }

    func testEscapedKeysAreMatchedAfterUnescaping() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("ab", .int64), Field("é", .int64)]))
        XCTAssertNil(decoder.append(#"{"\u0061b":1,"\u00e9":2}"#))
        XCTAssertEqual(decoder.finish().rows, [[.int64(1), .int64(2)]])
    }

    func testDuplicateKeysLastOneWins() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64), Field("s", .utf8), Field("r", .int64, nullable: false)]))
        XCTAssertNil(decoder.append(#"{"a":1,"s":"first","a":2,"s":"second","r":0}"#))
        XCTAssertNil(decoder.append(#"{"a":1,"a":null,"r":null,"r":3}"#))
        XCTAssertNil(decoder.append(#"{"r":1,"s":null,"s":"late"}"#))
        XCTAssertEqual(decoder.append(#"{"r":1,"r":null}"#)?.reason, "field r is NOT NULL but the record has null")
        XCTAssertEqual(decoder.append(#"{"r":1,"a":"x","a":2}"#)?.code, .typeMismatch)  // a bad value fails at once
        let batch = decoder.finish()
        XCTAssertEqual(batch.rows, [
            [.int64(2), .string("second"), .int64(0)],
            [.null, .null, .int64(3)],
            [.null, .string("late"), .int64(1)],
        ])
        XCTAssertEqual(batch.columns[1].utf8.bytes, Array("secondlate".utf8), "dropped duplicates leave no bytes behind")
    }

    func testDuplicateNestedObjectsMerge() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("d.a", .int64), Field("d.b", .int64)]))
        XCTAssertNil(decoder.append(#"{"d":{"a":1},"d":{"b":2}}"#))
        XCTAssertNil(decoder.append(#"{"d":{"a":1,"b":2},"d":null}"#))
        XCTAssertEqual(decoder.finish().rows, [[.int64(1), .int64(2)], [.null, .null]])
    }

    func testRecordsThatAreNotObjects() throws {
        var decoder = try JSONRowDecoder(schema: eventSchema)
        XCTAssertEqual(decoder.append("[1,2]")?.reason, "expected a JSON object, found an array")
        XCTAssertEqual(decoder.append("5")?.code, .notAnObject)
        XCTAssertEqual(decoder.append(#""x""#)?.code, .notAnObject)
        XCTAssertEqual(decoder.append("null")?.reason, "expected a JSON object, found null")
        XCTAssertEqual(decoder.append("")?.reason, "malformed JSON at byte 0: empty record, expected a JSON object")
        XCTAssertEqual(decoder.append("   ")?.code, .malformedJSON)
        XCTAssertEqual(decoder.append("<xml/>")?.reason, "malformed JSON at byte 0: expected '{'")
        XCTAssertEqual(decoder.rowCount, 0)
    }

    func testMalformedRecordsReportWhereAndWhat() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64), Field("b", .int64)]))
        let cases: [(String, String)] = [
            (#"{"a":1 "b":2}"#, "malformed JSON at byte 7: expected ',' or '}'"),
            (#"{"a":1,}"#, "malformed JSON at byte 7: expected '\"' to start a key"),
            (#"{"a" 1}"#, "malformed JSON at byte 5: expected ':' after a key"),
            (#"{a:1}"#, "malformed JSON at byte 1: expected '\"' to start a key"),
            (#"{"a":01}"#, "malformed JSON at byte 5: invalid number"),
            (#"{"a":-}"#, "malformed JSON at byte 5: invalid number"),
            (#"{"a":tru}"#, "malformed JSON at byte 5: invalid literal (expected true, false or null)"),
            (#"{"a":1}x"#, "malformed JSON at byte 7: unexpected data after the object"),
            (#"{"a":1}{"a":2}"#, "malformed JSON at byte 7: unexpected data after the object"),
            (#"{"a":"#, "malformed JSON at byte 5: expected a value"),
            (#"{"a":1"#, "malformed JSON at byte 6: expected ',' or '}'"),
            (#"{"a"#, "malformed JSON at byte 3: unterminated string"),
            (#"{"#, "malformed JSON at byte 1: expected '\"' or '}'"),
            (#"{'a':1}"#, "malformed JSON at byte 1: expected '\"' to start a key"),
            (#"{"a":+1}"#, "malformed JSON at byte 5: expected a value"),
        ]
        for (record, reason) in cases {
            let failure = decoder.append(record)
            XCTAssertEqual(failure?.code, .malformedJSON, record)
            XCTAssertEqual(failure?.reason, reason, record)
        }
        XCTAssertEqual(decoder.rowCount, 0)
    }

    func testDepthLimit() throws {
        func nested(_ depth: Int) -> String {
            // The record's object is depth 1; each "x" adds one level.
            String(repeating: #"{"x":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        }
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64)]))
        XCTAssertNil(decoder.append(nested(64)))
        XCTAssertEqual(decoder.append(nested(65))?.code, .tooDeep)
        XCTAssertEqual(decoder.append(nested(10_000))?.reason, "nesting deeper than 64 levels at byte 320")
        let arrays = #"{"a":1,"x":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        XCTAssertEqual(decoder.append(arrays)?.code, .tooDeep)
        var shallow = try JSONRowDecoder(schema: Schema([Field("a.b.c", .int64)]), options: JSONDecodeOptions(maxDepth: 2))
        XCTAssertEqual(shallow.append(#"{"a":{"b":{"c":1}}}"#)?.code, .tooDeep)
        XCTAssertNil(shallow.append(#"{"a":{"x":1}}"#))
        XCTAssertEqual(decoder.finish().count, 1)
    }

    func testDeepestAllowedNestingFitsAWorkerThreadStack() async throws {
        // Skipping is iterative, so the deepest input allowed costs no stack; decoding recurses only
        // along schema paths, which are at most 32 segments.
        let depth = JSONDecodeOptions.maxDepthLimit
        let skipped = #"{"a":1,"x":"# + String(repeating: #"[{"y":"#, count: (depth - 1) / 2) + "0"
            + String(repeating: "}]", count: (depth - 1) / 2) + "}"
        let path = (0..<32).map { "p\($0)" }.joined(separator: ".")
        let decoded = (0..<32).map { #"{"p\#($0)":"# }.joined() + "7" + String(repeating: "}", count: 32)
        let rows = try await Task.detached {
            var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64), Field(path, .int64)]),
                                             options: JSONDecodeOptions(maxDepth: depth))
            XCTAssertNil(decoder.append(skipped))
            XCTAssertNil(decoder.append(decoded))
            XCTAssertEqual(decoder.append(#"{"x":"# + String(repeating: "[", count: depth) + "}")?.code, .tooDeep)
            return decoder.finish().rows
        }.value
        XCTAssertEqual(rows, [[.int64(1), .null], [.null, .int64(7)]])
        XCTAssertThrowsError(try JSONRowDecoder(schema: Schema([]), options: JSONDecodeOptions(maxDepth: depth + 1)))
        XCTAssertThrowsError(try JSONRowDecoder(schema: Schema([Field(path + ".p32", .int64)])))
    }

    func testRecordSizeLimit() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .utf8)]), options: JSONDecodeOptions(maxRecordBytes: 32))
        XCTAssertNil(decoder.append(#"{"a":"short"}"#))
        let failure = decoder.append(#"{"a":"this one is far too long for the limit"}"#)
        XCTAssertEqual(failure?.code, .tooLarge)
        XCTAssertEqual(failure?.reason, "record of 46 bytes exceeds the limit of 32 bytes")
        XCTAssertEqual(decoder.finish().count, 1)
    }

    func testFailureLeavesNoPartialRow() throws {
        let schema = Schema([Field("s", .utf8), Field("i", .int64), Field("d", .decimal(scale: 2)), Field("n", .utf8)])
        var decoder = try JSONRowDecoder(schema: schema)
        XCTAssertNil(decoder.append(#"{"s":"one","i":1,"d":1,"n":null}"#))
        // Fails on the last field after three columns (one with a null bitmap) were appended.
        XCTAssertEqual(decoder.append(#"{"s":"POISON","n":"x","i":2,"d":"bad"}"#)?.code, .typeMismatch)
        XCTAssertEqual(decoder.append(#"{"s":"POISON\u0041","i":2,"d":3,"n":"x","i":1.5}"#)?.code, .typeMismatch)
        XCTAssertNil(decoder.append(#"{"s":"two","i":2,"d":2,"n":"m"}"#))
        let batch = decoder.finish()
        XCTAssertEqual(batch.rows, [
            [.string("one"), .int64(1), .decimal(100, scale: 2), .null],
            [.string("two"), .int64(2), .decimal(200, scale: 2), .string("m")],
        ])
        XCTAssertEqual(batch.columns[0].utf8.bytes, Array("onetwo".utf8))
        XCTAssertEqual(batch.columns[3].utf8.bytes, Array("m".utf8))
    }

    func testEveryTruncationOfAValidRecordFailsCleanly() throws {
        let schema = Schema([
            Field("id", .int64), Field("name", .utf8), Field("price", .decimal(scale: 2)), Field("ratio", .float64),
            Field("ok", .bool), Field("at", .timestamp), Field("geo.lat", .float64), Field("geo.city", .utf8),
        ])
        let record = #"{"id":42,"name":"caf\u00e9 \"x\" 😀","skip":{"a":[1,2.5e3,"s",null,true,false,{}]},"price":"12.50","ratio":-1.25e-3,"ok":true,"at":"2026-11-22T04:18:27.123+01:00","geo":{"lat":52.52,"city":"Berlin"},"n":null}"#
        let bytes = Array(record.utf8)
        var decoder = try JSONRowDecoder(schema: schema)
        for length in 0..<bytes.count {
            let failure = decoder.append(bytes: Array(bytes[..<length]))
            XCTAssertNotNil(failure, "prefix of \(length) bytes decoded")
            XCTAssertEqual(decoder.rowCount, 0, "prefix of \(length) bytes left a row")
            // The next good record still decodes, and only it appends.
            if length % 17 == 0 {
                XCTAssertNil(decoder.append(bytes: bytes))
                XCTAssertEqual(decoder.finish().count, 1)
            }
        }
        XCTAssertNil(decoder.append(bytes: bytes))
        let batch = decoder.finish()
        XCTAssertEqual(batch.rows, [[
            .int64(42), .string("café \"x\" 😀"), .decimal(1250, scale: 2), .float64(-1.25e-3), .bool(true),
            .timestamp(millis(2026, 11, 22, 3, 18, 27, 123)), .float64(52.52), .string("Berlin"),
        ]])
    }

    func testSchemaValidation() throws {
        let invalid: [[Field]] = [
            [Field("a", .int64), Field("a", .utf8)],
            [Field("a..b", .int64)],
            [Field(".a", .int64)],
            [Field("a.", .int64)],
            [Field("", .int64)],
            [Field("a", .int64), Field("a.b", .int64)],
            [Field("a.b", .int64), Field("a", .int64)],
            [Field("x", .decimal(scale: 19))],
        ]
        for fields in invalid {
            XCTAssertThrowsError(try JSONRowDecoder(schema: Schema(fields)), "\(fields)") { error in
                XCTAssertEqual((error as? EngineError)?.kind, .configuration)
            }
        }
        XCTAssertThrowsError(try JSONRowDecoder(schema: eventSchema, options: JSONDecodeOptions(maxDepth: 0)))
        XCTAssertThrowsError(try JSONRowDecoder(schema: Schema([Field("a", .int64), Field("a.b", .int64)]))) { error in
            XCTAssertEqual("\(error)", "configuration error: field a is both a value and an object holding a.b")
        }
    }

    func testEmptySchemaCountsRows() throws {
        var decoder = try JSONRowDecoder(schema: Schema([]))
        XCTAssertNil(decoder.append(#"{"a":1}"#))
        XCTAssertNil(decoder.append(#"{}"#))
        XCTAssertNotNil(decoder.append(#"{"#))
        XCTAssertEqual(decoder.finish().count, 2)
    }

    func testWideSchemaUsesHashedLookup() throws {
        // More keys than the linear-search limit, sharing long prefixes, written in shuffled order.
        let names = (0..<40).map { "attribute_with_a_long_shared_prefix_\($0)" } + (0..<10).map { "k\($0)" }
        let schema = Schema(names.map { Field($0, .int64) })
        var decoder = try JSONRowDecoder(schema: schema)
        var random = SeededRandom(seed: 99)
        for round in 0..<20 {
            let order = names.indices.shuffled(using: &random)
            let record = "{" + order.map { #""\#(names[$0])":\#($0 * 100 + round)"# }.joined(separator: ",") + #","unknown_attribute_with_a_long_shared_prefix_1":0}"#
            XCTAssertNil(decoder.append(record))
        }
        let batch = decoder.finish()
        for round in 0..<20 {
            XCTAssertEqual(batch.row(round), names.indices.map { .int64(Int64($0 * 100 + round)) })
        }
    }

    func testBatchesStartOverAfterFinish() throws {
        var decoder = try JSONRowDecoder(schema: eventSchema)
        XCTAssertNil(decoder.append(#"{"category":"a"}"#))
        XCTAssertEqual(decoder.finish().count, 1)
        XCTAssertEqual(decoder.rowCount, 0)
        XCTAssertNil(decoder.append(#"{"category":"b"}"#))
        XCTAssertEqual(decoder.finish().rows, [[.string("b"), .null, .null]])
        XCTAssertEqual(decoder.finish().count, 0)
    }
}

final class JSONNotAnObjectTests: XCTestCase {
    /// A line starting like a literal but not one is malformed, not "found null" (seen in the demo).
    func testAWordIsMalformedNotNull() throws {
        var decoder = try JSONRowDecoder(schema: Schema([Field("a", .int64)]))
        let failure = Array("not json at all".utf8).withUnsafeBytes { decoder.appendRecord($0) }
        XCTAssertEqual(failure?.code, .malformedJSON, "\(String(describing: failure))")
        let null = Array("null".utf8).withUnsafeBytes { decoder.appendRecord($0) }
        XCTAssertEqual(null?.code, .notAnObject)
        XCTAssertEqual(null?.reason, "expected a JSON object, found null")
    }
}
