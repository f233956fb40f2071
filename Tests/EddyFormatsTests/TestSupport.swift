import EddyEngine
import EddyFormats
import XCTest

/// Shared helpers: decoding strings, building expected values, comparing batches.

extension JSONRowDecoder {
    mutating func append(_ text: String) -> DecodeFailure? {
        append(bytes: Array(text.utf8))
    }

    mutating func append(bytes: [UInt8]) -> DecodeFailure? {
        bytes.withUnsafeBytes { appendRecord($0) }
    }

    /// Decodes `text` as JSON lines; returns rows appended and the failures.
    mutating func lines(_ text: String, firstLineNumber: Int = 1) -> (rows: Int, failures: [DecodeFailure]) {
        lines(bytes: Array(text.utf8), firstLineNumber: firstLineNumber)
    }

    mutating func lines(bytes: [UInt8], firstLineNumber: Int = 1) -> (rows: Int, failures: [DecodeFailure]) {
        var failures: [DecodeFailure] = []
        let rows = bytes.withUnsafeBytes { appendLines($0, firstLineNumber: firstLineNumber, failures: &failures) }
        return (rows, failures)
    }
}

extension CSVRowDecoder {
    mutating func lines(_ text: String, firstLineNumber: Int = 1) throws -> (rows: Int, failures: [DecodeFailure]) {
        try lines(bytes: Array(text.utf8), firstLineNumber: firstLineNumber)
    }

    mutating func lines(bytes: [UInt8], firstLineNumber: Int = 1) throws -> (rows: Int, failures: [DecodeFailure]) {
        var failures: [DecodeFailure] = []
        let rows = try bytes.withUnsafeBytes { buffer throws(EngineError) -> Int in
            try appendLines(buffer, firstLineNumber: firstLineNumber, failures: &failures)
        }
        return (rows, failures)
    }
}

/// The outcome of decoding `{"v": <json>}` into one field of `type`.
enum Decoded: Equatable, CustomStringConvertible {
    case value(Value)
    case failure(DecodeFailure.Code, String)

    var description: String {
        switch self {
        case .value(let value): "value \(value)"
        case .failure(let code, let reason): "\(code): \(reason)"
        }
    }

    var failureCode: DecodeFailure.Code? {
        if case .failure(let code, _) = self { return code }
        return nil
    }

    var reason: String? {
        if case .failure(_, let reason) = self { return reason }
        return nil
    }
}

func decodeJSONValue(
    _ type: DataType, _ json: String, nullable: Bool = true, options: JSONDecodeOptions = .init()
) throws -> Decoded {
    var decoder = try JSONRowDecoder(schema: Schema([Field("v", type, nullable: nullable)]), options: options)
    if let failure = decoder.append(#"{"v":"# + json + "}") {
        XCTAssertEqual(decoder.rowCount, 0)
        return .failure(failure.code, failure.reason)
    }
    let batch = decoder.finish()
    XCTAssertEqual(batch.count, 1)
    return .value(batch.row(0)[0])
}

func decodeCSVValue(_ type: DataType, _ field: String, nullable: Bool = true, options: CSVDecodeOptions = .init(hasHeader: false))
    throws -> Decoded
{
    var decoder = try CSVRowDecoder(schema: Schema([Field("v", type, nullable: nullable)]), options: options)
    let (rows, failures) = try decoder.lines(field + "\n")
    if let failure = failures.first {
        XCTAssertEqual(rows, 0)
        return .failure(failure.code, failure.reason)
    }
    let batch = decoder.finish()
    XCTAssertEqual(batch.count, 1, "field \(field)")
    return .value(batch.row(0)[0])
}

/// Epoch milliseconds of a UTC civil time.
func millis(_ year: Int64, _ month: Int64, _ day: Int64, _ hour: Int64 = 0, _ minute: Int64 = 0, _ second: Int64 = 0,
            _ ms: Int64 = 0) -> Int64 {
    daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + ms
}

/// Values equal, with doubles compared by bit pattern (so -0.0 ≠ 0.0) and NaN equal to NaN.
func sameValue(_ a: Value, _ b: Value) -> Bool {
    if case .float64(let x) = a, case .float64(let y) = b {
        return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
    }
    return a == b
}

func assertSameRows(_ actual: RecordBatch, _ expected: RecordBatch, _ message: String = "", file: StaticString = #filePath,
                    line: UInt = #line) {
    XCTAssertEqual(actual.schema, expected.schema, message, file: file, line: line)
    XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
    guard actual.count == expected.count, actual.schema == expected.schema else { return }
    for row in 0..<actual.count {
        let got = actual.row(row)
        let want = expected.row(row)
        for column in got.indices where !sameValue(got[column], want[column]) {
            XCTFail("\(message) row \(row) column \(actual.schema.fields[column].name): got \(got[column]), want \(want[column])",
                    file: file, line: line)
            return
        }
    }
}


/// The seed for randomised tests: `EDDY_SEED` if set, else `defaultSeed`; printed so a failure
/// can be replayed.
func testSeed(_ name: String, default defaultSeed: UInt64) -> UInt64 {
    var seed = defaultSeed
    if let text = ProcessInfo.processInfo.environment["EDDY_SEED"], let value = UInt64(text) { seed = value }
    print("\(name) seed: \(seed) (replay with EDDY_SEED=\(seed))")
    return seed
}
