/// A streaming group-by over event-time windows: tumbling, hopping, cumulating, session, or none (a plain
/// group-by), in append, update or complete mode, with watermark-driven late-row dropping and state
/// eviction, a state-size limit, and snapshots for checkpoints. Spark Structured Streaming's
/// aggregation semantics with Flink's window assigners.
///
/// Pure: no I/O, no clocks. The runtime calls, per micro-batch, `process(batch, watermarkMs:)` with the
/// watermark as of the start of the batch, then `emit(watermarkMs:)` with the watermark to close
/// windows by (usually the one advanced past the batch), and `snapshot()` at checkpoints.
///
/// **Late rows** (append and update; in complete mode nothing is late):
/// - tumbling, hopping, cumulating: a (row, window) pair is dropped when the window's end ≤ watermark; a
///   row with no remaining window is late.
/// - session: a row is late when its event time < watermark.
/// - no window: never late.
/// Late rows are counted (`numRowsDroppedByWatermark`) and listed (`lateRows`, indices into the last
/// batch) so the caller can dead-letter them with reason `late`. Rows whose event time is NULL are
/// dropped and counted apart (`numRowsWithNullTime`, `nullTimeRows`). The operator keeps the largest
/// watermark it was given, so a smaller one later changes nothing.
///
/// **Emission**:
/// - append: every window with end ≤ watermark, once; it is then evicted.
/// - update: every group changed since the previous emit, with its current values; then windows with
///   end ≤ watermark are evicted (without being emitted again).
/// - complete: every group; nothing is evicted.
/// - sessions are windows [first row, last row + gap) that close when last + gap ≤ watermark; sessions of
///   one key merge when a row bridges them, also across batches.
/// - `flushAll()` emits as `emit(Int64.max)` would and then evicts everything (end of a bounded input,
///   Flink's MAX_WATERMARK).
///
/// **Output**: `window_start TIMESTAMP, window_end TIMESTAMP` (when windowed), the key columns as in the
/// input, then the aggregates under their output names (types: see `AggregateFunction`). Rows are
/// ordered by window_end, window_start, then key values ascending with NULLs first (numbers by value,
/// NaN last; strings by bytes; false before true), so replaying the same input gives byte-identical
/// output whatever the internal layout (also after a restore).
///
/// **State layout**: group keys go through `GroupKeyTable` (vectorised hashing, open addressing, keys
/// in an arena) to dense slots; accumulators are columnar by slot (`AggregateState`). Tumbling,
/// hopping and cumulating state is partitioned per window, tagged by its start (cumulating: its end);
/// each window has its own index and member list, so closing a window drops its partition in O(its groups) without touching other windows; sessions
/// close through a heap of ends (`SessionTable`). A single UTF-8 key is dictionary-encoded per batch
/// (`BatchStringDictionary`).
///
/// **Errors**: plan errors at init for unknown columns and unsupported types; an execution error when
/// an exact sum overflows (the operator then refuses further work: restore from the last snapshot);
/// a limit error when the state would exceed `stateBytesLimit` after a batch (the batch is applied;
/// the caller fails the query cleanly instead of running out of memory).
public struct WindowAggregateOperator: Sendable {
    public let inputSchema: Schema
    public let timeColumn: String?
    public let keyColumns: [String]
    public let aggregates: [AggregateSpec]
    public let window: WindowSpec
    public let mode: OutputMode
    public let stateBytesLimit: Int?
    /// State TTL of a plain group-by (Flink's `table.exec.state.ttl`): a group not updated for this
    /// long (processing time) is dropped; nil keeps groups forever. Windows leave state by watermark.
    public let stateTTLMs: Int64?
    /// Names the operator in errors and metrics.
    public let name: String
    public let outputSchema: Schema

    let timeIndex: Int?
    let keyIndices: [Int]
    let inputIndices: [Int?]
    let codec: GroupKeyCodec
    /// Window size (tumbling, hopping, cumulating); the distance between window tags (`windowStep`:
    /// starts, or ends for cumulating windows).
    let windowSize: Int64
    let windowStep: Int64
    let sessionGap: Int64
    /// A single UTF-8 key column over tumbling, hopping or no windows: dictionary-encode it per batch.
    let usesDictionary: Bool

    var keys: GroupKeyTable
    var states: [AggregateState]
    var sessions: SessionTable
    /// Per slot: the batch stamp of its last update (`numRowsUpdated`), and whether it changed since the
    /// last emit (update mode; `dirtyList` holds the candidates).
    var slotTouch: [UInt32] = []
    var slotDirty: [UInt8] = []
    var dirtyList: [Int32] = []
    var touchStamp: UInt32 = 0
    /// What changed since the last checkpoint (`checkpointDelta()`): the groups (sessions: the keys)
    /// the batches touched, each listed once (`changedFlags`, by slot or key id), and whether a flush
    /// dropped everything.
    var changedSinceCheckpoint: [Int32] = []
    var changedFlags: [UInt8] = []
    var flushedSinceCheckpoint = false
    /// Whether changes are tracked for deltas (off when checkpoints are whole or absent).
    public var tracksChanges = true {
        didSet { if !tracksChanges { forgetChanges() } }
    }
    /// `numRowsTotal` at the start of the change interval: a delta applies only to that state.
    var rowsTotalAtCheckpoint = 0
    /// Per slot: the processing time of its last update (state TTL; Int64.min: restored without one,
    /// taken as the next expiry check's time). `currentTimeMs` is the time of the batch being processed.
    var slotUpdatedMs: [Int64] = []
    public var currentTimeMs: Int64 = 0
    /// No group was updated before this (a lower bound; expiry scans only when its cutoff passes it;
    /// Int64.min: unknown, scan at the next check).
    var oldestUpdateMs: Int64 = .max
    /// The largest TTL cutoff applied since the last checkpoint (Int64.min: none): a delta's base
    /// groups updated before it are dropped when the delta is applied.
    var expiredBeforeMs: Int64 = .min
    /// Groups dropped by the state TTL (cumulative, not kept in snapshots).
    public internal(set) var numRowsExpired = 0
    /// The largest watermark `emit` closed windows at since the last checkpoint (Int64.min: none): a
    /// delta's base groups closed at it are evicted when the delta is applied.
    var evictedThroughMs: Int64 = .min
    /// The largest watermark given to `process` or `emit` (Int64.min: none yet).
    public internal(set) var watermarkMs: Int64 = .min
    /// Set when a batch failed half-way (a sum overflowed): the state is no longer trustworthy.
    var failure: EngineError?
    /// Batches left before the dictionary path is tried again after a batch had too many distinct keys.
    var dictionarySkipBatches = 0
    var scratch = AggregationScratch()

    /// Input rows given to `process` (all of them: aggregated, late, NULL time). Also the arrival number
    /// of the next row (first/last tie-breaks).
    public internal(set) var numRowsTotal = 0
    /// Group updates: per batch, the number of distinct groups (sessions) it created or changed, summed
    /// over batches (cumulative, like the other counters; Spark reports per trigger, so see
    /// `numRowsUpdatedLastBatch` and `lateRows.count` for the last batch's figures).
    public internal(set) var numRowsUpdated = 0
    /// The distinct groups (sessions) the last `process` call created or changed.
    public internal(set) var numRowsUpdatedLastBatch = 0
    public internal(set) var numRowsDroppedByWatermark = 0
    public internal(set) var numRowsWithNullTime = 0
    /// The late rows of the last `process` call (indices into its batch, ascending).
    public internal(set) var lateRows: [Int32] = []
    /// The rows of the last `process` call whose event time was NULL.
    public internal(set) var nullTimeRows: [Int32] = []
    /// The largest `stateBytes` seen after a batch.
    public internal(set) var peakStateBytes = 0

    public init(
        inputSchema: Schema, timeColumn: String?, keyColumns: [String], aggregates: [AggregateSpec],
        window: WindowSpec, mode: OutputMode, stateBytesLimit: Int?, stateTTLMs: Int64? = nil, name: String? = nil
    ) throws(EngineError) {
        try window.validate()
        if let stateTTLMs, stateTTLMs <= 0 {
            throw .configuration("table.exec.state.ttl must be positive, got \(stateTTLMs) ms")
        }
        self.stateTTLMs = window == .none ? stateTTLMs : nil
        self.inputSchema = inputSchema
        self.timeColumn = timeColumn
        self.keyColumns = keyColumns
        self.aggregates = aggregates
        self.window = window
        self.mode = mode
        self.stateBytesLimit = stateBytesLimit
        if let stateBytesLimit, stateBytesLimit <= 0 {
            throw .configuration("state.bytes.max must be positive, got \(stateBytesLimit)")
        }

        func column(_ name: String, _ role: String) throws(EngineError) -> Int {
            guard let index = inputSchema.index(of: name) else {
                throw .plan("\(role) column '\(name)' is not in the input \(inputSchema)")
            }
            return index
        }

        if let timeColumn {
            let index = try column(timeColumn, "event-time")
            let type = inputSchema.fields[index].type
            guard type == .timestamp || type == .int64 else {
                throw .plan("event-time column '\(timeColumn)' is \(type); it must be TIMESTAMP (or BIGINT milliseconds)")
            }
            timeIndex = index
        } else {
            timeIndex = nil
            if window.isWindowed {
                throw .plan("a \(window) window needs an event-time column")
            }
        }
        if mode == .append && !window.isWindowed {
            throw .plan("append mode needs an event-time window with a watermark (a group without one never closes); use update or complete mode")
        }

        var keyIndices: [Int] = []
        for name in keyColumns { keyIndices.append(try column(name, "group-by")) }
        self.keyIndices = keyIndices
        let keyTypes = keyIndices.map { inputSchema.fields[$0].type }
        codec = GroupKeyCodec(types: keyTypes)

        var inputIndices: [Int?] = []
        var states: [AggregateState] = []
        var outputFields: [Field] = []
        if window.isWindowed {
            outputFields.append(Field("window_start", .timestamp, nullable: false))
            outputFields.append(Field("window_end", .timestamp, nullable: false))
        }
        outputFields += keyIndices.map { inputSchema.fields[$0] }
        for spec in aggregates {
            var inputType: DataType? = nil
            if let name = spec.column {
                let index = try column(name, "\(spec.function) input")
                inputIndices.append(index)
                inputType = inputSchema.fields[index].type
            } else {
                inputIndices.append(nil)
            }
            let outputType = try spec.function.outputType(input: inputType)
            let kind = AccumulatorKind(function: spec.function, input: inputType)
            states.append(AggregateState(kind: kind, outputType: outputType, inputFactor: inputType?.decimalFactor ?? 1))
            outputFields.append(Field(spec.outputName, outputType, nullable: spec.function.outputIsNullable))
        }
        var seen = Set<String>()
        for field in outputFields where !seen.insert(field.name).inserted {
            throw .plan("output column '\(field.name)' appears twice; rename a key or an aggregate")
        }
        self.inputIndices = inputIndices
        self.states = states
        outputSchema = Schema(outputFields)

        switch window {
        case .none:
            (windowSize, windowStep, sessionGap) = (0, 1, 0)
        case .tumbling(let size, _):
            (windowSize, windowStep, sessionGap) = (size, size, 0)
        case .hopping(let size, let slide):
            (windowSize, windowStep, sessionGap) = (size, slide, 0)
        case .session(let gap):
            (windowSize, windowStep, sessionGap) = (0, 1, gap)
        case .cumulating(let size, let step):
            (windowSize, windowStep, sessionGap) = (size, step, 0)
        }
        sessions = SessionTable(gap: sessionGap)
        keys = GroupKeyTable(tracksMembers: !window.isSession)
        usesDictionary = keyTypes == [.utf8] && !window.isSession
        self.name = name ?? "aggregate by (\(keyColumns.joined(separator: ", "))) over \(window)"
    }

    /// Groups held (sessions, for session windows).
    public var stateRows: Int { window.isSession ? sessions.liveCount : keys.liveCount }

    /// An estimate of the memory the state holds: the capacity of every state array (key table and
    /// arena, accumulators, strings, distinct sets, window and session indexes, per-slot flags). Arrays
    /// grow by doubling and keep their capacity when groups are evicted (freed slots are reused), so
    /// this follows the peak working set, as the memory really does.
    public var stateBytes: Int {
        keys.bytesHeld + states.reduce(0) { $0 + $1.bytesHeld } + sessions.bytesHeld
            + slotTouch.capacity * 4 + slotDirty.capacity + dirtyList.capacity * 4
            + changedSinceCheckpoint.capacity * 4 + changedFlags.capacity + slotUpdatedMs.capacity * 8
    }

    /// The number of group slots addressable now (accumulator arrays are sized to it).
    var slotCapacity: Int { window.isSession ? sessions.capacity : keys.entryCapacity }

    /// The bounds of the window a group's tag names (see `WindowSpec.bounds(ofTag:)`).
    func windowBounds(tag: Int64) -> (start: Int64, end: Int64) {
        window.bounds(ofTag: tag)
    }
}
