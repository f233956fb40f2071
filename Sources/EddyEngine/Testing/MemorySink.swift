import Foundation

/// An in-memory sink (Spark's memory sink): keeps each batch's rows by batch id; a batch written
/// again (a replay) replaces nothing and is counted in `replaysIgnored`.
public final class MemorySink: SinkDescriptor, Sink, @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [(Int64, RecordBatch)] = []
    public private(set) var replaysIgnored = 0
    public private(set) var context: SinkContext?

    public init() {}

    public var description: String { "memory" }

    public func makeSink(_ context: SinkContext) -> any Sink {
        lock.withLock { self.context = context }
        return self
    }

    public func lastCommittedBatch() -> Int64? {
        lock.withLock { batches.last?.0 }
    }

    public func write(batchId: Int64, _ batch: RecordBatch) -> [DeadLetter] {
        lock.withLock {
            if let last = batches.last?.0, batchId <= last {
                replaysIgnored += 1
                return []
            }
            batches.append((batchId, batch))
            return []
        }
    }

    /// Every row written, in batch order.
    public var rows: [[Value]] {
        lock.withLock { batches.flatMap { $0.1.rows } }
    }

    /// Rows per batch id (batches that produced rows only).
    public var rowsByBatch: [Int64: [[Value]]] {
        lock.withLock {
            var result: [Int64: [[Value]]] = [:]
            for (id, batch) in batches where !batch.isEmpty { result[id] = batch.rows }
            return result
        }
    }

    /// Rows written since the last call.
    public func drain() -> [[Value]] {
        lock.withLock {
            let rows = batches.dropFirst(drained).flatMap { $0.1.rows }
            drained = batches.count
            return rows
        }
    }

    private var drained = 0
}
