/// One `WHEN … THEN …` arm of a CASE expression. In the searched form `when` is a condition; in the simple
/// form (`CASE operand WHEN value …`) it is the value the operand is compared with.
public struct CaseBranch: Sendable, Hashable {
    public var when: Expr
    public var then: Expr

    public init(when: Expr, then: Expr) {
        self.when = when
        self.then = then
    }
}
