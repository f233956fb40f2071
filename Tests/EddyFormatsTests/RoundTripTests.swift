import EddyTestSupport
import EddyEngine
import EddyFormats
import XCTest

/// Decoding what the encoders wrote gives the same rows back: a hand-picked batch of edge values, then
/// random batches from a seeded generator.
final class RoundTripTests: XCTestCase {
    func testEdgeValuesRoundTrip() throws {
        let schema = Schema([
            Field("i", .int64), Field("d", .decimal(scale: 2)), Field("big", .decimal(scale: 18)), Field("f", .float64),
            Field("s", .utf8), Field("t", .timestamp), Field("b", .bool),
        ])
        let strings = ["", " leading space", "comma, \"quote\" \\ back", "line\nbreak\r\nand\rcr", "\u{0}\u{1F}\u{7F}",
                       "é€😀\u{2028}", "null", "true", "12.50"]
        let doubles: [Double] = [0, -0.0, 0.1, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -123456.789, 1e23, 9007199254740994,
                                 .leastNormalMagnitude, 3.141592653589793]
        let timestamps: [Int64] = [0, -1, 1_795_321_107_123, millis(0, 1, 1), millis(9999, 12, 31, 23, 59, 59, 999),
                                   millis(10000, 1, 1), millis(-1, 1, 1), .max, .min]
        var rows: [[Value]] = []
        for index in 0..<max(strings.count, doubles.count, timestamps.count) {
            rows.append([
                .int64([Int64.max, .min, 0, -1][index % 4]),
                .decimal([999_999_999_999_999_999, -999_999_999_999_999_999, 5, -5, 0][index % 5], scale: 2),
                .decimal([123_456_789_012_345_678, -1][index % 2], scale: 18),
                .float64(doubles[index % doubles.count]),
                .string(strings[index % strings.count]),
                .timestamp(timestamps[index % timestamps.count]),
                .bool(index % 2 == 0),
            ])
        }
        rows.append(Array(repeating: .null, count: schema.count))
        let batch = RecordBatch(schema: schema, rows: rows)
        assertSameRows(try jsonRoundTrip(batch, options: EncodeOptions()), batch, "JSON")
        assertSameRows(try jsonRoundTrip(batch, options: EncodeOptions(timestampFormat: .epochMilliseconds)), batch, "JSON epoch")
        assertSameRows(try csvRoundTrip(batch, options: EncodeOptions()), batch, "CSV")
        assertSameRows(try csvRoundTrip(batch, options: EncodeOptions(timestampFormat: .epochMilliseconds, delimiter: UInt8(ascii: "\t"),
                                                                      lineEnding: .crlf)), batch, "CSV epoch tabs")
    }

    func testRandomBatchesRoundTrip() throws {
        let seed = testSeed("round trip", default: 20_261_122)
        var random = SeededRandom(seed: seed)
        for iteration in 0..<60 {
            let schema = randomSchema(&random)
            let rowCount = Int.random(in: 0...60, using: &random)
            let jsonRows = (0..<rowCount).map { _ in schema.fields.map { randomValue($0, finiteDoubles: true, &random) } }
            let csvRows = (0..<rowCount).map { _ in schema.fields.map { randomValue($0, finiteDoubles: false, &random) } }
            let context = "seed \(seed) iteration \(iteration) schema \(schema)"
            let jsonBatch = RecordBatch(schema: schema, rows: jsonRows)
            let timestampFormat: EncodeOptions.TimestampFormat = Bool.random(using: &random) ? .iso8601 : .epochMilliseconds
            assertSameRows(try jsonRoundTrip(jsonBatch, options: EncodeOptions(timestampFormat: timestampFormat)), jsonBatch,
                           "JSON \(context)")
            let csvBatch = RecordBatch(schema: schema, rows: csvRows)
            let delimiter = [",", ";", "\t", "|"].randomElement(using: &random)!.utf8.first!
            let options = EncodeOptions(timestampFormat: timestampFormat, includeHeader: Bool.random(using: &random),
                                        delimiter: delimiter, lineEnding: Bool.random(using: &random) ? .lf : .crlf)
            assertSameRows(try csvRoundTrip(csvBatch, options: options), csvBatch, "CSV \(context)")
        }
    }

    // MARK: Helpers

    func jsonRoundTrip(_ batch: RecordBatch, options: EncodeOptions) throws -> RecordBatch {
        var bytes: [UInt8] = []
        JSONLinesEncoder(options: options).encode(batch, into: &bytes)
        var decoder = try JSONRowDecoder(schema: batch.schema)
        let (rows, failures) = decoder.lines(bytes: bytes)
        XCTAssertEqual(failures, [], String(decoding: bytes, as: UTF8.self))
        XCTAssertEqual(rows, batch.count)
        return decoder.finish()
    }

    func csvRoundTrip(_ batch: RecordBatch, options: EncodeOptions) throws -> RecordBatch {
        var bytes: [UInt8] = []
        CSVEncoder(options: options).encode(batch, into: &bytes)
        var decoder = try CSVRowDecoder(
            schema: batch.schema, options: CSVDecodeOptions(delimiter: options.delimiter, hasHeader: options.includeHeader))
        let (rows, failures) = try decoder.lines(bytes: bytes)
        XCTAssertEqual(failures, [], String(decoding: bytes, as: UTF8.self))
        XCTAssertEqual(rows, batch.count)
        return decoder.finish()
    }

    func randomSchema(_ random: inout SeededRandom) -> Schema {
        let count = Int.random(in: 1...7, using: &random)
        return Schema((0..<count).map { index in
            let name = Int.random(in: 0..<4, using: &random) == 0 ? "g\(Int.random(in: 0..<2, using: &random)).f\(index)" : "c\(index)"
            let type: DataType = switch Int.random(in: 0..<7, using: &random) {
            case 0: .bool
            case 1: .int64
            case 2: .float64
            case 3: .utf8
            case 4: .timestamp
            case 5: .date
            default: .decimal(scale: Int.random(in: 0...18, using: &random))
            }
            return Field(name, type, nullable: Bool.random(using: &random))
        })
    }

    func randomValue(_ field: Field, finiteDoubles: Bool, _ random: inout SeededRandom) -> Value {
        if field.nullable && Int.random(in: 0..<5, using: &random) == 0 { return .null }
        switch field.type {
        case .bool:
            return .bool(Bool.random(using: &random))
        case .int64:
            return .int64(Bool.random(using: &random) ? Int64(bitPattern: random.next()) : Int64.random(in: -1000...1000, using: &random))
        case .decimal(let scale):
            let limit: Int64 = 999_999_999_999_999_999
            let magnitude = Bool.random(using: &random) ? limit : Int64.random(in: 0...100_000, using: &random)
            return .decimal(Int64.random(in: -magnitude...magnitude, using: &random), scale: scale)
        case .float64:
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                var value = Double(bitPattern: random.next())
                while finiteDoubles && !value.isFinite { value = Double(bitPattern: random.next()) }
                return .float64(value)
            case 1: return .float64(Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 100)
            case 2: return .float64(Double.random(in: -1...1, using: &random))
            default: return .float64([0.0, -0.0, .leastNonzeroMagnitude, 1e308, 0.1, finiteDoubles ? 1 : .nan, finiteDoubles ? 2 : -.infinity]
                .randomElement(using: &random)!)
            }
        case .timestamp:
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return .timestamp(Int64(bitPattern: random.next()))
            case 1: return .timestamp(Int64.random(in: -62_167_219_200_000...253_402_300_799_999, using: &random))
            default: return .timestamp(1_795_321_107_123 + Int64.random(in: -1_000_000...1_000_000, using: &random))
            }
        case .date:
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return .date(Int64.random(in: -maxDateMagnitudeDays...maxDateMagnitudeDays, using: &random))
            case 1: return .date(Int64.random(in: -719_528...2_932_896, using: &random))  // years 0 to 9999
            default: return .date(20_000 + Int64.random(in: -1000...1000, using: &random))
            }
        case .utf8:
            let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", ",", ";", "|", "\t", "\"", "\\", "/", "\n", "\r", "\u{0}", "\u{1F}",
                                          "é", "€", "😀", "\u{2028}", "\u{FEFF}", "{", "}", "[", "]", ":"]
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                if Int.random(in: 0..<4, using: &random) == 0 {
                    let value = UInt32.random(in: 0x20...0x10FFFF, using: &random)
                    scalars.append(Unicode.Scalar(value) ?? "?")
                } else {
                    scalars.append(pool.randomElement(using: &random)!)
                }
            }
            return .string(String(scalars))
        }
    }
}
