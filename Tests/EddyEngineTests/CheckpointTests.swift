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

    // MARK: incremental checkpoints

    func stateFiles(_ batch: Int) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/state/\(batch)")) ?? [])
    }

    /// A whole snapshot first, then deltas; every 10 deltas a snapshot rebuilt from them beside the
    /// delta; purging keeps the snapshot the oldest kept batch restores from; a restart on the chain
    /// gives the output a query that writes whole snapshots gives.
    func testStateIsWrittenAsDeltasAndCompacted() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let driver = try TestDriver(pipeline(input, output), checkpoint: directory)
        for second in 0..<35 {
            input.add([[.timestamp(Int64(second) * 1000), .string("k\(second % 3)")]])
            try driver.runBatch()
        }
        let name = try XCTUnwrap(stateFiles(34).first).replacingOccurrences(of: ".delta", with: "")
        XCTAssertEqual(stateFiles(34), [name + ".delta"])
        XCTAssertEqual(stateFiles(30), [name + ".delta", name], "batch 30 got a snapshot folded from batches 20…30")
        XCTAssertEqual(stateFiles(21), [name + ".delta"])
        XCTAssertEqual(stateFiles(20), [name + ".delta", name])
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory + "/state").compactMap { Int($0) }.sorted()
        XCTAssertEqual(kept.first, 10, "batches 15… are kept, and they restore from the snapshot of batch 10")
        XCTAssertEqual(driver.progress.last?.stateOperators.first?.customMetrics["stateCheckpointWhole"], 0)

        let restarted = try TestDriver(pipeline(input, output), checkpoint: directory, runId: "second")
        input.add([[.timestamp(100_000), .string("k0")]])
        try restarted.runUntilIdle()

        let wholeInput = MemoryStream(Self.schema)
        let wholeOutput = MemorySink()
        var options = QueryOptions()
        options.stateMinDeltasForSnapshot = 0
        let whole = try TestDriver(pipeline(wholeInput, wholeOutput), checkpoint: directory + "-whole", options: options)
        defer { try? FileManager.default.removeItem(atPath: directory + "-whole") }
        for second in 0..<35 {
            wholeInput.add([[.timestamp(Int64(second) * 1000), .string("k\(second % 3)")]])
            try whole.runBatch()
        }
        XCTAssertEqual(stateFiles(34), [name + ".delta"])
        XCTAssertEqual(Set((try? FileManager.default.contentsOfDirectory(atPath: directory + "-whole/state/34")) ?? []), [name])
        wholeInput.add([[.timestamp(100_000), .string("k0")]])
        try whole.runUntilIdle()
        XCTAssertEqual(output.rows, wholeOutput.rows)
        XCTAssertEqual(output.rows.count, 12, "windows [0, 10 s) … [30, 40 s) for k0, k1, k2")
    }

    /// The issue's test: after a batch, the checkpoint holds bytes for the groups the batch changed,
    /// not for every group held.
    func testCheckpointBytesFollowTheChangedGroups() throws {
        let schema = Schema([Field("k", .int64), Field("v", .int64)])
        let input = MemoryStream(schema)
        let driver = try TestDriver(
            Pipeline.read(input).groupBy("k").aggregate(.count(as: "n"), .sum("v", as: "total")).write(MemorySink(), mode: .update),
            checkpoint: directory)
        input.add((0..<20_000).map { [.int64($0), .int64($0)] })
        let first = try XCTUnwrap(driver.runBatch()?.stateOperators.first?.customMetrics)
        XCTAssertEqual(first["stateCheckpointWhole"], 1)
        func bytes(changing keys: Int) throws -> Int64 {
            input.add((0..<keys).map { [.int64(Int64($0) * 7), .int64(1)] })
            let metrics = try XCTUnwrap(driver.runBatch()?.stateOperators.first?.customMetrics)
            XCTAssertEqual(metrics["stateCheckpointWhole"], 0)
            return try XCTUnwrap(metrics["stateCheckpointBytes"])
        }
        let ten = try bytes(changing: 10), hundred = try bytes(changing: 100), thousand = try bytes(changing: 1000)
        let whole = try XCTUnwrap(first["stateCheckpointBytes"])
        XCTAssertLessThan(ten * 100, whole, "10 changed groups of 20 000: \(ten) bytes, the whole state \(whole)")
        XCTAssertLessThan(thousand, whole / 10, "1000 changed groups of 20 000: \(thousand) bytes, the whole state \(whole)")
        // Fixed overhead aside, bytes grow with the changed groups: 10× the groups, 10× the bytes.
        XCTAssertEqual(Double(thousand - hundred) / Double(hundred - ten), 10, accuracy: 0.5)
    }

    /// A checkpoint written whole after every batch (an older Eddy, or incremental checkpoints off)
    /// restores, and the query goes on writing deltas on top of it.
    func testAWholeStateCheckpointGoesOnWithDeltas() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        var whole = QueryOptions()
        whole.stateMinDeltasForSnapshot = 0
        let first = try TestDriver(pipeline(input, output), checkpoint: directory, options: whole)
        for second in 0..<3 {
            input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
            try first.runBatch()
        }
        let name = try XCTUnwrap(stateFiles(2).first)
        XCTAssertEqual(stateFiles(2), [name])
        let second = try TestDriver(pipeline(input, output), checkpoint: directory, runId: "second")
        input.add([[.timestamp(4000), .string("a")], [.timestamp(30_000), .string("b")]])
        try second.runUntilIdle()
        XCTAssertEqual(stateFiles(3), [name + ".delta"])
        XCTAssertEqual(output.rows, [[.timestamp(0), .timestamp(10_000), .string("a"), .int64(4)]])
    }

    /// A delta whose chain back to a snapshot is broken fails the restore with a clear error.
    func testABrokenDeltaChainIsDetected() throws {
        let input = MemoryStream(Self.schema)
        let driver = try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)
        for second in 0..<3 {
            input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
            try driver.runBatch()
        }
        try FileManager.default.removeItem(atPath: directory + "/state/1")
        XCTAssertThrowsError(try TestDriver(pipeline(input, MemorySink()), checkpoint: directory)) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .checkpoint)
            XCTAssertTrue("\(error)".contains("chain back to a whole snapshot breaks at state/1"), "\(error)")
        }
    }

    /// Deltas and compactions under crashes: a snapshot every 2 deltas, a crash at every point, with
    /// sessions (whose deltas replace a key's sessions) and hopping windows.
    func testDeltaChainsSurviveACrashAtEveryPoint() throws {
        var options = QueryOptions()
        options.stateMinDeltasForSnapshot = 2
        for hopping in [false, true] {
            let check = RecoveryCheck(inputs: [.init(purchases, partitions: 2)], options: options) { inputs, sink in
                Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(2), idleTimeout: .seconds(30))
                    .groupBy(hopping ? .hop("time", size: .seconds(10), slide: .seconds(4)) : .session("time", gap: .seconds(5)), "category")
                    .aggregate(.count(as: "n"), .sum("amount", as: "total"), .max("amount", as: "largest"))
                    .write(sink, mode: .update)
            }
            let report = try check.run { run in
                let orders = run.inputs[0]
                for step in 0..<7 {
                    let base = step * 6
                    orders.add([purchase("00:00:\(10 + base)", "x", "1.00"), purchase("00:00:\(11 + base)", "y", "2.00")], partition: 0)
                    orders.add([purchase("00:00:\(12 + base)", step % 2 == 0 ? "x" : "z", "4.00")], partition: 1)
                    try run.runUntilIdle()
                    run.advanceTime(by: .seconds(1))
                }
            }
            XCTAssertGreaterThanOrEqual(report.batches, 7)
            XCTAssertFalse(report.output.rowsByBatch.isEmpty)
        }
    }

    /// A query's compactions run on a background thread; `close()` waits for them, and the
    /// snapshots they wrote restore.
    func testCompactionInTheBackground() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        var options = QueryOptions()
        options.stateMinDeltasForSnapshot = 3
        let execution = try pipeline(input, output).makeExecution(checkpoint: directory, options: options, runId: "background")
        try execution.start(nowMs: 0)
        for second in 0..<12 {
            input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
            _ = try execution.runBatch(nowMs: Int64(second))
        }
        try execution.close()
        let snapshots = (1..<12).filter { batch in stateFiles(batch).contains { !$0.hasSuffix(".delta") } }
        XCTAssertFalse(snapshots.isEmpty, "a compaction wrote a snapshot")
        let name = try XCTUnwrap(stateFiles(11).first).replacingOccurrences(of: ".delta", with: "")
        let chain = try XCTUnwrap(try CheckpointStore(directory: directory).readState(11, operator: name))
        XCTAssertGreaterThanOrEqual(chain.snapshotBatchId, 3, "a restore starts from a compacted snapshot")
        XCTAssertEqual(chain.deltas.count, Int(11 - chain.snapshotBatchId))
        input.add([[.timestamp(30_000), .string("a")]])
        try TestDriver(pipeline(input, output), checkpoint: directory, runId: "after").runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[3] }, [.int64(10), .int64(2)], "the windows [0, 10 s) and [10 s, 20 s)")
    }

    /// A compaction that cannot rebuild the state (a delta damaged on disk) fails the query: in the
    /// batch that runs it, or, in the background, at the next batch or at `close()`.
    func testAFailedCompactionFailsTheQuery() throws {
        for background in [false, true] {
            try? FileManager.default.removeItem(atPath: directory)
            let input = MemoryStream(Self.schema)
            var options = QueryOptions()
            options.stateMinDeltasForSnapshot = 3
            options.stateCompactionInBackground = background
            let execution = try pipeline(input, MemorySink()).makeExecution(checkpoint: directory, options: options, runId: "r")
            try execution.start(nowMs: 0)
            for second in 0..<2 {
                input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
                _ = try execution.runBatch(nowMs: Int64(second))
            }
            let delta = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: directory + "/state/1").first)
            let path = directory + "/state/1/" + delta
            var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
            bytes[bytes.count - 1] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))
            var failure: Error?
            do {
                for second in 2..<6 {
                    input.add([[.timestamp(Int64(second) * 1000), .string("a")]])
                    _ = try execution.runBatch(nowMs: Int64(second))
                }
                try execution.close()
            } catch {
                failure = error
            }
            let message = "\(failure.map { "\($0)" } ?? "no error")"
            XCTAssertTrue(message.contains("compacting the state of") && message.contains("state/1/\(delta) fails its checksum"),
                          "background \(background): \(message)")
        }
    }
}
