import EddyConnectors
import EddyEngine
import EddySQL
import Foundation
import XCTest

/// The SQL files under examples/ bind with the standard connectors, and the three benchmark queries
/// make the same plans as the Swift API's pipelines.
final class SQLExamplesTests: XCTestCase {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    func jobs(_ name: String) throws -> [SQLJob] {
        let text = try String(contentsOfFile: Self.examples + "/" + name, encoding: .utf8)
        let session = SQLSession(connectors: SQLConnectors.standard(output: { _ in }))
        do {
            try session.run(text)
        } catch {
            XCTFail(error.rendered(in: text, file: name))
        }
        return session.jobs
    }

    func testEveryExampleBinds() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(files, ["bids.sql", "fraud.sql", "iot.sql", "revenue.sql", "users.sql"])
        for file in files {
            let jobs = try jobs(file)
            XCTAssertFalse(jobs.isEmpty, file)
            for job in jobs { XCTAssertNoThrow(try job.pipeline.physicalPlan(), "\(file): \(job.name)") }
        }
    }

    /// The live pipelines `make demo` runs under eddy server read and write the embedded broker.
    func testEveryLiveExampleBinds() throws {
        let directory = Self.examples + "/live"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(files, ["fraud.sql", "iot.sql", "revenue.sql"])
        var tables: [String] = []
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            let session = SQLSession(connectors: SQLConnectors.standard(planningOnly: true, output: { _ in }))
            do {
                try session.run(text)
            } catch {
                XCTFail(error.rendered(in: text, file: file))
            }
            XCTAssertFalse(session.jobs.isEmpty, file)
            for job in session.jobs { XCTAssertNoThrow(try job.pipeline.physicalPlan(), "\(file): \(job.name)") }
            tables += session.jobs.map(\.name)
        }
        XCTAssertEqual(tables.sorted(), ["fraud_alerts", "fraud_alerts_topic", "iot_alerts", "iot_alerts_topic", "revenue", "sensor_summary"])
    }

    func testTheBenchmarkQueriesMakeTheSwiftAPIsPlans() throws {
        for (file, example, input, output) in [("revenue.sql", ExamplePipeline.revenue, "data/purchases", "out/revenue"),
                                               ("bids.sql", .bids, "data/bids", "out/bids"),
                                               ("users.sql", .users, "data/purchases", "out/users")] {
            let sql = try XCTUnwrap(try jobs(file).first)
            let schema = EventGenerator(example.input).schema
            let swift = example.build(source: FileSourceDescriptor.files(input, format: .jsonLines(schema)), sink: .files(output))
            XCTAssertEqual(sql.pipeline.plan.tree, swift.plan.tree, file)
            XCTAssertEqual(try sql.pipeline.explain(), try swift.explain(), file)
        }
    }
}
