import EddyEngine
import EddySQL
import XCTest

/// A connector over memory streams and sinks, so SQL runs through the test driver.
final class MemoryConnector: TableConnector, @unchecked Sendable {
    let name = "memory"
    let optionKeys: Set<String> = ["name", "partitions"]
    var streams: [String: MemoryStream] = [:]
    var sinks: [String: MemorySink] = [:]

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        let key = table.options["name"] ?? table.name
        if let stream = streams[key] { return stream }
        let stream = MemoryStream(table.schema, partitions: Int(try table.options.integer("partitions", in: 1...64) ?? 1))
        streams[key] = stream
        return stream
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        let key = table.options["name"] ?? table.name
        if let sink = sinks[key] { return sink }
        let sink = MemorySink()
        sinks[key] = sink
        return sink
    }
}

final class BinderTests: XCTestCase {
    var memory: MemoryConnector!
    var session: SQLSession!

    let purchasesDDL = """
        CREATE TABLE purchases (
          event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
        ) WITH ('connector' = 'memory');
        """

    override func setUp() {
        memory = MemoryConnector()
        session = SQLSession(connectors: ConnectorRegistry([memory]))
    }

    func job(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> SQLJob {
        let outcomes = try session.run(text)
        guard case .job(let job) = outcomes.last else {
            XCTFail("the last statement started no job", file: file, line: line)
            throw SQLError("no job", at: .start)
        }
        return job
    }

    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SQLError? {
        do {
            try session.run(text)
            XCTFail("ran without error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    var purchases: MemoryStream { memory.streams["purchases"]! }

    func purchase(_ second: Int64, _ category: String, _ amount: String, country: String = "DE") -> [Value] {
        [.string("e\(second)"), .int64(1), .string(category), Value.decimal(amount), .string(country), .timestamp(second * 1000)]
    }

    // MARK: plans

    func testRevenuePerMinuteIsTheSwiftAPIsPlan() throws {
        let sql = try job(purchasesDDL + """
            CREATE TABLE revenue (window_start TIMESTAMP(3), window_end TIMESTAMP(3), category STRING, `count` BIGINT,
                                  revenue DECIMAL(18, 2), avg_amount DOUBLE) WITH ('connector' = 'memory');
            INSERT INTO revenue
            SELECT window_start, window_end, category, COUNT(*) AS `count`, SUM(amount) AS revenue, AVG(amount) AS avg_amount
            FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
            GROUP BY window_start, window_end, category;
            """)
        let swift = Pipeline.read(purchases)
            .withWatermark("event_time", delay: .seconds(10))
            .groupBy(.tumble("event_time", .minutes(1)), "category")
            .aggregate(.count(), .sum("amount", as: "revenue"), .avg("amount", as: "avg_amount"))
            .write(memory.sinks["revenue"]!)
        XCTAssertEqual(sql.pipeline.plan.tree, swift.plan.tree)
        XCTAssertEqual(try sql.pipeline.explain(), try swift.explain())
    }

    func testTheRisingWaveSpellingMakesTheSamePlan() throws {
        let flink = try job(purchasesDDL + """
            CREATE TABLE out1 WITH ('connector' = 'memory') AS
            SELECT window_start, window_end, category, MAX(amount) AS top
            FROM TABLE(HOP(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
            GROUP BY window_start, window_end, category;
            """)
        let rising = try job("""
            CREATE SINK out2 WITH ('connector' = 'memory', 'name' = 'out1') AS
            SELECT window_start, window_end, category, MAX(amount) AS top
            FROM HOP(purchases, event_time, INTERVAL '1' MINUTE, INTERVAL '5' MINUTES)
            GROUP BY window_start, window_end, category EMIT ON WINDOW CLOSE;
            """)
        XCTAssertEqual(flink.pipeline.plan.tree, rising.pipeline.plan.tree)
        XCTAssertTrue(flink.pipeline.plan.tree.contains("HOP(event_time, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)"), flink.pipeline.plan.tree)
    }

    func testFilterProjectionAndComputedKeys() throws {
        let sql = try job(purchasesDDL + """
            CREATE TABLE big WITH ('connector' = 'memory') AS
            SELECT UPPER(category) AS category, amount * 2 AS doubled, CASE WHEN country IN ('DE', 'FR') THEN 'eu' ELSE 'other' END AS region
            FROM purchases WHERE amount > 10.00 AND category LIKE 'b%';
            """)
        let swift = Pipeline.read(purchases).withWatermark("event_time", delay: .seconds(10))
            .filter(.and(.comparison(.greater, .column("amount"), .literal(.decimal(1000, scale: 2))),
                         .like(.column("category"), pattern: .literal(.string("b%")), escape: nil, negated: false)))
            .select(NamedExpr(.function(.upper, [.column("category")]), name: "category"),
                    NamedExpr(.arithmetic(.multiply, .column("amount"), .literal(.int64(2))), name: "doubled"),
                    NamedExpr(.caseWhen(operand: nil, branches: [CaseBranch(when: .inList(.column("country"), [.literal(.string("DE")), .literal(.string("FR"))], negated: false), then: .literal(.string("eu")))], otherwise: .literal(.string("other"))), name: "region"))
            .write(memory.sinks["big"]!)
        XCTAssertEqual(sql.pipeline.plan.tree, swift.plan.tree)
    }

    // MARK: results

    func testWindowedRevenueWithFilterAndHaving() throws {
        let revenue = try job(purchasesDDL + """
            CREATE TABLE revenue WITH ('connector' = 'memory') AS
            SELECT window_start, category, COUNT(*) AS orders, SUM(amount) FILTER (WHERE country = 'DE') AS de_revenue,
                   COUNT(DISTINCT country) AS countries, SUM(amount) / COUNT(*) AS mean
            FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
            GROUP BY window_start, window_end, category
            HAVING COUNT(*) > 1;
            """)
        let driver = try TestDriver(revenue.pipeline)
        purchases.add([purchase(1, "books", "10.00"), purchase(2, "books", "5.00", country: "FR"), purchase(3, "games", "1.00"),
                       purchase(30, "books", "2.50")])
        try driver.runUntilIdle()
        purchases.add([purchase(100, "books", "1.00")])
        try driver.runUntilIdle()
        XCTAssertEqual(memory.sinks["revenue"]!.rows, [
            [.timestamp(0), .string("books"), .int64(3), Value.decimal("12.50"), .int64(2), .float64(17.5 / 3)],
        ])
    }

    func testAPlainGroupByNeedsAnUpsertSink() throws {
        let message = error(purchasesDDL + """
            CREATE TABLE totals (category STRING, total DECIMAL(18, 2)) WITH ('connector' = 'memory');
            INSERT INTO totals SELECT category, SUM(amount) FROM purchases GROUP BY category;
            """)?.message ?? ""
        XCTAssertTrue(message.hasPrefix("this query's result is updating"), message)
        XCTAssertTrue(message.contains("declare PRIMARY KEY (category) NOT ENFORCED"), message)
        let upsert = try job("""
            CREATE TABLE keyed (category STRING, total DECIMAL(18, 2), PRIMARY KEY (category) NOT ENFORCED) WITH ('connector' = 'memory');
            INSERT INTO keyed SELECT category, SUM(amount) FROM purchases GROUP BY category;
            """)
        let driver = try TestDriver(upsert.pipeline)
        purchases.add([purchase(1, "books", "10.00"), purchase(2, "games", "1.00")])
        try driver.runUntilIdle()
        purchases.add([purchase(3, "books", "5.00")])
        try driver.runUntilIdle()
        XCTAssertEqual(memory.sinks["keyed"]!.rowsByBatch.values.flatMap { $0 }.filter { $0[0] == .string("books") }.map { $0[1] },
                       [Value.decimal("10.00"), Value.decimal("15.00")], "each change of the books group, upserted by key")
    }

    func testInsertCastsToTheTablesTypesAndChecksTheColumnCount() throws {
        _ = try session.run(purchasesDDL + "CREATE TABLE ids (id STRING, amount DOUBLE) WITH ('connector' = 'memory');")
        let cast = try job("INSERT INTO ids SELECT event_id, amount FROM purchases;")
        XCTAssertTrue(cast.pipeline.plan.tree.contains("CAST(amount AS DOUBLE) AS amount"), cast.pipeline.plan.tree)
        let count = error("INSERT INTO ids SELECT event_id FROM purchases;")
        XCTAssertEqual(count?.message, "the query makes 1 columns (event_id) and `ids` takes 2 (id, amount)")
    }

    // MARK: errors

    func testUnknownNamesSuggestTheNearest() {
        XCTAssertEqual(error(purchasesDDL + "CREATE TABLE o WITH ('connector' = 'memory') AS SELECT amout FROM purchases;")?.message,
                       "unknown column `amout` in `purchases`; did you mean `amount`?")
        XCTAssertEqual(error("CREATE TABLE o WITH ('connector' = 'memory') AS SELECT amount FROM purchase;")?.message,
                       "unknown table or view `purchase`; did you mean `purchases`?")
        XCTAssertEqual(error("CREATE TABLE o WITH ('connector' = 'memory') AS SELECT UPPPER(category) FROM purchases;")?.message,
                       "unknown function UPPPER; did you mean UPPER?")
        XCTAssertEqual(error("CREATE TABLE t (a INT) WITH ('connector' = 'memroy');")?.message,
                       "unknown connector 'memroy'; did you mean 'memory'? Connectors: memory.")
        XCTAssertEqual(error("CREATE TABLE t (a INT) WITH ('connector' = 'memory', 'nmae' = 'x');")?.message,
                       "connector 'memory' has no option 'nmae'; did you mean 'name'? Options: name, partitions.")
        XCTAssertEqual(error("CREATE TABLE t (a INTEGR) WITH ('connector' = 'memory');")?.message, "unknown type INTEGR; did you mean INTEGER?")
    }

    func testErrorsPointAtTheirPlace() {
        let text = purchasesDDL + "\nCREATE TABLE o WITH ('connector' = 'memory') AS\nSELECT category, amout FROM purchases;"
        let failure = error(text)
        XCTAssertEqual(failure?.location.line, 6)
        XCTAssertEqual(failure?.location.column, 18)
        XCTAssertEqual(failure?.rendered(in: text).split(separator: "\n").last, "                   ^")
    }

    func testWindowAndAggregateRulesAreExplained() {
        _ = try? session.run(purchasesDDL + "CREATE TABLE plain (a STRING, t TIMESTAMP(3)) WITH ('connector' = 'memory');")
        let cases: [(String, String)] = [
            ("SELECT category, COUNT(*) FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY category",
             "a query over a window table function groups by window_start and window_end (Flink's rule)"),
            ("SELECT a, COUNT(*) FROM TABLE(TUMBLE(TABLE plain, DESCRIPTOR(t), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, a",
             "windows on `t` need a watermark on it: declare WATERMARK FOR t AS t - INTERVAL '…' SECOND in the table"),
            ("SELECT category, amount FROM purchases GROUP BY category", "column `amount` must be in GROUP BY or inside an aggregate"),
            ("SELECT category FROM purchases WHERE SUM(amount) > 1", "aggregates are not allowed in WHERE; filter groups with HAVING"),
            ("SELECT * FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))",
             "a window table function's rows must be aggregated: GROUP BY window_start, window_end, …"),
            ("SELECT window_start, COUNT(*) FROM TABLE(CUMULATE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) GROUP BY window_start, window_end",
             "CUMULATE windows are not supported yet; use TUMBLE or HOP"),
            ("SELECT window_start, COUNT(*) FROM TABLE(HOP(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '5' MINUTE, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end",
             "HOP's size (INTERVAL '1' MINUTE) is smaller than its slide (INTERVAL '5' MINUTE): Flink's order is slide, then size"),
            ("SELECT category, category FROM purchases", "the result has two columns named `category`; give one an alias with AS"),
        ]
        for (query, message) in cases {
            let failure = error("CREATE TABLE o WITH ('connector' = 'memory') AS " + query + ";")
            XCTAssertEqual(failure?.message, message, query)
        }
    }
}
