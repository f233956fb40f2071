/// Where a query's results go. The runtime calls `write` once per micro-batch with the rows the batch
/// produced (possibly none); after a crash the same batch id may be written again with the same rows,
/// and the sink must keep only one copy (Spark's idempotent-sink contract). Driven from one thread.
public protocol Sink: AnyObject {
    var description: String { get }
    /// The highest batch id this sink already holds, if it keeps track (progress and recovery checks).
    func lastCommittedBatch() throws(EngineError) -> Int64?
    /// Writes batch `batchId` once (a batch the sink already holds is skipped). Rows the store
    /// refuses one by one (a value out of a column's range, a constraint, a value too large) are left
    /// out and come back as dead letters (reason `rejected`), and the batch goes on. A replay of a
    /// batch the sink already holds returns the same letters, so none is lost between the sink's
    /// commit and the dead-letter write. A store that fails as a whole (disk full, server gone) throws.
    @discardableResult
    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter]
    /// Called once as the query starts, on the query's own thread, before any batch: the sink may
    /// settle what a previous run left (fence its writer, end its open transaction).
    func prepare() throws(EngineError)
    /// Flushes and releases resources; the query is stopping.
    func close() throws(EngineError)
}

extension Sink {
    public func prepare() throws(EngineError) {}
    public func close() throws(EngineError) {}
}

/// What a sink learns about the query when it is created.
public struct SinkContext: Sendable {
    public var schema: Schema
    public var mode: OutputMode
    /// Columns that identify a row in update mode (window bounds and group keys): the upsert key.
    public var upsertKeys: [String]
    public var queryId: String
    /// The query has a dead-letter destination: rows the store refuses are set aside (returned by
    /// `write`, at most `rejectedRowsMax` per batch) and the batch goes on. Without one, a refused
    /// row fails the batch with the store's error, and the query stops.
    public var setsRowsAside = false

    /// The most rows one batch may have refused: past it the batch fails (a table and a query that
    /// disagree on every row are a mistake to fix, not thousands of dead letters).
    public static let rejectedRowsMax = 1000

    public init(schema: Schema, mode: OutputMode, upsertKeys: [String], queryId: String) {
        self.schema = schema
        self.mode = mode
        self.upsertKeys = upsertKeys
        self.queryId = queryId
    }
}

public protocol SinkDescriptor: Sendable {
    var description: String { get }
    func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink
}

/// Spark's output modes.
public enum OutputMode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Each result row once, when it is final (a window when the watermark passes its end).
    case append
    /// Rows that changed in this batch, identified by their upsert keys.
    case update
    /// The whole result every batch (small results only).
    case complete

    public var description: String { rawValue }
}
