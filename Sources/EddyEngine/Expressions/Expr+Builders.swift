// Swift helpers for writing expressions by hand:
//
//     col("amount") * lit(2) > lit(10) && col("country").isIn(["DE", "FR"])
//
// `==` and `!=` stay Equatable's (an `Expr` is plain data that plan rules compare), so SQL equality is
// spelled `.==` / `.!=`, the element-wise operators SIMD already declares. `||` is SQL OR here; SQL's
// string `||` is `concatenated(with:)`. Functions are static members (`Expr.coalesce(…)`) rather than
// free functions so that they never shadow the standard library's `abs`, `round` or `min`.

/// A column reference.
public func col(_ name: String) -> Expr { .column(name) }

public func lit(_ value: Value) -> Expr { .literal(value) }
public func lit(_ value: Int) -> Expr { .literal(.int64(Int64(value))) }
public func lit(_ value: Int64) -> Expr { .literal(.int64(value)) }
public func lit(_ value: Double) -> Expr { .literal(.float64(value)) }
public func lit(_ value: String) -> Expr { .literal(.string(value)) }
public func lit(_ value: Bool) -> Expr { .literal(.bool(value)) }
/// A DECIMAL literal from its text: `lit(decimal: "12.50")` is DECIMAL(18,2).
public func lit(decimal text: String) -> Expr { .literal(.decimal(text)) }
/// A TIMESTAMP literal in epoch milliseconds.
public func lit(timestampMillis millis: Int64) -> Expr { .literal(.timestamp(millis)) }

extension Expr {
    /// The untyped SQL NULL.
    public static let null = Expr.literal(.null)

    public static func + (lhs: Expr, rhs: Expr) -> Expr { .arithmetic(.add, lhs, rhs) }
    public static func - (lhs: Expr, rhs: Expr) -> Expr { .arithmetic(.subtract, lhs, rhs) }
    public static func * (lhs: Expr, rhs: Expr) -> Expr { .arithmetic(.multiply, lhs, rhs) }
    public static func / (lhs: Expr, rhs: Expr) -> Expr { .arithmetic(.divide, lhs, rhs) }
    public static func % (lhs: Expr, rhs: Expr) -> Expr { .arithmetic(.modulo, lhs, rhs) }
    public static prefix func - (operand: Expr) -> Expr { .negate(operand) }

    /// SQL `=`.
    public static func .== (lhs: Expr, rhs: Expr) -> Expr { .comparison(.equal, lhs, rhs) }
    /// SQL `<>`.
    public static func .!= (lhs: Expr, rhs: Expr) -> Expr { .comparison(.notEqual, lhs, rhs) }
    public static func < (lhs: Expr, rhs: Expr) -> Expr { .comparison(.less, lhs, rhs) }
    public static func <= (lhs: Expr, rhs: Expr) -> Expr { .comparison(.lessOrEqual, lhs, rhs) }
    public static func > (lhs: Expr, rhs: Expr) -> Expr { .comparison(.greater, lhs, rhs) }
    public static func >= (lhs: Expr, rhs: Expr) -> Expr { .comparison(.greaterOrEqual, lhs, rhs) }

    public static func && (lhs: Expr, rhs: Expr) -> Expr { .and(lhs, rhs) }
    public static func || (lhs: Expr, rhs: Expr) -> Expr { .or(lhs, rhs) }
    public static prefix func ! (operand: Expr) -> Expr { .not(operand) }

    public func eq(_ other: Expr) -> Expr { .comparison(.equal, self, other) }
    public func ne(_ other: Expr) -> Expr { .comparison(.notEqual, self, other) }

    public var isNull: Expr { .isNull(self, negated: false) }
    public var isNotNull: Expr { .isNull(self, negated: true) }

    public func isIn(_ list: [Expr]) -> Expr { .inList(self, list, negated: false) }
    public func isIn(_ strings: [String]) -> Expr { .inList(self, strings.map { lit($0) }, negated: false) }
    public func isIn(_ integers: [Int]) -> Expr { .inList(self, integers.map { lit($0) }, negated: false) }
    public func notIn(_ list: [Expr]) -> Expr { .inList(self, list, negated: true) }
    public func notIn(_ strings: [String]) -> Expr { .inList(self, strings.map { lit($0) }, negated: true) }
    public func notIn(_ integers: [Int]) -> Expr { .inList(self, integers.map { lit($0) }, negated: true) }

    public func between(_ low: Expr, _ high: Expr) -> Expr { .between(self, low: low, high: high, negated: false) }
    public func notBetween(_ low: Expr, _ high: Expr) -> Expr { .between(self, low: low, high: high, negated: true) }

    public func like(_ pattern: String, escape: Character? = nil) -> Expr {
        .like(self, pattern: lit(pattern), escape: escape, negated: false)
    }
    public func notLike(_ pattern: String, escape: Character? = nil) -> Expr {
        .like(self, pattern: lit(pattern), escape: escape, negated: true)
    }

    public func cast(to type: DataType) -> Expr { .cast(self, type, isTry: false) }
    public func tryCast(to type: DataType) -> Expr { .cast(self, type, isTry: true) }

    /// SQL `self || other`: NULL when either side is NULL.
    public func concatenated(with other: Expr) -> Expr { .concatOperator(self, other) }

    public func lower() -> Expr { .function(.lower, [self]) }
    public func upper() -> Expr { .function(.upper, [self]) }
    public func trim() -> Expr { .function(.trim, [self]) }
    public func ltrim() -> Expr { .function(.ltrim, [self]) }
    public func rtrim() -> Expr { .function(.rtrim, [self]) }
    public func length() -> Expr { .function(.length, [self]) }
    /// `substring(self, start[, length])`, 1-based.
    public func substring(from start: Int, length: Int? = nil) -> Expr {
        .function(.substring, [self, lit(start)] + (length.map { [lit($0)] } ?? []))
    }

    public static func concat(_ arguments: Expr...) -> Expr { .function(.concat, arguments) }
    public static func coalesce(_ arguments: Expr...) -> Expr { .function(.coalesce, arguments) }
    public static func abs(_ argument: Expr) -> Expr { .function(.abs, [argument]) }
    public static func round(_ argument: Expr, digits: Int = 0) -> Expr { .function(.round, [argument, lit(digits)]) }
    public static func toEpochMillis(_ timestamp: Expr) -> Expr { .function(.toEpochMillis, [timestamp]) }
    public static func fromEpochMillis(_ millis: Expr) -> Expr { .function(.fromEpochMillis, [millis]) }

    /// A searched CASE: `Expr.when([(condition, value), …], else: fallback)`.
    public static func when(_ branches: [(Expr, Expr)], else otherwise: Expr? = nil) -> Expr {
        .caseWhen(operand: nil, branches: branches.map { CaseBranch(when: $0.0, then: $0.1) }, otherwise: otherwise)
    }

    /// Names the expression's result column.
    public func named(_ name: String) -> NamedExpr { NamedExpr(self, name: name) }
    /// Names the expression's result column: `(col("a") + col("b")).as("total")`.
    public func `as`(_ name: String) -> NamedExpr { NamedExpr(self, name: name) }
}
