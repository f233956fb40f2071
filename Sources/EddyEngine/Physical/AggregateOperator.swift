/// The group-by / window aggregation step of a plan, around `WindowAggregateOperator` (the state and
/// the kernels): rows in per chunk, windows out when the watermark at the end of the batch allows,
/// everything out at the end of a bounded input.
public final class AggregateOperator: StreamOperator {
    public let name: String
    public var outputSchema: Schema { state.outputSchema }
    private var state: WindowAggregateOperator
    private let parameters: Parameters
    /// Whether a checkpoint holds the state as of the last checkpoint (a delta can follow it).
    private var checkpointed = false
    /// Whether checkpoints take deltas (else the operator does not track its changes).
    private var tracksChanges = true
    /// The operator's cumulative counters as of the last batch's end, and the last batch's share
    /// (progress reports per batch, as Spark's does).
    private var countedBefore = (updated: 0, dropped: 0)
    private var batchCounts = (updated: 0, dropped: 0)
    private var expiredLastBatch = 0

    /// What `WindowAggregateOperator` is built from (again when restoring).
    struct Parameters: Sendable {
        var inputSchema: Schema
        var timeColumn: String?
        var keys: [String]
        var aggregates: [AggregateSpec]
        var window: WindowSpec
        var mode: OutputMode
        var stateBytesLimit: Int?
        var stateTTLMs: Int64?
    }

    public init(name: String, inputSchema: Schema, step: PhysicalPlan.AggregateStep) throws(EngineError) {
        self.name = name
        parameters = try AggregatePlanning.parameters(inputSchema: inputSchema, step: step)
        state = try AggregatePlanning.makeState(parameters, name: name)
    }

    public func process(_ batch: RecordBatch, context: inout BatchContext) throws(EngineError) -> RecordBatch {
        state.currentTimeMs = context.processingTimeMs
        try state.process(batch, watermarkMs: context.watermarkMs)
        if !state.lateRows.isEmpty { context.lateRows.append(batch.take(state.lateRows)) }
        return .empty(outputSchema)
    }

    public func finishBatch(context: inout BatchContext) throws(EngineError) -> RecordBatch {
        let output = try state.emit(watermarkMs: context.watermarkMs)
        expiredLastBatch = state.expireIdle(nowMs: context.processingTimeMs)
        batchCounts = (state.numRowsUpdated - countedBefore.updated, state.numRowsDroppedByWatermark - countedBefore.dropped)
        countedBefore = (state.numRowsUpdated, state.numRowsDroppedByWatermark)
        return output
    }

    /// Called after `finishBatch` in the batch that ends the input. Append and update emit what
    /// `finishBatch` left (windows still open, nothing changed since); complete mode's `finishBatch`
    /// has just emitted the whole result, so the flush only frees the state (emitting it again would
    /// write every group twice into the last batch).
    public func flush(context: inout BatchContext) throws(EngineError) -> RecordBatch {
        let rest = state.flushAll()
        return parameters.mode == .complete ? .empty(outputSchema) : rest
    }

    public func snapshot() -> [UInt8]? {
        state.snapshot()
    }

    public func restore(_ snapshot: [UInt8]) throws(EngineError) {
        try restore(StateChain(snapshot: snapshot, snapshotBatchId: 0, deltas: []))
    }

    public var keepsState: Bool { true }

    public func prepareCheckpoints(incremental: Bool) {
        tracksChanges = incremental
        state.tracksChanges = incremental
    }

    public func checkpointState(incremental: Bool) -> OperatorState? {
        if incremental && checkpointed { return .delta(state.checkpointDelta()) }
        state.forgetChanges()
        checkpointed = true
        return .snapshot(state.snapshot())
    }

    public func restore(_ chain: StateChain) throws(EngineError) {
        state = try Self.rebuild(parameters, name: name, chain.snapshot, chain.deltas)
        state.tracksChanges = tracksChanges
        checkpointed = true
        countedBefore = (state.numRowsUpdated, state.numRowsDroppedByWatermark)
    }

    public var stateCompactor: StateCompactor? {
        { [parameters, name] (snapshot, deltas) throws(EngineError) in
            try Self.rebuild(parameters, name: name, snapshot, deltas).snapshot()
        }
    }

    private static func rebuild(_ parameters: Parameters, name: String, _ snapshot: [UInt8], _ deltas: [[UInt8]]) throws(EngineError) -> WindowAggregateOperator {
        var state = try AggregatePlanning.makeState(parameters, name: name, restoring: snapshot)
        for delta in deltas { try state.applyDelta(delta) }
        return state
    }

    public var stateProgress: StreamingQueryProgress.StateOperatorProgress? {
        StreamingQueryProgress.StateOperatorProgress(
            operatorName: "windowAggregate", numRowsTotal: Int64(state.stateRows), numRowsUpdated: Int64(batchCounts.updated),
            memoryUsedBytes: Int64(state.stateBytes), numRowsDroppedByWatermark: Int64(batchCounts.dropped),
            customMetrics: ["numRowsWithNullTime": Int64(state.numRowsWithNullTime), "peakStateBytes": Int64(state.peakStateBytes)]
                .merging(state.stateTTLMs == nil ? [:] : ["numRowsExpiredByTTL": Int64(expiredLastBatch)]) { a, _ in a })
    }
}

/// Translates the API's window and aggregate descriptions into the operator's.
enum AggregatePlanning {
    /// The default state limit per aggregation (state.bytes.max): 512 MiB.
    static let defaultStateBytesLimit = 512 << 20

    static func parameters(inputSchema: Schema, step: PhysicalPlan.AggregateStep) throws(EngineError) -> AggregateOperator.Parameters {
        AggregateOperator.Parameters(
            inputSchema: inputSchema, timeColumn: step.timeColumn, keys: step.keys,
            aggregates: step.aggregates.map(spec), window: windowSpec(step.window), mode: step.mode,
            stateBytesLimit: step.stateBytesLimit ?? defaultStateBytesLimit, stateTTLMs: step.stateTTLMs)
    }

    static func makeState(_ p: AggregateOperator.Parameters, name: String, restoring: [UInt8]? = nil) throws(EngineError) -> WindowAggregateOperator {
        if let restoring {
            return try WindowAggregateOperator(
                restoring: restoring, inputSchema: p.inputSchema, timeColumn: p.timeColumn, keyColumns: p.keys,
                aggregates: p.aggregates, window: p.window, mode: p.mode, stateBytesLimit: p.stateBytesLimit,
                stateTTLMs: p.stateTTLMs, name: name)
        }
        return try WindowAggregateOperator(
            inputSchema: p.inputSchema, timeColumn: p.timeColumn, keyColumns: p.keys, aggregates: p.aggregates,
            window: p.window, mode: p.mode, stateBytesLimit: p.stateBytesLimit, stateTTLMs: p.stateTTLMs, name: name)
    }

    static func windowSpec(_ window: WindowGrouping?) -> WindowSpec {
        switch window?.kind {
        case nil: .none
        case .tumbling(let size)?: .tumbling(sizeMs: size.milliseconds)
        case .hopping(let size, let slide)?: .hopping(sizeMs: size.milliseconds, slideMs: slide.milliseconds)
        case .session(let gap)?: .session(gapMs: gap.milliseconds)
        case .cumulating(let size, let step)?: .cumulating(sizeMs: size.milliseconds, stepMs: step.milliseconds)
        }
    }

    static func spec(_ aggregate: Aggregate) -> AggregateSpec {
        let function: AggregateFunction
        switch aggregate.function {
        case .count: function = .count
        case .countDistinct: function = .countDistinct
        case .sum: function = .sum
        case .avg: function = .avg
        case .min: function = .min
        case .max: function = .max
        case .first: function = .first
        case .last: function = .last
        }
        return AggregateSpec(function, aggregate.column, as: aggregate.name)
    }

    static func outputSchema(input: Schema, window: WindowGrouping?, keys: [String], aggregates: [Aggregate]) throws(EngineError) -> Schema {
        let step = PhysicalPlan.AggregateStep(window: window, keys: keys, aggregates: aggregates, timeColumn: window?.column,
                                              mode: .update, stateBytesLimit: nil)
        var p = try parameters(inputSchema: input, step: step)
        if p.timeColumn == nil, aggregates.contains(where: { $0.function == .first || $0.function == .last }) {
            p.timeColumn = input.fields.first { $0.type == .timestamp }?.name
        }
        return try makeState(p, name: "schema").outputSchema
    }
}
