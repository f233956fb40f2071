/// The event-time window a grouping assigns rows to (the first grouping "key" of a windowed aggregate).
public struct WindowGrouping: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case tumbling(size: Interval)
        case hopping(size: Interval, slide: Interval)
        case session(gap: Interval)
        /// Flink's CUMULATE: windows that share a start and grow by `step` up to `size`.
        case cumulating(size: Interval, step: Interval)
    }

    public var column: String
    public var kind: Kind

    public static func tumble(_ column: String, _ size: Interval) -> WindowGrouping {
        WindowGrouping(column: column, kind: .tumbling(size: size))
    }

    public static func hop(_ column: String, size: Interval, slide: Interval) -> WindowGrouping {
        WindowGrouping(column: column, kind: .hopping(size: size, slide: slide))
    }

    public static func session(_ column: String, gap: Interval) -> WindowGrouping {
        WindowGrouping(column: column, kind: .session(gap: gap))
    }

    /// Windows of `size` starting every `size`, reported early every `step`: [s, s + step),
    /// [s, s + 2·step), … [s, s + size) (Flink's CUMULATE; `size` a multiple of `step`).
    public static func cumulate(_ column: String, size: Interval, step: Interval) -> WindowGrouping {
        WindowGrouping(column: column, kind: .cumulating(size: size, step: step))
    }

    public var description: String {
        switch kind {
        case .tumbling(let size): "TUMBLE(\(column), \(size))"
        case .hopping(let size, let slide): "HOP(\(column), \(slide), \(size))"
        case .session(let gap): "SESSION(\(column), \(gap))"
        case .cumulating(let size, let step): "CUMULATE(\(column), \(step), \(size))"
        }
    }
}

/// One aggregate of a group: `.count()`, `.sum("amount")`, `.avg("amount", as: "avg_amount")`.
public struct Aggregate: Sendable, Hashable, CustomStringConvertible {
    public enum Function: String, Sendable, Hashable {
        case count, countDistinct = "count_distinct", sum, avg, min, max, first, last
    }

    public var function: Function
    /// The input column; nil for count(*).
    public var column: String?
    public var name: String

    public init(_ function: Function, _ column: String?, as name: String? = nil) {
        self.function = function
        self.column = column
        self.name = name ?? column.map { "\(function.rawValue)_\($0)" } ?? function.rawValue
    }

    public static func count(as name: String = "count") -> Aggregate { Aggregate(.count, nil, as: name) }
    public static func count(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.count, column, as: name) }
    public static func countDistinct(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.countDistinct, column, as: name) }
    public static func sum(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.sum, column, as: name) }
    public static func avg(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.avg, column, as: name) }
    public static func min(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.min, column, as: name) }
    public static func max(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.max, column, as: name) }
    /// The value of the row with the earliest event time in the group.
    public static func first(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.first, column, as: name) }
    /// The value of the row with the latest event time in the group.
    public static func last(_ column: String, as name: String? = nil) -> Aggregate { Aggregate(.last, column, as: name) }

    public var description: String {
        let argument = column ?? "*"
        let call = function == .countDistinct ? "count(DISTINCT \(argument))" : "\(function.rawValue)(\(argument))"
        return "\(call) AS \(name)"
    }
}
