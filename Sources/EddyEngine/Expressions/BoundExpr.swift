/// An expression resolved against a schema by `Expr.bind(to:)`: columns are indices, every node has its
/// result type and kernel, implicit conversions are explicit casts and constant subtrees are folded.
/// Evaluate it on batches of that schema with `evaluate(_:)` or, for filters, `evaluatePredicate(_:)`.
///
/// A bound expression is an immutable value: evaluate it from any number of threads at once.
public struct BoundExpr: Sendable, CustomStringConvertible {
    /// The type of the values it produces.
    public let type: DataType
    /// Whether it can produce NULL (a column's declared nullability, NULL propagation, division by zero,
    /// TRY_CAST, CASE without ELSE, …). When false, its results never contain NULL.
    public let nullable: Bool
    /// SQL text with implicit casts spelled out, for EXPLAIN; errors name the expression by it.
    public let description: String
    let node: BoundNode
    /// Input columns read anywhere in the expression, ascending (the ones a subset evaluation gathers).
    let reads: [Int]
    /// The input fields at `reads`, checked against each batch's schema.
    let readFields: [Field]
    /// Whether evaluation can throw (overflow, a failing CAST, …). CASE evaluates a branch that can fail
    /// only on the rows that take it, so an untaken branch's error never surfaces.
    let canFail: Bool
    /// The expression as resolved (implicit casts explicit, constants folded): the source of `description`
    /// and of the text of enclosing expressions.
    let resolved: Expr
    /// An untyped NULL literal, which takes whatever type its context asks for.
    let isUntypedNull: Bool

    init(
        type: DataType, nullable: Bool, node: BoundNode, resolved: Expr, reads: [(Int, Field)], canFail: Bool,
        isUntypedNull: Bool = false
    ) {
        self.type = type
        self.nullable = nullable
        self.node = node
        self.resolved = resolved
        self.description = resolved.description
        self.isUntypedNull = isUntypedNull
        var unique: [(Int, Field)] = []
        for read in reads.sorted(by: { $0.0 < $1.0 }) where unique.last?.0 != read.0 { unique.append(read) }
        self.reads = unique.map(\.0)
        self.readFields = unique.map(\.1)
        self.canFail = canFail
    }

    /// The input columns read, with their fields (to build a parent's `reads`).
    var readPairs: [(Int, Field)] { Array(zip(reads, readFields)) }

    /// The value of a constant expression (a literal, or one folded from literals).
    public var constantValue: Value? {
        if case .literal(let value) = node { return value }
        return nil
    }

    /// The input column index when the expression is a bare column reference.
    public var columnIndex: Int? {
        if case .column(let index) = node { return index }
        return nil
    }

    /// Indices of the input columns the expression reads, ascending.
    public var referencedColumns: [Int] { reads }
}
