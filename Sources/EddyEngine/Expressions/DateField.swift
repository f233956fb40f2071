/// The fields `extract(field FROM ts)` reads from a timestamp, all as BIGINT and in UTC. They follow
/// DuckDB and Postgres: `millisecond` is the second of the minute times 1000 plus the milliseconds
/// (12:34:56.789 gives 56789), `dow` counts from Sunday = 0, `doy` from January 1 = 1, and `epoch` is whole
/// seconds since 1970-01-01, rounded down (so -0.5 s gives -1).
public enum DateField: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case year
    case quarter
    case month
    case day
    case hour
    case minute
    case second
    case millisecond
    case dayOfWeek = "dow"
    case dayOfYear = "doy"
    case epoch

    public var description: String { rawValue }

    /// Finds a field by its SQL name, case-insensitively; accepts the plural forms Postgres accepts.
    public init?(sqlName: String) {
        var name = sqlName.lowercased()
        if name.hasSuffix("s"), DateField(rawValue: String(name.dropLast())) != nil { name.removeLast() }
        switch name {
        case "dayofweek": self = .dayOfWeek
        case "dayofyear": self = .dayOfYear
        default:
            guard let field = DateField(rawValue: name) else { return nil }
            self = field
        }
    }
}
