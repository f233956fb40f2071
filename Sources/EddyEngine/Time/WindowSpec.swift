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
/// - `cumulating(sizeMs:stepMs:)`: Flink's CUMULATE. Tumbling periods of `size` (starts `k·size`), each
///   reported as windows that share the period's start and end every `step`: [s, s + step),
///   [s, s + 2·step), … [s, s + size). A row is in every window of its period that ends after it.
///   `size` must be a multiple of `step`. A window is identified by its end (unique: each end belongs
///   to one period), so the aggregation keys these windows by end where the others use the start.
/// - `none`: a plain group-by over the whole stream.
///
/// Start computation is floor division, so times before the epoch land in the right window
/// (-1 ms is in [-60000, 0) for one-minute windows, not [0, 60000)).
public enum WindowSpec: Sendable, Hashable, CustomStringConvertible {
    case none
    case tumbling(sizeMs: Int64, offsetMs: Int64 = 0)
    case hopping(sizeMs: Int64, slideMs: Int64)
    case session(gapMs: Int64)
    case cumulating(sizeMs: Int64, stepMs: Int64)

    /// The longest size, slide, gap or offset (2^61 ms, 73 million years): with event times bounded by
    /// `maxEventTimeMagnitudeMs`, window starts and ends never overflow Int64.
    public static let maxDurationMs: Int64 = 1 << 61
    /// Event times must lie in ±2^62 ms (±146 million years around 1970); others fail the batch.
    public static let maxEventTimeMagnitudeMs: Int64 = 1 << 62
    /// A hopping or cumulating window may put a row in at most this many windows (size / slide, size /
    /// step).
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
        case .cumulating(let size, let step):
            try checkDuration(size, "size")
            try checkDuration(step, "step")
            guard size % step == 0 else {
                throw .plan("a cumulating window's size (\(size) ms) must be a whole multiple of its step (\(step) ms)")
            }
            guard size / step <= Self.maxWindowsPerRow else {
                throw .plan("a cumulating window of \(size) ms in steps of \(step) ms puts a row in up to \(size / step) windows; at most \(Self.maxWindowsPerRow) are allowed")
            }
        }
    }

    /// The distance between the tags of neighbouring windows: window starts (tumbling, hopping) or ends
    /// (cumulating) lie on a grid of this step.
    var tagStep: Int64 {
        switch self {
        case .none, .session: 1
        case .tumbling(let size, _): size
        case .hopping(_, let slide): slide
        case .cumulating(_, let step): step
        }
    }

    /// The window a tag names: the start for tumbling and hopping windows, the end for cumulating ones
    /// (a plain group-by's single window, tag 0, never ends before the end of input). Not for sessions.
    @inline(__always)
    func bounds(ofTag tag: Int64) -> (start: Int64, end: Int64) {
        switch self {
        case .tumbling(let size, _), .hopping(let size, _): (tag, tag + size)
        case .cumulating(let size, _): (floorDivMod(tag - 1, size).0 * size, tag)
        case .none, .session: (tag, .max)
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
        case .cumulating(let size, let step): "cumulating \(size) ms in steps of \(step) ms"
        }
    }
}
