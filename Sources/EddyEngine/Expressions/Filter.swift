/// Keeps the rows of a batch for which a BOOLEAN predicate is TRUE (WHERE): FALSE and NULL rows go.
public struct Filter: Sendable, CustomStringConvertible {
    public let predicate: BoundExpr

    /// A predicate already bound to the input schema; it must be BOOLEAN.
    public init(_ predicate: BoundExpr) throws(EngineError) {
        guard predicate.type == .bool else {
            throw .plan("a filter needs a BOOLEAN condition, found \(predicate.type) in \(predicate)")
        }
        self.predicate = predicate
    }

    /// Binds `predicate` to `input`.
    public init(_ predicate: Expr, input: Schema) throws(EngineError) {
        try self.init(try predicate.bind(to: input))
    }

    public func apply(_ batch: RecordBatch) throws(EngineError) -> RecordBatch {
        if let constant = predicate.constantValue {
            // WHERE TRUE keeps the batch as it is; WHERE FALSE/NULL empties it without evaluating anything.
            return constant == .bool(true) ? batch : batch.filter(Bitmap(count: batch.count, value: false))
        }
        return batch.filter(try predicate.evaluatePredicate(batch))
    }

    public var description: String { predicate.description }
}
