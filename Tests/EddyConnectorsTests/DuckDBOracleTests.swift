import EddyConnectors
import EddyEngine
import EddySQL
import EddyTestSupport
import Foundation
import XCTest

/// The oracle: for each window type, every aggregate computed by Eddy (files source, test driver)
/// equals DuckDB's batch SQL over the same JSON-lines file: exact for integers and decimals, 1e-9
/// relative for doubles. The input is seeded (EDDY_SEED replays it); its disorder stays within the
/// watermark delay, so no row is late and the end of the bounded input closes every window.
final class DuckDBOracleTests: XCTestCase {
    static let schema = Schema([
        Field("seq", .int64), Field("k", .utf8), Field("t", .timestamp), Field("vi", .int64),
        Field("vd", .decimal(scale: 2)), Field("vf", .float64), Field("vs", .utf8),
    ])
    static let aggregates: [Aggregate] = [
        .count(), .count("vi", as: "count_vi"), .countDistinct("vi", as: "distinct_vi"), .sum("vi", as: "sum_vi"),
        .sum("vd", as: "sum_vd"), .avg("vd", as: "avg_vd"), .avg("vf", as: "avg_vf"), .min("vs", as: "min_vs"),
        .max("vd", as: "max_vd"), .min("t", as: "min_t"), .first("vi", as: "first_vi"), .last("vs", as: "last_vs"),
    ]
    /// The same aggregates in DuckDB (first/last skip NULLs and break ties by arrival, as Eddy's do).
    static let duckAggregates = """
        count(*) AS count, count(vi) AS count_vi, count(DISTINCT vi) AS distinct_vi, sum(vi) AS sum_vi,
        sum(vd) AS sum_vd, avg(vd) AS avg_vd, avg(vf) AS avg_vf, min(vs) AS min_vs, max(vd) AS max_vd,
        min(t) AS min_t, first(vi ORDER BY t, seq) FILTER (WHERE vi IS NOT NULL) AS first_vi,
        last(vs ORDER BY t, seq) FILTER (WHERE vs IS NOT NULL) AS last_vs
        """

    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-oracle-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/in", withIntermediateDirectories: true)
        var random = SeededRandom("DuckDBOracleTests")
        var text = ""
        var time: Int64 = 1_767_225_600_000
        for seq in 0..<6000 {
            time += Int64(Int(random.next(upperBound: UInt64(400))))
            let t = time - (Int(random.next(upperBound: UInt64(5))) == 0 ? Int64(Int(random.next(upperBound: UInt64(3000)))) : 0)
            func maybe(_ value: String) -> String { Int(random.next(upperBound: UInt64(10))) == 0 ? "null" : value }
            let cents = Int64(Int(random.next(upperBound: UInt64(200_000)))) - 50_000
            let decimal = "\(cents < 0 ? "-" : "")\(abs(cents) / 100).\(String(format: "%02d", abs(cents) % 100))"
            text += #"{"seq":\#(seq),"k":"\#(["a", "b", "c", "d", "e"][Int(random.next(upperBound: UInt64(5)))])","t":\#(t),"#
                + #""vi":\#(maybe(String(Int(Int(random.next(upperBound: UInt64(50)))) - 10))),"vd":\#(maybe(decimal)),"#
                + #""vf":\#(maybe(String(Double(Int(random.next(upperBound: UInt64(1_000_000)))) / 7.0))),"#
                + #""vs":\#(maybe("\"s\(Int(random.next(upperBound: UInt64(40))))\""))}"# + "\n"
        }
        try text.write(toFile: directory + "/in/events.jsonl", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testTumbling() throws {
        try compare(.tumble("t", .seconds(10)), windows: "SELECT *, (t // 10000) * 10000 AS ws, (t // 10000) * 10000 + 10000 AS we FROM events")
    }

    func testCumulating() throws {
        try compare(.cumulate("t", size: .seconds(20), step: .seconds(5)), windows: cumulating(size: 20_000, step: 5000))
    }

    func testHoppingWithSizeAMultipleOfSlide() throws {
        try compare(.hop("t", size: .seconds(10), slide: .seconds(5)), windows: hopping(size: 10_000, slide: 5000))
    }

    func testHoppingWithSizeNotAMultipleOfSlide() throws {
        try compare(.hop("t", size: .seconds(10), slide: .seconds(4)), windows: hopping(size: 10_000, slide: 4000))
    }

    /// Gaps and islands: a row starts a new session when it comes more than 3 s after the key's
    /// previous row (a row exactly 3 s after it touches the session and joins it, Flink's rule, as
    /// `WindowSpec` says); the session ends 3 s after its last row.
    static let sessions = """
        SELECT * EXCLUDE (sid), min(t) OVER (PARTITION BY k, sid) AS ws, max(t) OVER (PARTITION BY k, sid) + 3000 AS we
        FROM (SELECT *, sum(starts) OVER (PARTITION BY k ORDER BY t, seq ROWS UNBOUNDED PRECEDING) AS sid
              FROM (SELECT *, CASE WHEN t - lag(t) OVER (PARTITION BY k ORDER BY t, seq) <= 3000 THEN 0 ELSE 1 END AS starts
                    FROM events))
        """

    func testSession() throws {
        try compare(.session("t", gap: .seconds(3)), windows: Self.sessions)
    }

    func testSQLSessionsWithExpressionsOverTheGroup() throws {
        try compareSQL("""
            SELECT window_start, window_end, k, COUNT(*) AS n, SUM(vd) AS total, MAX(vs) AS top,
                   COUNT(*) FILTER (WHERE vs IS NULL) AS missing, window_end - window_start AS span
            FROM TABLE(SESSION(TABLE events, DESCRIPTOR(t), INTERVAL '3' SECOND))
            GROUP BY window_start, window_end, k
            """, duck: """
            SELECT ws, we, k, count(*) AS n, sum(vd) AS total, max(vs) AS top, count(*) FILTER (WHERE vs IS NULL) AS missing,
                   we - ws AS span
            FROM (\(Self.sessions))
            GROUP BY ws, we, k ORDER BY we, ws, k
            """)
    }

    // MARK: SQL: queries as users write them, against DuckDB's answer to the same question

    func testSQLWithFilterComputedKeyAggregateFilterAndHaving() throws {
        try compareSQL("""
            SELECT window_start, window_end, UPPER(k) AS k, COUNT(*) AS n, SUM(vd) FILTER (WHERE vi > 0) AS pos,
                   SUM(vi * 2) AS twice, MAX(CHAR_LENGTH(vs)) AS longest
            FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(t), INTERVAL '10' SECOND))
            WHERE vf IS NULL OR vf > 1000
            GROUP BY window_start, window_end, UPPER(k)
            HAVING COUNT(*) > 2
            """, duck: """
            SELECT ws, we, upper(k) AS k, count(*) AS n, sum(vd) FILTER (WHERE vi > 0) AS pos, sum(vi * 2) AS twice,
                   max(length(vs)) AS longest
            FROM (SELECT *, (t // 10000) * 10000 AS ws, (t // 10000) * 10000 + 10000 AS we FROM events)
            WHERE vf IS NULL OR vf > 1000
            GROUP BY ws, we, upper(k) HAVING count(*) > 2
            ORDER BY we, ws, k
            """)
    }

    func testSQLHoppingWithACaseKeyAndDistinct() throws {
        try compareSQL("""
            SELECT window_start, window_end, CASE WHEN vi > 10 THEN 'high' ELSE 'low' END AS band,
                   COUNT(DISTINCT k) AS keys, AVG(vf) AS mean, MIN(vs) AS least
            FROM HOP(events, t, INTERVAL '4' SECOND, INTERVAL '10' SECOND)
            GROUP BY window_start, window_end, CASE WHEN vi > 10 THEN 'high' ELSE 'low' END
            """, duck: """
            SELECT ws, we, CASE WHEN vi > 10 THEN 'high' ELSE 'low' END AS band, count(DISTINCT k) AS keys,
                   avg(vf) AS mean, min(vs) AS least
            FROM (\(hopping(size: 10_000, slide: 4000)))
            GROUP BY ws, we, band ORDER BY we, ws, band
            """)
    }

    func testSQLCumulatingWindowsWithFilterAndHaving() throws {
        try compareSQL("""
            SELECT window_start, window_end, k, COUNT(*) AS n, SUM(vd) AS total, MAX(vi) FILTER (WHERE vf > 0) AS top
            FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(t), INTERVAL '3' SECOND, INTERVAL '12' SECOND))
            WHERE k <> 'c'
            GROUP BY window_start, window_end, k
            HAVING COUNT(*) > 1
            """, duck: """
            SELECT ws, we, k, count(*) AS n, sum(vd) AS total, max(vi) FILTER (WHERE vf > 0) AS top
            FROM (\(cumulating(size: 12_000, step: 3000)))
            WHERE k <> 'c'
            GROUP BY ws, we, k HAVING count(*) > 1 ORDER BY we, ws, k
            """)
    }

    func testSQLStatelessProjectionAndFilter() throws {
        try compareSQL("""
            SELECT seq, UPPER(k) AS uk, CASE WHEN vi IS NULL THEN -1 ELSE vi * 3 END AS v3, COALESCE(vs, 'none') AS s,
                   SUBSTRING(vs FROM 2) AS tail, vd * 2 AS vd2, CAST(vf AS BIGINT) AS vfi, CHAR_LENGTH(vs) + vi AS mixed
            FROM events
            WHERE (vs LIKE 's1%' OR vi BETWEEN 0 AND 5) AND k IN ('a', 'b', 'c')
            """, duck: """
            SELECT seq, upper(k) AS uk, CASE WHEN vi IS NULL THEN -1 ELSE vi * 3 END AS v3, coalesce(vs, 'none') AS s,
                   substring(vs, 2) AS tail, vd * 2 AS vd2, CAST(vf AS BIGINT) AS vfi, length(vs) + vi AS mixed
            FROM events
            WHERE (vs LIKE 's1%' OR vi BETWEEN 0 AND 5) AND k IN ('a', 'b', 'c')
            ORDER BY seq
            """)
    }

    func testSQLPlainGroupByUpdatesToDuckDBsTotals() throws {
        try compareSQL("""
            SELECT k, COUNT(*) AS n, SUM(vd) AS total, MIN(vs) AS least, COUNT(DISTINCT vi) AS distinct_vi, MAX(t) AS latest
            FROM events GROUP BY k
            """, duck: """
            SELECT k, count(*) AS n, sum(vd) AS total, min(vs) AS least, count(DISTINCT vi) AS distinct_vi, max(t) AS latest
            FROM events GROUP BY k
            """, updatingKeys: 1, minimumRows: 5)
    }

    func testSQLDistinctAndASubqueryInFrom() throws {
        try compareSQL("SELECT DISTINCT k, vi > 10 AS big FROM events", duck: "SELECT DISTINCT k, vi > 10 AS big FROM events",
                       updatingKeys: 2, minimumRows: 10)
        try compareSQL("""
            SELECT k2, COUNT(*) AS n, AVG(vf) AS mean FROM (SELECT UPPER(k) AS k2, vf, vi FROM events WHERE vi > 0) GROUP BY k2
            """, duck: """
            SELECT k2, count(*) AS n, avg(vf) AS mean FROM (SELECT upper(k) AS k2, vf, vi FROM events WHERE vi > 0) GROUP BY k2
            """, updatingKeys: 1, minimumRows: 5)
    }

    /// Runs `sql` (a SELECT over `events`) through EddySQL and compares its rows with DuckDB's `duck`
    /// over the same file. An updating query (`updatingKeys`: its first columns are the key) is
    /// compared by its final rows per key with DuckDB's, both sorted.
    private func compareSQL(_ sql: String, duck: String, updatingKeys: Int? = nil, minimumRows: Int = 50,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let output = MemorySink()
        let session = SQLSession(connectors: SQLConnectors.standard(output: { _ in }), bounded: true)
        try session.run("""
            CREATE TABLE events (seq BIGINT, k STRING, t TIMESTAMP(3), vi BIGINT, vd DECIMAL(18, 2), vf DOUBLE, vs STRING,
              WATERMARK FOR t AS t - INTERVAL '5' SECOND)
            WITH ('connector' = 'filesystem', 'path' = '\(directory)/in', 'format' = 'json');
            """)
        guard case .query(let query) = try Parser.parseStatement(sql) else { return XCTFail("not a query", file: file, line: line) }
        let bound = try session.bind(query)
        let pipeline = StreamingPipeline(plan: .sink(bound.plan, LogicalSink(output, mode: updatingKeys == nil ? .append : .update)))
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 64 << 10)  // many micro-batches
        let driver = try TestDriver(pipeline, options: options)
        try driver.runUntilIdle()
        XCTAssertGreaterThan(driver.progress.count, 5, file: file, line: line)
        var eddy = output.rows.map { row in row.map(Self.canonical) }
        var expected = try duckDB("""
            WITH events AS (SELECT * FROM read_json('\(directory)/in/events.jsonl', format = 'newline_delimited',
                 columns = {seq: 'BIGINT', k: 'VARCHAR', t: 'BIGINT', vi: 'BIGINT', vd: 'DECIMAL(18,2)', vf: 'DOUBLE', vs: 'VARCHAR'}))
            \(duck)
            """)
        if let updatingKeys {
            // The last update of each key is its final row.
            var last: [[String]: [String]] = [:]
            for row in eddy { last[Array(row.prefix(updatingKeys))] = row }
            let order: ([String], [String]) -> Bool = { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }
            eddy = last.values.sorted(by: order)
            expected = expected.sorted(by: order)
        }
        XCTAssertEqual(eddy.count, expected.count, "row count", file: file, line: line)
        XCTAssertGreaterThanOrEqual(expected.count, minimumRows, file: file, line: line)
        for (index, (mine, theirs)) in zip(eddy, expected).enumerated() {
            XCTAssertEqual(mine.count, theirs.count, file: file, line: line)
            for (column, (a, b)) in zip(mine, theirs).enumerated() where !Self.same(a, b) {
                XCTFail("row \(index) column \(column): Eddy \(a), DuckDB \(b)\nEddy \(mine)\nDuckDB \(theirs)", file: file, line: line)
                return
            }
        }
    }

    private func hopping(size: Int64, slide: Int64) -> String {
        """
        SELECT * EXCLUDE (start_index), start_index * \(slide) AS ws, start_index * \(slide) + \(size) AS we
        FROM (SELECT *, unnest(range((t - \(size)) // \(slide) + 1, t // \(slide) + 1)) AS start_index FROM events)
        """
    }

    /// Every cumulating window of a row: ends on the step grid after it, up to its period's end.
    private func cumulating(size: Int64, step: Int64) -> String {
        """
        SELECT * EXCLUDE (end_index), (t // \(size)) * \(size) AS ws, end_index * \(step) AS we
        FROM (SELECT *, unnest(range(t // \(step) + 1, ((t // \(size)) * \(size) + \(size)) // \(step) + 1)) AS end_index FROM events)
        """
    }

    private func compare(_ window: WindowGrouping, windows: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let output = MemorySink()
        let pipeline = Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema), bounded: true))
            .withWatermark("t", delay: .seconds(5))
            .groupBy(window, "k")
            .aggregate(Self.aggregates)
            .write(output)
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 64 << 10)  // many micro-batches
        let driver = try TestDriver(pipeline, options: options)
        try driver.runUntilIdle()
        XCTAssertGreaterThan(driver.progress.count, 5, file: file, line: line)
        XCTAssertEqual(driver.progress.compactMap(\.stateOperators.first?.numRowsDroppedByWatermark).max(), 0, "no late rows")

        let eddy = output.rows.map { row in row.map(Self.canonical) }
        let duck = try duckDB("""
            WITH events AS (SELECT * FROM read_json('\(directory)/in/events.jsonl', format = 'newline_delimited',
                 columns = {seq: 'BIGINT', k: 'VARCHAR', t: 'BIGINT', vi: 'BIGINT', vd: 'DECIMAL(18,2)', vf: 'DOUBLE', vs: 'VARCHAR'})),
            windowed AS (\(windows))
            SELECT ws, we, k, \(Self.duckAggregates) FROM windowed GROUP BY ws, we, k ORDER BY we, ws, k
            """)
        XCTAssertEqual(eddy.count, duck.count, "window count", file: file, line: line)
        XCTAssertGreaterThan(duck.count, 50, file: file, line: line)
        for (index, (mine, theirs)) in zip(eddy, duck).enumerated() {
            XCTAssertEqual(mine.count, theirs.count, file: file, line: line)
            for (column, (a, b)) in zip(mine, theirs).enumerated() where !Self.same(a, b) {
                XCTFail("row \(index) column \(column): Eddy \(a), DuckDB \(b)\nEddy \(mine)\nDuckDB \(theirs)", file: file, line: line)
                return
            }
        }
    }

    /// Eddy's values as DuckDB prints them through JSON: timestamps as epoch millis, decimals as text.
    static func canonical(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .timestamp(let millis): String(millis)
        case .date(let days): formatDate(days)
        case .decimal(let unscaled, let scale): formatDecimal(unscaled, scale: scale)
        case .float64(let double): String(double)
        case .string(let string): string
        case .int64(let int): String(int)
        case .bool(let bool): String(bool)
        }
    }

    static func same(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = Double(a), let y = Double(b), a.contains(".") || b.contains(".") else { return false }
        if a.contains("e") || b.contains("e") || !(a.split(separator: ".").last?.count == 2 && b.split(separator: ".").last?.count == 2) {
            return abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1e-300)
        }
        return false  // decimals must match exactly
    }

    /// Rows of a DuckDB query, each value as text (NULL as "null"), through the project's venv.
    func duckDB(_ sql: String) throws -> [[String]] {
        let script = """
            import duckdb, json, sys
            rows = duckdb.sql(sys.stdin.read()).fetchall()
            def text(v):
                if isinstance(v, bool):
                    return "true" if v else "false"
                return "null" if v is None else (repr(v) if isinstance(v, float) else str(v))
            for row in rows:
                print(json.dumps([text(v) for v in row]))
            """
        let data: String
        do { data = try runPython(script, input: sql) } catch is PythonUnavailable { throw XCTSkip("no .venv with duckdb: run scripts/setup.sh (make test does)") }
        return try data.split(separator: "\n").map { line in
            try JSONDecoder().decode([String].self, from: Data(line.utf8))
        }
    }
}
