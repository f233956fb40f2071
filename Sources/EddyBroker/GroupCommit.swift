import CoreMetrics
import EddyCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// acks=all: a produce is answered only once its batch is fsynced. Waiters name a partition and an
/// offset; one flush pass at a time runs on the blocking pool and fsyncs every partition that
/// waiters are waiting on, then wakes those now covered. While a pass runs, new waiters gather for
/// the next one, so concurrent producers (any connection, any partition) share each fsync.
final class GroupCommit: @unchecked Sendable {
    /// Each partition's fsync in a pass (swift-metrics; Prometheus under eddy server).
    private let fsyncTimer = CoreMetrics.Timer(label: "eddy_broker_fsync_duration_seconds")
    private struct Waiter {
        let partition: Partition
        let offset: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NIOLock()
    private var waiters: [Waiter] = []
    private var passRunning = false
    private let pool: NIOThreadPool

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    /// Returns once everything below `offset` + 1 in `partition` is on disk.
    func waitDurable(_ partition: Partition, through offset: Int64) async throws {
        if partition.withLog({ $0.flushedOffset.rawValue > offset }) { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let start = lock.withLock { () -> Bool in
                waiters.append(Waiter(partition: partition, offset: offset, continuation: continuation))
                if passRunning { return false }
                passRunning = true
                return true
            }
            if start { pool.submit { _ in self.runPasses() } }
        }
    }

    private func runPasses() {
        while true {
            let batch: [Waiter] = lock.withLock {
                let taken = waiters
                waiters = []
                if taken.isEmpty { passRunning = false }
                return taken
            }
            if batch.isEmpty { return }
            var failures: [ObjectIdentifier: any Error] = [:]
            var seen = Set<ObjectIdentifier>()
            for waiter in batch where seen.insert(ObjectIdentifier(waiter.partition)).inserted {
                let began = NIODeadline.now()
                defer { fsyncTimer.recordNanoseconds((NIODeadline.now() - began).nanoseconds) }
                do { try waiter.partition.withLog { try $0.flush() } } catch {
                    failures[ObjectIdentifier(waiter.partition)] = error
                }
            }
            for waiter in batch {
                if let error = failures[ObjectIdentifier(waiter.partition)] {
                    waiter.continuation.resume(throwing: error)
                } else {
                    waiter.continuation.resume()
                }
            }
        }
    }
}

/// Long-poll Fetch: a fetch that found too little waits until some append happens (or its
/// max.wait.ms passes) and then looks again.
final class AppendSignal: @unchecked Sendable {
    private let lock = NIOLock()
    private var generation: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextID: UInt64 = 0

    var current: UInt64 { lock.withLock { generation } }

    /// Fetches waiting for an append now (tests wait for a long poll to park on it).
    var waiterCount: Int { lock.withLock { waiters.count } }

    func notify() {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            generation &+= 1
            let w = Array(waiters.values)
            waiters = [:]
            return w
        }
        for c in woken { c.resume() }
    }

    /// Returns when an append happened after `seen`, or after `timeoutMs`, whichever comes first.
    func wait(after seen: UInt64, timeoutMs: Int64) async {
        guard timeoutMs > 0 else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForAppend(after: seen) }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(timeoutMs) * 1_000_000) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForAppend(after seen: UInt64) async {
        let id = lock.withLock { () -> UInt64 in
            nextID &+= 1
            return nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = lock.withLock { () -> Bool in
                    if generation != seen || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let c = lock.withLock { waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}
