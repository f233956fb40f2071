import EddyTestSupport
import EddyEngine
import EddyFormats
import XCTest

/// Bounded, seeded fuzzing: random bytes and mutated valid lines must never crash a decoder, and the
/// rows it reports must be exactly the rows it holds, in consistent columns of valid UTF-8.
final class FuzzTests: XCTestCase {
    let schema = Schema([
        Field("id", .int64), Field("name", .utf8), Field("amount", .decimal(scale: 2)), Field("ratio", .float64),
        Field("ok", .bool), Field("at", .timestamp), Field("geo.city", .utf8, nullable: true),
    ])

    let validLines = [
        #"{"id":1,"name":"caf\u00e9 \"x\"","amount":12.5,"ratio":1e-3,"ok":true,"at":"2026-11-22T04:18:27.123Z","geo":{"city":"Berlin"}}"#,
        #"{"skip":[1,{"a":null},"s"],"id":"42","name":"😀","amount":"0.125","ratio":"NaN","ok":"false","at":1795321107123}"#,
        #"{"geo":null,"id":-7,"name":null,"extra":{"deep":{"er":[[],{}]}},"amount":-1e2,"at":"2026-11-22"}"#,
        #"{}"#,
    ]

    func testRandomBytesNeverCrashJSON() throws {
        var random = SeededRandom(seed: testSeed("JSON random bytes", default: 1))
        let alphabet = Array(#"{}[]":,\ 0123456789.eE-+truefalsn"#.utf8) + [0x80, 0xC3, 0xA9, 0xFF, 0x0A, 0x0D, 0x09]
        var decoder = try JSONRowDecoder(schema: schema)
        var successes = 0
        for _ in 0..<5000 {
            let length = Int.random(in: 0...80, using: &random)
            var bytes: [UInt8] = []
            if Bool.random(using: &random) { bytes.append(UInt8(ascii: "{")) }
            for _ in 0..<length {
                bytes.append(Int.random(in: 0..<8, using: &random) == 0 ? UInt8.random(in: 0...255, using: &random)
                             : alphabet.randomElement(using: &random)!)
            }
            if decoder.append(bytes: bytes) == nil { successes += 1 }
            XCTAssertEqual(decoder.rowCount, successes)
        }
        try checkConsistent(decoder.finish(), rows: successes)
    }

    func testMutatedLinesNeverCrashJSON() throws {
        var random = SeededRandom(seed: testSeed("JSON mutations", default: 2))
        let specials = Array(#"{}[]":,\-.e0"#.utf8) + [0xC3, 0xFF, 0x00, 0x0D]
        var decoder = try JSONRowDecoder(schema: schema)
        var total = 0
        for round in 0..<400 {
            var buffer: [UInt8] = []
            var nonBlankLines = 0
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                var line = Array(validLines.randomElement(using: &random)!.utf8)
                for _ in 0..<Int.random(in: 0...4, using: &random) {
                    mutate(&line, specials: specials, &random)
                }
                line.removeAll { $0 == 0x0A }
                var trimmed = line
                if trimmed.last == 0x0D { trimmed.removeLast() }
                if !trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { nonBlankLines += 1 }
                buffer += line + [0x0A]
            }
            let (rows, failures) = decoder.lines(bytes: buffer)
            XCTAssertEqual(rows + failures.count, nonBlankLines, "round \(round)")
            for failure in failures {
                let range = try XCTUnwrap(failure.byteRange)
                XCTAssertTrue(range.lowerBound >= 0 && range.upperBound <= buffer.count)
                XCTAssertFalse(failure.reason.isEmpty)
            }
            total += rows
            if round % 50 == 49 {
                try checkConsistent(decoder.finish(), rows: total)
                total = 0
            }
        }
        try checkConsistent(decoder.finish(), rows: total)
    }

    func testRandomAndMutatedInputNeverCrashesCSV() throws {
        var random = SeededRandom(seed: testSeed("CSV fuzz", default: 3))
        let alphabet = Array("\",;\n\r 0123456789.-abcTZ:".utf8) + [0xC3, 0xA9, 0xFF]
        let valid = "1,\"a,b\",12.50,0.5,true,2026-11-22T04:18:27Z,Berlin\n\"2\",\"x\"\"y\",,1e3,FALSE,1795321107123,\n"
        var decoder = try CSVRowDecoder(schema: schema, options: CSVDecodeOptions(hasHeader: false))
        var total = 0
        for round in 0..<3000 {
            var bytes: [UInt8]
            if Bool.random(using: &random) {
                bytes = (0..<Int.random(in: 0...100, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            } else {
                bytes = Array(valid.utf8)
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    mutate(&bytes, specials: Array("\",\n\r".utf8) + [0xFF], &random)
                }
            }
            let before = decoder.rowCount
            let (rows, failures) = try decoder.lines(bytes: bytes)
            XCTAssertEqual(decoder.rowCount - before, rows, "round \(round)")
            var previousEnd = 0
            for failure in failures {
                let range = try XCTUnwrap(failure.byteRange)
                XCTAssertTrue(range.lowerBound >= previousEnd && range.upperBound <= bytes.count, "round \(round)")
                previousEnd = range.upperBound
            }
            total += rows
        }
        try checkConsistent(decoder.finish(), rows: total)
    }

    func mutate(_ bytes: inout [UInt8], specials: [UInt8], _ random: inout SeededRandom) {
        guard !bytes.isEmpty else { return }
        let position = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: bytes[position] = specials.randomElement(using: &random)!
        case 1: bytes.insert(specials.randomElement(using: &random)!, at: position)
        case 2: bytes.remove(at: position)
        case 3: bytes.removeLast(bytes.count - position)
        default:
            let end = min(bytes.count, position + Int.random(in: 1...10, using: &random))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        }
    }

    func checkConsistent(_ batch: RecordBatch, rows: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(batch.count, rows, file: file, line: line)
        for column in batch.columns {
            XCTAssertEqual(column.count, rows, file: file, line: line)
            if case .utf8(let values) = column.values {
                XCTAssertEqual(values.offsets.count, rows + 1, file: file, line: line)
                XCTAssertEqual(Int(values.offsets.last!), values.bytes.count, file: file, line: line)
                XCTAssertTrue(zip(values.offsets, values.offsets.dropFirst()).allSatisfy { $0 <= $1 }, file: file, line: line)
                XCTAssertNotNil(String(validating: values.bytes, as: UTF8.self), "decoded text is valid UTF-8", file: file, line: line)
            }
        }
    }
}
