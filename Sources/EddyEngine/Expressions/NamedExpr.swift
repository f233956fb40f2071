/// An expression with the name its result column gets (`expr AS name`).
public struct NamedExpr: Sendable, Hashable, CustomStringConvertible {
    public var expr: Expr
    public var name: String

    public init(_ expr: Expr, name: String) {
        self.expr = expr
        self.name = name
    }

    /// A bare column keeps its name; anything else is named by its SQL text, as DuckDB does.
    public init(_ expr: Expr) {
        self.expr = expr
        if case .column(let name) = expr {
            self.name = name
        } else {
            self.name = expr.description
        }
    }

    public var description: String {
        if case .column(let column) = expr, column == name { return expr.description }
        return "\(expr) AS \(Expr.quoteIdentifier(name))"
    }
}
