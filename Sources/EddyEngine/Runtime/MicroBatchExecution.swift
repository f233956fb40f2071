import EddyCore

/// Runs a query as Spark runs micro-batches, one batch per call, with time passed in (so the test
/// driver and the threaded runner share it). The protocol's decisions (what to write when, what to
/// replay, when a batch is due) are `MicroBatchProtocol`'s; this driver carries out its actions:
/// asks the sources, reads and runs the operators, writes the sink, the dead letters and the
/// checkpoint, and builds progress.
///
/// Each action ends at a named crash point (`MicroBatchProtocol.CrashPoint`): `QueryOptions.crashInjector`
/// can stop the query there, as a crash would, so tests restore from every one of them.
public final class MicroBatchExecution: @unchecked Sendable {
    public let plan: QueryPlan
    public let options: QueryOptions
    public let runId: String
    let checkpoint: CheckpointStore?
    private var machine: MicroBatchProtocol
    private var started = false
    public private(set) var deadLetterCounts: [DeadLetter.Reason: Int64] = [:]
    public private(set) var lastProgress: StreamingQueryProgress?
    var lastProgressTimestampMs: Int64?
    /// Per stateful operator: its newest whole snapshot in the checkpoint and the deltas after it, and
    /// what the last batch wrote for it (progress).
    private var chains: [String: StateChainLength] = [:]
    var lastStateWrite: [String: (bytes: Int, whole: Bool)] = [:]
    /// Snapshot bytes compactions wrote since the last progress, by operator.
    var compactedBytes: [String: Int] = [:]
    private let compaction = StateCompaction()

    public init(plan: QueryPlan, options: QueryOptions, checkpoint: CheckpointStore?, runId: String) throws(EngineError) {
        self.plan = plan
        self.options = options
        self.checkpoint = checkpoint
        self.runId = runId
        machine = try MicroBatchProtocol(
            signature: plan.signature, legacyFingerprint: plan.legacyFingerprint, queryId: runId, trigger: options.trigger,
            readLimit: options.readLimit, sourceCount: plan.sources.count, checkpointed: checkpoint != nil,
            boundedInput: plan.boundedInput, watermark: plan.watermark)
    }

    /// The query's id: stable across restarts on one checkpoint (Spark's `id`).
    public var id: String { machine.id }

    /// Whether the query has nothing more to do (a `once`/`availableNow` trigger reached its target,
    /// or a bounded input ended).
    public var isFinished: Bool { machine.isFinished }

    // MARK: start and recovery

    /// Opens the checkpoint (refusing one written by a pipeline with other stateful steps) and
    /// restores the last state.
    public func start(nowMs: Int64) throws(EngineError) {
        precondition(!started, "a query starts once")
        started = true
        try plan.sink.prepare()
        let initial = try plan.sources.map { source throws(EngineError) in try source.initialOffsets() }
        var view: MicroBatchProtocol.CheckpointView?
        if let checkpoint {
            let offsets = try checkpoint.offsetBatches()
            let commits = try checkpoint.commitBatches()
            view = .init(metadata: try checkpoint.readMetadata(), offsetBatches: offsets, commitBatches: commits,
                         newestOffsets: try offsets.max().map { batch throws(EngineError) in try checkpoint.readOffsets(batch) },
                         newestCommit: try commits.max().map { batch throws(EngineError) in try checkpoint.readCommit(batch) })
        }
        let latest = machine.needsTargetAtStart ? try latestOffsets() : nil
        let startPlan = try machine.start(initialOffsets: initial, latestAtStart: latest, checkpoint: view)
        // A query with no batch behind it would write batch 0 again into a sink that holds batches
        // of another run, and an idempotent sink would skip them all: refuse rather than write nothing.
        if view?.offsetBatches.isEmpty ?? true, let held = try plan.sink.lastCommittedBatch() {
            throw .configuration("""
                the sink \(plan.sink.description) already holds batches 0…\(held) of another run, and this query starts \
                from batch 0\(checkpoint == nil ? " (it has no checkpoint)" : " (its checkpoint is new)"): it would skip \
                them. Run it with that run's checkpoint, or write to a new place
                """)
        }
        if let checkpoint, let metadata = startPlan.writeMetadata { try checkpoint.writeMetadata(metadata) }
        for op in plan.operators { op.prepareCheckpoints(incremental: checkpoint != nil && options.stateMinDeltasForSnapshot > 0) }
        if let checkpoint, let batchId = startPlan.restoreStateFrom {
            for op in plan.operators {
                if let chain = try checkpoint.readState(batchId, operator: op.name) {
                    do throws(EngineError) {
                        try op.restore(chain)
                    } catch {
                        throw .checkpoint("restoring \(op.name) from state/\(chain.snapshotBatchId) and the \(chain.deltas.count) deltas after it up to state/\(batchId): \(error.message)")
                    }
                    chains[op.name] = StateChainLength(
                        snapshotBatchId: chain.snapshotBatchId, snapshotBytes: chain.snapshot.count, deltaBytes: chain.deltas.map(\.count))
                } else if op.keepsState {
                    throw .checkpoint("state/\(batchId)/\(op.name) is missing: the checkpoint is damaged")
                }
            }
        }
    }

    /// Waits for the checkpoint's background work (state compaction) to finish; throws when a
    /// compaction failed (the checkpoint's newest state could not be rebuilt from its deltas).
    public func close() throws(EngineError) {
        compaction.wait()
        if let failure = compaction.takeFailure() { throw failure }
    }

    private func latestOffsets() throws(EngineError) -> [SourceOffsets] {
        try plan.sources.map { source throws(EngineError) in try source.latestOffsets() }
    }

    // MARK: one batch

    /// What one batch produced, carried between the protocol's actions.
    private struct BatchWork {
        var output: RecordBatch
        var letters: [DeadLetter] = []
        var context: BatchContext
        var rowsPerSource: [Int64] = []
        var readMs: Int64 = 0
        var replaying = false
    }

    /// Runs the next micro-batch if there is anything to do; nil when there was nothing.
    public func runBatch(nowMs: Int64) throws(EngineError) -> StreamingQueryProgress? {
        precondition(started, "start the query before running batches")
        if machine.failure == nil && machine.isFinished { return nil }
        var clock = PhaseClock()
        // Asked before the batch begins: a source that cannot answer leaves the query as it was.
        let latest = machine.failure == nil ? try latestOffsets() : []
        var action: MicroBatchProtocol.Action
        switch try machine.beginBatch() {
        case .finished:
            return nil
        case .replay(let entry):
            action = .process(entry, replaying: true)
        case .plan(let request):
            var ends: [SourceOffsets] = []
            do {
                for (index, source) in plan.sources.enumerated() {
                    ends.append(try source.planEnd(from: request.start[index], limit: request.limit))
                }
            } catch {
                machine.abandonPlanning()
                throw error
            }
            action = machine.planned(ends: ends, latest: latest, nowMs: nowMs)
            if action == .idle { return nil }
            clock.mark("latestOffset")
        }
        var work: BatchWork?
        do {
            while true {
                switch action {
                case .idle:
                    preconditionFailure("the protocol went idle inside a batch")
                case .writeOffsets(let entry):
                    try checkpoint?.writeOffsets(entry)
                    try reach(.offsetsWritten, entry.batchId)
                    action = machine.offsetsWritten()
                case .process(let entry, let replaying):
                    clock.mark("walCommit")
                    let done = try process(entry, replaying: replaying)
                    work = done
                    work!.replaying = replaying
                    try reach(.processed, entry.batchId)
                    action = machine.processed(observations(done.context), nowMs: nowMs)
                case .writeSink(let batchId):
                    var rejected = try plan.sink.write(batchId: batchId, work!.output)
                    for index in rejected.indices {
                        rejected[index].queryId = id
                        rejected[index].batchId = batchId
                        rejected[index].index = work!.letters.count + index
                        rejected[index].replayed = work!.replaying
                    }
                    work!.letters += rejected
                    try reach(.sinkWritten, batchId)
                    action = machine.sinkWritten()
                case .writeDeadLetters(let batchId):
                    if !work!.letters.isEmpty {
                        try options.deadLetters?.write(work!.letters)
                        for letter in work!.letters { deadLetterCounts[letter.reason, default: 0] += 1 }
                    }
                    clock.mark("addBatch")
                    try reach(.deadLettersWritten, batchId)
                    action = machine.deadLettersWritten()
                case .writeState(let batchId):
                    var states: [String: OperatorState] = [:]
                    lastStateWrite = [:]
                    for op in plan.operators {
                        guard let state = op.checkpointState(incremental: options.stateMinDeltasForSnapshot > 0) else { continue }
                        states[op.name] = state
                        chains[op.name, default: StateChainLength(snapshotBatchId: batchId, snapshotBytes: 0)].wrote(state, batchId: batchId)
                        lastStateWrite[op.name] = (state.bytes.count, state.isSnapshot)
                    }
                    try checkpoint?.writeState(batchId, states)
                    try reach(.stateWritten, batchId)
                    action = machine.stateWritten()
                case .writeCommit(let entry):
                    try checkpoint?.writeCommit(entry)
                    try reach(.commitWritten, entry.batchId)
                    action = machine.commitWritten()
                case .purge(let keepingFrom):
                    try checkpoint?.purge(keepingFrom: keepingFrom)
                    try reach(.purged, keepingFrom)
                    action = machine.purged()
                case .batchDone(let entry):
                    try compactState(committed: entry.batchId)
                    for (index, source) in plan.sources.enumerated() { source.committed(entry.end[index]) }
                    clock.mark("commitOffsets")
                    let done = work!
                    let result = progress(entry, latest: latest, rowsPerSource: done.rowsPerSource, output: done.output,
                                          letters: done.letters, context: done.context, readMs: done.readMs, clock: clock)
                    lastProgress = result
                    return result
                }
            }
        } catch {
            machine.failed(error)
            throw error
        }
    }

    /// Starts folding an operator's deltas into a whole snapshot when its chain needs it (at least
    /// `stateMinDeltasForSnapshot` deltas, as large as the snapshot together: `StateChainLength`), in
    /// the background or here when the options say so; fails the query when an earlier compaction failed.
    private func compactState(committed batchId: Int64) throws(EngineError) {
        guard let checkpoint, options.stateMinDeltasForSnapshot > 0 else { return }
        if let failure = compaction.takeFailure() { throw failure }
        for (name, compacted) in compaction.takeCompleted() {
            chains[name]?.compacted(batchId: compacted.batchId, bytes: compacted.bytes)
            compactedBytes[name, default: 0] += compacted.bytes
        }
        for op in plan.operators {
            guard let compactor = op.stateCompactor, chains[op.name]?.needsCompaction(minDeltas: options.stateMinDeltasForSnapshot) == true,
                !compaction.isRunning(op.name)
            else { continue }
            if options.stateCompactionInBackground {
                compaction.launch(op.name, batchId: batchId, checkpoint: checkpoint, compactor: compactor)
            } else {
                let bytes = try StateCompaction.compact(op.name, batchId: batchId, checkpoint: checkpoint, compactor: compactor)
                compactedBytes[op.name, default: 0] += bytes
                chains[op.name]?.compacted(batchId: batchId, bytes: bytes)
            }
        }
    }

    private func reach(_ point: MicroBatchProtocol.CrashPoint, _ batchId: Int64) throws(EngineError) {
        try options.crashInjector?.reach(point, batchId: batchId)
    }

    /// Reads every source's range and runs it through the operators; then the stateful operators
    /// emit what the watermark allows (and everything, when the input ended).
    private func process(_ entry: OffsetLogEntry, replaying: Bool) throws(EngineError) -> BatchWork {
        var context = BatchContext(batchId: entry.batchId, watermarkMs: entry.watermarkMs)
        context.processingTimeMs = entry.timestampMs
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
                for letter in chunk.deadLetters where letter.reason == .malformed {
                    context.malformedPerSource[index, default: [:]][letter.cause ?? "other", default: 0] += 1
                }
                for (field, column) in zip(chunk.batch.schema.fields, chunk.batch.columns) {
                    context.nullsPerSource[index, default: [:]][field.name, default: 0] += Int64(column.validity == nil ? 0 : column.nullCount)
                }
                if let oldest = chunk.oldestRecordTimeMs { context.oldestRecordTimeMs = min(context.oldestRecordTimeMs, oldest) }
                context.partition = SourcePartition(source: index, partition: chunk.partition)
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
        // What stateful operators emit flows through the operators after them.
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
                                              source: plan.sources.first?.description ?? "", partition: nil, offset: nil, value: value))
                }
            }
        }
        for index in letters.indices {
            letters[index].queryId = id
            letters[index].batchId = entry.batchId
            letters[index].index = index
            letters[index].replayed = replaying
        }
        let sinkSchema = plan.operators.last?.outputSchema ?? plan.sources[0].schema
        let output = outputs.isEmpty ? RecordBatch.empty(sinkSchema) : RecordBatch.concatenate(outputs, schema: sinkSchema)
        return BatchWork(output: output, letters: letters, context: context, rowsPerSource: rowsPerSource, readMs: readMs)
    }

    private func observations(_ context: BatchContext) -> [SourcePartition: MicroBatchProtocol.PartitionObservation] {
        var result: [SourcePartition: MicroBatchProtocol.PartitionObservation] = [:]
        for partition in Set(context.rowsPerPartition.keys).union(context.maxEventTimeMs.keys) {
            result[partition] = .init(rows: context.rowsPerPartition[partition] ?? 0, maxEventTimeMs: context.maxEventTimeMs[partition])
        }
        return result
    }
}

