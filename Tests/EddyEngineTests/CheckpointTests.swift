import EddyEngine
import Foundation
import XCTest

final class CheckpointTests: XCTestCase {
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "eddy-checkpoint-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testRecoveryDecisions() throws {
        XCTAssertEqual(try CheckpointRecovery.decide(offsetBatches: [], commitBatches: []), .fresh)
        XCTAssertEqual(try CheckpointRecovery.decide(offsetBatches: [0], commitBatches: []), .replay(batchId: 0, stateBatchId: nil))
        XCTAssertEqual(try CheckpointRecovery.decide(offsetBatches: [3, 4, 5], commitBatches: [3, 4, 5]), .resume(lastCommitted: 5))
        XCTAssertEqual(try CheckpointRecovery.decide(offsetBatches: [4, 5, 6], commitBatches: [4, 5]), .replay(batchId: 6, stateBatchId: 5))
        XCTAssertThrowsError(try CheckpointRecovery.decide(offsetBatches: [5, 8], commitBatches: [5]))
        XCTAssertThrowsError(try CheckpointRecovery.decide(offsetBatches: [], commitBatches: [2]))
        XCTAssertThrowsError(try CheckpointRecovery.decide(offsetBatches: [2], commitBatches: [3]))
    }

    static let schema = Schema([Field("t", .timestamp), Field("k", .utf8)])

    func pipeline(_ input: MemoryStream, _ output: MemorySink) -> StreamingPipeline {
        Pipeline.read(input).withWatermark("t", delay: .seconds(0))
            .groupBy(.tumble("t", .seconds(10)), "k").aggregate(.count()).write(output)
    }

    /// A crash after the offsets entry of a batch is written (and even after its sink write): the
    /// restarted query replays that batch with the same offsets and state; the sink keeps one copy.
    func testAnUncommittedBatchIsReplayedExactly() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let first = try TestDriver(pipeline(input, output), checkpoint: directory)
        input.add([[.timestamp(1000), .string("a")], [.timestamp(2000), .string("b")]])
        try first.runBatch()  // batch 0
        input.add([[.timestamp(12_000), .string("a")]])
        try first.runBatch()  // batch 1: watermark 2 s from batch 0; nothing closes
        // Batch 2 would close [0, 10 s): simulate a crash after its sink write, before its commit.
        try FileManager.default.removeItem(atPath: directory + "/commits/1")
        try FileManager.default.removeItem(atPath: directory + "/state/1")

        let second = try TestDriver(pipeline(input, output), checkpoint: directory, runId: "second-run")
        XCTAssertEqual(try second.runBatch()?.batchId, 1, "batch 1 is replayed")
        XCTAssertEqual(output.replaysIgnored, 1)
        try second.runUntilIdle()
        XCTAssertEqual(output.rows, [[.timestamp(0), .timestamp(10_000), .string("a"), .int64(1)],
                                     [.timestamp(0), .timestamp(10_000), .string("b"), .int64(1)]])
        XCTAssertEqual(second.progress.first?.id, first.progress.first?.id, "the query id survives restarts")
    }

    func testAResumedQueryContinuesWhereItStopped() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let first = try TestDriver(pipeline(input, output), checkpoint: directory)
        input.add([[.timestamp(1000), .string("a")]])
        try first.runUntilIdle()
        let second = try TestDriver(pipeline(input, output), checkpoint: directory)
        XCTAssertNil(try second.runBatch(), "nothing new since the last commit")
        input.add([[.timestamp(25_000), .string("a")]])
        try second.runUntilIdle()
        XCTAssertEqual(output.rows, [[.timestamp(0), .timestamp(10_000), .string("a"), .int64(1)]])
    }

    func testACheckpointOfAnotherPipelineIsRefused() throws {
        let input = MemoryStream(Self.schema)
        _ = try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)
        let other = Pipeline.read(input).withWatermark("t", delay: .seconds(0))
            .groupBy(.tumble("t", .seconds(20)), "k").aggregate(.count()).write(MemorySink())
        XCTAssertThrowsError(try TestDriver(other, checkpoint: directory)) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .checkpoint)
            XCTAssertTrue("\(error)".contains("other stateful steps"), "\(error)")
            XCTAssertTrue("\(error)".contains("aggregation 1 window: checkpoint TUMBLE(t, 10000 ms), this pipeline TUMBLE(t, 20000 ms)"), "\(error)")
        }
    }

    func testDamagedStateIsDetected() throws {
        let input = MemoryStream(Self.schema)
        let first = try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)
        input.add([[.timestamp(1000), .string("a")]])
        try first.runBatch()
        let stateFile = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: directory + "/state/0").first)
        let path = directory + "/state/0/" + stateFile
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testOldBatchesArePurged() throws {
        let input = MemoryStream(Self.schema)
        let driver = try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)
        for second in 0..<30 {
            input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
            try driver.runBatch()
        }
        let offsets = try FileManager.default.contentsOfDirectory(atPath: directory + "/offsets").compactMap { Int($0) }
        XCTAssertEqual(offsets.count, 20, "the newest 20 batches are kept")
        XCTAssertEqual(offsets.max(), 29)
    }

    func testAFreshQueryRefusesASinkThatHoldsAnotherRunsBatches() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        input.add([[.timestamp(1000), .string("a")], [.timestamp(25_000), .string("b")]])
        try TestDriver(pipeline(input, output), checkpoint: directory).runUntilIdle()
        XCTAssertFalse(output.rowsByBatch.isEmpty)
        // A new checkpoint (or none) would write batch 0 again, and the sink would skip everything.
        for checkpoint in [directory + "-other", nil] {
            XCTAssertThrowsError(try TestDriver(pipeline(input, output), checkpoint: checkpoint)) { error in
                XCTAssertEqual((error as? EngineError)?.kind, .configuration)
                XCTAssertTrue("\(error)".contains("already holds batches 0…"), "\(error)")
            }
        }
        try? FileManager.default.removeItem(atPath: directory + "-other")
    }
}
