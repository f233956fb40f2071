/// Keeps the rows where the predicate is true (false and NULL drop the row, as SQL's WHERE).
public final class FilterOperator: StreamOperator {
    public let name: String
    public let outputSchema: Schema
    let predicate: BoundExpr

    public init(name: String, inputSchema: Schema, predicate: Expr) throws(EngineError) {
        let bound = try predicate.bind(to: inputSchema)
        guard bound.type == .bool else { throw .plan("filter \(predicate) is \(bound.type), not BOOLEAN") }
        self.name = name
        self.outputSchema = inputSchema
        self.predicate = bound
    }

    public func process(_ batch: RecordBatch, context: inout BatchContext) throws(EngineError) -> RecordBatch {
        batch.filter(try predicate.evaluatePredicate(batch))
    }
}

/// Computes the output columns from the input columns; a bare column passes through uncopied.
public final class ProjectOperator: StreamOperator {
    public let name: String
    public let outputSchema: Schema
    let expressions: [BoundExpr]

    public init(name: String, inputSchema: Schema, expressions: [NamedExpr]) throws(EngineError) {
        var seen = Set<String>()
        for named in expressions where !seen.insert(named.name).inserted {
            throw .plan("column \"\(named.name)\" is selected twice; name one of them differently")
        }
        let bound = try expressions.map { named throws(EngineError) in try named.expr.bind(to: inputSchema) }
        self.name = name
        self.expressions = bound
        self.outputSchema = Schema(zip(expressions, bound).map { Field($0.name, $1.type, nullable: $1.nullable) })
    }

    public func process(_ batch: RecordBatch, context: inout BatchContext) throws(EngineError) -> RecordBatch {
        var columns: [Column] = []
        columns.reserveCapacity(expressions.count)
        for expression in expressions {
            if let index = expression.columnIndex {
                columns.append(batch.columns[index])
            } else {
                columns.append(try expression.evaluate(batch))
            }
        }
        return RecordBatch(schema: outputSchema, columns: columns)
    }
}
