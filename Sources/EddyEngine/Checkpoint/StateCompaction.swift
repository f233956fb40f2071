import Dispatch
import Foundation

/// Folds an operator's state deltas into a whole snapshot, one operator at a time, on a background
/// queue (the maintenance task of Spark's state stores): read the newest snapshot and the deltas
/// after it from the checkpoint, rebuild, write `state/<batchId>/<operator>` whole. The query never
/// waits for it; restores read a longer chain until it is done. A failure is kept and reported by
/// `takeFailure()` on the query's thread, which fails the query: a chain that cannot be compacted
/// cannot be restored either.
final class StateCompaction: @unchecked Sendable {
    private let queue = DispatchQueue(label: "eddy.state-compaction", qos: .utility)
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var running: Set<String> = []
    private var done: [String: Int64] = [:]
    private var failure: EngineError?

    /// Whether a compaction of `name` is under way.
    func isRunning(_ name: String) -> Bool {
        lock.withLock { running.contains(name) }
    }

    /// Compacts `name`'s state after `batchId` in the background.
    func launch(_ name: String, batchId: Int64, checkpoint: CheckpointStore, compactor: @escaping StateCompactor) {
        lock.withLock { _ = running.insert(name) }
        queue.async(group: group) { [self] in
            let result: EngineError?
            do throws(EngineError) {
                try Self.compact(name, batchId: batchId, checkpoint: checkpoint, compactor: compactor)
                result = nil
            } catch {
                result = error
            }
            lock.withLock {
                running.remove(name)
                if let result { failure = failure ?? result } else { done[name] = batchId }
            }
        }
    }

    /// Rebuilds `name`'s state after `batchId` from the checkpoint and writes it whole.
    static func compact(_ name: String, batchId: Int64, checkpoint: CheckpointStore, compactor: StateCompactor) throws(EngineError) {
        guard let chain = try checkpoint.readState(batchId, operator: name) else {
            throw .checkpoint("state/\(batchId)/\(name) is missing: the checkpoint is damaged")
        }
        guard !chain.deltas.isEmpty else { return }
        let snapshot: [UInt8]
        do {
            snapshot = try compactor(chain.snapshot, chain.deltas)
        } catch {
            throw .checkpoint("compacting the state of \(name) at batch \(batchId) (snapshot of batch \(chain.snapshotBatchId) and \(chain.deltas.count) deltas) failed: \(error)")
        }
        try checkpoint.writeSnapshot(batchId, operator: name, snapshot)
    }

    /// The batches compacted since the last call, by operator.
    func takeCompleted() -> [String: Int64] {
        lock.withLock {
            defer { done = [:] }
            return done
        }
    }

    /// The first compaction failure, once.
    func takeFailure() -> EngineError? {
        lock.withLock {
            defer { failure = nil }
            return failure
        }
    }

    /// Waits until no compaction is under way.
    func wait() {
        group.wait()
    }
}
