import EddyEngine
import EddyTestSupport
import XCTest

/// Helpers that keep the aggregation tests readable as tables: times written as "hh:mm:ss" on
/// 1970-01-01, batches from rows of values, results rendered one row per line.

/// "mm:ss", "hh:mm:ss" or "hh:mm:ss.SSS" (a leading "-" for times before the epoch) → milliseconds.
func ms(_ text: String) -> Int64 {
    let negative = text.hasPrefix("-")
    let body = negative ? String(text.dropFirst()) : text
    let parts = body.split(separator: ".")
    let fields = parts[0].split(separator: ":").map { Int64($0)! }
    var seconds: Int64 = 0
    for field in fields { seconds = seconds * 60 + field }
    let millis = seconds * 1000 + (parts.count > 1 ? Int64(parts[1])! : 0)
    return negative ? -millis : millis
}

func ts(_ text: String) -> Value { .timestamp(ms(text)) }

func dec(_ text: String) -> Value { Value.decimal(text) }

/// The purchases of the examples: event time, category, amount (cents), user.
let purchases = Schema([
    Field("time", .timestamp), Field("category", .utf8), Field("amount", .decimal(scale: 2)), Field("user", .int64),
])

func purchase(_ time: String, _ category: String?, _ amount: String?, user: Int64? = 1) -> [Value] {
    [ts(time), category.map { .string($0) } ?? .null, amount.map(dec) ?? .null, user.map { .int64($0) } ?? .null]
}

/// One line per row, cells joined by " | "; timestamps on 1970-01-01 as hh:mm:ss (with .SSS when not
/// whole seconds).
func render(_ batch: RecordBatch) -> String {
    batch.rows.map { row in
        row.map { value -> String in
            if case .timestamp(let millis) = value { return clock(millis) }
            return value.description
        }.joined(separator: " | ")
    }.joined(separator: "\n")
}

func clock(_ millis: Int64) -> String {
    let sign = millis < 0 ? "-" : ""
    let magnitude = millis.magnitude
    let seconds = magnitude / 1000, fraction = magnitude % 1000
    func pad(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let text = "\(sign)\(pad(seconds / 3600)):\(pad(seconds / 60 % 60)):\(pad(seconds % 60))"
    return fraction == 0 ? text : text + "." + String(String(fraction + 1000).dropFirst())
}

extension WindowAggregateOperator {
    /// `process` then `emit` at the same watermark, rendered.
    mutating func run(_ rows: [[Value]], watermark: String?, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let mark = watermark.map(ms) ?? Int64.min
        try process(RecordBatch(schema: inputSchema, rows: rows), watermarkMs: mark)
        return render(try emit(watermarkMs: mark))
    }
}

/// The error a throwing expression threw, for asserting kinds and messages.
func engineError(_ body: () throws -> Void) -> EngineError? {
    do {
        try body()
        return nil
    } catch let error as EngineError {
        return error
    } catch {
        XCTFail("unexpected error \(error)")
        return nil
    }
}

/// Incremental checkpoints as the runtime takes them, at random: a whole snapshot (1 time in 6) or a
/// delta; after each, the newest snapshot and the deltas after it must rebuild the operator's state
/// byte for byte, and half the time the operator carries on as the rebuilt one (as after a restore).
struct RandomCheckpoints {
    var base: [UInt8]
    var deltas: [[UInt8]] = []

    init(_ op: WindowAggregateOperator) {
        base = op.snapshot()
    }

    mutating func take(
        _ op: inout WindowAggregateOperator, _ random: inout SeededRandom, restore: ([UInt8]) throws -> WindowAggregateOperator,
        _ message: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        if Int.random(in: 0..<6, using: &random) == 0 {
            base = op.snapshot()
            op.forgetChanges()
            deltas = []
        } else {
            deltas.append(op.checkpointDelta())
        }
        var rebuilt = try restore(base)
        for delta in deltas { try rebuilt.applyDelta(delta) }
        XCTAssertEqual(rebuilt.snapshot(), op.snapshot(), "\(message()), \(deltas.count) deltas", file: file, line: line)
        if Bool.random(using: &random) { op = rebuilt }
    }
}
