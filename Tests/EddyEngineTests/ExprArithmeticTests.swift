@testable import EddyEngine
import XCTest

final class ExprArithmeticTests: XCTestCase {
    let ints = RecordBatch(
        schema: Schema([Field("a", .int64), Field("b", .int64)]),
        rows: [[I(7), I(2)], [I(-7), I(2)], [I(7), I(-2)], [I(5), I(0)], [N, I(3)], [I(4), N]])

    func testBigintOperators() {
        assertEval(col("a") + col("b"), over: ints, [I(9), I(-5), I(5), I(5), N, N], type: .int64)
        assertEval(col("a") - col("b"), over: ints, [I(5), I(-9), I(9), I(5), N, N], type: .int64)
        assertEval(col("a") * col("b"), over: ints, [I(14), I(-14), I(-14), I(0), N, N], type: .int64)
        // `/` between integers is DOUBLE division; division by zero is NULL.
        assertEval(col("a") / col("b"), over: ints, [F(3.5), F(-3.5), F(-3.5), N, N, N], type: .float64)
        // `%` takes the dividend's sign; modulo by zero is NULL.
        assertEval(col("a") % col("b"), over: ints, [I(1), I(-1), I(1), N, N, N], type: .int64)
    }

    func testScalarOnEitherSide() {
        assertEval(col("a") - lit(1), over: ints, [I(6), I(-8), I(6), I(4), N, I(3)])
        assertEval(lit(1) - col("a"), over: ints, [I(-6), I(8), I(-6), I(-4), N, I(-3)])
        assertEval(lit(100) % col("b"), over: ints, [I(0), I(0), I(0), N, I(1), N])
        assertEval(col("a") % lit(0), over: ints, [N, N, N, N, N, N])
        assertEval(col("a") / lit(0), over: ints, [N, N, N, N, N, N])
        assertEval(lit(10) / col("b"), over: ints, [F(5), F(5), F(-5), N, F(10.0 / 3.0), N])
        assertEval(col("a") + Expr.null, over: ints, [N, N, N, N, N, N], type: .int64)
        assertEval(Expr.null * col("a"), over: ints, [N, N, N, N, N, N], type: .int64)
    }

    func testOverflowIsAnErrorNamingTheExpression() {
        let big = batch("x", .int64, [I(Int64.max), I(1)])
        assertExecutionError(col("x") + lit(1), over: big, contains: "BIGINT overflow in x + 1: 9223372036854775807 + 1")
        assertExecutionError(col("x") * lit(2), over: big, contains: "BIGINT overflow in x * 2")
        assertExecutionError(lit(-2) - col("x"), over: big, contains: "overflow in -2 - x")
        let small = batch("x", .int64, [I(Int64.min)])
        assertExecutionError(-col("x"), over: small, contains: "BIGINT overflow in -x")
        assertExecutionError(Expr.abs(col("x")), over: small, contains: "BIGINT overflow in abs(x)")
        // Int64.min % -1 is 0, not a trap.
        assertEval(col("x") % lit(-1), over: small, [I(0)])
        // An overflowing value in a NULL row does not count.
        let nullRow = RecordBatch(schema: Schema([Field("x", .int64), Field("y", .int64)]), rows: [[I(Int64.max), N], [I(1), I(1)]])
        assertEval(col("x") + col("y"), over: nullRow, [N, I(2)])
        assertEval(col("x") * col("y") * lit(1), over: nullRow, [N, I(1)])
    }

    func testUnaryMinusAndAbs() {
        let values = RecordBatch(
            schema: Schema([Field("i", .int64), Field("f", .float64), Field("d", .decimal(scale: 2))]),
            rows: [[I(3), F(-1.5), D("-2.50")], [I(-4), F(2), D("0.01")], [N, N, N]])
        assertEval(-col("i"), over: values, [I(-3), I(4), N], type: .int64)
        assertEval(-col("f"), over: values, [F(1.5), F(-2), N], type: .float64)
        assertEval(-col("d"), over: values, [D("2.50"), D("-0.01"), N], type: .decimal(scale: 2))
        assertEval(Expr.abs(col("i")), over: values, [I(3), I(4), N])
        assertEval(Expr.abs(col("f")), over: values, [F(1.5), F(2), N])
        assertEval(Expr.abs(col("d")), over: values, [D("2.50"), D("0.01"), N])
        assertConstant(-(-lit(5)), I(5))
        assertPlanError(-col("s"), Schema([Field("s", .utf8)]), contains: "cannot apply unary - to TEXT")
    }

    func testDoubleArithmetic() {
        let values = RecordBatch(
            schema: Schema([Field("f", .float64), Field("i", .int64)]),
            rows: [[F(1.5), I(2)], [F(-0.5), I(0)], [F(.infinity), I(1)], [N, I(1)], [F(7.5), N]])
        assertEval(col("f") + col("i"), over: values, [F(3.5), F(-0.5), F(.infinity), N, N], type: .float64)
        assertEval(col("i") - col("f"), over: values, [F(0.5), F(0.5), F(-.infinity), N, N])
        assertEval(col("f") * lit(2), over: values, [F(3), F(-1), F(.infinity), N, F(15)])
        assertEval(col("f") / col("i"), over: values, [F(0.75), N, F(.infinity), N, N])
        let finite = batch("f", .float64, [F(7.5), F(-7.5), F(0.5), N])
        assertEval(col("f") % lit(2.0), over: finite, [F(1.5), F(-1.5), F(0.5), N])
        assertEval(col("f") % lit(0.0), over: finite, [N, N, N, N])
        assertEval(col("f") / lit(0.0), over: values, [N, N, N, N, N])
    }

    func testDecimalArithmetic() {
        let money = RecordBatch(
            schema: Schema([Field("p", .decimal(scale: 2)), Field("q", .decimal(scale: 3)), Field("n", .int64), Field("f", .float64)]),
            rows: [[D("12.50"), D("0.125"), I(3), F(0.5)], [D("-0.05"), D("1.000"), I(-2), F(2)], [N, D("2.000"), I(1), F(1)]])
        // Exact, at the larger scale.
        assertEval(col("p") + col("q"), over: money, [D("12.625"), D("0.950"), N], type: .decimal(scale: 3))
        assertEval(col("p") - col("q"), over: money, [D("12.375"), D("-1.050"), N], type: .decimal(scale: 3))
        assertEval(col("p") % col("q"), over: money, [D("0.000"), D("-0.050"), N], type: .decimal(scale: 3))
        // The product's scale is the sum of the scales; BIGINT counts as scale 0.
        assertEval(col("p") * col("q"), over: money, [D("1.56250"), D("-0.05000"), N], type: .decimal(scale: 5))
        assertEval(col("p") * col("n"), over: money, [D("37.50"), D("0.10"), N], type: .decimal(scale: 2))
        assertEval(col("n") + col("p"), over: money, [D("15.50"), D("-2.05"), N], type: .decimal(scale: 2))
        assertEval(col("p") + lit(1), over: money, [D("13.50"), D("0.95"), N], type: .decimal(scale: 2))
        // Division and DOUBLE operands give DOUBLE.
        assertEval(col("p") / col("n"), over: money, [F(12.5 / 3), F(0.025), N], type: .float64)
        assertEval(col("p") * col("f"), over: money, [F(6.25), F(-0.1), N], type: .float64)
        assertEval(col("p") / lit(decimal: "0.00"), over: money, [N, N, N])
        assertEval(col("p") * lit(decimal: "0.0000000000000001"), over: money, [.decimal(1250, scale: 18), .decimal(-5, scale: 18), N], type: .decimal(scale: 18))
        assertPlanError(
            col("p") * lit(decimal: "1.00000000000000000"), money.schema,
            contains: "needs scale 19, more than DECIMAL's 18")
        let big = batch("p", .decimal(scale: 2), [.decimal(Int64.max - 5, scale: 2)])
        assertExecutionError(col("p") + lit(decimal: "1.00"), over: big, contains: "DECIMAL(18,2) overflow in p + 1.00")
        // Widening a scale can overflow too, but only where both operands are present.
        assertExecutionError(col("p") + lit(decimal: "0.001"), over: big, contains: "DECIMAL(18,3) overflow in p + 0.001: 92233720368547758.02 + 0.001")
        let halfNull = RecordBatch(
            schema: Schema([Field("i", .int64), Field("d", .decimal(scale: 3))]), rows: [[I(Int64.min), N], [I(1), D("0.500")]])
        assertEval(col("i") + col("d"), over: halfNull, [N, D("1.500")])
        assertEval(col("d") % col("i"), over: halfNull, [N, D("0.500")])
    }

    func testTimestampArithmetic() {
        let times = RecordBatch(
            schema: Schema([Field("t", .timestamp), Field("u", .timestamp), Field("ms", .int64)]),
            rows: [[T("2024-02-28T23:59:59.500Z"), T("2024-02-28T00:00:00Z"), I(1000)], [N, T("1970-01-01T00:00:00Z"), I(1)]])
        assertEval(col("t") + col("ms"), over: times, [T("2024-02-29T00:00:00.500Z"), N], type: .timestamp)
        assertEval(col("ms") + col("t"), over: times, [T("2024-02-29T00:00:00.500Z"), N], type: .timestamp)
        assertEval(col("t") - lit(86_400_000), over: times, [T("2024-02-27T23:59:59.500Z"), N], type: .timestamp)
        assertEval(col("t") - col("u"), over: times, [I(86_399_500), N], type: .int64)
        assertPlanError(col("t") + col("u"), times.schema, contains: "cannot apply + to TIMESTAMP and TIMESTAMP in t + u")
        assertPlanError(col("ms") - col("t"), times.schema, contains: "cannot apply - to BIGINT and TIMESTAMP")
        assertPlanError(col("t") * lit(2), times.schema, contains: "cannot apply *")
    }

    func testTypeErrors() {
        let schema = Schema([Field("s", .utf8), Field("n", .int64), Field("b", .bool)])
        assertPlanError(col("s") + col("n"), schema, contains: "cannot apply + to TEXT and BIGINT in s + n")
        assertPlanError(col("b") * lit(2), schema, contains: "cannot apply * to BOOLEAN and BIGINT")
    }

    func testConstantFolding() throws {
        let schema = Schema([Field("x", .int64)])
        let bound = try (col("x") + (lit(2) * lit(3) - lit(1))).bind(to: schema)
        XCTAssertEqual(bound.description, "x + 5")
        let folded = try (lit(7) / lit(2)).bind(to: schema)
        XCTAssertEqual(folded.constantValue, F(3.5))
        // A constant that fails is left for evaluation, where it fails for real.
        let failing = try (lit(Int64.max) + lit(1)).bind(to: schema)
        XCTAssertNil(failing.constantValue)
        assertExecutionError(lit(Int64.max) + lit(1), over: batch("x", .int64, [I(1)]), contains: "BIGINT overflow")
        assertConstant(lit(decimal: "1.5") * lit(decimal: "2.25"), D("3.375"), type: .decimal(scale: 3))
    }
}
