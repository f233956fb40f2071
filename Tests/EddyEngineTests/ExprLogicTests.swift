@testable import EddyEngine
import XCTest

final class ExprLogicTests: XCTestCase {
    /// Every pair of TRUE, FALSE, NULL.
    let pairs = RecordBatch(
        schema: Schema([Field("p", .bool), Field("q", .bool)]),
        rows: [
            [B(true), B(true)], [B(true), B(false)], [B(true), N],
            [B(false), B(true)], [B(false), B(false)], [B(false), N],
            [N, B(true)], [N, B(false)], [N, N],
        ])

    func testThreeValuedTruthTables() {
        assertEval(col("p") && col("q"), over: pairs, [B(true), B(false), N, B(false), B(false), B(false), N, B(false), N])
        assertEval(col("p") || col("q"), over: pairs, [B(true), B(true), B(true), B(true), B(false), N, B(true), N, N])
        assertEval(!col("p"), over: pairs, [B(false), B(false), B(false), B(true), B(true), B(true), N, N, N])
        assertEval(col("p").isNull, over: pairs, [B(false), B(false), B(false), B(false), B(false), B(false), B(true), B(true), B(true)])
        assertEval(col("q").isNotNull, over: pairs, [B(true), B(true), B(false), B(true), B(true), B(false), B(true), B(true), B(false)])
        // With constants on one side.
        assertEval(col("p") && Expr.null, over: pairs, [N, N, N, B(false), B(false), B(false), N, N, N])
        assertEval(col("p") || lit(true), over: pairs, Array(repeating: B(true), count: 9))
        assertEval(col("p") && lit(false), over: pairs, Array(repeating: B(false), count: 9))
        assertEval(!(col("p") && col("q")), over: pairs, [B(false), B(true), N, B(true), B(true), B(true), N, B(true), N])
    }

    func testTruthTablesAcrossWordBoundaries() {
        // 200 rows so AND/OR/NOT run over several 64-bit words and a partial last word.
        var rows: [[Value]] = []
        let cycle: [Value] = [B(true), B(false), N]
        for row in 0..<200 { rows.append([cycle[row % 3], cycle[(row / 3) % 3]]) }
        let wide = RecordBatch(schema: pairs.schema, rows: rows)
        func and(_ a: Value, _ b: Value) -> Value {
            if a == B(false) || b == B(false) { return B(false) }
            if a == N || b == N { return N }
            return B(true)
        }
        func or(_ a: Value, _ b: Value) -> Value {
            if a == B(true) || b == B(true) { return B(true) }
            if a == N || b == N { return N }
            return B(false)
        }
        func not(_ a: Value) -> Value { a == N ? N : B(a != B(true)) }
        assertEval(col("p") && col("q"), over: wide, rows.map { and($0[0], $0[1]) })
        assertEval(col("p") || !col("q"), over: wide, rows.map { or($0[0], not($0[1])) })
    }

    func testShortCircuitPerBatch() {
        // The left side is FALSE for the whole batch, so the overflowing right side is never evaluated.
        let values = batch("x", .int64, [I(Int64.max), I(Int64.max)])
        assertEval(col("x") < lit(0) && col("x") + lit(1) > lit(0), over: values, [B(false), B(false)])
        assertEval(col("x") > lit(0) || col("x") + lit(1) > lit(0), over: values, [B(true), B(true)])
        // Otherwise both sides run for every row, so the failure surfaces.
        let mixed = batch("x", .int64, [I(Int64.max), I(-1)])
        assertExecutionError(col("x") < lit(0) && col("x") + lit(1) > lit(0), over: mixed, contains: "overflow")
    }

    func testInList() {
        let values = batch("x", .int64, [I(1), I(2), I(5), N])
        assertEval(col("x").isIn([1, 5]), over: values, [B(true), B(false), B(true), N])
        assertEval(col("x").notIn([1, 5]), over: values, [B(false), B(true), B(false), N])
        // SQL: no match with a NULL in the list is NULL, for IN and NOT IN.
        assertEval(col("x").isIn([lit(1), Expr.null]), over: values, [B(true), N, N, N])
        assertEval(col("x").notIn([lit(1), Expr.null]), over: values, [B(false), N, N, N])
        assertConstant(lit(1).isIn([lit(2), Expr.null]), N)
        assertConstant(lit(1).isIn([lit(1), Expr.null]), B(true))
        assertConstant(Expr.null.isIn([lit(1)]), N)
        // Mixed numeric types: exact for DECIMAL, DOUBLE when a DOUBLE is listed.
        assertEval(col("x").isIn([lit(decimal: "2.00"), lit(decimal: "1.5")]), over: values, [B(false), B(true), B(false), N])
        assertEval(col("x").isIn([lit(5.0), lit(1)]), over: values, [B(true), B(false), B(true), N])
        // Non-constant items.
        let two = batch(("x", .int64), ("y", .int64), [(I(1), I(1)), (I(2), I(3)), (I(3), N), (N, I(1))])
        assertEval(col("x").isIn([col("y"), lit(2)]), over: two, [B(true), B(true), N, N])
        assertEval(col("x").isIn([col("y") + lit(1)]), over: two, [B(false), B(false), N, N])
        assertPlanError(col("x").isIn(["a"]), values.schema, contains: "cannot compare BIGINT with TEXT")
    }

    func testInListOfStringsShortAndLong() {
        let countries = batch("c", .utf8, [S("DE"), S("FR"), S("D"), S("DEU"), S(""), S("Ünïcödé"), N])
        assertEval(col("c").isIn(["DE", "FR"]), over: countries, [B(true), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("c").isIn(["", "Ünïcödé"]), over: countries, [B(false), B(false), B(false), B(false), B(true), B(true), N])
        // More than eight members, or members over eight bytes, use the hash table.
        let many = (0..<20).map { "country-\($0)" } + ["DE"]
        assertEval(col("c").isIn(many), over: countries, [B(true), B(false), B(false), B(false), B(false), B(false), N])
        let manyBatch = batch("c", .utf8, (0..<30).map { S("country-\($0)") })
        assertEval(col("c").isIn(many), over: manyBatch, (0..<30).map { B($0 < 20) })
        let doubles = batch("f", .float64, [F(1.5), F(.nan), F(2), N])
        assertEval(col("f").isIn([lit(Double.nan), lit(2)]), over: doubles, [B(false), B(true), B(true), N])
        let bools = batch("b", .bool, [B(true), B(false), N])
        assertEval(col("b").isIn([lit(false)]), over: bools, [B(false), B(true), N])
        let longList = batch("x", .int64, (0..<40).map { I($0) })
        assertEval(col("x").isIn((0..<40).filter { $0 % 3 == 0 }), over: longList, (0..<40).map { B($0 % 3 == 0) })
    }

    func testBetween() {
        let values = batch("x", .int64, [I(0), I(1), I(5), I(10), I(11), N])
        assertEval(col("x").between(lit(1), lit(10)), over: values, [B(false), B(true), B(true), B(true), B(false), N])
        assertEval(col("x").notBetween(lit(1), lit(10)), over: values, [B(true), B(false), B(false), B(false), B(true), N])
        assertEval(col("x").between(lit(decimal: "0.5"), lit(5.5)), over: values, [B(false), B(true), B(true), B(false), B(false), N])
        // A NULL bound: NULL unless the other bound already decides FALSE.
        assertEval(col("x").between(Expr.null, lit(5)), over: values, [N, N, N, B(false), B(false), N])
        let text = batch("s", .utf8, [S("apple"), S("banana"), S("cherry")])
        assertEval(col("s").between(lit("b"), lit("c")), over: text, [B(false), B(true), B(false)])
    }

    func testCase() {
        let values = batch("x", .int64, [I(-5), I(0), I(7), N])
        let sign = Expr.when([(col("x") < lit(0), lit("negative")), (col("x") .== lit(0), lit("zero"))], else: lit("positive"))
        assertEval(sign, over: values, [S("negative"), S("zero"), S("positive"), S("positive")], type: .utf8)
        // Without ELSE, unmatched rows are NULL.
        assertEval(Expr.when([(col("x") > lit(0), col("x"))]), over: values, [N, N, I(7), N], type: .int64)
        // Branches are unified: BIGINT with DECIMAL is DECIMAL, with DOUBLE is DOUBLE.
        assertEval(Expr.when([(col("x") > lit(0), col("x"))], else: lit(decimal: "0.5")), over: values, [D("0.5"), D("0.5"), D("7.0"), D("0.5")], type: .decimal(scale: 1))
        assertEval(Expr.when([(col("x") > lit(0), lit(1.5))], else: col("x")), over: values, [F(-5), F(0), F(1.5), N], type: .float64)
        // Simple form.
        let simple = Expr.caseWhen(operand: col("x"), branches: [CaseBranch(when: lit(0), then: lit(true)), CaseBranch(when: lit(7), then: lit(false))], otherwise: nil)
        assertEval(simple, over: values, [N, B(true), B(false), N], type: .bool)
        // A branch that would fail is evaluated only on the rows that take it.
        let text = batch("s", .utf8, [S("12"), S("x"), N])
        let guarded = Expr.when([(col("s") .!= lit("x"), col("s").cast(to: .int64))], else: lit(-1))
        assertEval(guarded, over: text, [I(12), I(-1), I(-1)])
        assertExecutionError(col("s").cast(to: .int64), over: text, contains: "cannot cast 'x' to BIGINT")
        // A failing condition too: later WHENs see only the rows earlier ones did not take.
        let conditional = Expr.when([(col("s") .== lit("x"), lit(0)), (col("s").cast(to: .int64) > lit(10), lit(1))], else: lit(2))
        assertEval(conditional, over: text, [I(1), I(0), I(2)])
        assertPlanError(Expr.when([(col("s") .== lit("x"), lit(1))], else: lit("one")), text.schema, contains: "CASE mixes incompatible types BIGINT and TEXT")
        assertPlanError(Expr.when([(col("s"), lit(1))]), text.schema, contains: "CASE WHEN needs BOOLEAN, found TEXT")
        assertConstant(Expr.when([(lit(false), lit(1)), (Expr.null, lit(2))], else: lit(3)), I(3))
    }

    func testCaseWithBooleanAndTextBranchesOverManyRows() {
        var rows: [[Value]] = []
        for row in 0..<150 { rows.append([row % 7 == 0 ? N : I(Int64(row))]) }
        let values = RecordBatch(schema: Schema([Field("x", .int64)]), rows: rows)
        let text = Expr.when([(col("x") < lit(50), lit("small")), (col("x") < lit(100), col("x").cast(to: .utf8))])
        assertEval(text, over: values, rows.map { row in
            guard case .int64(let x) = row[0] else { return N }
            return x < 50 ? S("small") : (x < 100 ? S(String(x)) : N)
        })
        let flags = Expr.when([(col("x") < lit(50), col("x") % lit(2) .== lit(0)), (col("x") < lit(100), lit(true))])
        assertEval(flags, over: values, rows.map { row in
            guard case .int64(let x) = row[0] else { return N }
            return x < 50 ? B(x % 2 == 0) : (x < 100 ? B(true) : N)
        })
    }

    func testCoalesce() {
        let values = RecordBatch(
            schema: Schema([Field("a", .int64), Field("b", .decimal(scale: 1)), Field("s", .utf8)]),
            rows: [[I(1), D("2.0"), S("5")], [N, D("2.5"), S("x")], [N, N, S("7")], [N, N, N]])
        assertEval(Expr.coalesce(col("a"), col("b")), over: values, [D("1.0"), D("2.5"), N, N], type: .decimal(scale: 1))
        assertEval(Expr.coalesce(col("a"), col("b"), lit(0)), over: values, [D("1.0"), D("2.5"), D("0.0"), D("0.0")])
        assertEval(Expr.coalesce(col("s"), lit("none")), over: values, [S("5"), S("x"), S("7"), S("none")])
        // Later arguments are evaluated only for rows still NULL: the failing cast never sees 'x'.
        let lazy = batch(("a", .int64), ("s", .utf8), [(I(1), S("x")), (N, S("7")), (N, N)])
        assertEval(Expr.coalesce(col("a"), col("s").cast(to: .int64)), over: lazy, [I(1), I(7), N], type: .int64)
        // An argument that cannot be NULL ends the list.
        XCTAssertEqual(try Expr.coalesce(col("a"), lit(0), col("s").cast(to: .int64)).bind(to: lazy.schema).description, "coalesce(a, 0)")
        XCTAssertEqual(try Expr.coalesce(lit(3), col("a")).bind(to: lazy.schema).constantValue, I(3))
    }
}
