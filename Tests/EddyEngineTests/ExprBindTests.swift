@testable import EddyEngine
import XCTest

final class ExprBindTests: XCTestCase {
    let schema = Schema([
        Field("amount", .decimal(scale: 2), nullable: false), Field("country", .utf8), Field("qty", .int64),
        Field("price", .float64), Field("ts", .timestamp), Field("Order ID", .utf8),
    ])

    func testUnknownColumnsSuggestCloseNames() {
        assertPlanError(col("amout"), schema, contains: "unknown column \"amout\" (did you mean \"amount\"?); columns are: amount, country, qty, price, ts, Order ID")
        assertPlanError(col("COUNTRY") .== lit("DE"), schema, contains: "(did you mean \"country\"?)")
        assertPlanError(col("zzzzzz"), schema, contains: "unknown column \"zzzzzz\"; columns are:")
        XCTAssertFalse((try? col("zzzzzz").bind(to: schema)) != nil)
        assertPlanError(col("x"), Schema([]), contains: "columns are: (none)")
    }

    func testTypeMistakesNameThePart() {
        assertPlanError(col("country") .== col("qty"), schema, contains: "cannot compare TEXT with BIGINT in country = qty")
        assertPlanError(col("price").like("1%"), schema, contains: "LIKE needs TEXT, found DOUBLE in price")
        assertPlanError(col("qty") && lit(true), schema, contains: "AND needs BOOLEAN, found BIGINT in qty")
        assertPlanError(!col("country"), schema, contains: "NOT needs BOOLEAN, found TEXT")
        assertPlanError(Expr.round(col("qty"), digits: 40), schema, contains: "round digits 40 are out of range")
        assertPlanError(.function(.round, [col("price"), col("qty")]), schema, contains: "round digits must be a BIGINT constant")
        assertPlanError(.function(.lower, []), schema, contains: "lower takes 1 argument, got 0")
        assertPlanError(.function(.coalesce, []), schema, contains: "coalesce takes at least 1 argument, got 0")
        assertPlanError(.inList(col("qty"), [], negated: false), schema, contains: "IN needs at least one item")
        assertPlanError(lit(.decimal(1, scale: 19)), schema, contains: "DECIMAL scales are 0 to 18")
    }

    func testTypesAndNullability() throws {
        func bound(_ expr: Expr) throws -> BoundExpr { try expr.bind(to: schema) }
        XCTAssertEqual(try bound(col("amount")).nullable, false)
        XCTAssertEqual(try bound(col("amount") * lit(2)).type, .decimal(scale: 2))
        XCTAssertEqual(try bound(col("amount") * lit(2)).nullable, false)
        // Division can always produce NULL (by zero).
        XCTAssertEqual(try bound(col("amount") / lit(2)).nullable, true)
        XCTAssertEqual(try bound(col("amount") * col("qty")).nullable, true)
        XCTAssertEqual(try bound(col("country").isNull).nullable, false)
        XCTAssertEqual(try bound(Expr.coalesce(col("country"), lit("?"))).nullable, false)
        XCTAssertEqual(try bound(Expr.when([(col("amount") > lit(1), lit(1))])).nullable, true)
        XCTAssertEqual(try bound(Expr.when([(col("amount") > lit(1), lit(1))], else: lit(2))).nullable, false)
        XCTAssertEqual(try bound(Expr.null).type, .bool)
        XCTAssertEqual(try bound(col("qty") + Expr.null).type, .int64)
        XCTAssertEqual(try bound(Expr.round(col("amount"), digits: 1)).type, .decimal(scale: 1))
        XCTAssertEqual(try bound(Expr.round(col("amount"), digits: 5)).type, .decimal(scale: 2))
        XCTAssertEqual(try bound(.extract(.year, col("ts"))).type, .int64)
    }

    func testDescriptionsReadAsSQL() throws {
        let predicate = col("amount") * lit(2) > lit(10) && col("country").isIn(["DE", "FR"])
        XCTAssertEqual(predicate.description, "amount * 2 > 10 AND country IN ('DE', 'FR')")
        XCTAssertEqual(((col("qty") + lit(1)) * lit(2)).description, "(qty + 1) * 2")
        XCTAssertEqual((col("qty") - (lit(1) - lit(2))).description, "qty - (1 - 2)")
        XCTAssertEqual((col("qty") - lit(1) - lit(2)).description, "qty - 1 - 2")
        XCTAssertEqual((-lit(-5)).description, "-(-5)")
        XCTAssertEqual(((lit(true) || lit(false)) && !col("b")).description, "(TRUE OR FALSE) AND NOT b")
        XCTAssertEqual(col("Order ID").like("x'%", escape: "!").description, "\"Order ID\" LIKE 'x''%' ESCAPE '!'")
        XCTAssertEqual(Expr.when([(col("qty").isNull, lit(0))], else: col("qty")).description, "CASE WHEN qty IS NULL THEN 0 ELSE qty END")
        XCTAssertEqual(col("ts").cast(to: .utf8).description, "CAST(ts AS TEXT)")
        XCTAssertEqual(col("s").tryCast(to: .decimal(scale: 2)).description, "TRY_CAST(s AS DECIMAL(18,2))")
        XCTAssertEqual(Expr.dateTrunc(.hour, col("ts")).description, "date_trunc('hour', ts)")
        XCTAssertEqual(Expr.extract(.dayOfWeek, col("ts")).description, "extract(dow FROM ts)")
        XCTAssertEqual(col("x").notBetween(lit(1), lit(2)).description, "x NOT BETWEEN 1 AND 2")
        XCTAssertEqual(lit(.timestamp(0)).description, "TIMESTAMP '1970-01-01T00:00:00.000Z'")
        XCTAssertEqual(lit(decimal: "12.50").description, "12.50")
        XCTAssertEqual(lit(2.0).description, "2.0")
        XCTAssertEqual(col("a").concatenated(with: lit("b")).description, "a || 'b'")
        XCTAssertEqual(col("select").description, "\"select\"")
        XCTAssertEqual(NamedExpr(col("qty") * lit(2), name: "double qty").description, "qty * 2 AS \"double qty\"")
        XCTAssertEqual(NamedExpr(col("qty") + lit(1)).name, "qty + 1")
        XCTAssertEqual((col("qty") + lit(1)).as("next").name, "next")
        // The bound form spells out implicit casts and folded constants.
        XCTAssertEqual(try (col("qty") / lit(2)).bind(to: schema).description, "CAST(qty AS DOUBLE) / 2.0")
        XCTAssertEqual(try (col("amount") + lit(decimal: "0.125")).bind(to: schema).description, "amount + 0.125")
        XCTAssertEqual(try (col("ts") > lit("2026-01-01")).bind(to: schema).description, "ts > TIMESTAMP '2026-01-01T00:00:00.000Z'")
        XCTAssertEqual(try (col("qty") > lit(1) + lit(2)).bind(to: schema).description, "qty > 3")
    }

    func testBuildersComposeThePipelineExample() throws {
        let sales = RecordBatch(
            schema: Schema([Field("amount", .int64), Field("country", .utf8)]),
            rows: [[I(3), S("DE")], [I(6), S("DE")], [I(60), S("US")], [I(7), S("FR")], [N, S("FR")], [I(9), N]])
        let predicate = col("amount") * lit(2) > lit(10) && col("country").isIn(["DE", "FR"])
        assertEval(predicate, over: sales, [B(false), B(true), B(false), B(true), N, N])
    }

    func testEvaluatingOnTheWrongSchemaIsAnInternalError() throws {
        let bound = try (col("qty") + lit(1)).bind(to: schema)
        let other = batch("qty", .utf8, [S("x")])
        XCTAssertThrowsError(try bound.evaluate(other)) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .internal)
        }
        XCTAssertThrowsError(try bound.evaluatePredicate(batch("qty", .int64, [I(1)]))) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .internal)
        }
    }
}
