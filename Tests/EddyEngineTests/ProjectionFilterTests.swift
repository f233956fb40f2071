@testable import EddyEngine
import XCTest

final class ProjectionFilterTests: XCTestCase {
    let orders = RecordBatch(
        schema: Schema([Field("id", .int64, nullable: false), Field("amount", .decimal(scale: 2)), Field("country", .utf8)]),
        rows: [
            [I(1), D("12.50"), S("DE")], [I(2), D("99.99"), S("US")], [I(3), N, S("FR")], [I(4), D("0.01"), N],
        ])

    func testProjectionComputesAndReusesColumns() throws {
        let projection = try Projection(
            [col("id").named("id"), (col("amount") * lit(2)).as("double"), col("country").lower().as("c"), NamedExpr(lit(1))],
            input: orders.schema)
        XCTAssertEqual(projection.schema, Schema([
            Field("id", .int64, nullable: false), Field("double", .decimal(scale: 2)), Field("c", .utf8), Field("1", .int64, nullable: false),
        ]))
        XCTAssertEqual(projection.description, "id, amount * 2 AS double, lower(country) AS c, 1 AS \"1\"")
        let output = try projection.apply(orders)
        XCTAssertEqual(output.rows, [
            [I(1), D("25.00"), S("de"), I(1)], [I(2), D("199.98"), S("us"), I(1)], [I(3), N, S("fr"), I(1)], [I(4), D("0.02"), N, I(1)],
        ])
        // The bare column is the input column itself (same storage, no copy).
        XCTAssertEqual(output.columns[0], orders.columns[0])
        XCTAssertThrowsError(try Projection([col("id").as("x"), col("amount").as("x")], input: orders.schema)) { error in
            XCTAssertEqual((error as? EngineError)?.message.contains("names two columns \"x\""), true)
        }
    }

    func testFilterKeepsTrueRowsOnly() throws {
        let filter = try Filter(col("amount") > lit(decimal: "1.00") || col("country").isNull, input: orders.schema)
        XCTAssertEqual(try filter.apply(orders).rows.map { $0[0] }, [I(1), I(2), I(4)])
        XCTAssertEqual(try Filter(lit(true), input: orders.schema).apply(orders).count, 4)
        XCTAssertEqual(try Filter(Expr.null, input: orders.schema).apply(orders).count, 0)
        XCTAssertEqual(try Filter(col("country") .== lit("FR"), input: orders.schema).apply(orders).rows, [[I(3), N, S("FR")]])
        XCTAssertThrowsError(try Filter(col("id"), input: orders.schema)) { error in
            XCTAssertEqual((error as? EngineError)?.message, "a filter needs a BOOLEAN condition, found BIGINT in id")
        }
        let empty = RecordBatch.empty(orders.schema)
        XCTAssertEqual(try Filter(col("id") > lit(1), input: orders.schema).apply(empty).count, 0)
        XCTAssertEqual(try Projection([(col("id") + lit(1)).as("n")], input: orders.schema).apply(empty).count, 0)
    }
}
