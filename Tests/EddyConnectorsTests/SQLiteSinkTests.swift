import EddyConnectors
import EddyEngine
import EddySQL
import Foundation
import SQLiteNIO
import XCTest

/// The SQLite sink: created tables, appends, upserts and complete results, each batch once across
/// replays and crashes at every point of the protocol, and clear errors for a table that does not fit.
final class SQLiteSinkTests: XCTestCase {
    var directory = ""
    var database: String { directory + "/results.db" }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/in", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Rows of `sql` as text, each row's columns joined by `|` (NULL as `NULL`).
    func query(_ sql: String) throws -> [String] {
        let connection = try SQLiteConnection.open(storage: .file(path: database)).wait()
        defer { try? connection.close().wait() }
        return try connection.query(sql).wait().map { row in
            row.columns.map { column -> String in
                switch column.data {
                case .null: "NULL"
                case .text(let text): text
                case .integer(let value): String(value)
                case .float(let value): String(value)
                case .blob: "blob"
                }
            }.joined(separator: "|")
        }
    }

    static let schema = Schema([Field("k", .utf8), Field("n", .int64), Field("amount", .decimal(scale: 2)), Field("at", .timestamp),
                                Field("ok", .bool), Field("x", .float64), Field("day", .date)])

    func batch(_ rows: [(String?, Int64)]) -> RecordBatch { Self.batch(rows) }

    /// Rows of `schema`: key, n, and values derived from n.
    static func batch(_ rows: [(String?, Int64)]) -> RecordBatch {
        RecordBatch(schema: Self.schema, rows: rows.map { key, n in
            [key.map(Value.string) ?? .null, .int64(n), .decimal(n * 125, scale: 2), .timestamp(n * 1000), .bool(n % 2 == 0), .float64(Double(n) / 4),
             .date(20_000 + n)]
        })
    }

    /// eddy server shows a query's results after a restart by reading the store back: the newest
    /// rows by insertion, oldest first, as JSON objects; SQLite and the files sink (JSON, Parquet).
    func testTheNewestRowsReadBackFromTheStore() throws {
        let sqlite = SQLiteSinkDescriptor(path: database, table: "out")
        XCTAssertEqual(try sqlite.newestRows(3), [], "no database yet")
        let sink = try sqlite.makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q1"))
        try sink.write(batchId: 0, batch([("a", 1), ("b", 2)]))
        try sink.write(batchId: 1, batch([("c", 3), ("d\"quoted\"", 4)]))
        try sink.close()
        let rows = try sqlite.newestRows(3).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["k"] as? String }, ["b", "c", "d\"quoted\""])
        XCTAssertEqual(rows.map { $0["n"] as? Int }, [2, 3, 4])
        XCTAssertEqual(rows.last?["at"] as? String, "1970-01-01T00:00:04.000Z")
        XCTAssertEqual(try SQLiteSinkDescriptor(path: database, table: "missing").newestRows(3), [])

        for format in [FileSinkDescriptor.Format.jsonLines, .parquet] {
            let files = FileSinkDescriptor.files(directory + "/lake-\(format.rawValue)", format: format)
            XCTAssertEqual(try files.newestRows(3), [])
            let fileSink = try files.makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q1"))
            try fileSink.write(batchId: 0, batch([("a", 1), ("b", 2)]))
            try fileSink.write(batchId: 1, batch([("c", 3)]))
            try fileSink.close()
            let read = try files.newestRows(2).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            XCTAssertEqual(read.map { $0["k"] as? String }, ["b", "c"], "\(format)")
            XCTAssertEqual(try files.newestRows(10).count, 3, "\(format)")
        }
    }

    func testAppendsEachBatchOnceWithItsTypes() throws {
        let sink = try SQLiteSinkDescriptor(path: database, table: "out")
            .makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q1"))
        try sink.write(batchId: 0, batch([("a", 1), (nil, 2)]))
        try sink.write(batchId: 0, batch([("a", 1), (nil, 2)]))  // a replay
        try sink.write(batchId: 1, batch([("b", 3)]))
        XCTAssertEqual(try sink.lastCommittedBatch(), 1)
        try sink.close()
        XCTAssertEqual(try query("SELECT * FROM out ORDER BY n"), [
            "a|1|1.25|1970-01-01T00:00:01.000Z|0|0.25|2024-10-05",
            "NULL|2|2.5|1970-01-01T00:00:02.000Z|1|0.5|2024-10-06",
            "b|3|3.75|1970-01-01T00:00:03.000Z|0|0.75|2024-10-07",
        ])
        XCTAssertEqual(try query("SELECT typeof(n), typeof(amount), typeof(x), typeof(at) FROM out LIMIT 1"), ["integer|real|real|text"])
        XCTAssertEqual(try query("SELECT query_id, sink, batch_id FROM eddy_sink_progress"), ["q1|out|1"])
        XCTAssertEqual(try query("PRAGMA journal_mode"), ["wal"])
        // Another query into the same table keeps its own progress.
        let other = try SQLiteSinkDescriptor(path: database, table: "out")
            .makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q2"))
        XCTAssertNil(try other.lastCommittedBatch())
    }

    func testUpdatingResultsUpsertAndCompleteResultsReplace() throws {
        try runSalesTotals(into: "'connector' = 'sqlite', 'path' = '\(database)'", directory: directory + "/sales")
        XCTAssertEqual(try query("SELECT * FROM totals ORDER BY category"), ["books|2|4.5", "games|1|2"])
        XCTAssertEqual(try query("SELECT sql FROM sqlite_master WHERE name = 'totals'"),
                       [#"CREATE TABLE "totals" ("category" TEXT, "orders" INTEGER, "revenue" DECIMAL(18, 2), PRIMARY KEY ("category"))"#])

        // Complete mode: each batch's rows replace the table's.
        let complete = try SQLiteSinkDescriptor(path: database, table: "whole")
            .makeSink(SinkContext(schema: Self.schema, mode: .complete, upsertKeys: [], queryId: "q"))
        try complete.write(batchId: 0, batch([("a", 1), ("b", 2)]))
        try complete.write(batchId: 1, batch([("a", 3)]))
        try complete.write(batchId: 1, batch([("a", 3)]))
        XCTAssertEqual(try query("SELECT k, n FROM whole"), ["a|3"])

        let session = SQLSession(connectors: SQLConnectors.standard(output: { _ in }), bounded: true)
        XCTAssertThrowsError(try session.run("""
            CREATE TABLE sales (category STRING) WITH ('connector' = 'filesystem', 'path' = '\(directory)/sales', 'format' = 'json');
            CREATE TABLE nokey (category STRING, orders BIGINT) WITH ('connector' = 'sqlite', 'path' = '\(database)');
            INSERT INTO nokey SELECT category, COUNT(*) FROM sales GROUP BY category;
            """)) { XCTAssertTrue("\($0)".contains("PRIMARY KEY"), "\($0)") }
    }

    func testATableThatDoesNotFitIsRefusedNamingTheColumn() throws {
        _ = try SQLiteSinkDescriptor(path: database, table: "t").makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q"))
        let changed = Schema(Self.schema.fields.map { $0.name == "n" ? Field("n", .utf8) : $0 } + [Field("extra", .int64)])
        XCTAssertThrowsError(try SQLiteSinkDescriptor(path: database, table: "t")
            .makeSink(SinkContext(schema: changed, mode: .append, upsertKeys: [], queryId: "q"))) { error in
            XCTAssertEqual("\(error)", "configuration error: SQLite column t.n is INTEGER; the query writes TEXT (TEXT)")
        }
        let wider = Schema(Self.schema.fields + [Field("extra", .int64)])
        XCTAssertThrowsError(try SQLiteSinkDescriptor(path: database, table: "t")
            .makeSink(SinkContext(schema: wider, mode: .append, upsertKeys: [], queryId: "q"))) { error in
            XCTAssertTrue("\(error)".contains("has no column extra"), "\(error)")
        }
        XCTAssertThrowsError(try SQLiteSinkDescriptor(path: directory + "/in", table: "t")
            .makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q"))) { error in
            XCTAssertTrue("\(error)".contains("cannot open the SQLite database"), "\(error)")
        }
    }

    /// Rows the table refuses (a NOT NULL column, a CHECK constraint of an existing table) are set
    /// aside with SQLite's message and come back as dead letters; the other rows and the progress
    /// row commit. A replay of the committed batch returns the same letters; the next batch's
    /// commit forgets them.
    func testRowsTheTableRefusesBecomeDeadLetters() throws {
        let connection = try SQLiteConnection.open(storage: .file(path: database)).wait()
        _ = try connection.query(#"CREATE TABLE strict (k TEXT NOT NULL, n INTEGER CHECK (n <> 77), amount NUMERIC, at TEXT, ok BOOLEAN, x REAL, day DATE)"#).wait()
        try connection.close().wait()
        var context = SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q")
        var rows = (0..<1200).map { (Optional("k\($0)"), Int64($0)) }
        rows[1100].0 = nil
        // Without a dead-letter destination a refused row fails the batch, which leaves nothing behind.
        let strict = try SQLiteSinkDescriptor(path: database, table: "strict").makeSink(context)
        XCTAssertThrowsError(try strict.write(batchId: 0, batch(rows))) { XCTAssertTrue("\($0)".contains("CHECK constraint failed"), "\($0)") }
        XCTAssertEqual(try query("SELECT count(*) FROM strict"), ["0"])
        XCTAssertNil(try strict.lastCommittedBatch())
        try strict.close()
        context.setsRowsAside = true
        let sink = try SQLiteSinkDescriptor(path: database, table: "strict").makeSink(context)
        let letters = try sink.write(batchId: 0, batch(rows))
        XCTAssertEqual(letters.map(\.reason), [.rejected, .rejected])
        XCTAssertTrue(letters[0].detail.contains("CHECK constraint failed"), letters[0].detail)
        XCTAssertTrue(letters[1].detail.contains("NOT NULL"), letters[1].detail)
        XCTAssertTrue(String(decoding: letters[0].value, as: UTF8.self).contains(#""n":77"#), String(decoding: letters[0].value, as: UTF8.self))
        XCTAssertTrue(String(decoding: letters[1].value, as: UTF8.self).contains(#""k":null,"n":1100"#), String(decoding: letters[1].value, as: UTF8.self))
        XCTAssertEqual(try query("SELECT count(*) FROM strict"), ["1198"])
        XCTAssertEqual(try query("SELECT count(*) FROM strict WHERE n IN (77, 1100)"), ["0"])
        XCTAssertEqual(try sink.lastCommittedBatch(), 0)
        // A replay of the committed batch writes nothing and returns the same letters.
        XCTAssertEqual(try sink.write(batchId: 0, batch(rows)), letters)
        XCTAssertEqual(try query("SELECT count(*) FROM strict"), ["1198"])
        XCTAssertEqual(try sink.write(batchId: 1, batch([("x", 1)])), [])
        XCTAssertEqual(try query("SELECT count(*) FROM eddy_sink_rejects"), ["0"])
        // More refused rows than `rejectedRowsMax` fail the batch: the query and the table disagree.
        let allBad = (0..<(SinkContext.rejectedRowsMax + 1)).map { (String?.none, Int64($0)) }
        XCTAssertThrowsError(try sink.write(batchId: 2, batch(allBad))) { XCTAssertTrue("\($0)".contains("more than 1000 rows"), "\($0)") }
        XCTAssertEqual(try sink.lastCommittedBatch(), 1)
    }

    /// A windowed query crashed at every point of the protocol and restarted: the table holds each
    /// window once, as after a straight run.
    func testEachWindowOnceAfterACrashAtEveryPoint() throws {
        try assertEachWindowOnceAfterACrashAtEveryPoint(
            sink: { SQLiteSinkDescriptor(path: database, table: "w_\($0)") },
            rows: { try query("SELECT window_start, k, c, total FROM \"w_\($0)\" ORDER BY window_start, k") },
            checkpoints: directory)
    }
}
