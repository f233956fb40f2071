/// The aggregate functions of a windowed group-by, and the output type of each.
///
/// | function                | input types                                  | output type              | NULLs in the input |
/// |-------------------------|----------------------------------------------|--------------------------|--------------------|
/// | `count` (no column)     | —                                            | BIGINT NOT NULL          | count(*) counts every row |
/// | `count(col)`            | any                                          | BIGINT NOT NULL          | not counted        |
/// | `countDistinct(col)`    | any (floats by value: -0.0 = 0.0, NaN = NaN) | BIGINT NOT NULL          | not counted        |
/// | `sum(col)`              | BIGINT → BIGINT, DECIMAL(18,s) → DECIMAL(18,s), DOUBLE → DOUBLE | as listed | skipped; all NULL → NULL |
/// | `avg(col)`              | BIGINT, DECIMAL, DOUBLE                      | DOUBLE                   | skipped; all NULL → NULL |
/// | `min(col)`, `max(col)`  | BIGINT, DOUBLE, DECIMAL, TIMESTAMP, TEXT (byte order), BOOLEAN (false < true) | the input type | skipped; all NULL → NULL |
/// | `first(col)`, `last(col)` | any                                        | the input type           | skipped (Flink's FIRST_VALUE / LAST_VALUE); all NULL → NULL |
///
/// `sum` over BIGINT and DECIMAL is exact in Int64 and fails the query with an execution error when it
/// overflows (Spark's ANSI behaviour) rather than wrapping or losing digits. `avg` over BIGINT and
/// DECIMAL keeps an exact 128-bit sum and divides once, at emit, in floating point. DOUBLE `min`/`max`
/// order NaN above every number (Spark's order). `first`/`last` pick by event time (the operator's time
/// column; arrival order when it has none); on equal times `first` keeps the earliest-arrived row and
/// `last` the latest-arrived.
public enum AggregateFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case count
    case countDistinct
    case sum
    case avg
    case min
    case max
    case first
    case last

    /// The output type for an input of `input` (nil: count(*)), or a plan error.
    public func outputType(input: DataType?) throws(EngineError) -> DataType {
        guard let input else {
            if self == .count { return .int64 }
            throw .plan("\(self) needs an input column; only count can be count(*)")
        }
        switch self {
        case .count, .countDistinct:
            return .int64
        case .sum:
            switch input {
            case .int64, .float64, .decimal: return input
            default: throw .plan("sum is not defined for \(input); it takes BIGINT, DOUBLE or DECIMAL")
            }
        case .avg:
            guard input.isNumeric else {
                throw .plan("avg is not defined for \(input); it takes BIGINT, DOUBLE or DECIMAL")
            }
            return .float64
        case .min, .max, .first, .last:
            return input
        }
    }

    /// Whether the output can be NULL (counts never are: an empty group counts 0).
    public var outputIsNullable: Bool {
        switch self {
        case .count, .countDistinct: false
        default: true
        }
    }

    public var description: String {
        switch self {
        case .countDistinct: "count(DISTINCT)"
        default: rawValue
        }
    }
}
