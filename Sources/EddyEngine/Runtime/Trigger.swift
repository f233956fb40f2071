/// When micro-batches run (Spark's triggers).
public enum Trigger: Sendable, Hashable {
    /// A batch every `intervalMs` of processing time; a batch that runs long starts the next at once.
    case processingTime(intervalMs: Int64)
    /// One batch over everything available, then stop.
    case once
    /// Everything available when the query starts, in as many batches as the read limits allow, then stop.
    case availableNow
}

/// A length of time for windows, watermark delays and triggers, held in milliseconds.
public struct Interval: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func milliseconds(_ value: Int64) -> Interval { Interval(milliseconds: value) }
    public static func seconds(_ value: Int64) -> Interval { Interval(milliseconds: value * 1000) }
    public static func minutes(_ value: Int64) -> Interval { Interval(milliseconds: value * 60_000) }
    public static func hours(_ value: Int64) -> Interval { Interval(milliseconds: value * 3_600_000) }
    public static func days(_ value: Int64) -> Interval { Interval(milliseconds: value * 86_400_000) }

    public static func < (a: Interval, b: Interval) -> Bool { a.milliseconds < b.milliseconds }

    /// `INTERVAL '10' SECOND`, in the largest unit that divides it.
    public var description: String {
        for (unit, size) in [("DAY", Int64(86_400_000)), ("HOUR", 3_600_000), ("MINUTE", 60_000), ("SECOND", 1000)]
        where milliseconds != 0 && milliseconds % size == 0 {
            return "INTERVAL '\(milliseconds / size)' \(unit)"
        }
        return "INTERVAL '\(milliseconds)' MILLISECOND"
    }
}
