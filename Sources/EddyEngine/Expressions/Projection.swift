/// Computes a new batch from expressions over an input batch (SELECT's list). A bare column reference
/// reuses the input column without copying (columns are copy-on-write values).
public struct Projection: Sendable, CustomStringConvertible {
    public let expressions: [BoundExpr]
    /// The output schema: one field per expression, nullable when the expression is.
    public let schema: Schema

    /// Expressions already bound to the input schema, with their output names (unique).
    public init(_ items: [(BoundExpr, String)]) throws(EngineError) {
        var seen = Set<String>()
        for (_, name) in items where !seen.insert(name).inserted {
            throw .plan("the projection names two columns \"\(name)\"; give one another name with AS")
        }
        expressions = items.map(\.0)
        schema = Schema(items.map { Field($0.1, $0.0.type, nullable: $0.0.nullable) })
    }

    /// Binds named expressions to `input`.
    public init(_ items: [NamedExpr], input: Schema) throws(EngineError) {
        var bound: [(BoundExpr, String)] = []
        for item in items { bound.append((try item.expr.bind(to: input), item.name)) }
        try self.init(bound)
    }

    public func apply(_ batch: RecordBatch) throws(EngineError) -> RecordBatch {
        var columns: [Column] = []
        columns.reserveCapacity(expressions.count)
        for expression in expressions {
            if let index = expression.columnIndex, index < batch.columns.count, batch.columns[index].type == expression.type {
                columns.append(batch.columns[index])
            } else {
                columns.append(try expression.evaluate(batch))
            }
        }
        if columns.isEmpty { return RecordBatch(emptyColumnsWithCount: batch.count) }
        return RecordBatch(schema: schema, columns: columns)
    }

    /// `expr AS name, …` for EXPLAIN.
    public var description: String {
        zip(expressions, schema.fields).map { expression, field in
            if case .column(let name) = expression.resolved, name == field.name { return expression.description }
            return "\(expression) AS \(Expr.quoteIdentifier(field.name))"
        }.joined(separator: ", ")
    }
}
