@testable import EddyEngine
import XCTest

final class ExprCastTests: XCTestCase {
    func testToText() {
        let values = RecordBatch(
            schema: Schema([
                Field("i", .int64), Field("d", .decimal(scale: 2)), Field("f", .float64), Field("t", .timestamp), Field("b", .bool),
            ]),
            rows: [
                [I(-42), D("-0.05"), F(0.1), .timestamp(1_795_321_107_123), B(true)],
                [I(Int64.min), D("12.50"), F(100), .timestamp(-1), B(false)],
                [I(0), D("7.00"), F(1e-5), .timestamp(0), N],
                [N, N, F(.infinity), N, N],
            ])
        assertEval(col("i").cast(to: .utf8), over: values, [S("-42"), S("-9223372036854775808"), S("0"), N], type: .utf8)
        assertEval(col("d").cast(to: .utf8), over: values, [S("-0.05"), S("12.50"), S("7.00"), N])
        assertEval(col("f").cast(to: .utf8), over: values, [S("0.1"), S("100.0"), S("1e-05"), S("inf")])
        assertEval(col("t").cast(to: .utf8), over: values, [S("2026-11-22T04:18:27.123Z"), S("1969-12-31T23:59:59.999Z"), S("1970-01-01T00:00:00.000Z"), N])
        assertEval(col("b").cast(to: .utf8), over: values, [S("true"), S("false"), N, N])
    }

    func testFromText() {
        let text = batch("s", .utf8, [S(" 42 "), S("-9223372036854775808"), S("+7"), N])
        assertEval(col("s").cast(to: .int64), over: text, [I(42), I(Int64.min), I(7), N], type: .int64)
        assertEval(col("s").cast(to: .float64), over: text, [F(42), F(-9.223372036854775808e18), F(7), N])
        assertEval(col("s").cast(to: .decimal(scale: 1)), over: batch("s", .utf8, [S("1.25"), S("-1.25"), S(".5"), S("3"), S("1.24999")]),
                   [D("1.3"), D("-1.3"), D("0.5"), D("3.0"), D("1.2")])
        assertEval(col("s").cast(to: .bool), over: batch("s", .utf8, [S("true"), S("F"), S("yes"), S("0"), S(" On ")]),
                   [B(true), B(false), B(true), B(false), B(true)])
        assertEval(col("s").cast(to: .timestamp), over: batch("s", .utf8, [
            S("2026-11-22T04:18:27.123Z"), S("2026-11-22 04:18:27"), S("2026-11-22"), S("2026-11-22T05:18:27.123456+01:00"),
            S("1969-12-31T23:59:59.999Z"), S("2024-02-29T12:00Z"),
        ]), [
            .timestamp(1_795_321_107_123), .timestamp(1_795_321_107_000), .timestamp(1_795_305_600_000),
            .timestamp(1_795_321_107_123), .timestamp(-1), T("2024-02-29T12:00:00Z"),
        ])
    }

    func testFailedConversionsNameTheValue() {
        assertExecutionError(col("s").cast(to: .int64), over: batch("s", .utf8, [S("12"), S("12x")]), contains: "cannot cast '12x' to BIGINT")
        assertExecutionError(col("s").cast(to: .int64), over: batch("s", .utf8, [S("9223372036854775808")]), contains: "cannot cast '9223372036854775808' to BIGINT: out of range")
        assertExecutionError(col("s").cast(to: .float64), over: batch("s", .utf8, [S("one")]), contains: "cannot cast 'one' to DOUBLE")
        assertExecutionError(col("s").cast(to: .timestamp), over: batch("s", .utf8, [S("2026-02-30")]), contains: "cannot cast '2026-02-30' to TIMESTAMP: out of range")
        assertExecutionError(col("s").cast(to: .timestamp), over: batch("s", .utf8, [S("22/11/2026")]), contains: "cannot cast '22/11/2026' to TIMESTAMP")
        assertExecutionError(col("s").cast(to: .decimal(scale: 2)), over: batch("s", .utf8, [S("1.2.3")]), contains: "cannot cast '1.2.3' to DECIMAL(18,2)")
        assertExecutionError(col("s").cast(to: .bool), over: batch("s", .utf8, [S("maybe")]), contains: "cannot cast 'maybe' to BOOLEAN")
        assertExecutionError(col("f").cast(to: .int64), over: batch("f", .float64, [F(1e19)]), contains: "cannot cast 1e+19 to BIGINT: out of range")
        assertExecutionError(col("f").cast(to: .int64), over: batch("f", .float64, [F(.nan)]), contains: "cannot cast nan to BIGINT")
        assertExecutionError(col("i").cast(to: .decimal(scale: 2)), over: batch("i", .int64, [I(Int64.max / 10)]), contains: "to DECIMAL(18,2): out of range")
    }

    func testTryCastGivesNull() {
        let text = batch("s", .utf8, [S("12"), S("x"), N, S("99999999999999999999")])
        assertEval(col("s").tryCast(to: .int64), over: text, [I(12), N, N, N])
        assertEval(col("s").tryCast(to: .timestamp), over: text, [N, N, N, N])
        assertEval(col("f").tryCast(to: .int64), over: batch("f", .float64, [F(2.5), F(.infinity)]), [I(2), N])
        XCTAssertTrue(try col("i").tryCast(to: .utf8).bind(to: Schema([Field("i", .int64, nullable: false)])).nullable)
    }

    func testNumericConversions() {
        let doubles = batch("f", .float64, [F(2.5), F(3.5), F(-2.5), F(-0.4), F(1.005), N])
        // DOUBLE → BIGINT rounds half to even; DOUBLE → DECIMAL half away from zero.
        assertEval(col("f").cast(to: .int64), over: doubles, [I(2), I(4), I(-2), I(0), I(1), N])
        assertEval(col("f").cast(to: .decimal(scale: 0)), over: doubles, [D("3"), D("4"), D("-3"), D("0"), D("1"), N])
        assertEval(col("f").cast(to: .decimal(scale: 2)), over: doubles, [D("2.50"), D("3.50"), D("-2.50"), D("-0.40"), D("1.00"), N])
        let decimals = batch("d", .decimal(scale: 2), [D("2.50"), D("-2.50"), D("2.49"), D("-0.01"), N])
        assertEval(col("d").cast(to: .int64), over: decimals, [I(3), I(-3), I(2), I(0), N])
        assertEval(col("d").cast(to: .decimal(scale: 1)), over: decimals, [D("2.5"), D("-2.5"), D("2.5"), D("0.0"), N])
        assertEval(col("d").cast(to: .decimal(scale: 4)), over: decimals, [D("2.5000"), D("-2.5000"), D("2.4900"), D("-0.0100"), N])
        assertEval(col("d").cast(to: .float64), over: decimals, [F(2.5), F(-2.5), F(2.49), F(-0.01), N])
        let ints = batch("i", .int64, [I(3), I(0), I(-1), N])
        assertEval(col("i").cast(to: .float64), over: ints, [F(3), F(0), F(-1), N])
        assertEval(col("i").cast(to: .decimal(scale: 2)), over: ints, [D("3.00"), D("0.00"), D("-1.00"), N])
        assertEval(col("i").cast(to: .bool), over: ints, [B(true), B(false), B(true), N])
        assertEval(col("b").cast(to: .int64), over: batch("b", .bool, [B(true), B(false), N]), [I(1), I(0), N])
        // BIGINT ↔ TIMESTAMP are epoch milliseconds.
        assertEval(col("i").cast(to: .timestamp), over: ints, [.timestamp(3), .timestamp(0), .timestamp(-1), N])
        assertEval(col("t").cast(to: .int64), over: batch("t", .timestamp, [.timestamp(5)]), [I(5)])
    }

    func testImpossibleCastsArePlanErrors() {
        let schema = Schema([Field("f", .float64), Field("b", .bool), Field("t", .timestamp)])
        assertPlanError(col("f").cast(to: .bool), schema, contains: "cannot cast DOUBLE to BOOLEAN")
        assertPlanError(col("b").cast(to: .float64), schema, contains: "cannot cast BOOLEAN to DOUBLE")
        assertPlanError(col("t").cast(to: .float64), schema, contains: "cannot cast TIMESTAMP to DOUBLE")
        assertPlanError(col("f").cast(to: .decimal(scale: 19)), schema, contains: "DECIMAL scale 19 is outside 0 to 18")
    }

    func testConstantCasts() {
        assertConstant(lit("12.5").cast(to: .decimal(scale: 2)), D("12.50"))
        assertConstant(Expr.null.cast(to: .int64), N, type: .int64)
        assertConstant(lit(true).cast(to: .utf8), S("true"))
        assertConstant(lit("x").tryCast(to: .int64), N)
    }
}
