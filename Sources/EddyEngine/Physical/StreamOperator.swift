import EddyCore

/// A physical operator's lifecycle (Arroyo's habit): it takes batches, reacts to the watermark at the
/// end of each micro-batch, flushes at the end of a bounded input, and saves and restores its state.
/// Calls are per batch, never per row, so the existential is off the hot path.
public protocol StreamOperator: AnyObject {
    /// A stable name within the plan; it names the operator's state file in the checkpoint.
    var name: String { get }
    var outputSchema: Schema { get }
    /// Rows of one source partition's chunk in; rows out (possibly none: a stateful operator keeps them).
    func process(_ batch: RecordBatch, context: inout BatchContext) throws(EngineError) -> RecordBatch
    /// The micro-batch's input is done and `context.watermarkMs` applies: rows whose time has come.
    func finishBatch(context: inout BatchContext) throws(EngineError) -> RecordBatch
    /// The input ended (a bounded source ran out): everything still held that `finishBatch`, called
    /// just before in the same batch, did not emit.
    func flush(context: inout BatchContext) throws(EngineError) -> RecordBatch
    /// State to checkpoint (nil: the operator keeps none).
    func snapshot() -> [UInt8]?
    func restore(_ snapshot: [UInt8]) throws(EngineError)
    /// Whether the operator keeps state that a checkpoint must hold.
    var keepsState: Bool { get }
    /// Called once before the query starts (and before a restore): whether checkpoints will ask for
    /// deltas, so an operator tracks its changes only when they will be written.
    func prepareCheckpoints(incremental: Bool)
    /// The state to checkpoint after this batch: what changed since the previous call (or the
    /// restore) when `incremental` and the operator can say so, else the whole state.
    func checkpointState(incremental: Bool) -> OperatorState?
    /// Restores the state a snapshot and the deltas after it describe.
    func restore(_ chain: StateChain) throws(EngineError)
    /// Folds a snapshot and deltas into one snapshot, off the query's thread (the checkpoint's
    /// compaction); nil when the operator writes no deltas.
    var stateCompactor: StateCompactor? { get }
    /// For progress: stateful operators report their state.
    var stateProgress: StreamingQueryProgress.StateOperatorProgress? { get }
}

extension StreamOperator {
    public func finishBatch(context: inout BatchContext) throws(EngineError) -> RecordBatch { .empty(outputSchema) }
    public func flush(context: inout BatchContext) throws(EngineError) -> RecordBatch { .empty(outputSchema) }
    public func snapshot() -> [UInt8]? { nil }
    public func restore(_ snapshot: [UInt8]) throws(EngineError) {
        throw .checkpoint("operator \(name) keeps no state but the checkpoint has some for it")
    }
    public var stateProgress: StreamingQueryProgress.StateOperatorProgress? { nil }
    public var keepsState: Bool { snapshot() != nil }
    public func prepareCheckpoints(incremental: Bool) {}
    public func checkpointState(incremental: Bool) -> OperatorState? { snapshot().map(OperatorState.snapshot) }
    public func restore(_ chain: StateChain) throws(EngineError) {
        guard chain.deltas.isEmpty else {
            throw .checkpoint("operator \(name) writes no state deltas but the checkpoint has \(chain.deltas.count) for it")
        }
        try restore(chain.snapshot)
    }
    public var stateCompactor: StateCompactor? { nil }
}

/// Builds an operator's whole snapshot from a snapshot and the deltas after it (oldest first).
public typealias StateCompactor = @Sendable (_ snapshot: [UInt8], _ deltas: [[UInt8]]) throws(EngineError) -> [UInt8]

/// What operators learn about the micro-batch and report back to the runtime.
public struct BatchContext: Sendable {
    public var batchId: Int64
    /// The watermark this batch applies (Int64.min: none yet).
    public var watermarkMs: Int64
    /// The batch's processing time (recorded in `offsets/N`, the same when the batch is replayed).
    public var processingTimeMs: Int64 = 0
    /// The source partition of the chunk being processed.
    public var partition: SourcePartition
    /// Max event time seen per partition in this batch (filled by the watermark operator).
    public var maxEventTimeMs: [SourcePartition: Int64] = [:]
    /// Rows per partition in this batch.
    public var rowsPerPartition: [SourcePartition: Int64] = [:]
    /// Event time min, max, sum and count of this batch's rows (progress `eventTime`).
    public var eventTimeMin: Int64 = .max
    public var eventTimeMax: Int64 = .min
    public var eventTimeSum: Double = 0
    public var eventTimeCount: Int64 = 0
    /// The oldest event time among rows at or past the watermark (on time): the batch's slowest row
    /// that the query keeps (progress `latencyMs`). Late rows, however old, do not count.
    public var onTimeEventTimeMin: Int64 = .max
    /// The oldest record timestamp the sources reported (a log's CreateTime or LogAppendTime).
    public var oldestRecordTimeMs: Int64 = .max
    /// Data quality per source index: NULLs per column of the decoded rows, malformed records by cause
    /// (progress `sources[i].metrics` `nulls.<column>`, `malformed.<cause>`).
    public var nullsPerSource: [Int: [String: Int64]] = [:]
    public var malformedPerSource: [Int: [String: Int64]] = [:]
    /// Late rows operators dropped, to dead-letter when the query asks.
    public var lateRows: [RecordBatch] = []

    public init(batchId: Int64, watermarkMs: Int64, partition: SourcePartition = SourcePartition(source: 0, partition: PartitionID(0))) {
        self.batchId = batchId
        self.watermarkMs = watermarkMs
        self.partition = partition
    }
}
