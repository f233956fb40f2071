import EddyEngine
import Foundation
import XCTest

/// The checkpoint compatibility check: derived from the stateful steps' values, never from the
/// words `explain()` uses, so rewording keeps checkpoints valid and a changed window, key, aggregate
/// or watermark is refused with what differs.
final class StatefulSignatureTests: XCTestCase {
    static let schema = Schema([Field("t", .timestamp), Field("k", .utf8), Field("n", .int64), Field("d", .decimal(scale: 2))])
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "eddy-signature-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func revenue(_ input: MemoryStream, window: WindowGrouping = .tumble("t", .minutes(1)), keys: [String] = ["k"],
                 aggregates: [Aggregate] = [.count(as: "orders"), .sum("d", as: "revenue")], delay: Interval = .seconds(10),
                 filter: Expr? = nil) -> StreamingPipeline {
        var read = Pipeline.read(input)
        if let filter { read = read.filter(filter) }
        return read.withWatermark("t", delay: delay).grouped(window, keys).aggregate(aggregates).write(MemorySink())
    }

    func signature(_ pipeline: StreamingPipeline) throws -> StatefulSignature {
        try pipeline.physicalPlan().signature()
    }

    /// The encoding is pinned: if this changes, every checkpoint written before is refused, so a
    /// change here needs a new signature version that still accepts the old one.
    func testTheCanonicalEncodingIsPinned() throws {
        let input = MemoryStream(Self.schema)
        XCTAssertEqual(try signature(revenue(input)).canonical,
                       "eddy-signature;v=2;sources=1;watermark;1:t;10000;aggregation;window;8:tumbling;1:t;60000;-;-;"
                       + "keys=1;1:k;4:utf8;aggregates=2;5:count;-;3:sum;1:d;10:decimal(2);6:append;")
        XCTAssertEqual(try signature(revenue(input)).fingerprint, try signature(revenue(input)).fingerprint)
        XCTAssertEqual(try signature(revenue(input)).fingerprint.count, 16)
    }

    func testWhatTheStateDoesNotDependOnLeavesTheSignatureAlone() throws {
        let input = MemoryStream(Self.schema)
        let base = try signature(revenue(input))
        XCTAssertEqual(try signature(revenue(input, aggregates: [.count(as: "n_orders"), .sum("d", as: "total")])), base,
                       "renamed outputs read the same state")
        XCTAssertEqual(try signature(revenue(input, filter: col("n") > lit(3))), base, "a filter before the aggregation")
    }

    func testEveryStatefulChangeChangesTheSignature() throws {
        let input = MemoryStream(Self.schema)
        let base = try signature(revenue(input))
        let changed = [
            try signature(revenue(input, window: .tumble("t", .minutes(2)))),
            try signature(revenue(input, window: .hop("t", size: .minutes(1), slide: .seconds(30)))),
            try signature(revenue(input, window: .session("t", gap: .minutes(1)))),
            try signature(revenue(input, keys: ["n"])),
            try signature(revenue(input, keys: ["k", "n"])),
            try signature(revenue(input, aggregates: [.count(as: "orders"), .max("d", as: "revenue")])),
            try signature(revenue(input, aggregates: [.count(as: "orders"), .sum("n", as: "revenue")])),
            try signature(revenue(input, aggregates: [.count(as: "orders")])),
            try signature(revenue(input, delay: .seconds(20))),
        ]
        for (index, signature) in changed.enumerated() {
            XCTAssertNotEqual(signature.canonical, base.canonical, "change \(index)")
            XCTAssertNotEqual(signature.fingerprint, base.fingerprint, "change \(index)")
        }
        XCTAssertEqual(Set(changed.map(\.canonical)).count, changed.count, "every change encodes differently")
    }

    func testARenamedOutputResumesTheCheckpoint() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        func pipeline(_ name: String) -> StreamingPipeline {
            Pipeline.read(input).withWatermark("t", delay: .seconds(0)).groupBy(.tumble("t", .seconds(10)), "k")
                .aggregate(.count(as: name)).write(output)
        }
        let first = try TestDriver(pipeline("orders"), checkpoint: directory)
        input.add([[.timestamp(1000), .string("a"), .int64(1), .null]])
        try first.runUntilIdle()
        let second = try TestDriver(pipeline("order_count"), checkpoint: directory)
        input.add([[.timestamp(25_000), .string("a"), .int64(1), .null]])
        try second.runUntilIdle()
        XCTAssertEqual(output.rows, [[.timestamp(0), .timestamp(10_000), .string("a"), .int64(1)]], "state carried over")
    }

    func testAChangedKeyOrAggregateIsRefusedWithWhatDiffers() throws {
        let input = MemoryStream(Self.schema)
        _ = try TestDriver(revenue(input), checkpoint: directory)
        let cases: [(StreamingPipeline, String)] = [
            (revenue(input, keys: ["n"]), "aggregation 1 keys: checkpoint [k utf8], this pipeline [n int64]"),
            (revenue(input, aggregates: [.count(as: "orders"), .avg("d", as: "revenue")]),
             "aggregation 1 aggregates: checkpoint [count(*), sum(d decimal(2))], this pipeline [count(*), avg(d decimal(2))]"),
            (revenue(input, delay: .seconds(5)), "watermark: checkpoint t - 10000 ms, this pipeline t - 5000 ms"),
        ]
        for (pipeline, difference) in cases {
            XCTAssertThrowsError(try TestDriver(pipeline, checkpoint: directory)) { error in
                XCTAssertEqual((error as? EngineError)?.kind, .checkpoint)
                XCTAssertTrue("\(error)".contains(difference), "\(error)")
            }
        }
    }

    /// Checkpoints written before signatures (metadata version 1) stored a hash of the plan's text:
    /// the same pipeline accepts one and rewrites its metadata as version 2; another refuses it.
    func testAVersionOneCheckpointIsAcceptedAndUpgraded() throws {
        let input = MemoryStream(Self.schema)
        let pipeline = revenue(input)
        let physical = try pipeline.physicalPlan()
        let store = try CheckpointStore(directory: directory)
        try store.writeMetadata(CheckpointMetadata(version1: "old-query", pipelineFingerprint: physical.legacyFingerprint,
                                                   plan: physical.description))
        XCTAssertThrowsError(try TestDriver(revenue(input, keys: ["n"]), checkpoint: directory))
        let driver = try TestDriver(pipeline, checkpoint: directory)
        XCTAssertEqual(driver.execution.id, "old-query", "the query keeps its id")
        let upgraded = try XCTUnwrap(store.readMetadata())
        XCTAssertEqual(upgraded.version, 2)
        XCTAssertEqual(upgraded.signature, try physical.signature())
        XCTAssertEqual(upgraded.id, "old-query")
    }

    /// The legacy hash is the one version 1 computed (pinned, so old checkpoints keep opening).
    func testTheLegacyFingerprintIsPinned() throws {
        let input = MemoryStream(Self.schema)
        XCTAssertEqual(try revenue(input).physicalPlan().legacyFingerprint, legacyHash(
            "sources=1;watermark=t/10000;WindowAggregate by [TUMBLE(t, INTERVAL '1' MINUTE), k] compute [count(*) AS orders, sum(d) AS revenue] mode=append;"))
    }

    private func legacyHash(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
