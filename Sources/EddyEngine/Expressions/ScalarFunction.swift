/// The scalar functions an `Expr.function` can call, with their SQL names and argument counts. Typing and
/// NULL handling of each are documented on `Expr.bind(to:)`.
public enum ScalarFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case lower
    case upper
    /// `substring(s, start[, length])`, 1-based positions counted in Unicode scalars.
    case substring
    /// Variadic; NULL arguments are skipped (Postgres/DuckDB `concat`), unlike the `||` operator.
    case concat
    /// `trim(s[, characters])`: removes leading and trailing characters (spaces by default).
    case trim
    case ltrim
    case rtrim
    /// Unicode scalars, not bytes and not grapheme clusters.
    case length
    case coalesce
    case abs
    /// `round(x[, digits])`, half away from zero.
    case round
    case toEpochMillis = "to_epoch_millis"
    case fromEpochMillis = "from_epoch_millis"
    /// `date_format(time, pattern)`: TEXT; the pattern is a constant (see `DateFormatPattern`).
    case dateFormat = "date_format"

    /// The SQL name.
    public var name: String { rawValue }
    public var description: String { rawValue }

    /// How many arguments the function takes.
    public var arity: ClosedRange<Int> {
        switch self {
        case .lower, .upper, .length, .abs, .toEpochMillis, .fromEpochMillis: 1...1
        case .substring: 2...3
        case .dateFormat: 2...2
        case .trim, .ltrim, .rtrim, .round: 1...2
        case .concat, .coalesce: 1...Int.max
        }
    }

    /// Finds a function by SQL name, case-insensitively (for the SQL front end).
    public init?(sqlName: String) {
        let lowered = sqlName.lowercased()
        guard let match = ScalarFunction.allCases.first(where: { $0.rawValue == lowered }) else { return nil }
        self = match
    }
}
