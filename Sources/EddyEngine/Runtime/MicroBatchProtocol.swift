import EddyCore

/// Spark's micro-batch protocol as a pure state machine: events in, actions out, no disk, no
/// sources, no clock of its own (processing time comes in with the events). `MicroBatchExecution`
/// is its driver: it carries out each action and reports back with the next event.
///
/// Batch N, with a checkpoint:
///
/// ```
/// beginBatch ─▶ .plan(request)            the driver asks the sources where the batch ends
/// planned    ─▶ .writeOffsets(entry)      offsets/N, the write-ahead log, before anything is read
/// offsetsWritten ─▶ .process(entry)       read [start, end) of every source, run the operators
/// processed  ─▶ .writeSink(N)             the sink takes batch N (it ignores a batch it holds)
/// sinkWritten ─▶ .writeDeadLetters(N)     the batch's dead letters
/// deadLettersWritten ─▶ .writeState(N)    state/N: every operator's snapshot
/// stateWritten ─▶ .writeCommit(entry)     commits/N, with the watermark tracker after the batch
/// commitWritten ─▶ .purge(keepingFrom: N) old offsets, commits and state
/// purged     ─▶ .batchDone(entry)         the sources hear that everything through N is committed
/// ```
///
/// Without a checkpoint the offsets, state, commit and purge steps are skipped. On start, an
/// `offsets/N` without `commits/N` is replayed with exactly its offsets and watermark on top of the
/// state of batch N-1 (`CheckpointRecovery`), so the sink sees the same rows again and the output is
/// exactly once. Every action ends at a named `CrashPoint`; the driver can stop there on purpose
/// (`CrashInjector`), and the checkpoint must restore to the same output from each of them.
public struct MicroBatchProtocol: Sendable {
    /// What the driver does next within a batch.
    public enum Action: Sendable, Hashable {
        /// Nothing to do now: no new data, the watermark did not move, the input has not ended.
        case idle
        /// Write `offsets/<batchId>` (durably) before reading anything.
        case writeOffsets(OffsetLogEntry)
        /// Read the entry's ranges from every source and run them through the operators.
        case process(OffsetLogEntry, replaying: Bool)
        case writeSink(batchId: Int64)
        case writeDeadLetters(batchId: Int64)
        /// Write every operator's state after the batch as `state/<batchId>`.
        case writeState(batchId: Int64)
        case writeCommit(CommitLogEntry)
        case purge(keepingFrom: Int64)
        /// The batch is done: tell the sources its end offsets are committed, report progress.
        case batchDone(OffsetLogEntry)
    }

    /// Where a batch stops when the driver carries out each action; named after what is durable
    /// (or done) at that point. A crash at any of them must restore to the same sink output.
    public enum CrashPoint: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// offsets/N is written; nothing is read.
        case offsetsWritten
        /// The operators ran; nothing of the batch is written.
        case processed
        /// The sink holds batch N; its dead letters are not written.
        case sinkWritten
        /// The dead letters are written; state/N is not.
        case deadLettersWritten
        /// state/N is written; commits/N is not.
        case stateWritten
        /// commits/N is written; older entries are not purged.
        case commitWritten
        /// Older entries are purged; the sources have not heard of the commit.
        case purged

        public var description: String { rawValue }
    }

    /// What the driver must learn from the sources to plan a new batch.
    public struct PlanRequest: Sendable, Hashable {
        /// Where the batch starts, per source.
        public var start: [SourceOffsets]
        /// The read limit per source for this batch.
        public var limit: ReadLimit
        /// availableNow: the offsets each source must not go past.
        public var target: [SourceOffsets]?

        public init(start: [SourceOffsets], limit: ReadLimit, target: [SourceOffsets]?) {
            self.start = start
            self.limit = limit
            self.target = target
        }
    }

    public enum BatchStart: Sendable, Hashable {
        /// The query has nothing more to do (a once/availableNow trigger reached its end, or a
        /// bounded input ended).
        case finished
        /// Plan a new batch: the driver asks the sources (`planned(ends:latest:nowMs:)` next).
        case plan(PlanRequest)
        /// Replay the batch recovery found planned but not committed (`process` it next).
        case replay(OffsetLogEntry)
    }

    /// What recovery found in the checkpoint, read by the driver before the query starts.
    public struct CheckpointView: Sendable {
        public var metadata: CheckpointMetadata?
        public var offsetBatches: [Int64]
        public var commitBatches: [Int64]
        /// The newest offsets entry and the newest commit entry (nil when there are none).
        public var newestOffsets: OffsetLogEntry?
        public var newestCommit: CommitLogEntry?

        public init(metadata: CheckpointMetadata?, offsetBatches: [Int64], commitBatches: [Int64],
                    newestOffsets: OffsetLogEntry?, newestCommit: CommitLogEntry?) {
            self.metadata = metadata
            self.offsetBatches = offsetBatches
            self.commitBatches = commitBatches
            self.newestOffsets = newestOffsets
            self.newestCommit = newestCommit
        }
    }

    /// What the driver does to start: write the checkpoint's metadata (a new checkpoint, or one
    /// written before metadata version 2), and restore every operator's state from a batch.
    public struct StartPlan: Sendable, Hashable {
        public var writeMetadata: CheckpointMetadata?
        public var restoreStateFrom: Int64?

        public init(writeMetadata: CheckpointMetadata? = nil, restoreStateFrom: Int64? = nil) {
            self.writeMetadata = writeMetadata
            self.restoreStateFrom = restoreStateFrom
        }
    }

    /// What one batch brought from a source partition, for the watermark.
    public struct PartitionObservation: Sendable, Hashable {
        public var rows: Int64
        /// The largest event time among the rows (nil: none had one, or no watermark is declared).
        public var maxEventTimeMs: Int64?

        public init(rows: Int64, maxEventTimeMs: Int64?) {
            self.rows = rows
            self.maxEventTimeMs = maxEventTimeMs
        }
    }

    // MARK: configuration

    public let signature: StatefulSignature
    /// What metadata version 1 stored for this pipeline (accepted, then upgraded).
    public let legacyFingerprint: String?
    public let queryId: String
    public let trigger: Trigger
    public let readLimit: ReadLimit
    public let sourceCount: Int
    public let checkpointed: Bool
    /// Every source is bounded: the batch that reaches their ends flushes open windows.
    public let boundedInput: Bool
    /// A watermark is declared (else no partition is tracked).
    public let tracksWatermark: Bool

    // MARK: state

    private enum Phase: Sendable, Hashable {
        case created
        /// Between batches.
        case ready
        /// A batch is being planned (the driver is asking the sources).
        case planning
        /// Running `entry`; `step` is the action the driver is carrying out.
        case running(OffsetLogEntry, step: Step, replaying: Bool)
        /// A batch failed: its operators may hold part of it, so nothing more runs here (as a Spark
        /// query terminates); a new execution on the checkpoint replays the batch.
        case failed(EngineError)
    }

    private enum Step: Sendable, Hashable {
        case writingOffsets, processing, writingSink, writingDeadLetters, writingState, writingCommit, purging
    }

    private var phase: Phase = .created
    public private(set) var id: String
    public private(set) var nextBatchId: Int64 = 0
    public private(set) var startOffsets: [SourceOffsets] = []
    private var pendingReplay: OffsetLogEntry?
    /// The watermark the last batch ran with (a no-data batch runs when it moves).
    private var lastBatchWatermarkMs: Int64 = .min
    private var availableNowTarget: [SourceOffsets]?
    private var inputEnded = false
    private var ranOnce = false
    public private(set) var tracker: WatermarkTracker
    /// The tracker numbers partitions; these are the source partitions, by number.
    public private(set) var trackedPartitions: [SourcePartition] = []

    public init(signature: StatefulSignature, legacyFingerprint: String? = nil, queryId: String, trigger: Trigger, readLimit: ReadLimit, sourceCount: Int,
                checkpointed: Bool, boundedInput: Bool, watermark: WatermarkPolicy?) throws(EngineError) {
        precondition(sourceCount > 0, "a query reads at least one source")
        self.signature = signature
        self.legacyFingerprint = legacyFingerprint
        self.queryId = queryId
        self.id = queryId
        self.trigger = trigger
        self.readLimit = readLimit
        self.sourceCount = sourceCount
        self.checkpointed = checkpointed
        self.boundedInput = boundedInput
        self.tracksWatermark = watermark != nil
        tracker = try WatermarkTracker(delayMs: watermark?.delayMs ?? 0, idleTimeoutMs: watermark?.idleTimeoutMs)
    }

    /// availableNow fixes its target offsets when the query starts: the driver asks the sources for
    /// their latest offsets and passes them to `start`.
    public var needsTargetAtStart: Bool {
        if case .availableNow = trigger { return true }
        return false
    }

    /// Whether the query has nothing more to do.
    public var isFinished: Bool {
        if inputEnded { return true }
        switch trigger {
        case .processingTime: return false
        case .once: return ranOnce
        case .availableNow: return availableNowTarget.map { $0 == startOffsets } ?? false
        }
    }

    public var failure: EngineError? {
        if case .failed(let error) = phase { return error }
        return nil
    }

    // MARK: start

    /// The query starts: from the sources' initial offsets, or from what the checkpoint holds.
    /// Refuses a checkpoint written by a pipeline whose stateful steps differ.
    public mutating func start(initialOffsets: [SourceOffsets], latestAtStart: [SourceOffsets]?,
                               checkpoint: CheckpointView?) throws(EngineError) -> StartPlan {
        precondition(phase == .created, "a query starts once")
        precondition(initialOffsets.count == sourceCount, "one initial offset per source")
        phase = .ready
        startOffsets = initialOffsets
        availableNowTarget = needsTargetAtStart ? latestAtStart : nil
        guard let checkpoint else { return StartPlan() }
        var plan = StartPlan()
        if let metadata = checkpoint.metadata {
            try signature.check(metadata, legacyFingerprint: legacyFingerprint)
            id = metadata.id
            if metadata.version < CheckpointMetadata.currentVersion {
                plan.writeMetadata = CheckpointMetadata(id: metadata.id, signature: signature)
            }
        } else {
            plan.writeMetadata = CheckpointMetadata(id: queryId, signature: signature)
        }
        switch try CheckpointRecovery.decide(offsetBatches: checkpoint.offsetBatches, commitBatches: checkpoint.commitBatches) {
        case .fresh:
            break
        case .resume(let lastCommitted):
            let entry = try Self.entry(checkpoint.newestOffsets, batchId: lastCommitted)
            try restoreWatermark(checkpoint.newestCommit, batchId: lastCommitted)
            plan.restoreStateFrom = lastCommitted
            startOffsets = entry.end
            inputEnded = entry.endOfInput
            lastBatchWatermarkMs = entry.watermarkMs
            nextBatchId = lastCommitted + 1
        case .replay(let batchId, let stateBatchId):
            let entry = try Self.entry(checkpoint.newestOffsets, batchId: batchId)
            guard entry.start.count == sourceCount, entry.end.count == sourceCount else {
                throw .checkpoint("offsets/\(batchId) has \(entry.start.count) sources; the pipeline reads \(sourceCount)")
            }
            if let stateBatchId {
                try restoreWatermark(checkpoint.newestCommit, batchId: stateBatchId)
                plan.restoreStateFrom = stateBatchId
            }
            pendingReplay = entry
            startOffsets = entry.start
            nextBatchId = batchId
        }
        return plan
    }

    private static func entry(_ entry: OffsetLogEntry?, batchId: Int64) throws(EngineError) -> OffsetLogEntry {
        guard let entry, entry.batchId == batchId else { throw .checkpoint("offsets/\(batchId) is missing or names another batch") }
        return entry
    }

    private mutating func restoreWatermark(_ commit: CommitLogEntry?, batchId: Int64) throws(EngineError) {
        guard let commit, commit.batchId == batchId else { throw .checkpoint("commits/\(batchId) is missing or names another batch") }
        tracker = try WatermarkTracker(delayMs: tracker.delayMs, idleTimeoutMs: tracker.idleTimeoutMs, state: commit.watermark.tracker)
        trackedPartitions = commit.watermark.partitions
    }

    // MARK: one batch

    /// The next batch: a replay, a new one to plan, or nothing (finished). Throws after a failed batch.
    public mutating func beginBatch() throws(EngineError) -> BatchStart {
        if case .failed(let error) = phase {
            throw .execution("the query stopped at a failed batch (\(error)); start it again on its checkpoint to replay that batch")
        }
        precondition(phase == .ready, "beginBatch between batches only (the query is \(phase))")
        if isFinished { return .finished }
        if let replay = pendingReplay {
            pendingReplay = nil
            phase = .running(replay, step: .processing, replaying: true)
            return .replay(replay)
        }
        phase = .planning
        let limit: ReadLimit
        if case .once = trigger { limit = .unlimited } else { limit = readLimit }
        return .plan(PlanRequest(start: startOffsets, limit: limit, target: availableNowTarget))
    }

    /// The sources answered the plan request: `ends` per source (already within the request's limit
    /// and target) and their `latest` offsets. Runs a batch when there is data, when the watermark
    /// moved (windows may close), or when a bounded input just ended.
    public mutating func planned(ends: [SourceOffsets], latest: [SourceOffsets], nowMs: Int64) -> Action {
        precondition(phase == .planning, "planned follows a plan request")
        precondition(ends.count == sourceCount, "one end per source")
        let ends = availableNowTarget.map { target in zip(zip(ends, target), startOffsets).map { Self.clamp($0.0, to: $0.1, from: $1) } } ?? ends
        let hasData = ends != startOffsets
        let watermark = tracker.watermark(nowMs: nowMs)
        let endOfInput = boundedInput && ends == latest
        if !hasData && watermark == lastBatchWatermarkMs && !endOfInput {
            if case .once = trigger { ranOnce = true }
            phase = .ready
            return .idle
        }
        let entry = OffsetLogEntry(batchId: nextBatchId, timestampMs: nowMs, watermarkMs: watermark,
                                   start: startOffsets, end: ends, endOfInput: endOfInput)
        if checkpointed {
            phase = .running(entry, step: .writingOffsets, replaying: false)
            return .writeOffsets(entry)
        }
        phase = .running(entry, step: .processing, replaying: false)
        return .process(entry, replaying: false)
    }

    /// The driver could not plan (a source failed to answer): nothing was written, so the query
    /// is as it was and the next batch plans again.
    public mutating func abandonPlanning() {
        precondition(phase == .planning, "abandonPlanning follows a plan request")
        phase = .ready
    }

    public mutating func offsetsWritten() -> Action {
        let (entry, replaying) = expect(.writingOffsets)
        phase = .running(entry, step: .processing, replaying: replaying)
        return .process(entry, replaying: replaying)
    }

    /// The operators ran over the batch; `observations` says what each source partition brought
    /// (partitions that brought nothing included: they hold the watermark back until idle).
    public mutating func processed(_ observations: [SourcePartition: PartitionObservation], nowMs: Int64) -> Action {
        let (entry, replaying) = expect(.processing)
        if tracksWatermark {
            for (index, end) in entry.end.enumerated() {
                for partition in end.sortedPartitions {
                    let name = SourcePartition(source: index, partition: partition)
                    let number: Int
                    if let known = trackedPartitions.firstIndex(of: name) {
                        number = known
                    } else {
                        number = trackedPartitions.count
                        trackedPartitions.append(name)
                    }
                    let seen = observations[name]
                    tracker.observe(partition: number, maxEventTimeMs: seen?.maxEventTimeMs, rows: Int(seen?.rows ?? 0), nowMs: nowMs)
                }
            }
        }
        phase = .running(entry, step: .writingSink, replaying: replaying)
        return .writeSink(batchId: entry.batchId)
    }

    public mutating func sinkWritten() -> Action {
        let (entry, replaying) = expect(.writingSink)
        phase = .running(entry, step: .writingDeadLetters, replaying: replaying)
        return .writeDeadLetters(batchId: entry.batchId)
    }

    public mutating func deadLettersWritten() -> Action {
        let (entry, replaying) = expect(.writingDeadLetters)
        guard checkpointed else { return finish(entry) }
        phase = .running(entry, step: .writingState, replaying: replaying)
        return .writeState(batchId: entry.batchId)
    }

    public mutating func stateWritten() -> Action {
        let (entry, replaying) = expect(.writingState)
        phase = .running(entry, step: .writingCommit, replaying: replaying)
        return .writeCommit(CommitLogEntry(batchId: entry.batchId,
                                           watermark: WatermarkState(partitions: trackedPartitions, tracker: tracker.state)))
    }

    public mutating func commitWritten() -> Action {
        let (entry, replaying) = expect(.writingCommit)
        phase = .running(entry, step: .purging, replaying: replaying)
        return .purge(keepingFrom: entry.batchId)
    }

    public mutating func purged() -> Action {
        let (entry, _) = expect(.purging)
        return finish(entry)
    }

    /// An action failed (or the driver stopped at a crash point): no more batches run here.
    public mutating func failed(_ error: EngineError) {
        phase = .failed(error)
    }

    private mutating func finish(_ entry: OffsetLogEntry) -> Action {
        startOffsets = entry.end
        nextBatchId = entry.batchId + 1
        lastBatchWatermarkMs = entry.watermarkMs
        if entry.endOfInput { inputEnded = true }
        if case .once = trigger { ranOnce = true }
        phase = .ready
        return .batchDone(entry)
    }

    private func expect(_ step: Step) -> (OffsetLogEntry, Bool) {
        guard case .running(let entry, let current, let replaying) = phase, current == step else {
            preconditionFailure("micro-batch protocol: \(step) reported while the query is \(phase)")
        }
        return (entry, replaying)
    }

    /// `end` no further than `target`, and never before `start` (a batch does not go back).
    private static func clamp(_ end: SourceOffsets, to target: SourceOffsets, from start: SourceOffsets) -> SourceOffsets {
        var result = end
        for (partition, offset) in end.partitions {
            if let limit = target.partitions[partition] {
                result.partitions[partition] = max(start.partitions[partition] ?? 0, min(offset, max(limit, 0)))
            }
        }
        return result
    }
}
