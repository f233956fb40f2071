/// A scalar SQL expression as written by a pipeline author or produced by the SQL front end: plain data,
/// compared and hashed structurally (plan rules rewrite it), printed as SQL text for EXPLAIN.
///
/// An `Expr` knows nothing about types. `bind(to:)` resolves it against a schema into a `BoundExpr`, which
/// type-checks it, inserts implicit casts, folds constants and picks the vectorised kernel of every node; the
/// typing rules are documented there.
///
/// Build one with the Swift helpers in `Expr+Builders.swift`:
///
///     col("amount") * lit(2) > lit(10) && col("country").isIn(["DE", "FR"])
public indirect enum Expr: Sendable, Hashable {
    /// A column of the input, by exact (case-sensitive) name.
    case column(String)
    /// A constant. `Value.null` is an untyped NULL that takes the type its context asks for.
    case literal(Value)
    /// Unary minus.
    case negate(Expr)
    case arithmetic(ArithmeticOperator, Expr, Expr)
    case comparison(ComparisonOperator, Expr, Expr)
    /// Three-valued AND: FALSE if either side is FALSE, else NULL if either is NULL, else TRUE.
    case and(Expr, Expr)
    /// Three-valued OR: TRUE if either side is TRUE, else NULL if either is NULL, else FALSE.
    case or(Expr, Expr)
    /// Three-valued NOT: NULL stays NULL.
    case not(Expr)
    /// `IS NULL`, or `IS NOT NULL` when `negated`; never NULL itself.
    case isNull(Expr, negated: Bool)
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`. Without `operand` each `when` is a condition (the searched
    /// form); with it, each `when` is a value compared with the operand by `=`. No ELSE means ELSE NULL.
    case caseWhen(operand: Expr?, branches: [CaseBranch], otherwise: Expr?)
    /// `CAST(e AS type)`, or `TRY_CAST` (NULL instead of an error on a value that does not convert) when
    /// `isTry`.
    case cast(Expr, DataType, isTry: Bool)
    /// `e IN (list)`, or `NOT IN` when `negated`, with SQL's NULL rules: no match and a NULL in the list
    /// gives NULL, so `1 IN (2, NULL)` is NULL and `1 NOT IN (2, NULL)` is NULL too.
    case inList(Expr, [Expr], negated: Bool)
    /// `e BETWEEN low AND high` (inclusive), i.e. `e >= low AND e <= high`; `NOT BETWEEN` when `negated`.
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    /// `e LIKE pattern [ESCAPE 'c']`: `%` matches any run of characters, `_` exactly one character, and
    /// the escape character (none by default, as in the SQL standard and DuckDB) makes the next one literal.
    case like(Expr, pattern: Expr, escape: Character?, negated: Bool)
    /// The `||` operator: string concatenation that is NULL when either side is NULL.
    case concatOperator(Expr, Expr)
    case function(ScalarFunction, [Expr])
    /// `date_trunc('unit', ts)`.
    case dateTrunc(DateTruncUnit, Expr)
    /// `extract(field FROM ts)`.
    case extract(DateField, Expr)
}

extension Expr {
    /// The direct subexpressions, in source order (for plan rules and analyses).
    public var children: [Expr] {
        switch self {
        case .column, .literal: []
        case .negate(let e), .not(let e), .isNull(let e, _), .cast(let e, _, _), .dateTrunc(_, let e), .extract(_, let e):
            [e]
        case .arithmetic(_, let l, let r), .comparison(_, let l, let r), .and(let l, let r), .or(let l, let r),
             .concatOperator(let l, let r):
            [l, r]
        case .caseWhen(let operand, let branches, let otherwise):
            (operand.map { [$0] } ?? []) + branches.flatMap { [$0.when, $0.then] } + (otherwise.map { [$0] } ?? [])
        case .inList(let e, let list, _): [e] + list
        case .between(let e, let low, let high, _): [e, low, high]
        case .like(let e, let pattern, _, _): [e, pattern]
        case .function(_, let arguments): arguments
        }
    }

    /// The names of the columns the expression reads, in first-use order, without repeats.
    public var columnNames: [String] {
        var names: [String] = []
        func visit(_ expr: Expr) {
            if case .column(let name) = expr {
                if !names.contains(name) { names.append(name) }
                return
            }
            for child in expr.children { visit(child) }
        }
        visit(self)
        return names
    }
}
