import EddySQL
import XCTest

/// The parser over Flink's and RisingWave's spellings, and its errors: every one names a line and a
/// column, says what was expected, and names a refused feature.
final class ParserTests: XCTestCase {
    func parse(_ text: String) throws -> Statement { try Parser.parseStatement(text) }

    func query(_ text: String) throws -> Query {
        guard case .query(let query) = try parse(text) else { throw XCTSkip("not a query") }
        return query
    }

    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SQLError? {
        do {
            _ = try Parser.parseScript(text)
            XCTFail("parsed without error: \(text)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testFlinksCreateTableWithWatermarkMetadataAndOptions() throws {
        let text = """
            CREATE TABLE purchases (
              event_id STRING, user_id STRING NOT NULL, amount DECIMAL(10, 2), event_time TIMESTAMP(3),
              `partition` INT METADATA VIRTUAL, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
              total AS amount * 2,
              WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND,
              PRIMARY KEY (event_id) NOT ENFORCED
            ) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
            """
        guard case .createTable(let table) = try parse(text) else { return XCTFail() }
        XCTAssertEqual(table.kind, .table)
        XCTAssertEqual(table.name.description, "purchases")
        XCTAssertEqual(table.columns.map(\.name.name), ["event_id", "user_id", "amount", "event_time", "partition", "ts", "total"])
        XCTAssertEqual(table.columns[2].type?.description, "DECIMAL(10, 2)")
        XCTAssertFalse(table.columns[1].nullable)
        XCTAssertEqual(table.columns[4].origin, .metadata(key: nil, virtual: true))
        XCTAssertEqual(table.columns[5].origin, .metadata(key: "timestamp", virtual: false))
        XCTAssertEqual(table.columns[5].type?.name, "TIMESTAMP_LTZ")
        guard case .computed(let total) = table.columns[6].origin else { return XCTFail() }
        XCTAssertEqual(total.text, "amount * 2")
        XCTAssertEqual(table.watermark?.column.name, "event_time")
        XCTAssertEqual(table.watermark?.expression.text, "event_time - INTERVAL '10' SECOND")
        XCTAssertEqual(table.primaryKey?.map(\.name), ["event_id"])
        XCTAssertEqual(table.options.map { "\($0.key)=\($0.value)" }, ["connector=filesystem", "path=in/", "format=json"])
        XCTAssertEqual(table.options[1].location, SourceLocation(line: 7, column: 37, offset: table.options[1].location.offset))
    }

    func testWindowTableFunctionsInBothSpellings() throws {
        let flink = try query("""
            SELECT window_start, window_end, category, COUNT(*) AS orders, SUM(amount) FILTER (WHERE amount > 0) AS revenue
            FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTES))
            GROUP BY window_start, window_end, category
            """)
        let rising = try query("""
            SELECT window_start, window_end, category, COUNT(*) AS orders, SUM(amount) FILTER (WHERE amount > 0) AS revenue
            FROM TUMBLE(purchases, event_time, INTERVAL '1' MINUTES)
            GROUP BY window_start, window_end, category EMIT ON WINDOW CLOSE
            """)
        for parsed in [flink, rising] {
            guard case .window(let window) = parsed.from else { return XCTFail("\(String(describing: parsed.from))") }
            XCTAssertEqual(window.kind, .tumble)
            XCTAssertEqual(window.timeColumn.name, "event_time")
            XCTAssertEqual(window.arguments.map(\.text), ["INTERVAL '1' MINUTES"])
            XCTAssertEqual(parsed.groupBy.map(\.text), ["window_start", "window_end", "category"])
            XCTAssertEqual(parsed.items.count, 5)
            guard case .expression(let revenue, let alias) = parsed.items[4] else { return XCTFail() }
            XCTAssertEqual(revenue.text, "SUM(amount) FILTER (WHERE amount > 0)")
            XCTAssertEqual(alias?.name, "revenue")
        }
        XCTAssertTrue(rising.emitOnWindowClose)
        let hop = try query("SELECT * FROM TABLE(HOP(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SLIDE => INTERVAL '1' MINUTE, SIZE => INTERVAL '5' MINUTE))")
        guard case .window(let window) = hop.from else { return XCTFail() }
        XCTAssertEqual(window.kind, .hop)
        XCTAssertEqual(window.arguments.map(\.text), ["INTERVAL '1' MINUTE", "INTERVAL '5' MINUTE"])
        let session = try query("SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '30' SECOND)) AS s")
        guard case .window(let keyed) = session.from else { return XCTFail() }
        XCTAssertEqual(keyed.partitionBy.map(\.name), ["k"])
        XCTAssertEqual(keyed.alias?.name, "s")
    }

    func testExpressionPrecedenceAndForms() throws {
        let cases: [(String, String)] = [
            ("a + b * c - d", "a + b * c - d"),
            ("NOT a = 1 AND b OR c", "NOT a = 1 AND b OR c"),
            ("a || 'x' || b", "a || 'x' || b"),
            ("x NOT IN (1, 2, NULL)", "x NOT IN (1, 2, NULL)"),
            ("x NOT BETWEEN 1 AND 2 + 3", "x NOT BETWEEN 1 AND 2 + 3"),
            ("s LIKE 'a!%%' ESCAPE '!'", "s LIKE 'a!%%' ESCAPE '!'"),
            ("CASE WHEN a > 1 THEN 'big' ELSE 'small' END", "CASE WHEN a > 1 THEN 'big' ELSE 'small' END"),
            ("CASE k WHEN 1 THEN 'one' END", "CASE k WHEN 1 THEN 'one' END"),
            ("TRY_CAST(s AS DECIMAL(10, 2))", "TRY_CAST(s AS DECIMAL(10, 2))"),
            ("EXTRACT(hour FROM ts)", "EXTRACT(HOUR FROM ts)"),
            ("COUNT(DISTINCT user_id)", "COUNT(DISTINCT user_id)"),
            ("payload.device.id", "payload.device.id"),
            ("-5", "-5"),
            ("- -x", "--x"),
            ("a != b", "a <> b"),
            ("TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP '2024-01-01 00:00:00'"),
            ("INTERVAL '1:30' MINUTE TO SECOND", "INTERVAL '1:30' MINUTE TO SECOND"),
            ("'it''s'", "'it''s'"),
            ("x IS NOT NULL AND y IS TRUE", "x IS NOT NULL AND y IS TRUE"),
        ]
        for (text, expected) in cases {
            let parsed = try query("SELECT \(text) FROM t")
            guard case .expression(let value, _) = parsed.items[0] else { return XCTFail(text) }
            XCTAssertEqual(value.text, expected, text)
        }
        guard case .expression(let tree, _) = try query("SELECT a + b * c FROM t").items[0],
              case .binary("+", _, .binary("*", _, _, _), _) = tree else { return XCTFail("* binds tighter than +") }
        guard case .expression(let logic, _) = try query("SELECT a OR b AND c FROM t").items[0],
              case .binary("OR", _, .binary("AND", _, _, _), _) = logic else { return XCTFail("AND binds tighter than OR") }
    }

    func testOtherStatements() throws {
        XCTAssertEqual(try parse("SET 'execution.checkpointing.dir' = 'ckpt'"), .set(key: "execution.checkpointing.dir", value: "ckpt", location: .start))
        guard case .set(let key, let value, _) = try parse("SET execution.runtime-mode = streaming") else { return XCTFail() }
        XCTAssertEqual([key, value], ["execution.runtime-mode", "streaming"])
        guard case .show(.tables, _) = try parse("SHOW TABLES") else { return XCTFail() }
        guard case .describe(let name) = try parse("DESCRIBE purchases") else { return XCTFail() }
        XCTAssertEqual(name.description, "purchases")
        guard case .explain(.insert(let table, _, _, _), _) = try parse("EXPLAIN PLAN FOR INSERT INTO out SELECT * FROM t") else { return XCTFail() }
        XCTAssertEqual(table.description, "out")
        guard case .drop(.view, _, ifExists: true) = try parse("DROP VIEW IF EXISTS v") else { return XCTFail() }
        guard case .createTable(let sink) = try parse("CREATE SINK s WITH ('connector' = 'print') AS SELECT a FROM t") else { return XCTFail() }
        XCTAssertEqual(sink.kind, .sink)
        XCTAssertNotNil(sink.query)
        guard case .createView(_, let view, _) = try parse("CREATE VIEW v AS SELECT a FROM (SELECT a, b FROM t) AS inner_t WHERE b > 1") else { return XCTFail() }
        guard case .subquery = view.from else { return XCTFail() }
        let script = try Parser.parseScript("-- a comment\nSET 'a' = 'b';\n/* block\ncomment */ SHOW JOBS;;\n")
        XCTAssertEqual(script.count, 2)
    }

    // MARK: errors

    func testErrorsNameLineColumnAndWhatWasExpected() {
        let missingFrom = error("SELECT a,\n  FROM t")
        XCTAssertEqual(missingFrom?.location.line, 2)
        XCTAssertEqual(missingFrom?.location.column, 3)
        XCTAssertEqual(missingFrom?.message, "expected an expression, found `FROM`")
        XCTAssertEqual(missingFrom?.rendered(in: "SELECT a,\n  FROM t"), """
            line 2, column 3: expected an expression, found `FROM`
                FROM t
                ^
            """)
        XCTAssertEqual(error("SELECT 'abc FROM t")?.message, "this string is never closed: ' expected")
        XCTAssertEqual(error("CREATE TABLE t (a INT) WITH ('connector' 'x')")?.message, "expected `=`, found the string 'x'")
        XCTAssertEqual(error("SELECT a FROM t WHERE")?.message, "expected an expression, found the end of the input")
        XCTAssertEqual(error("SELECT a FROM t; SELECT")?.location.column, 24)
        XCTAssertEqual(error("SELECT a FROM t x y")?.message, "expected `;` between statements, found `y`")
        XCTAssertEqual(error("SELECT select FROM t")?.message, "expected an expression, found `select`")
        XCTAssertEqual(error("CREATE TABLE from (a INT)")?.message,
                       "expected a table name, found the keyword FROM (quote it as `from` to use it as a name)")
        XCTAssertEqual(error("SELECT a FROM t WHERE a = #")?.message,
                       "unexpected `#`; identifiers with other characters are written in backquotes")
        XCTAssertEqual(error("SELECT 12abc FROM t")?.message, "a number runs into a name here; put a space or an operator between them")
    }

    func testUnsupportedFeaturesAreRefusedByName() {
        let cases: [(String, String)] = [
            ("SELECT * FROM a JOIN b ON a.k = b.k", "joins are not supported yet (JOIN)"),
            ("SELECT * FROM a LEFT JOIN b ON a.k = b.k", "joins are not supported yet (LEFT)"),
            ("SELECT * FROM a, b", "joins are not supported yet (a comma in FROM is a cross join)"),
            ("SELECT a FROM t UNION ALL SELECT a FROM u", "UNION is not supported yet"),
            ("SELECT a FROM t ORDER BY a", "ORDER BY is not supported on a streaming query"),
            ("SELECT SUM(a) OVER (PARTITION BY k ORDER BY ts) FROM t", "OVER windows are not supported yet"),
            ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH (common table expressions) is not supported yet"),
            ("SELECT a FROM t WHERE a IN (SELECT b FROM u)", "IN (SELECT …) subqueries are not supported"),
            ("INSERT INTO t VALUES (1)", "INSERT … VALUES is not supported"),
            ("CREATE TABLE t (a INT, PRIMARY KEY (a))", "Flink requires PRIMARY KEY (…) NOT ENFORCED"),
            ("SELECT * FROM t MATCH_RECOGNIZE (x)", "MATCH_RECOGNIZE is not supported"),
        ]
        for (text, message) in cases {
            guard let error = error(text) else { continue }
            XCTAssertTrue(error.message.hasPrefix(message), "\(text): \(error.message)")
        }
    }

    func testDeepNestingIsALimitNotACrash() {
        let deep = "SELECT " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " FROM t"
        XCTAssertEqual(error(deep)?.message, "the statement nests deeper than \(Parser.maxDepth) levels")
        let negations = "SELECT " + String(repeating: "NOT ", count: 5000) + "TRUE FROM t"
        XCTAssertEqual(error(negations)?.message, "the statement nests deeper than \(Parser.maxDepth) levels")
    }
}
