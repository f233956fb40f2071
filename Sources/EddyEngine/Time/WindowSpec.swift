/// How rows are grouped in event time (Flink's window assigners, Spark's window()/session_window()).
/// Windows are half-open: [start, end).
///
/// - `tumbling(sizeMs:offsetMs:)`: fixed, non-overlapping windows; starts are `offset + k·size` (the
///   offset shifts the grid, e.g. to local midnight); each row is in exactly one window.
/// - `hopping(sizeMs:slideMs:)`: windows of `size` starting every `slide` (starts are `k·slide`); a row
///   is in every window that contains it, `ceil(size / slide)` or one fewer when `size` is not a
///   multiple of `slide`. `slide` may not exceed `size` (rows in the gaps would belong to no window).
/// - `session(gapMs:)`: per key, rows closer than `gap` form one session [first, last + gap); a row
///   within `gap` of two sessions merges them. Windows whose intervals touch merge too (Flink's rule).
/// - `none`: a plain group-by over the whole stream.
///
/// Start computation is floor division, so times before the epoch land in the right window
/// (-1 ms is in [-60000, 0) for one-minute windows, not [0, 60000)).
public enum WindowSpec: Sendable, Hashable, CustomStringConvertible {
    case none
    case tumbling(sizeMs: Int64, offsetMs: Int64 = 0)
    case hopping(sizeMs: Int64, slideMs: Int64)
    case session(gapMs: Int64)

    /// The longest size, slide, gap or offset (2^61 ms, 73 million years): with event times bounded by
    /// `maxEventTimeMagnitudeMs`, window starts and ends never overflow Int64.
    public static let maxDurationMs: Int64 = 1 << 61
    /// Event times must lie in ±2^62 ms (±146 million years around 1970); others fail the batch.
    public static let maxEventTimeMagnitudeMs: Int64 = 1 << 62
    /// A hopping window may put a row in at most this many windows (size / slide).
    public static let maxWindowsPerRow: Int64 = 10_000

    public var isWindowed: Bool {
        if case .none = self { return false }
        return true
    }

    public var isSession: Bool {
        if case .session = self { return true }
        return false
    }

    /// Plan errors for sizes, slides and gaps out of range.
    public func validate() throws(EngineError) {
        func checkDuration(_ value: Int64, _ what: String) throws(EngineError) {
            guard value > 0 && value <= Self.maxDurationMs else {
                throw .plan("window \(what) must be between 1 ms and \(Self.maxDurationMs) ms, got \(value) ms")
            }
        }
        switch self {
        case .none:
            break
        case .tumbling(let size, let offset):
            try checkDuration(size, "size")
            guard offset.magnitude <= UInt64(Self.maxDurationMs) else {
                throw .plan("window offset must be within ±\(Self.maxDurationMs) ms, got \(offset) ms")
            }
        case .hopping(let size, let slide):
            try checkDuration(size, "size")
            try checkDuration(slide, "slide")
            guard slide <= size else {
                throw .plan("hopping window slide (\(slide) ms) exceeds its size (\(size) ms); rows between windows would belong to none")
            }
            let windowsPerRow = (size + slide - 1) / slide
            guard windowsPerRow <= Self.maxWindowsPerRow else {
                throw .plan("a hopping window of \(size) ms sliding by \(slide) ms puts every row in \(windowsPerRow) windows; at most \(Self.maxWindowsPerRow) are allowed")
            }
        case .session(let gap):
            try checkDuration(gap, "gap")
        }
    }

    /// Start of the tumbling window of `size` (grid shifted by `offset`) that contains `time`.
    @inline(__always)
    static func tumblingStart(_ time: Int64, size: Int64, offset: Int64) -> Int64 {
        let (quotient, _) = floorDivMod(time &- offset, size)
        return quotient &* size &+ offset
    }

    /// The tumbling offset folded into [0, size) (the same grid).
    static func normalizedOffset(_ offset: Int64, size: Int64) -> Int64 {
        floorDivMod(offset, size).1
    }

    public var description: String {
        switch self {
        case .none: "no window"
        case .tumbling(let size, let offset):
            offset == 0 ? "tumbling \(size) ms" : "tumbling \(size) ms offset \(offset) ms"
        case .hopping(let size, let slide): "hopping \(size) ms every \(slide) ms"
        case .session(let gap): "session gap \(gap) ms"
        }
    }
}
