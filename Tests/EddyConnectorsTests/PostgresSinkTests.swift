import EddyConnectors
import EddyEngine
import EddySQL
import EddyTestSupport
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import XCTest

/// The PostgreSQL sink against a real PostgreSQL server (Debian's, started by
/// scripts/pg-test-server.sh in a temporary directory on a free port, stopped at the end).
final class PostgresSinkTests: XCTestCase {
    nonisolated(unsafe) static var serverDirectory = ""
    nonisolated(unsafe) static var port = 0
    nonisolated(unsafe) static var unavailable: String?
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    override class func setUp() {
        serverDirectory = "/tmp/eddy-pg-\(UUID().uuidString.prefix(8))"
        let (status, output) = shell(["bash", root + "/scripts/pg-test-server.sh", "start", serverDirectory])
        if status == 0, let number = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) {
            port = number
        } else {
            unavailable = "no PostgreSQL server could start (scripts/setup.sh installs it): \(output)"
        }
    }

    override class func tearDown() {
        _ = shell(["bash", root + "/scripts/pg-test-server.sh", "stop", serverDirectory])
        try? FileManager.default.removeItem(atPath: serverDirectory)
    }

    static func shell(_ arguments: [String]) -> (Int32, String) { runCommand(arguments) }

    var table = ""

    override func setUpWithError() throws {
        if let unavailable = Self.unavailable { throw XCTSkip(unavailable) }
        table = "t_\(UUID().uuidString.prefix(8).lowercased())"
    }

    var endpoint: PostgresEndpoint {
        PostgresEndpoint(host: "127.0.0.1", port: Self.port, database: "eddy", username: "eddy", password: "eddy-test")
    }

    /// Rows of `sql` as text (each row's columns as PostgreSQL prints them, joined by `|`).
    func query(_ sql: String) throws -> [String] {
        let connection = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: .init(host: "127.0.0.1", port: Self.port, username: "eddy", password: "eddy-test", database: "eddy", tls: .disable),
            id: 9, logger: Logger(label: "test")).wait()
        defer { try? connection.close().wait() }
        return try connection.query(sql, []).wait().rows.map { row in
            let cells = row.makeRandomAccess()
            return (0..<cells.count).map { cells[data: $0].string ?? "NULL" }.joined(separator: "|")
        }
    }

    static let schema = SQLiteSinkTests.schema

    func batch(_ rows: [(String?, Int64)]) -> RecordBatch { SQLiteSinkTests.batch(rows) }

    func sink(_ mode: OutputMode = .append, query: String = "q", key: [String]? = nil, schema: Schema = PostgresSinkTests.schema,
              retries: Int = 5, endpoint: PostgresEndpoint? = nil) throws -> any Sink {
        try PostgresSinkDescriptor(endpoint: endpoint ?? self.endpoint, table: table, primaryKey: key, retries: retries)
            .makeSink(SinkContext(schema: schema, mode: mode, upsertKeys: [], queryId: query))
    }

    /// eddy server reads a query's newest rows back from the table after a restart.
    func testTheNewestRowsReadBack() throws {
        let descriptor = PostgresSinkDescriptor(endpoint: endpoint, table: table)
        XCTAssertEqual(try descriptor.newestRows(5), [], "no table yet")
        let sink = try sink()
        try sink.write(batchId: 0, batch([("a", 1), ("b", 2)]))
        try sink.write(batchId: 1, batch([("c", 3)]))
        try sink.close()
        let rows = try descriptor.newestRows(2).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["k"] as? String }, ["b", "c"])
        XCTAssertEqual(rows.map { ($0["n"] as? NSNumber)?.intValue }, [2, 3])
        XCTAssertEqual(try descriptor.newestRows(10).count, 3)
    }

    func testURLsAndCredentials() throws {
        let jdbc = try PostgresEndpoint(url: "jdbc:postgresql://db.example:6543/shop", username: "writer", password: "secret", environment: [:])
        XCTAssertEqual(jdbc, PostgresEndpoint(host: "db.example", port: 6543, database: "shop", username: "writer", password: "secret"))
        XCTAssertEqual(jdbc.description, "postgres://writer@db.example:6543/shop", "no password in descriptions")
        let url = try PostgresEndpoint(url: "postgres://u%40x:p%3Ass@localhost/db", username: nil, password: nil, environment: [:])
        XCTAssertEqual([url.username, url.password, url.host, "\(url.port)"], ["u@x", "p:ss", "localhost", "5432"])
        let env = try PostgresEndpoint(url: "jdbc:postgresql://h/d?user=a", username: nil, password: nil, environment: ["PGPASSWORD": "from-env"])
        XCTAssertEqual([env.username, env.password], ["a", "from-env"])
        for bad in ["mysql://h/d", "jdbc:postgresql://h", "postgres://h:99999/d", "postgres://h/d"] {
            XCTAssertThrowsError(try PostgresEndpoint(url: bad, username: nil, password: nil, environment: [:]), bad)
        }
    }

    /// Rows the table refuses become dead letters and the batch goes on: values beyond a declared
    /// NUMERIC(5,2) on the COPY path (the table Eddy creates), a CHECK constraint on the upsert path
    /// (a table the user made). A replay of the committed batch returns the same letters.
    func testRowsTheTableRefusesBecomeDeadLetters() throws {
        var context = SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q")
        context.setsRowsAside = true
        let appends = try PostgresSinkDescriptor(endpoint: endpoint, table: table, decimalPrecision: ["amount": 5]).makeSink(context)
        let rows = (0..<850).map { (Optional("k\($0)"), Int64($0)) }
        let letters = try appends.write(batchId: 0, batch(rows))
        XCTAssertEqual(letters.count, 50, "amounts 1000.00 to 1061.25 do not fit numeric(5,2)")
        XCTAssertTrue(letters.allSatisfy { $0.reason == .rejected && $0.detail.contains("22003") }, letters.first?.detail ?? "")
        XCTAssertTrue(String(decoding: letters[0].value, as: UTF8.self).contains(#""n":800"#))
        XCTAssertEqual(try query("SELECT count(*), max(n) FROM \(table)"), ["800|799"])
        XCTAssertEqual(try query("SELECT numeric_precision FROM information_schema.columns WHERE table_name = '\(table)' AND column_name = 'amount'"), ["5"])
        XCTAssertEqual(try appends.write(batchId: 0, batch(rows)), letters)
        XCTAssertEqual(try query("SELECT count(*) FROM \(table)"), ["800"])

        let checked = table + "_checked"
        _ = try query("""
            CREATE TABLE \(checked) (k text PRIMARY KEY, n bigint CHECK (n <> 5), amount numeric(18,2), at timestamptz, ok boolean,
            x double precision, day date)
            """)
        context.mode = .update
        context.upsertKeys = ["k"]
        let upserts = try PostgresSinkDescriptor(endpoint: endpoint, table: checked, primaryKey: ["k"]).makeSink(context)
        let refused = try upserts.write(batchId: 3, batch([("a", 2), ("b", 5), ("c", 3)]))
        XCTAssertEqual(refused.count, 1)
        XCTAssertTrue(refused[0].detail.contains("check constraint"), refused[0].detail)
        XCTAssertEqual(try query("SELECT k, n FROM \(checked) ORDER BY k"), ["a|2", "c|3"])
    }

    func testAppendsEachBatchOnceWithItsTypes() throws {
        let sink = try sink()
        try sink.write(batchId: 0, batch([("a", 1), (nil, 2)]))
        try sink.write(batchId: 0, batch([("a", 1), (nil, 2)]))
        try sink.write(batchId: 1, batch([("b", 3)]))
        XCTAssertEqual(try sink.lastCommittedBatch(), 1)
        try sink.close()
        XCTAssertEqual(try query("SELECT k, n::text, amount::text, at::text, ok::text, x::text, day::text FROM \(table) ORDER BY n"), [
            "a|1|1.25|1970-01-01 00:00:01+00|false|0.25|2024-10-05",
            "NULL|2|2.50|1970-01-01 00:00:02+00|true|0.5|2024-10-06",
            "b|3|3.75|1970-01-01 00:00:03+00|false|0.75|2024-10-07",
        ])
        XCTAssertEqual(try query("SELECT data_type::text FROM information_schema.columns WHERE table_name = '\(table)' ORDER BY ordinal_position"),
                       ["text", "bigint", "numeric", "timestamp with time zone", "boolean", "double precision", "date"])
    }

    /// Text that COPY's format must escape, and NULLs, arrive as written.
    func testTextWithTabsNewlinesAndBackslashes() throws {
        let schema = Schema([Field("k", .utf8), Field("n", .int64)])
        let sink = try sink(schema: schema)
        let texts = ["tab\there", "two\nlines", "back\\slash \\N", "cr\r", "", "ünïcödé ☃"]
        try sink.write(batchId: 0, RecordBatch(schema: schema, rows: texts.enumerated().map { [.string($1), .int64(Int64($0))] } + [[.null, .int64(99)]]))
        XCTAssertEqual(try query("SELECT coalesce(k, 'NULL') FROM \(table) ORDER BY n"), texts + ["NULL"])
    }

    func testUpsertsAndCompleteResults() throws {
        let upserts = try sink(.update, key: ["k"])
        try upserts.write(batchId: 0, batch([("a", 1), ("b", 2)]))
        try upserts.write(batchId: 1, batch([("a", 10)]))
        XCTAssertEqual(try query("SELECT k, n::text FROM \(table) ORDER BY k"), ["a|10", "b|2"])
        table += "_c"
        let complete = try sink(.complete)
        try complete.write(batchId: 0, batch([("a", 1), ("b", 2)]))
        try complete.write(batchId: 1, batch([("c", 3)]))
        XCTAssertEqual(try query("SELECT k FROM \(table)"), ["c"])
    }

    func testMismatchBadPasswordAndNoServerAreClearErrors() throws {
        _ = try sink()
        let changed = Schema(Self.schema.fields.map { $0.name == "n" ? Field("n", .utf8) : $0 })
        XCTAssertThrowsError(try sink(schema: changed)) { error in
            XCTAssertEqual("\(error)", "configuration error: PostgreSQL column \(table).n is bigint; the query writes TEXT (text)")
        }
        var wrong = endpoint
        wrong.password = "not-the-password"
        XCTAssertThrowsError(try sink(endpoint: wrong)) { error in
            XCTAssertTrue("\(error)".contains("password authentication failed for user \"eddy\""), "\(error)")
            XCTAssertFalse("\(error)".contains("not-the-password"))
        }
        var nowhere = endpoint
        nowhere.port = 1
        let started = Date()
        XCTAssertThrowsError(try sink(retries: 2, endpoint: nowhere)) { error in
            XCTAssertTrue("\(error)".contains("cannot connect to postgres://eddy@127.0.0.1:1/eddy"), "\(error)")
        }
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.5, "two retries with back-off (0.2 s, 0.4 s)")
    }

    /// The server drops the sink's connection between two batches: the sink reconnects and the next
    /// batch lands once.
    func testALostConnectionIsReopened() throws {
        let sink = try sink(query: "lost")
        try sink.write(batchId: 0, batch([("a", 1)]))
        _ = try query("SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = 'eddy' AND backend_type = 'client backend'")
        try sink.write(batchId: 1, batch([("b", 2)]))
        XCTAssertEqual(try query("SELECT k FROM \(table) ORDER BY n"), ["a", "b"])
        XCTAssertEqual(try sink.lastCommittedBatch(), 1)
    }

    /// A windowed query crashed at every point of the protocol and restarted: the table holds each
    /// window once, as after a straight run.
    func testEachWindowOnceAfterACrashAtEveryPoint() throws {
        let checkpoints = NSTemporaryDirectory() + "eddy-pg-checkpoints-\(table)"
        defer { try? FileManager.default.removeItem(atPath: checkpoints) }
        try assertEachWindowOnceAfterACrashAtEveryPoint(
            sink: { PostgresSinkDescriptor(endpoint: endpoint, table: "\(table)_\($0)") },
            rows: { try query("SELECT window_start::text, k, c::text, total::text FROM \(table)_\($0) ORDER BY 1, 2") },
            checkpoints: checkpoints)
    }

    func testSQLTablesWithTheJDBCConnector() throws {
        let directory = NSTemporaryDirectory() + "eddy-pg-sql-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try runSalesTotals(into: """
            'connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:\(Self.port)/eddy', 'table-name' = '\(table)',
            'username' = 'eddy', 'password' = 'eddy-test'
            """, directory: directory)
        XCTAssertEqual(try query("SELECT category, orders::text, revenue::text FROM \(table) ORDER BY 1"), ["books|2|4.50", "games|1|2.00"])
        XCTAssertThrowsError(try SQLSession(connectors: SQLConnectors.standard(output: { _ in })).run("""
            CREATE TABLE other (a STRING) WITH ('connector' = 'jdbc', 'url' = 'jdbc:mysql://h/d', 'table-name' = 'x');
            """)) { XCTAssertTrue("\($0)".contains("jdbc:postgresql://"), "\($0)") }
    }
}
