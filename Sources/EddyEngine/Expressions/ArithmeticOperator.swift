/// The binary arithmetic operators of `Expr.arithmetic`. How each one types its operands is documented on
/// `Expr.bind(to:)`.
public enum ArithmeticOperator: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case modulo = "%"

    public var description: String { rawValue }
}
