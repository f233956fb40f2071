import Foundation

/// Runs a `MicroBatchExecution` by its trigger until it finishes or the task is cancelled. Each batch
/// runs on a dedicated thread (a batch is seconds of CPU work that must not block Swift's
/// cooperative pool); between batches the query sleeps until the next trigger. Cancellation stops
/// the query between batches: a batch is never abandoned half-way by a graceful stop.
public final class StreamingQuery: @unchecked Sendable {
    public let execution: MicroBatchExecution
    private let onProgress: @Sendable (StreamingQueryProgress) -> Void
    private let lock = NSLock()

    public init(execution: MicroBatchExecution, onProgress: @escaping @Sendable (StreamingQueryProgress) -> Void = { _ in }) {
        self.execution = execution
        self.onProgress = onProgress
    }

    public func run() async throws {
        do {
            try await runBatches()
        } catch {
            try? execution.close()
            throw error
        }
        try execution.close()
    }

    private func runBatches() async throws {
        try await onThread { [execution] () throws(EngineError) in try execution.start(nowMs: wallClockMillis()) }
        let intervalMs: Int64 = {
            if case .processingTime(let interval) = execution.options.trigger { return interval }
            return 0
        }()
        while !Task.isCancelled && !execution.isFinished {
            let startedMs = monotonicMillis()
            let progress = try await onThread { [execution] () throws(EngineError) in try execution.runBatch(nowMs: wallClockMillis()) }
            if let progress { onProgress(progress) }
            if execution.isFinished { break }
            let elapsedMs = monotonicMillis() - startedMs
            let waitMs = progress == nil ? max(intervalMs, 100) : intervalMs - elapsedMs
            if waitMs > 0 {
                try? await Task.sleep(nanoseconds: UInt64(waitMs) * 1_000_000)
            }
        }
        try await onThread { [execution] () throws(EngineError) in try execution.plan.sink.close() }
    }

    private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws(EngineError) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
