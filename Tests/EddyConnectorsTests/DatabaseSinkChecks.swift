import EddyConnectors
import EddyEngine
import Foundation
import EddySQL
import XCTest

/// A windowed query into a sink, run straight and crashed at every point of the micro-batch protocol
/// (then restarted on its checkpoint): each run's table, read back with `rows`, must equal the
/// straight run's. `sink` gets a table name per run.
func assertEachWindowOnceAfterACrashAtEveryPoint(
    sink: (String) -> any SinkDescriptor, rows: (String) throws -> [String], checkpoints: String,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    let schema = Schema([Field("t", .timestamp), Field("k", .utf8), Field("n", .int64)])
    let input = MemoryStream(schema)
    for n in 0..<300 { input.add([[.timestamp(Int64(n) * 700), .string("k\(n % 5)"), .int64(Int64(n))]]) }
    var results: [String: [String]] = [:]
    for point in [nil] + MicroBatchProtocol.CrashPoint.allCases.map(Optional.some) {
        let name = point.map { "\($0)".lowercased() } ?? "straight"
        let pipeline = Pipeline.read(input).withWatermark("t", delay: .seconds(1))
            .groupBy(.tumble("t", .seconds(10)), "k").aggregate(.count(as: "c"), .sum("n", as: "total"))
            .write(sink(name))
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxRecords: 40)
        let checkpoint = checkpoints + "/checkpoint-\(name)"
        defer { try? FileManager.default.removeItem(atPath: checkpoint) }
        if let point {
            options.crashInjector = CrashInjector(stopAt: .init(batchId: 3, point: point))
            XCTAssertThrowsError(try TestDriver(pipeline, checkpoint: checkpoint, options: options, runId: "first").runUntilIdle(),
                                 "\(point)", file: file, line: line)
            options.crashInjector = nil
        }
        try TestDriver(pipeline, checkpoint: checkpoint, options: options, runId: "second").runUntilIdle()
        results[name] = try rows(name)
    }
    let straight = try XCTUnwrap(results["straight"], file: file, line: line)
    XCTAssertGreaterThan(straight.count, 50, file: file, line: line)
    for (name, rows) in results { XCTAssertEqual(rows, straight, name, file: file, line: line) }
}

/// Three sales (books twice) into an updating total per category, through SQL, one batch per line
/// so the books row is upserted; the totals table is written with the WITH clause `with`.
func runSalesTotals(into with: String, directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data("""
        {"category": "books", "amount": 1.50}
        {"category": "games", "amount": 2.00}
        {"category": "books", "amount": 3.00}

        """.utf8).write(to: URL(fileURLWithPath: directory + "/1.jsonl"))
    let session = SQLSession(connectors: SQLConnectors.standard(output: { _ in }), bounded: true)
    try session.run("""
        CREATE TABLE sales (category STRING, amount DECIMAL(10, 2)) WITH ('connector' = 'filesystem', 'path' = '\(directory)', 'format' = 'json');
        CREATE TABLE totals (category STRING, orders BIGINT, revenue DECIMAL(10, 2), PRIMARY KEY (category) NOT ENFORCED) WITH (\(with));
        INSERT INTO totals SELECT category, COUNT(*), SUM(amount) FROM sales GROUP BY category;
        """)
    var options = QueryOptions()
    options.readLimit = ReadLimit(maxBytes: 40)  // a batch per line: books is updated in place
    try TestDriver(session.jobs[0].pipeline, options: options).runUntilIdle()
    XCTAssertFalse(try session.jobs[0].pipeline.explain().contains("eddy-test"), "no password in plans")
}
