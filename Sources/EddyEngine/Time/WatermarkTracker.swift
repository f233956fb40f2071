/// A source's event-time watermark, tracked per partition and combined by minimum (Flink's
/// WatermarkStrategy with idleness, Spark's withWatermark with the "min" multiple-watermark policy).
///
/// - Each partition's watermark is the largest event time it has brought, minus `delayMs`.
/// - The source's watermark is the minimum over the partitions that are not idle. A partition is idle
///   once it has brought no rows for `idleTimeoutMs` of processing time (nil: never), counted from its
///   last batch with rows, or from when it was first observed if it never had any. Idle partitions stop
///   holding the watermark back and count again as soon as they bring rows.
/// - A partition that has been observed but never had data holds the watermark where it is until it
///   turns idle; before any data at all the watermark is `Int64.min` ("none").
/// - When every partition is idle the watermark holds. It never moves backwards: a partition coming back
///   from idleness with older data cannot pull it down (its rows are then late, as they should be).
///
/// Pure: processing time is passed in as milliseconds, so tests drive it with a manual clock and the
/// runtime with its own. `state` is a flat `[Int64]` the runtime writes into its offsets log and hands
/// back to `init(delayMs:idleTimeoutMs:state:)` on restart:
///
/// | index           | value                                          |
/// |-----------------|------------------------------------------------|
/// | 0               | format version, 1                              |
/// | 1               | the watermark (Int64.min: none yet)            |
/// | 2               | partition count n                              |
/// | 3 + 3i          | partition i's index (ascending, distinct)      |
/// | 4 + 3i          | its largest event time (Int64.min: none yet)   |
/// | 5 + 3i          | processing time of its last batch with rows, or of its first observation |
public struct WatermarkTracker: Sendable, Hashable {
    public let delayMs: Int64
    public let idleTimeoutMs: Int64?
    /// Observed partitions, ascending; the arrays below are parallel to it.
    public private(set) var partitions: [Int] = []
    private var maxEventTimesMs: [Int64] = []
    private var lastActiveMs: [Int64] = []
    /// The watermark as of the last `watermark(nowMs:)` (or restore); `Int64.min` means none yet.
    public private(set) var currentMs: Int64 = .min

    static let stateVersion: Int64 = 1

    public init(delayMs: Int64, idleTimeoutMs: Int64? = nil) throws(EngineError) {
        guard delayMs >= 0 else { throw .configuration("watermark delay must not be negative, got \(delayMs) ms") }
        if let idleTimeoutMs, idleTimeoutMs <= 0 {
            throw .configuration("idle timeout must be positive, got \(idleTimeoutMs) ms")
        }
        self.delayMs = delayMs
        self.idleTimeoutMs = idleTimeoutMs
    }

    /// Records one batch read from `partition`: its row count and the largest event time among them
    /// (nil when it had no rows or none with an event time), at processing time `nowMs`.
    public mutating func observe(partition: Int, maxEventTimeMs: Int64?, rows: Int, nowMs: Int64) {
        let position = positionOf(partition)
        if position == partitions.count || partitions[position] != partition {
            partitions.insert(partition, at: position)
            maxEventTimesMs.insert(.min, at: position)
            lastActiveMs.insert(nowMs, at: position)
        }
        if rows > 0 { lastActiveMs[position] = nowMs }
        if let maxEventTimeMs, maxEventTimeMs > maxEventTimesMs[position] {
            maxEventTimesMs[position] = maxEventTimeMs
        }
    }

    /// Advances the watermark as of processing time `nowMs` and returns it. Never less than before.
    public mutating func watermark(nowMs: Int64) -> Int64 {
        var lowest = Int64.max
        var anyActive = false
        for position in partitions.indices where !isIdle(at: position, nowMs: nowMs) {
            anyActive = true
            let maxTime = maxEventTimesMs[position]
            let candidate: Int64
            if maxTime == .min {
                candidate = .min
            } else {
                let (difference, overflow) = maxTime.subtractingReportingOverflow(delayMs)
                candidate = overflow ? .min : difference
            }
            lowest = Swift.min(lowest, candidate)
        }
        if anyActive && lowest > currentMs { currentMs = lowest }
        return currentMs
    }

    /// Whether `partition` counts as idle at `nowMs` (unknown partitions are not tracked and report false).
    public func isIdle(partition: Int, nowMs: Int64) -> Bool {
        let position = positionOf(partition)
        guard position < partitions.count, partitions[position] == partition else { return false }
        return isIdle(at: position, nowMs: nowMs)
    }

    private func isIdle(at position: Int, nowMs: Int64) -> Bool {
        guard let idleTimeoutMs else { return false }
        let (elapsed, overflow) = nowMs.subtractingReportingOverflow(lastActiveMs[position])
        return overflow ? nowMs > lastActiveMs[position] : elapsed >= idleTimeoutMs
    }

    /// Binary search: the position of `partition`, or where it would be inserted.
    private func positionOf(_ partition: Int) -> Int {
        var low = 0, high = partitions.count
        while low < high {
            let middle = (low + high) / 2
            if partitions[middle] < partition { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The tracker's state for the offsets log (see the table in the type's comment).
    public var state: [Int64] {
        var values: [Int64] = [Self.stateVersion, currentMs, Int64(partitions.count)]
        values.reserveCapacity(3 + 3 * partitions.count)
        for position in partitions.indices {
            values.append(Int64(partitions[position]))
            values.append(maxEventTimesMs[position])
            values.append(lastActiveMs[position])
        }
        return values
    }

    /// A tracker continuing from `state`; a checkpoint error when `state` is not one `state` produced.
    public init(delayMs: Int64, idleTimeoutMs: Int64? = nil, state: [Int64]) throws(EngineError) {
        try self.init(delayMs: delayMs, idleTimeoutMs: idleTimeoutMs)
        guard state.count >= 3, state[0] == Self.stateVersion else {
            throw .checkpoint("watermark state is not version \(Self.stateVersion) (\(state.prefix(3)))")
        }
        let count = state[2]
        guard count >= 0, count <= (Int64(state.count) - 3) / 3, Int64(state.count) == 3 + 3 * count else {
            throw .checkpoint("watermark state has \(state.count) values, not 3 + 3 × \(count) partitions")
        }
        currentMs = state[1]
        for position in 0..<Int(count) {
            let partition = state[3 + 3 * position]
            guard let index = Int(exactly: partition), position == 0 || index > partitions[position - 1] else {
                throw .checkpoint("watermark state lists partitions out of order at \(partition)")
            }
            partitions.append(index)
            maxEventTimesMs.append(state[4 + 3 * position])
            lastActiveMs.append(state[5 + 3 * position])
        }
    }
}
