@testable import EddyEngine
import XCTest

final class ExprComparisonTests: XCTestCase {
    func testBigintComparisons() {
        let values = batch(("a", .int64), ("b", .int64), [(I(1), I(2)), (I(2), I(2)), (I(3), I(2)), (N, I(1)), (I(1), N)])
        assertEval(col("a") .== col("b"), over: values, [B(false), B(true), B(false), N, N])
        assertEval(col("a") .!= col("b"), over: values, [B(true), B(false), B(true), N, N])
        assertEval(col("a") < col("b"), over: values, [B(true), B(false), B(false), N, N])
        assertEval(col("a") <= col("b"), over: values, [B(true), B(true), B(false), N, N])
        assertEval(col("a") > col("b"), over: values, [B(false), B(false), B(true), N, N])
        assertEval(col("a") >= col("b"), over: values, [B(false), B(true), B(true), N, N])
        // A scalar on the left is flipped onto the right.
        assertEval(lit(2) < col("a"), over: values, [B(false), B(false), B(true), N, B(false)])
        assertEval(lit(2) >= col("a"), over: values, [B(true), B(true), B(false), N, B(true)])
        assertEval(col("a") .== Expr.null, over: values, [N, N, N, N, N])
    }

    func testDecimalAndBigintCompareExactly() {
        let values = RecordBatch(
            schema: Schema([Field("i", .int64), Field("d", .decimal(scale: 2)), Field("e", .decimal(scale: 4))]),
            rows: [[I(1), D("1.00"), D("1.0000")], [I(2), D("1.50"), D("1.5001")], [I(-1), D("-0.99"), D("-0.9900")], [N, N, N]])
        assertEval(col("i") .== col("d"), over: values, [B(true), B(false), B(false), N])
        assertEval(col("d") < col("e"), over: values, [B(false), B(true), B(false), N])
        assertEval(col("d") .== col("e"), over: values, [B(true), B(false), B(true), N])
        assertEval(col("e") > col("i"), over: values, [B(false), B(false), B(true), N])
        // Column vs a constant of a larger scale: the bound is rounded the way that keeps it exact.
        assertEval(col("i") < lit(decimal: "1.5"), over: values, [B(true), B(false), B(true), N])
        assertEval(col("i") <= lit(decimal: "1.5"), over: values, [B(true), B(false), B(true), N])
        assertEval(col("i") > lit(decimal: "1.5"), over: values, [B(false), B(true), B(false), N])
        assertEval(col("i") >= lit(decimal: "-1.5"), over: values, [B(true), B(true), B(true), N])
        assertEval(col("i") .== lit(decimal: "1.5"), over: values, [B(false), B(false), B(false), N])
        assertEval(col("i") .!= lit(decimal: "1.5"), over: values, [B(true), B(true), B(true), N])
        assertEval(col("i") .== lit(decimal: "2.000"), over: values, [B(false), B(true), B(false), N])
        assertEval(col("d") >= lit(1), over: values, [B(true), B(true), B(false), N])
        // A constant too large to rescale is above (or below) every value.
        assertEval(col("e") < lit(Int64.max), over: values, [B(true), B(true), B(true), N])
        assertEval(col("e") > lit(Int64.min), over: values, [B(true), B(true), B(true), N])
        // Two columns whose widening overflows still compare by sign.
        let extreme = RecordBatch(
            schema: Schema([Field("i", .int64), Field("e", .decimal(scale: 4))]),
            rows: [[I(Int64.max), D("1.0000")], [I(Int64.min), D("1.0000")]])
        assertEval(col("i") > col("e"), over: extreme, [B(true), B(false)])
        assertEval(col("e") > col("i"), over: extreme, [B(false), B(true)])
    }

    func testDoublesIncludingNaN() {
        let values = batch(("f", .float64), ("g", .float64), [
            (F(1.5), F(2)), (F(.nan), F(.nan)), (F(.nan), F(.infinity)), (F(-0.0), F(0)), (F(1), N),
        ])
        assertEval(col("f") .== col("g"), over: values, [B(false), B(true), B(false), B(true), N])
        assertEval(col("f") > col("g"), over: values, [B(false), B(false), B(true), B(false), N])
        assertEval(col("f") <= col("g"), over: values, [B(true), B(true), B(false), B(true), N])
        assertEval(col("f") < lit(2), over: values, [B(true), B(false), B(false), B(true), B(true)])
        assertEval(col("f") >= lit(Double.infinity), over: values, [B(false), B(true), B(true), B(false), B(false)])
        // BIGINT against DOUBLE compares as DOUBLE.
        let mixed = batch(("i", .int64), ("f", .float64), [(I(2), F(2.0)), (I(2), F(2.5))])
        assertEval(col("i") .== col("f"), over: mixed, [B(true), B(false)])
        assertEval(col("i") < lit(2.5), over: mixed, [B(true), B(true)])
    }

    func testTextBooleanTimestamp() {
        let text = batch(("s", .utf8), ("t", .utf8), [(S("abc"), S("abd")), (S("ab"), S("abc")), (S("é"), S("z")), (S(""), S("")), (N, S("x"))])
        assertEval(col("s") < col("t"), over: text, [B(true), B(true), B(false), B(false), N])
        assertEval(col("s") .== col("t"), over: text, [B(false), B(false), B(false), B(true), N])
        assertEval(col("s") >= lit("ab"), over: text, [B(true), B(true), B(true), B(false), N])
        assertEval(col("s") .== lit("abc"), over: text, [B(true), B(false), B(false), B(false), N])
        // Long strings compare word by word.
        let long = batch(("s", .utf8), ("t", .utf8), [(S("abcdefghijklmnopq"), S("abcdefghijklmnopr")), (S("abcdefghij"), S("abcdefghij"))])
        assertEval(col("s") < col("t"), over: long, [B(true), B(false)])
        assertEval(col("s") .== col("t"), over: long, [B(false), B(true)])

        let bools = batch(("a", .bool), ("b", .bool), [(B(false), B(true)), (B(true), B(true)), (B(true), B(false)), (N, B(true))])
        assertEval(col("a") < col("b"), over: bools, [B(true), B(false), B(false), N])
        assertEval(col("a") .== col("b"), over: bools, [B(false), B(true), B(false), N])
        assertEval(col("a") .!= lit(true), over: bools, [B(true), B(false), B(false), N])
        assertEval(col("a") >= col("b"), over: bools, [B(false), B(true), B(true), N])

        let times = batch("ts", .timestamp, [T("2025-12-31T23:59:59.999Z"), T("2026-01-01T00:00:00Z"), N])
        // A TEXT constant is read as a TIMESTAMP once, at bind time.
        assertEval(col("ts") >= lit("2026-01-01"), over: times, [B(false), B(true), N])
        assertEval(lit("2026-01-01T01:00:00+01:00") .== col("ts"), over: times, [B(false), B(true), N])
        assertEval(col("ts").between(lit("2025-12-31"), lit("2026-01-01")), over: times, [B(true), B(true), N])
        assertPlanError(col("ts") > lit("yesterday"), times.schema, contains: "cannot read 'yesterday' as a TIMESTAMP")
    }

    func testIncomparableTypes() {
        let schema = Schema([Field("s", .utf8), Field("n", .int64), Field("b", .bool), Field("ts", .timestamp)])
        assertPlanError(col("s") .== col("n"), schema, contains: "cannot compare TEXT with BIGINT in s = n")
        assertPlanError(col("s") .== lit(1), schema, contains: "cannot compare TEXT with BIGINT")
        assertPlanError(col("b") < lit(1), schema, contains: "cannot compare BOOLEAN with BIGINT")
        assertPlanError(col("ts") .== col("n"), schema, contains: "cannot compare TIMESTAMP with BIGINT")
        assertPlanError(col("ts") .== col("s"), schema, contains: "cannot compare TIMESTAMP with TEXT in ts = s; CAST")
    }
}
