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
    private var done: [String: (batchId: Int64, bytes: Int)] = [:]
    private var failure: EngineError?

    /// Whether a compaction of `name` is under way.
    func isRunning(_ name: String) -> Bool {
        lock.withLock { running.contains(name) }
    }

    /// Compacts `name`'s state after `batchId` in the background.
    func launch(_ name: String, batchId: Int64, checkpoint: CheckpointStore, compactor: @escaping StateCompactor) {
        lock.withLock { _ = running.insert(name) }
        queue.async(group: group) { [self] in
            let result: Result<Int, EngineError>
            do throws(EngineError) {
                result = .success(try Self.compact(name, batchId: batchId, checkpoint: checkpoint, compactor: compactor))
            } catch {
                result = .failure(error)
            }
            lock.withLock {
                running.remove(name)
                switch result {
                case .success(let bytes): done[name] = (batchId, (done[name]?.bytes ?? 0) + bytes)
                case .failure(let error): failure = failure ?? error
                }
            }
        }
    }

    /// Rebuilds `name`'s state after `batchId` from the checkpoint and writes it whole; returns the
    /// bytes written.
    @discardableResult
    static func compact(_ name: String, batchId: Int64, checkpoint: CheckpointStore, compactor: StateCompactor) throws(EngineError) -> Int {
        do throws(EngineError) {
            guard let chain = try checkpoint.readState(batchId, operator: name) else {
                throw .checkpoint("state/\(batchId)/\(name) is missing: the checkpoint is damaged")
            }
            guard !chain.deltas.isEmpty else { return 0 }
            let snapshot = try compactor(chain.snapshot, chain.deltas)
            try checkpoint.writeSnapshot(batchId, operator: name, snapshot)
            return snapshot.count
        } catch {
            throw .checkpoint("compacting the state of \(name) up to state/\(batchId) failed: \(error.message)")
        }
    }

    /// The newest batch compacted since the last call and the bytes written, by operator.
    func takeCompleted() -> [String: (batchId: Int64, bytes: Int)] {
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

/// One operator's chain in the checkpoint, as the query wrote it: its newest whole snapshot and the
/// deltas after it. Decides when a compaction is due: after at least `minDeltas` deltas, once they add
/// up to the snapshot's size (so compactions at most double the bytes written, and a restore reads at
/// most twice the state), or after 100 × `minDeltas` deltas whatever their size.
struct StateChainLength: Sendable, Equatable {
    private(set) var snapshotBatchId: Int64
    private(set) var snapshotBytes: Int
    private(set) var deltas: [(batchId: Int64, bytes: Int)] = []

    init(snapshotBatchId: Int64, snapshotBytes: Int, deltaBytes: [Int] = []) {
        self.snapshotBatchId = snapshotBatchId
        self.snapshotBytes = snapshotBytes
        deltas = deltaBytes.enumerated().map { (snapshotBatchId + 1 + Int64($0.offset), $0.element) }
    }

    static func == (a: Self, b: Self) -> Bool {
        a.snapshotBatchId == b.snapshotBatchId && a.snapshotBytes == b.snapshotBytes
            && a.deltas.map(\.batchId) == b.deltas.map(\.batchId) && a.deltas.map(\.bytes) == b.deltas.map(\.bytes)
    }

    mutating func wrote(_ state: OperatorState, batchId: Int64) {
        switch state {
        case .snapshot(let bytes): self = StateChainLength(snapshotBatchId: batchId, snapshotBytes: bytes.count)
        case .delta(let bytes): deltas.append((batchId, bytes.count))
        }
    }

    /// A compaction wrote a snapshot of batch `batchId`.
    mutating func compacted(batchId: Int64, bytes: Int) {
        guard batchId > snapshotBatchId else { return }
        snapshotBatchId = batchId
        snapshotBytes = bytes
        deltas.removeAll { $0.batchId <= batchId }
    }

    func needsCompaction(minDeltas: Int) -> Bool {
        guard minDeltas > 0, deltas.count >= minDeltas else { return false }
        return deltas.reduce(0) { $0 + $1.bytes } >= snapshotBytes || deltas.count >= 100 * minDeltas
    }
}
