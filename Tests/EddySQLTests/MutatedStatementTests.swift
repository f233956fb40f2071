import EddyEngine
import EddySQL
import EddyTestSupport
import XCTest

/// Thousands of mutated statements through the lexer, parser and binder: each either runs or fails
/// with an error that points inside the text; none crashes (a crash would end the test process).
final class MutatedStatementTests: XCTestCase {
    static let seeds = [
        """
        CREATE TABLE purchases (
          event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3),
          total AS amount * 2,
          WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
        ) WITH ('connector' = 'memory');
        """,
        """
        CREATE TABLE revenue WITH ('connector' = 'memory') AS
        SELECT window_start, window_end, category, COUNT(*) AS orders, SUM(amount) FILTER (WHERE country = 'DE') AS de,
               COUNT(DISTINCT user_id) AS users, AVG(amount) AS mean
        FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end, category HAVING COUNT(*) > 1;
        """,
        """
        CREATE TABLE h WITH ('connector' = 'memory') AS SELECT window_start, user_id, MAX(amount) AS top
        FROM HOP(purchases, event_time, INTERVAL '1' MINUTE, INTERVAL '5' MINUTES) GROUP BY window_start, window_end, user_id;
        """,
        """
        CREATE VIEW v AS SELECT event_id, UPPER(category) AS c, CASE WHEN amount BETWEEN 1 AND 10 THEN 'small' ELSE 'big' END AS s,
          CAST(user_id AS DOUBLE) / 3 AS third, category LIKE 'b%' AS b, country NOT IN ('DE', 'FR') AS far,
          EXTRACT(HOUR FROM event_time) AS hour, COALESCE(amount, 0.00) + 1 AS a1, 'it''s' || event_id AS quoted
        FROM purchases WHERE amount IS NOT NULL AND NOT (country = 'US' OR user_id > 100);
        """,
        """
        CREATE TABLE s WITH ('connector' = 'memory') AS SELECT window_start, user_id, COUNT(*) AS n
        FROM TABLE(SESSION(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '30' SECOND)) GROUP BY window_start, window_end, user_id;
        SET 'execution.checkpointing.interval' = '1 s'; EXPLAIN SELECT * FROM v; SHOW TABLES; DESCRIBE purchases;
        """,
    ]

    static let fragments = [
        "SELECT", "FROM", "WHERE", "GROUP BY", "(", ")", ",", "'", "`", "\"", "--", "/*", "*/", ";", "*", "+", "-", "||",
        "INTERVAL '1' SECOND", "TABLE", "DESCRIPTOR(", "NULL", "1.5", "1e400", "99999999999999999999", "CAST(", "AS",
        "CASE WHEN", "END", "COUNT(DISTINCT", "FILTER (WHERE", "TUMBLE(", "JOIN", "ORDER BY", "é", "\u{0}", "\n", " ",
        "window_start", "amount", "purchases", "WATERMARK FOR", "PRIMARY KEY", "NOT ENFORCED", "=>", "[", "]", "<>",
    ]

    func testMutatedStatementsGivePositionedErrorsNeverACrash() throws {
        var random = SeededRandom("testMutatedStatementsGivePositionedErrorsNeverACrash")
        var ran = 0, failed = 0
        for _ in 0..<3000 {
            var scalars = Array((Self.seeds[0] + "\n" + Self.seeds.randomElement(using: &random)!).unicodeScalars)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0...scalars.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where at < scalars.count:  // delete a run
                    scalars.removeSubrange(at..<min(scalars.count, at + Int.random(in: 1...12, using: &random)))
                case 1:  // insert a fragment
                    scalars.insert(contentsOf: Self.fragments.randomElement(using: &random)!.unicodeScalars, at: at)
                case 2 where at < scalars.count:  // replace one character
                    scalars[at] = Unicode.Scalar(UInt8.random(in: 32...126, using: &random))
                default:  // duplicate a run
                    let end = min(scalars.count, at + Int.random(in: 1...20, using: &random))
                    scalars.insert(contentsOf: scalars[at..<end], at: at)
                }
            }
            let text = String(String.UnicodeScalarView(scalars))
            let session = SQLSession(connectors: ConnectorRegistry([MemoryConnector()]))
            do {
                try session.run(text)
                for job in session.jobs { _ = try? job.pipeline.explain() }
                ran += 1
            } catch {
                failed += 1
                let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                XCTAssertGreaterThanOrEqual(error.location.line, 1, "\(error)\n\(text)")
                XCTAssertLessThanOrEqual(error.location.line, lines.count, "\(error)\n\(text)")
                XCTAssertGreaterThanOrEqual(error.location.column, 1, "\(error)\n\(text)")
                XCTAssertLessThanOrEqual(error.location.offset, text.utf8.count, "\(error)\n\(text)")
                XCTAssertFalse(error.message.isEmpty)
                XCTAssertTrue(error.rendered(in: text).contains("^"), "\(error)\n\(text)")
            }
        }
        print("mutated statements: \(ran) ran, \(failed) refused with a positioned error")
        XCTAssertGreaterThan(failed, 1000, "most mutations must break the statement")
        XCTAssertGreaterThan(ran, 10, "some mutations keep it valid")
    }
}
