/// Everything a query runs: created from a `PhysicalPlan` when the query starts.
public struct QueryPlan {
    public var sources: [any Source]
    /// Operators in order; every source chunk flows through all of them.
    public var operators: [any StreamOperator]
    public var sink: any Sink
    public var watermark: WatermarkPolicy?
    /// Every source is bounded: the end of input flushes open windows.
    public var boundedInput: Bool
    /// What the checkpoint's state depends on; a checkpoint written with another signature is refused.
    public var signature: StatefulSignature
    /// What checkpoint metadata version 1 stored for this plan (accepted, then upgraded).
    public var legacyFingerprint: String?

    public init(sources: [any Source], operators: [any StreamOperator], sink: any Sink, watermark: WatermarkPolicy?,
                boundedInput: Bool, signature: StatefulSignature, legacyFingerprint: String? = nil) {
        self.sources = sources
        self.operators = operators
        self.sink = sink
        self.watermark = watermark
        self.boundedInput = boundedInput
        self.signature = signature
        self.legacyFingerprint = legacyFingerprint
    }
}

/// How the query's watermark is computed.
public struct WatermarkPolicy: Sendable, Hashable {
    public var column: String
    public var delayMs: Int64
    /// A partition that brought no rows for this long (processing time) stops holding the watermark back.
    public var idleTimeoutMs: Int64?

    public init(column: String, delayMs: Int64, idleTimeoutMs: Int64? = nil) {
        self.column = column
        self.delayMs = delayMs
        self.idleTimeoutMs = idleTimeoutMs
    }
}

/// Runtime settings of a query.
public struct QueryOptions: Sendable {
    public var name: String = "query"
    public var trigger: Trigger = .processingTime(intervalMs: 1000)
    /// Per-batch read limit for each source.
    public var readLimit: ReadLimit = .unlimited
    /// Where dead letters go; nil counts them only.
    public var deadLetters: (any DeadLetterSink)?
    /// Also dead-letter rows dropped as late (reason `late`), encoded by `encodeLateRow`.
    public var deadLetterLateRows = false
    /// Encodes late rows for the dead-letter output (connectors pass their JSON encoder).
    public var encodeRows: (@Sendable (RecordBatch) -> [[UInt8]])?
    /// Most bytes of state one aggregation may hold (state.bytes.max); past it the query fails with a
    /// clear error instead of running out of memory. nil: 512 MiB.
    public var stateBytesLimit: Int?
    /// table.exec.state.ttl: a plain group-by drops a group not updated for this long (processing
    /// time of the batches), as Flink's idle state retention does; nil keeps groups forever.
    public var stateTTLMs: Int64?
    /// Incremental checkpoints: after each batch a stateful operator writes only what changed (a delta);
    /// once at least this many deltas follow its newest whole snapshot and weigh as much as it (or 100
    /// times this many), a new one is rebuilt from them (Spark's `minDeltasForSnapshot`). 0 writes the
    /// whole state after every batch.
    public var stateMinDeltasForSnapshot = 10
    /// Rebuild snapshots on a background thread (the default) or in the batch that asks for one
    /// (`TestDriver`: no threads, deterministic files).
    public var stateCompactionInBackground = true
    /// Stops the query at a crash point on purpose (recovery tests); nil in production.
    public var crashInjector: CrashInjector?

    public init() {}
}
