@testable import EddyEngine
import XCTest

/// Table-style helpers for expression tests: a small batch, an expression, the expected values.
extension XCTestCase {
    /// Evaluates `expr` over `batch` and checks every row against `expected` (and the result type when
    /// given). BOOLEAN expressions are also checked through `evaluatePredicate` (TRUE set, FALSE/NULL clear).
    func assertEval(
        _ expr: Expr, over batch: RecordBatch, _ expected: [Value], type: DataType? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let bound = try expr.bind(to: batch.schema)
            if let type { XCTAssertEqual(bound.type, type, "type of \(expr)", file: file, line: line) }
            let column = try bound.evaluate(batch)
            XCTAssertEqual(column.type, bound.type, "column type of \(expr)", file: file, line: line)
            XCTAssertEqual(column.count, batch.count, "row count of \(expr)", file: file, line: line)
            let actual = (0..<column.count).map { column.value(at: $0) }
            XCTAssertEqual(actual, expected, "\(expr)", file: file, line: line)
            if !bound.nullable {
                XCTAssertFalse(actual.contains(.null), "\(expr) is declared NOT NULL but produced NULL", file: file, line: line)
            }
            if bound.type == .bool {
                let mask = try bound.evaluatePredicate(batch)
                XCTAssertEqual((0..<mask.count).map { mask[$0] }, expected.map { $0 == .bool(true) }, "predicate \(expr)", file: file, line: line)
            }
        } catch {
            XCTFail("\(expr): \(error)", file: file, line: line)
        }
    }

    /// Checks a column-free expression (it folds at bind time) against one value, also evaluated over a
    /// three-row batch so the broadcast path is covered.
    func assertConstant(_ expr: Expr, _ expected: Value, type: DataType? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let batch = RecordBatch(schema: Schema([Field("unused", .int64)]), rows: [[.int64(1)], [.int64(2)], [.null]])
        assertEval(expr, over: batch, Array(repeating: expected, count: 3), type: type, file: file, line: line)
    }

    /// Checks that binding fails with a `.plan` error containing `message`.
    func assertPlanError(_ expr: Expr, _ schema: Schema, contains message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let bound = try expr.bind(to: schema)
            XCTFail("\(expr) bound to \(bound.type), expected a plan error", file: file, line: line)
        } catch {
            XCTAssertEqual(error.kind, .plan, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(message), "\"\(error.message)\" does not contain \"\(message)\"", file: file, line: line)
        }
    }

    /// Checks that evaluation fails with an `.execution` error containing `message`.
    func assertExecutionError(
        _ expr: Expr, over batch: RecordBatch, contains message: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let column = try expr.bind(to: batch.schema).evaluate(batch)
            XCTFail("\(expr) gave \((0..<column.count).map { column.value(at: $0) }), expected an error", file: file, line: line)
        } catch {
            XCTAssertEqual(error.kind, .execution, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(message), "\"\(error.message)\" does not contain \"\(message)\"", file: file, line: line)
        }
    }
}

/// A one-column batch.
func batch(_ name: String, _ type: DataType, _ values: [Value]) -> RecordBatch {
    RecordBatch(schema: Schema([Field(name, type)]), rows: values.map { [$0] })
}

/// A two-column batch from pairs.
func batch(_ a: (String, DataType), _ b: (String, DataType), _ rows: [(Value, Value)]) -> RecordBatch {
    RecordBatch(schema: Schema([Field(a.0, a.1), Field(b.0, b.1)]), rows: rows.map { [$0.0, $0.1] })
}

/// Shorthands for expected values.
let N = Value.null
func I(_ v: Int64) -> Value { .int64(v) }
func F(_ v: Double) -> Value { .float64(v) }
func S(_ v: String) -> Value { .string(v) }
func B(_ v: Bool) -> Value { .bool(v) }
func D(_ text: String) -> Value { .decimal(text) }
/// A timestamp from ISO-8601 text (test input, so a bad literal is a test bug).
func T(_ text: String) -> Value {
    var text = text
    let millis = text.withUTF8 { try? TextParsing.timestamp($0) }
    guard let millis else { preconditionFailure("bad test timestamp \(text)") }
    return .timestamp(millis)
}
