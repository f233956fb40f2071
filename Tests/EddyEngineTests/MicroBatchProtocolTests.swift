import EddyCore
import EddyEngine
import XCTest

/// The micro-batch protocol with no I/O: events in, actions out, compared step by step.
final class MicroBatchProtocolTests: XCTestCase {
    typealias Machine = MicroBatchProtocol

    let signature = StatefulSignature(sources: 1, watermark: .init(column: "t", delayMs: 1000), aggregations: [])

    func machine(trigger: Trigger = .processingTime(intervalMs: 1000), readLimit: ReadLimit = .unlimited, sources: Int = 1,
                 checkpointed: Bool = true, bounded: Bool = false,
                 watermark: WatermarkPolicy? = WatermarkPolicy(column: "t", delayMs: 1000)) throws -> Machine {
        try Machine(signature: signature, queryId: "query-1", trigger: trigger, readLimit: readLimit, sourceCount: sources,
                    checkpointed: checkpointed, boundedInput: bounded, watermark: watermark)
    }

    func offsets(_ values: Int64...) -> SourceOffsets { SourceOffsets(ordered: values) }

    func partition(_ number: Int32, source: Int = 0) -> SourcePartition { SourcePartition(source: source, partition: PartitionID(number)) }

    func emptyCheckpoint() -> Machine.CheckpointView {
        .init(metadata: nil, offsetBatches: [], commitBatches: [], newestOffsets: nil, newestCommit: nil)
    }

    /// Plans a batch from `start` to `end` and returns the action `planned` gave.
    func plan(_ machine: inout Machine, to end: SourceOffsets, latest: SourceOffsets? = nil, nowMs: Int64 = 0) throws -> Machine.Action {
        guard case .plan = try machine.beginBatch() else { XCTFail("expected a plan request"); return .idle }
        return machine.planned(ends: [end], latest: [latest ?? end], nowMs: nowMs)
    }

    // MARK: one batch, every step

    func testACheckpointedBatchGoesThroughEveryStepInOrder() throws {
        var m = try machine(readLimit: ReadLimit(maxRecords: 100))
        let start = try m.start(initialOffsets: [offsets(0, 0)], latestAtStart: nil, checkpoint: emptyCheckpoint())
        XCTAssertEqual(start.writeMetadata, CheckpointMetadata(id: "query-1", signature: signature), "a new checkpoint gets metadata")
        XCTAssertNil(start.restoreStateFrom)

        XCTAssertEqual(try m.beginBatch(), .plan(.init(start: [offsets(0, 0)], limit: ReadLimit(maxRecords: 100), target: nil)))
        let entry = OffsetLogEntry(batchId: 0, timestampMs: 500, watermarkMs: .min, start: [offsets(0, 0)], end: [offsets(3, 2)], endOfInput: false)
        XCTAssertEqual(m.planned(ends: [offsets(3, 2)], latest: [offsets(9, 9)], nowMs: 500), .writeOffsets(entry))
        XCTAssertEqual(m.offsetsWritten(), .process(entry, replaying: false))
        let seen: [SourcePartition: Machine.PartitionObservation] = [
            partition(0): .init(rows: 3, maxEventTimeMs: 5000), partition(1): .init(rows: 2, maxEventTimeMs: 7000),
        ]
        XCTAssertEqual(m.processed(seen, nowMs: 600), .writeSink(batchId: 0))
        XCTAssertEqual(m.sinkWritten(), .writeDeadLetters(batchId: 0))
        XCTAssertEqual(m.deadLettersWritten(), .writeState(batchId: 0))
        guard case .writeCommit(let commit) = m.stateWritten() else { return XCTFail("expected the commit") }
        XCTAssertEqual(commit.batchId, 0)
        XCTAssertEqual(commit.watermark.partitions, [partition(0), partition(1)])
        XCTAssertEqual(commit.watermark.tracker, m.tracker.state, "the commit carries the tracker after the batch")
        XCTAssertEqual(m.commitWritten(), .purge(keepingFrom: 0))
        XCTAssertEqual(m.purged(), .batchDone(entry))
        XCTAssertEqual(m.nextBatchId, 1)
        XCTAssertEqual(m.startOffsets, [offsets(3, 2)])

        // The next batch runs with the watermark batch 0 brought: min(5 s, 7 s) - 1 s.
        guard case .writeOffsets(let next) = try plan(&m, to: offsets(4, 2), nowMs: 1500) else { return XCTFail("expected batch 1") }
        XCTAssertEqual(next.batchId, 1)
        XCTAssertEqual(next.watermarkMs, 4000)
        XCTAssertEqual(next.start, [offsets(3, 2)])
    }

    func testWithoutACheckpointOnlyProcessSinkAndDeadLettersRun() throws {
        var m = try machine(checkpointed: false)
        XCTAssertEqual(try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: nil), Machine.StartPlan())
        guard case .process(let entry, replaying: false) = try plan(&m, to: offsets(2)) else { return XCTFail("expected process") }
        XCTAssertEqual(m.processed([:], nowMs: 0), .writeSink(batchId: 0))
        XCTAssertEqual(m.sinkWritten(), .writeDeadLetters(batchId: 0))
        XCTAssertEqual(m.deadLettersWritten(), .batchDone(entry))
    }

    // MARK: when a batch is due

    func testNoDataAndAStillWatermarkIsIdleAndLeavesTheQueryAsItWas() throws {
        var m = try machine()
        _ = try m.start(initialOffsets: [offsets(5)], latestAtStart: nil, checkpoint: emptyCheckpoint())
        XCTAssertEqual(try plan(&m, to: offsets(5)), .idle)
        XCTAssertEqual(m.nextBatchId, 0)
        XCTAssertEqual(try plan(&m, to: offsets(5)), .idle, "idle again: nothing changed")
    }

    func testAMovedWatermarkRunsABatchWithoutData() throws {
        var m = try machine(checkpointed: false)
        _ = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: nil)
        guard case .process = try plan(&m, to: offsets(1)) else { return XCTFail() }
        _ = m.processed([partition(0): .init(rows: 1, maxEventTimeMs: 10_000)], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        // No new offsets, but the watermark moved from none to 9 s: windows may close.
        guard case .process(let entry, _) = try plan(&m, to: offsets(1), nowMs: 100) else { return XCTFail("expected a no-data batch") }
        XCTAssertEqual(entry.start, entry.end)
        XCTAssertEqual(entry.watermarkMs, 9000)
        _ = m.processed([:], nowMs: 100)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertEqual(try plan(&m, to: offsets(1), nowMs: 200), .idle, "the watermark stands still now")
    }

    func testAPartitionThatBringsNothingHoldsTheWatermarkUntilIdle() throws {
        var m = try machine(checkpointed: false, watermark: WatermarkPolicy(column: "t", delayMs: 0, idleTimeoutMs: 5000))
        _ = try m.start(initialOffsets: [offsets(0, 0)], latestAtStart: nil, checkpoint: nil)
        guard case .process = try plan(&m, to: offsets(1, 0)) else { return XCTFail() }
        // Partition 1 is in the batch's offsets but brought no rows: it is tracked all the same.
        _ = m.processed([partition(0): .init(rows: 1, maxEventTimeMs: 10_000)], nowMs: 0)
        XCTAssertEqual(m.trackedPartitions, [partition(0), partition(1)])
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertEqual(try plan(&m, to: offsets(1, 0), nowMs: 1000), .idle, "partition 1 holds the watermark back")
        guard case .process(let more, _) = try plan(&m, to: offsets(2, 0), nowMs: 4000) else { return XCTFail() }
        XCTAssertEqual(more.watermarkMs, .min, "partition 1 is not idle yet")
        _ = m.processed([partition(0): .init(rows: 1, maxEventTimeMs: 12_000)], nowMs: 4000)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        guard case .process(let entry, _) = try plan(&m, to: offsets(2, 0), nowMs: 6000) else { return XCTFail("expected a batch once idle") }
        XCTAssertEqual(entry.watermarkMs, 12_000, "partition 1 has been quiet for 6 s: only partition 0 counts")
    }

    // MARK: triggers and bounded input

    func testOnceRunsOneBatchUnlimitedThenFinishes() throws {
        var m = try machine(trigger: .once, readLimit: ReadLimit(maxRecords: 1), checkpointed: false)
        _ = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: nil)
        guard case .plan(let request) = try m.beginBatch() else { return XCTFail() }
        XCTAssertEqual(request.limit, .unlimited, "once reads everything in one batch")
        _ = m.planned(ends: [offsets(4)], latest: [offsets(4)], nowMs: 0)
        _ = m.processed([:], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertTrue(m.isFinished)
        XCTAssertEqual(try m.beginBatch(), .finished)
    }

    func testOnceWithNothingToReadFinishesIdle() throws {
        var m = try machine(trigger: .once, checkpointed: false)
        _ = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: nil)
        XCTAssertEqual(try plan(&m, to: offsets(0)), .idle)
        XCTAssertEqual(try m.beginBatch(), .finished)
    }

    func testAvailableNowStopsAtTheOffsetsOfItsStart() throws {
        var m = try machine(trigger: .availableNow, readLimit: ReadLimit(maxRecords: 10), checkpointed: false)
        XCTAssertTrue(m.needsTargetAtStart)
        _ = try m.start(initialOffsets: [offsets(0, 0)], latestAtStart: [offsets(3, 5)], checkpoint: nil)
        guard case .plan(let request) = try m.beginBatch() else { return XCTFail() }
        XCTAssertEqual(request.target, [offsets(3, 5)])
        // The sources offer what arrived since the start: the protocol clamps it to the target.
        guard case .process(let entry, _) = m.planned(ends: [offsets(8, 2)], latest: [offsets(8, 9)], nowMs: 0) else { return XCTFail() }
        XCTAssertEqual(entry.end, [offsets(3, 2)])
        _ = m.processed([:], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertFalse(m.isFinished)
        guard case .process(let last, _) = try plan(&m, to: offsets(9, 9), latest: offsets(9, 9)) else { return XCTFail() }
        XCTAssertEqual(last.end, [offsets(3, 5)])
        _ = m.processed([:], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertTrue(m.isFinished)
    }

    func testTheBatchThatReachesABoundedInputsEndSaysSoAndTheQueryFinishes() throws {
        var m = try machine(checkpointed: false, bounded: true)
        _ = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: nil)
        guard case .process(let first, _) = try plan(&m, to: offsets(2), latest: offsets(4)) else { return XCTFail() }
        XCTAssertFalse(first.endOfInput)
        _ = m.processed([:], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        guard case .process(let last, _) = try plan(&m, to: offsets(4), latest: offsets(4)) else { return XCTFail() }
        XCTAssertTrue(last.endOfInput, "operators flush their open windows in this batch")
        _ = m.processed([:], nowMs: 0)
        _ = m.sinkWritten()
        _ = m.deadLettersWritten()
        XCTAssertEqual(try m.beginBatch(), .finished)
    }

    // MARK: recovery

    func committed(_ batchId: Int64, tracker: [Int64] = []) -> CommitLogEntry {
        CommitLogEntry(batchId: batchId, watermark: WatermarkState(partitions: [partition(0)], tracker: tracker))
    }

    func trackerState(maxEventTimeMs: Int64) throws -> [Int64] {
        var tracker = try WatermarkTracker(delayMs: 1000)
        tracker.observe(partition: 0, maxEventTimeMs: maxEventTimeMs, rows: 1, nowMs: 0)
        _ = tracker.watermark(nowMs: 0)
        return tracker.state
    }

    func testACommittedCheckpointResumesAfterItsLastBatch() throws {
        var m = try machine()
        let last = OffsetLogEntry(batchId: 4, timestampMs: 0, watermarkMs: 2000, start: [offsets(5)], end: [offsets(7)], endOfInput: false)
        let view = Machine.CheckpointView(
            metadata: CheckpointMetadata(id: "query-0", signature: signature), offsetBatches: [3, 4], commitBatches: [3, 4],
            newestOffsets: last, newestCommit: committed(4, tracker: try trackerState(maxEventTimeMs: 9000)))
        let start = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)
        XCTAssertNil(start.writeMetadata, "current metadata is kept")
        XCTAssertEqual(start.restoreStateFrom, 4)
        XCTAssertEqual(m.id, "query-0", "the query id survives restarts")
        XCTAssertEqual(m.trackedPartitions, [partition(0)])
        guard case .writeOffsets(let next) = try plan(&m, to: offsets(8)) else { return XCTFail() }
        XCTAssertEqual(next.batchId, 5)
        XCTAssertEqual(next.start, [offsets(7)])
        XCTAssertEqual(next.watermarkMs, 8000, "the watermark the commit carried")
    }

    func testAnUncommittedBatchIsReplayedWithItsOwnOffsetsAndWatermark() throws {
        var m = try machine()
        let pending = OffsetLogEntry(batchId: 5, timestampMs: 0, watermarkMs: 3000, start: [offsets(7)], end: [offsets(9)], endOfInput: false)
        let view = Machine.CheckpointView(
            metadata: CheckpointMetadata(id: "query-0", signature: signature), offsetBatches: [4, 5], commitBatches: [4],
            newestOffsets: pending, newestCommit: committed(4, tracker: try trackerState(maxEventTimeMs: 4000)))
        XCTAssertEqual(try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view).restoreStateFrom, 4)
        XCTAssertEqual(try m.beginBatch(), .replay(pending))
        XCTAssertEqual(m.processed([:], nowMs: 0), .writeSink(batchId: 5), "a replay goes straight to processing: offsets/5 is written")
        XCTAssertEqual(m.sinkWritten(), .writeDeadLetters(batchId: 5))
        XCTAssertEqual(m.deadLettersWritten(), .writeState(batchId: 5))
        guard case .writeCommit(let commit) = m.stateWritten() else { return XCTFail() }
        XCTAssertEqual(commit.batchId, 5)
        XCTAssertEqual(m.commitWritten(), .purge(keepingFrom: 5))
        XCTAssertEqual(m.purged(), .batchDone(pending))
        guard case .plan(let request) = try m.beginBatch() else { return XCTFail("after the replay, new batches") }
        XCTAssertEqual(request.start, [offsets(9)])
    }

    func testAFirstBatchThatNeverCommittedIsReplayedOnNoState() throws {
        var m = try machine()
        let pending = OffsetLogEntry(batchId: 0, timestampMs: 0, watermarkMs: .min, start: [offsets(0)], end: [offsets(3)], endOfInput: false)
        let view = Machine.CheckpointView(metadata: CheckpointMetadata(id: "query-0", signature: signature), offsetBatches: [0],
                                          commitBatches: [], newestOffsets: pending, newestCommit: nil)
        let start = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)
        XCTAssertNil(start.restoreStateFrom)
        XCTAssertEqual(try m.beginBatch(), .replay(pending))
    }

    func testACheckpointOfOtherStatefulStepsIsRefused() throws {
        var m = try machine()
        let other = StatefulSignature(sources: 1, watermark: .init(column: "t", delayMs: 5000), aggregations: [])
        let view = Machine.CheckpointView(metadata: CheckpointMetadata(id: "q", signature: other), offsetBatches: [],
                                          commitBatches: [], newestOffsets: nil, newestCommit: nil)
        XCTAssertThrowsError(try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .checkpoint)
            XCTAssertTrue("\(error)".contains("watermark: checkpoint t - 5000 ms, this pipeline t - 1000 ms"), "\(error)")
        }
    }

    func testVersionOneMetadataIsAcceptedAndRewritten() throws {
        var m = try Machine(signature: signature, legacyFingerprint: "abc", queryId: "new", trigger: .once, readLimit: .unlimited,
                            sourceCount: 1, checkpointed: true, boundedInput: false, watermark: nil)
        let view = Machine.CheckpointView(metadata: CheckpointMetadata(version1: "old", pipelineFingerprint: "abc", plan: "…"),
                                          offsetBatches: [], commitBatches: [], newestOffsets: nil, newestCommit: nil)
        let start = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)
        XCTAssertEqual(start.writeMetadata, CheckpointMetadata(id: "old", signature: signature))
    }

    func testOffsetsOfAnotherSourceCountAreRefused() throws {
        var m = try machine()
        let pending = OffsetLogEntry(batchId: 0, timestampMs: 0, watermarkMs: .min, start: [offsets(0), offsets(0)],
                                     end: [offsets(1), offsets(1)], endOfInput: false)
        let view = Machine.CheckpointView(metadata: CheckpointMetadata(id: "q", signature: signature), offsetBatches: [0],
                                          commitBatches: [], newestOffsets: pending, newestCommit: nil)
        XCTAssertThrowsError(try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)) { error in
            XCTAssertTrue("\(error)".contains("offsets/0 has 2 sources; the pipeline reads 1"), "\(error)")
        }
    }

    func testAMissingCommitIsADamagedCheckpoint() throws {
        var m = try machine()
        let last = OffsetLogEntry(batchId: 1, timestampMs: 0, watermarkMs: .min, start: [offsets(0)], end: [offsets(1)], endOfInput: false)
        let view = Machine.CheckpointView(metadata: CheckpointMetadata(id: "q", signature: signature), offsetBatches: [1],
                                          commitBatches: [1], newestOffsets: last, newestCommit: nil)
        XCTAssertThrowsError(try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: view)) { error in
            XCTAssertTrue("\(error)".contains("commits/1 is missing"), "\(error)")
        }
    }

    // MARK: failures

    func testAbandonedPlanningLeavesTheQueryAsItWas() throws {
        var m = try machine()
        _ = try m.start(initialOffsets: [offsets(2)], latestAtStart: nil, checkpoint: emptyCheckpoint())
        _ = try m.beginBatch()
        m.abandonPlanning()
        XCTAssertEqual(try m.beginBatch(), .plan(.init(start: [offsets(2)], limit: .unlimited, target: nil)), "the next batch plans again")
        guard case .writeOffsets(let entry) = m.planned(ends: [offsets(3)], latest: [offsets(3)], nowMs: 0) else { return XCTFail() }
        XCTAssertEqual(entry.batchId, 0)
    }

    func testAFailedBatchStopsTheQuery() throws {
        var m = try machine()
        _ = try m.start(initialOffsets: [offsets(0)], latestAtStart: nil, checkpoint: emptyCheckpoint())
        _ = try plan(&m, to: offsets(1))
        _ = m.offsetsWritten()
        m.failed(.execution("disk full"))
        XCTAssertEqual(m.failure, .execution("disk full"))
        XCTAssertThrowsError(try m.beginBatch()) { error in
            XCTAssertTrue("\(error)".contains("start it again on its checkpoint to replay that batch"), "\(error)")
        }
    }
}
