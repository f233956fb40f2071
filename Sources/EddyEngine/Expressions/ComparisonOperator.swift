/// The six SQL comparison operators of `Expr.comparison`.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    public var description: String { rawValue }

    /// The operator with its operands swapped: `a < b` is `b > a`. Kernels only implement
    /// column ∘ scalar, so a scalar on the left is moved to the right with this.
    public var flipped: ComparisonOperator {
        switch self {
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        }
    }

    /// Whether a three-way comparison result (-1, 0, 1) satisfies the operator.
    @inlinable
    public func holds(order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }
}
