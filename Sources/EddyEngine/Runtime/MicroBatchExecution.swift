/// Runs a query as Spark runs micro-batches, one batch per call, with time passed in (so the test
/// driver and the threaded runner share it). For batch N:
///
/// 1. plan: each source's end offsets (within the read limit) and the watermark from what earlier
///    batches saw; write both to `offsets/N` (the write-ahead log) before reading anything;
/// 2. read and decode [start, end) of every source; run the chunks through the operators;
/// 3. the operators' output for the batch goes to the sink as batch N (the sink ignores a batch it holds);
/// 4. write operator state to `state/N`, then `commits/N` with the watermark tracker; purge old entries.
///
/// On start, an `offsets/N` without `commits/N` is replayed with exactly its offsets and watermark on
/// top of the state of batch N-1, so the sink sees the same rows again and output is exactly once.
public final class MicroBatchExecution: @unchecked Sendable {
    public let plan: QueryPlan
    public let options: QueryOptions
    public private(set) var id: String
    public let runId: String
    private let checkpoint: CheckpointStore?
    private var tracker: WatermarkTracker
    /// The tracker numbers partitions; these are their names, by number.
    private var trackedPartitions: [String] = []
    private var nextBatchId: Int64 = 0
    private var startOffsets: [SourceOffsets] = []
    /// A planned batch to replay (recovery), taken before planning anything new.
    private var pendingReplay: OffsetLogEntry?
    /// The watermark the last batch ran with (a no-data batch runs when it moves).
    private var lastBatchWatermarkMs: Int64 = .min
    /// availableNow: the offsets to stop at, fixed when the query starts.
    private var availableNowTarget: [SourceOffsets]?
    private var inputEnded = false
    private var started = false
    public private(set) var deadLetterCounts: [DeadLetter.Reason: Int64] = [:]
    public private(set) var lastProgress: StreamingQueryProgress?

    public init(plan: QueryPlan, options: QueryOptions, checkpoint: CheckpointStore?, runId: String) throws(EngineError) {
        self.plan = plan
        self.options = options
        self.checkpoint = checkpoint
        self.runId = runId
        self.id = runId
        tracker = try WatermarkTracker(delayMs: plan.watermark?.delayMs ?? 0, idleTimeoutMs: plan.watermark?.idleTimeoutMs)
    }

    /// Whether the query has nothing more to do (a `once`/`availableNow` trigger reached its target,
    /// or a bounded input ended).
    public var isFinished: Bool {
        if inputEnded { return true }
        switch options.trigger {
        case .processingTime: return false
        case .once: return ranOnce
        case .availableNow: return availableNowTarget.map { $0 == startOffsets } ?? false
        }
    }

    private var ranOnce = false
    /// Set when a batch failed: its operators may hold part of it, so this execution runs no more
    /// batches (as a Spark query terminates); a new one started on the checkpoint replays the batch.
    private var failure: EngineError?

    // MARK: start and recovery

    /// Opens the checkpoint (refusing one written by another pipeline) and restores the last state.
    public func start(nowMs: Int64) throws(EngineError) {
        precondition(!started, "a query starts once")
        started = true
        startOffsets = try plan.sources.map { source throws(EngineError) in try source.initialOffsets() }
        guard let checkpoint else {
            try fixAvailableNowTarget()
            return
        }
        if let metadata = try checkpoint.readMetadata() {
            guard metadata.pipelineFingerprint == plan.fingerprint else {
                throw .checkpoint("""
                    the checkpoint at \(checkpoint.directory) was written by a different pipeline; \
                    use a new checkpoint directory (or delete this one to start over).
                    checkpoint plan:
                    \(metadata.plan)
                    this plan:
                    \(plan.explanation)
                    """)
            }
            id = metadata.id
        } else {
            try checkpoint.writeMetadata(CheckpointMetadata(id: runId, pipelineFingerprint: plan.fingerprint, plan: plan.explanation))
        }
        switch try CheckpointRecovery.decide(offsetBatches: checkpoint.offsetBatches(), commitBatches: checkpoint.commitBatches()) {
        case .fresh:
            break
        case .resume(let lastCommitted):
            try restore(from: lastCommitted)
            let entry = try checkpoint.readOffsets(lastCommitted)
            startOffsets = entry.end
            inputEnded = entry.endOfInput
            lastBatchWatermarkMs = entry.watermarkMs
            nextBatchId = lastCommitted + 1
        case .replay(let batchId, let stateBatchId):
            if let stateBatchId { try restore(from: stateBatchId) }
            let entry = try checkpoint.readOffsets(batchId)
            guard entry.start.count == plan.sources.count else {
                throw .checkpoint("offsets/\(batchId) has \(entry.start.count) sources; the pipeline reads \(plan.sources.count)")
            }
            pendingReplay = entry
            startOffsets = entry.start
            nextBatchId = batchId
        }
        try fixAvailableNowTarget()
    }

    private func fixAvailableNowTarget() throws(EngineError) {
        guard case .availableNow = options.trigger else { return }
        availableNowTarget = try plan.sources.map { source throws(EngineError) in try source.latestOffsets() }
    }

    private func restore(from batchId: Int64) throws(EngineError) {
        guard let checkpoint else { return }
        let commit = try checkpoint.readCommit(batchId)
        tracker = try WatermarkTracker(delayMs: tracker.delayMs, idleTimeoutMs: tracker.idleTimeoutMs, state: commit.watermark.tracker)
        trackedPartitions = commit.watermark.partitions
        for op in plan.operators {
            if let bytes = try checkpoint.readState(batchId, operator: op.name) {
                try op.restore(bytes)
            } else if op.snapshot() != nil {
                throw .checkpoint("state/\(batchId)/\(op.name) is missing: the checkpoint is damaged")
            }
        }
    }

    // MARK: one batch

    /// Runs the next micro-batch if there is anything to do; nil when there was nothing.
    public func runBatch(nowMs: Int64) throws(EngineError) -> StreamingQueryProgress? {
        precondition(started, "start the query before running batches")
        if let failure {
            throw .execution("the query stopped at a failed batch (\(failure)); start it again on its checkpoint to replay that batch")
        }
        if isFinished { return nil }
        var clock = PhaseClock()
        let entry: OffsetLogEntry
        var latest: [SourceOffsets] = []
        let replaying = pendingReplay != nil
        if let replay = pendingReplay {
            entry = replay
            pendingReplay = nil
            latest = try plan.sources.map { source throws(EngineError) in try source.latestOffsets() }
        } else {
            latest = try plan.sources.map { source throws(EngineError) in try source.latestOffsets() }
            var ends: [SourceOffsets] = []
            for (index, source) in plan.sources.enumerated() {
                let limit: ReadLimit = {
                    if case .once = options.trigger { return .unlimited }
                    return options.readLimit
                }()
                var end = try source.planEnd(from: startOffsets[index], limit: limit)
                if let target = availableNowTarget?[index] { end = Self.clamp(end, to: target) }
                ends.append(end)
            }
            let hasData = ends != startOffsets
            let watermark = tracker.watermark(nowMs: nowMs)
            let endOfInput = plan.boundedInput && ends == latest
            if !hasData && watermark == lastBatchWatermarkMs && !endOfInput {
                if case .once = options.trigger { ranOnce = true }
                return nil
            }
            entry = OffsetLogEntry(batchId: nextBatchId, timestampMs: nowMs, watermarkMs: watermark,
                                   start: startOffsets, end: ends, endOfInput: endOfInput)
            clock.mark("latestOffset")
            try checkpoint?.writeOffsets(entry)
        }
        clock.mark("walCommit")
        let progress: StreamingQueryProgress
        do {
            progress = try execute(entry, replaying: replaying, latest: latest, nowMs: nowMs, clock: &clock)
        } catch {
            failure = error
            throw error
        }
        if case .once = options.trigger { ranOnce = true }
        lastProgress = progress
        return progress
    }

    private func execute(_ entry: OffsetLogEntry, replaying: Bool, latest: [SourceOffsets], nowMs: Int64,
                         clock: inout PhaseClock) throws(EngineError) -> StreamingQueryProgress {
        var context = BatchContext(batchId: entry.batchId, watermarkMs: entry.watermarkMs)
        var outputs: [RecordBatch] = []
        var rowsPerSource: [Int64] = []
        var letters: [DeadLetter] = []
        var readMs: Int64 = 0
        let operators = plan.operators
        for (index, source) in plan.sources.enumerated() {
            let readStart = monotonicMillis()
            let chunks = try source.read(from: entry.start[index], to: entry.end[index])
            readMs += monotonicMillis() - readStart
            var rows: Int64 = 0
            for chunk in chunks {
                letters += chunk.deadLetters
                context.partition = "\(index)/\(chunk.partition)"
                context.rowsPerPartition[context.partition, default: 0] += Int64(chunk.batch.count)
                rows += Int64(chunk.batch.count)
                var batch = chunk.batch
                for op in operators {
                    if batch.isEmpty { break }
                    batch = try op.process(batch, context: &context)
                }
                if !batch.isEmpty { outputs.append(batch) }
            }
            rowsPerSource.append(rows)
        }
        // The batch's input is done: stateful operators emit what the watermark allows, and what
        // they emit flows through the operators after them.
        for (position, op) in operators.enumerated() {
            var emitted = try op.finishBatch(context: &context)
            if entry.endOfInput {
                let flushed = try op.flush(context: &context)
                if !flushed.isEmpty {
                    emitted = emitted.isEmpty ? flushed : RecordBatch.concatenate([emitted, flushed], schema: op.outputSchema)
                }
            }
            for next in operators[(position + 1)...] {
                if emitted.isEmpty { break }
                emitted = try next.process(emitted, context: &context)
            }
            if !emitted.isEmpty { outputs.append(emitted) }
        }
        if options.deadLetterLateRows, let encode = options.encodeRows {
            for late in context.lateRows {
                for value in encode(late) {
                    letters.append(DeadLetter(reason: .late, detail: "event time behind the watermark \(formatTimestamp(entry.watermarkMs))",
                                              source: plan.sources.first?.description ?? "", partition: "", offset: nil, value: value))
                }
            }
        }
        let sinkSchema = plan.operators.last?.outputSchema ?? plan.sources[0].schema
        let output = outputs.isEmpty ? RecordBatch.empty(sinkSchema) : RecordBatch.concatenate(outputs, schema: sinkSchema)
        try plan.sink.write(batchId: entry.batchId, output)
        if !letters.isEmpty {
            for index in letters.indices {
                letters[index].queryId = id
                letters[index].batchId = entry.batchId
                letters[index].index = index
                letters[index].replayed = replaying
                deadLetterCounts[letters[index].reason, default: 0] += 1
            }
            try options.deadLetters?.write(letters)
        }
        clock.mark("addBatch")

        observeWatermarks(entry, context: context, nowMs: nowMs)
        if let checkpoint {
            var snapshots: [String: [UInt8]] = [:]
            for op in operators { if let bytes = op.snapshot() { snapshots[op.name] = bytes } }
            try checkpoint.writeState(entry.batchId, snapshots)
            try checkpoint.writeCommit(CommitLogEntry(batchId: entry.batchId,
                                                      watermark: WatermarkState(partitions: trackedPartitions, tracker: tracker.state)))
            try checkpoint.purge(keepingFrom: entry.batchId)
        }
        for (index, source) in plan.sources.enumerated() { source.committed(entry.end[index]) }
        startOffsets = entry.end
        nextBatchId = entry.batchId + 1
        lastBatchWatermarkMs = entry.watermarkMs
        if entry.endOfInput { inputEnded = true }
        clock.mark("commitOffsets")

        return progress(entry, latest: latest, rowsPerSource: rowsPerSource, output: output, letters: letters,
                        context: context, readMs: readMs, clock: clock)
    }

    private func progress(_ entry: OffsetLogEntry, latest: [SourceOffsets], rowsPerSource: [Int64], output: RecordBatch,
                          letters: [DeadLetter], context: BatchContext, readMs: Int64, clock: PhaseClock) -> StreamingQueryProgress {
        var durations = clock.phases
        durations["getBatch"] = readMs
        let totalMs = max(clock.totalMs, 1)
        let inputRows = rowsPerSource.reduce(0, +)
        let previousMs = lastProgressTimestampMs ?? entry.timestampMs
        let sinceLastMs = max(entry.timestampMs - previousMs, 0)
        lastProgressTimestampMs = entry.timestampMs
        var eventTime: [String: String] = [:]
        if context.eventTimeCount > 0 {
            eventTime["min"] = formatTimestamp(context.eventTimeMin)
            eventTime["max"] = formatTimestamp(context.eventTimeMax)
            eventTime["avg"] = formatTimestamp(Int64(context.eventTimeSum / Double(context.eventTimeCount)))
        }
        if entry.watermarkMs != .min { eventTime["watermark"] = formatTimestamp(entry.watermarkMs) }
        let sources = plan.sources.enumerated().map { index, source in
            let behind = latest.indices.contains(index) ? Self.behind(latest[index], entry.end[index]) : []
            var metrics: [String: String] = [:]
            if let minimum = behind.min(), let maximum = behind.max() {
                metrics["minOffsetsBehindLatest"] = String(minimum)
                metrics["maxOffsetsBehindLatest"] = String(maximum)
                metrics["avgOffsetsBehindLatest"] = String(Double(behind.reduce(0, +)) / Double(behind.count))
            }
            return StreamingQueryProgress.SourceProgress(
                description: source.description, startOffset: entry.start[index], endOffset: entry.end[index],
                latestOffset: latest.indices.contains(index) ? latest[index] : entry.end[index],
                numInputRows: rowsPerSource[index],
                inputRowsPerSecond: sinceLastMs > 0 ? Double(rowsPerSource[index]) * 1000 / Double(sinceLastMs) : 0,
                processedRowsPerSecond: Double(rowsPerSource[index]) * 1000 / Double(totalMs), metrics: metrics)
        }
        var deadLetters: [String: Int64] = [:]
        for letter in letters { deadLetters[letter.reason.rawValue, default: 0] += 1 }
        return StreamingQueryProgress(
            id: id, runId: runId, name: options.name, timestamp: formatTimestamp(entry.timestampMs), batchId: entry.batchId,
            numInputRows: inputRows,
            inputRowsPerSecond: sinceLastMs > 0 ? Double(inputRows) * 1000 / Double(sinceLastMs) : 0,
            processedRowsPerSecond: Double(inputRows) * 1000 / Double(totalMs),
            durationMs: durations, eventTime: eventTime,
            stateOperators: plan.operators.compactMap(\.stateProgress), sources: sources,
            sink: .init(description: plan.sink.description, numOutputRows: Int64(output.count)),
            numDeadLetterRows: deadLetters)
    }

    private var lastProgressTimestampMs: Int64?

    /// Tells the tracker what every source partition of the batch brought (also the partitions that
    /// brought nothing: they hold the watermark back until they turn idle).
    private func observeWatermarks(_ entry: OffsetLogEntry, context: BatchContext, nowMs: Int64) {
        guard plan.watermark != nil else { return }
        for (index, end) in entry.end.enumerated() {
            for partition in end.sortedPartitions {
                let name = "\(index)/\(partition)"
                let number: Int
                if let known = trackedPartitions.firstIndex(of: name) {
                    number = known
                } else {
                    number = trackedPartitions.count
                    trackedPartitions.append(name)
                }
                tracker.observe(partition: number, maxEventTimeMs: context.maxEventTimeMs[name],
                                rows: Int(context.rowsPerPartition[name] ?? 0), nowMs: nowMs)
            }
        }
    }

    /// Offsets behind latest per partition.
    private static func behind(_ latest: SourceOffsets, _ end: SourceOffsets) -> [Int64] {
        latest.partitions.map { partition, offset in max(0, offset - (end.partitions[partition] ?? 0)) }
    }

    private static func clamp(_ end: SourceOffsets, to target: SourceOffsets) -> SourceOffsets {
        var result = end
        for (partition, offset) in end.partitions {
            if let limit = target.partitions[partition] { result.partitions[partition] = min(offset, max(limit, 0)) }
        }
        return result
    }
}

/// Phase durations of one batch (progress `durationMs`), from a monotonic clock.
struct PhaseClock {
    private(set) var phases: [String: Int64] = [:]
    private let startedAt: Int64
    private var lastMark: Int64

    init() {
        startedAt = monotonicMillis()
        lastMark = startedAt
    }

    mutating func mark(_ phase: String) {
        let now = monotonicMillis()
        phases[phase, default: 0] += now - lastMark
        lastMark = now
        phases["triggerExecution"] = now - startedAt
    }

    var totalMs: Int64 { phases["triggerExecution"] ?? 0 }
}
