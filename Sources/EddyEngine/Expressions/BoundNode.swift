/// One node of a bound expression: the operation with its kernel already chosen from the operand types,
/// so evaluation is a walk that dispatches once per node per batch. Implicit conversions are explicit
/// `.cast` nodes here, inserted by the binder.
indirect enum BoundNode: Sendable {
    case column(index: Int)
    /// A constant of the node's type (`.null` for a typed NULL).
    case literal(Value)
    case arithmetic(ArithmeticOperator, ArithmeticKernels.Kind, BoundExpr, BoundExpr)
    /// Unary minus (`absolute == false`) or `abs`.
    case negate(BoundExpr, absolute: Bool)
    case comparison(ComparisonOperator, ComparisonKernels.Domain, BoundExpr, BoundExpr)
    case and(BoundExpr, BoundExpr)
    case or(BoundExpr, BoundExpr)
    case not(BoundExpr)
    case isNull(BoundExpr, negated: Bool)
    case caseWhen([BoundBranch], otherwise: BoundExpr?)
    case coalesce([BoundExpr])
    /// From the operand's type to the node's type.
    case cast(BoundExpr, isTry: Bool)
    /// The operand's Int64 storage under the node's type (BIGINT ↔ TIMESTAMP, `to_epoch_millis`, …): no copy.
    case retype(BoundExpr)
    case inList(BoundExpr, InListPlan, negated: Bool)
    case between(BoundExpr, low: BoundExpr, high: BoundExpr, lowDomain: ComparisonKernels.Domain, highDomain: ComparisonKernels.Domain, negated: Bool)
    /// LIKE with a constant pattern, compiled.
    case like(BoundExpr, LikePattern, negated: Bool)
    /// LIKE with a pattern that varies by row; `escape` is the escape character's UTF-8.
    case likeDynamic(BoundExpr, pattern: BoundExpr, escape: [UInt8]?, negated: Bool)
    /// `concat` (`skipNulls`) or `||`.
    case concat([BoundExpr], skipNulls: Bool)
    case changeCase(BoundExpr, upper: Bool)
    case length(BoundExpr)
    case substring(BoundExpr, start: BoundExpr, length: BoundExpr?)
    /// Each character as its UTF-8.
    case trim(BoundExpr, StringKernels.TrimSide, characters: [[UInt8]])
    case dateFormat(BoundExpr, DateFormatPattern)
    /// `round(x, digits)` on DOUBLE.
    case roundDouble(BoundExpr, digits: Int)
    /// `round` on Int64 storage: `divide(x, by: divisor) * multiplier` (see the binder).
    case roundInt64(BoundExpr, divisor: Int64, multiplier: Int64)
    case dateTrunc(DateTruncUnit, BoundExpr)
    case extract(DateField, BoundExpr)
}

/// One `WHEN condition THEN value` of a bound searched CASE.
struct BoundBranch: Sendable {
    let condition: BoundExpr
    let value: BoundExpr
}

/// How a bound IN list is tested: constant items as a set in the probe's storage, the rest one `=` each.
struct InListPlan: Sendable {
    /// The constant, non-NULL items (nil when there are none).
    let constants: ConstantSet?
    /// Whether the list has a NULL item (so "not found" is NULL rather than FALSE).
    let containsNull: Bool
    /// Non-constant items and the domain each is compared with the probe in.
    let items: [(expr: BoundExpr, domain: ComparisonKernels.Domain)]
}
