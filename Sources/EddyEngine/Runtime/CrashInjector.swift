import Foundation

/// Stops a query at a named point of the micro-batch protocol, as a crash there would (Redpanda's
/// failure probes, EddyLog's `FaultInjector`): the driver calls `reach` after each action, and the
/// armed point throws, which fails the execution. A test then starts a new execution on the same
/// checkpoint, sources and sinks, and the output must be as if nothing had happened.
///
/// `visited` lists every point reached, in order, so a test can arm each of them in turn.
public final class CrashInjector: @unchecked Sendable {
    public struct Stop: Sendable, Hashable, CustomStringConvertible {
        public var batchId: Int64
        public var point: MicroBatchProtocol.CrashPoint

        public init(batchId: Int64, point: MicroBatchProtocol.CrashPoint) {
            self.batchId = batchId
            self.point = point
        }

        public var description: String { "batch \(batchId) at \(point)" }
    }

    private let lock = NSLock()
    private var armed: Stop?
    private var reached: [Stop] = []

    public init(stopAt: Stop? = nil) {
        armed = stopAt
    }

    /// Every point reached so far, in order.
    public var visited: [Stop] { lock.withLock { reached } }

    /// Where it stops (nil: nowhere, or it stopped already).
    public var armedStop: Stop? { lock.withLock { armed } }

    /// Whether the armed stop was hit (it fires once).
    public var fired: Bool { lock.withLock { armed == nil } }

    /// The error an armed stop throws.
    public static func isSimulatedCrash(_ error: EngineError) -> Bool {
        error.kind == .execution && error.message.hasPrefix(crashPrefix)
    }

    private static let crashPrefix = "simulated crash"

    func reach(_ point: MicroBatchProtocol.CrashPoint, batchId: Int64) throws(EngineError) {
        let stop = Stop(batchId: batchId, point: point)
        let fire: Bool = lock.withLock {
            reached.append(stop)
            guard armed == stop else { return false }
            armed = nil
            return true
        }
        if fire { throw .execution("\(Self.crashPrefix) at \(stop)") }
    }
}
