import EddyCore

/// Rows read from one source partition in one micro-batch, and the records that could not be decoded.
public struct SourceChunk: Sendable {
    public var partition: PartitionID
    public var batch: RecordBatch
    public var deadLetters: [DeadLetter]
    /// The oldest record timestamp among the chunk's records as the log keeps them (Kafka's CreateTime
    /// or LogAppendTime): progress `latencyMs` measures from it. Nil for sources without one (files).
    public var oldestRecordTimeMs: Int64?

    public init(partition: PartitionID, batch: RecordBatch, deadLetters: [DeadLetter] = []) {
        self.partition = partition
        self.batch = batch
        self.deadLetters = deadLetters
    }
}

/// A replayable input. The runtime plans each micro-batch as an offset range per partition, writes
/// the range to the checkpoint's offsets log, then reads it: reading the same range again (after a
/// crash) must give the same rows in the same order, and the same dead letters in the same order (a
/// dead-letter sink skips what a replay already wrote by their place). Sources are driven from one
/// thread at a time.
public protocol Source: AnyObject {
    /// Shown in progress and `explain` (`log[purchases]`, `files[/data/in]`).
    var description: String { get }
    /// The schema of the chunks `read` returns (the declared schema narrowed to the columns the plan needs).
    var schema: Schema { get }
    /// Where a query with a fresh checkpoint starts.
    func initialOffsets() throws(EngineError) -> SourceOffsets
    /// The newest offsets available now (progress reports how far the query is behind them).
    func latestOffsets() throws(EngineError) -> SourceOffsets
    /// The end of the next micro-batch starting at `start`: at most `limit` past it, never past what is
    /// available. Equal to `start` when there is nothing new.
    func planEnd(from start: SourceOffsets, limit: ReadLimit) throws(EngineError) -> SourceOffsets
    /// The rows in [start, end), decoded. Malformed records come back as dead letters, never as errors;
    /// an error here means the source itself failed (missing file, log truncated past the range).
    func read(from start: SourceOffsets, to end: SourceOffsets) throws(EngineError) -> [SourceChunk]
    /// Batch ending at `end` is committed: the source may release resources or publish its position.
    func committed(_ end: SourceOffsets)
    /// Per partition of `latest`, how many seconds `end` is behind it at `nowMs`: the age of the
    /// first record not read yet, 0 when there is none. Nil for a source without record times (its
    /// progress then shows offsets behind only).
    func secondsBehind(end: SourceOffsets, latest: SourceOffsets, nowMs: Int64) -> [PartitionID: Double]?
    /// How progress metrics name a partition (`3`; a source over several topics: `orders-3`).
    func partitionLabel(_ partition: PartitionID) -> String
}

extension Source {
    public func committed(_ end: SourceOffsets) {}
    public func secondsBehind(end: SourceOffsets, latest: SourceOffsets, nowMs: Int64) -> [PartitionID: Double]? { nil }
    public func partitionLabel(_ partition: PartitionID) -> String { String(partition.rawValue) }
}

/// What a source needs from the runtime when it is created.
public struct SourceContext: Sendable {
    /// A directory of the checkpoint that belongs to this source (its own metadata, e.g. the file log),
    /// or nil when the query runs without a checkpoint (the test driver).
    public var metadataDirectory: String?
    /// The columns the plan reads; nil means all declared columns.
    public var requiredColumns: [String]?

    public init(metadataDirectory: String?, requiredColumns: [String]?) {
        self.metadataDirectory = metadataDirectory
        self.requiredColumns = requiredColumns
    }
}

/// How a pipeline names a source before the query runs (`.files(dir, format:)`, `.log(topic)`, …).
/// Connectors add static factories as extensions, so `Pipeline.read(.files(…))` reads naturally.
public protocol SourceDescriptor: Sendable {
    /// The declared schema (all columns).
    var schema: Schema { get }
    var description: String { get }
    /// Whether the source ends (a generator with a count): `availableNow` then flushes open windows at its end.
    var isBounded: Bool { get }
    func makeSource(_ context: SourceContext) throws(EngineError) -> any Source
}

extension SourceDescriptor {
    public var isBounded: Bool { false }
}
