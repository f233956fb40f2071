/// Rewrites a logical plan without changing its result. Rules, applied in order:
/// 1. adjacent filters merge into one (`a AND b`), evaluated in one pass;
/// 2. projection pushdown: the source decodes only the columns the plan uses (for JSON this skips
///    the other fields without decoding them, which is most of the decoding time).
public enum LogicalOptimizer {
    public static func optimize(_ plan: LogicalPlan) -> LogicalPlan {
        pushProjection(mergeFilters(plan), required: nil)
    }

    static func mergeFilters(_ plan: LogicalPlan) -> LogicalPlan {
        switch plan {
        case .source: return plan
        case .filter(.filter(let input, let inner), let outer):
            return mergeFilters(.filter(input, .and(inner, outer)))
        case .filter(let input, let predicate): return .filter(mergeFilters(input), predicate)
        case .watermark(let input, let column, let delay, let idle):
            return .watermark(mergeFilters(input), column: column, delay: delay, idleTimeout: idle)
        case .project(let input, let expressions): return .project(mergeFilters(input), expressions)
        case .aggregate(let input, let window, let keys, let aggregates):
            return .aggregate(mergeFilters(input), window: window, keys: keys, aggregates: aggregates)
        case .sink(let input, let sink): return .sink(mergeFilters(input), sink)
        }
    }

    /// `required`: the columns the nodes above need from this node's output (nil: all of them).
    static func pushProjection(_ plan: LogicalPlan, required: Set<String>?) -> LogicalPlan {
        switch plan {
        case .source(var source):
            if let required {
                // Keep declared order so the decoded batch matches the schema's order.
                source.requiredColumns = source.descriptor.schema.names.filter { required.contains($0) }
            }
            return .source(source)
        case .watermark(let input, let column, let delay, let idle):
            return .watermark(pushProjection(input, required: required.map { $0.union([column]) }),
                              column: column, delay: delay, idleTimeout: idle)
        case .filter(let input, let predicate):
            return .filter(pushProjection(input, required: required.map { $0.union(predicate.columnNames) }), predicate)
        case .project(let input, let expressions):
            let used = expressions.reduce(into: Set<String>()) { $0.formUnion($1.expr.columnNames) }
            return .project(pushProjection(input, required: used), expressions)
        case .aggregate(let input, let window, let keys, let aggregates):
            var used = Set(keys)
            if let window { used.insert(window.column) }
            for aggregate in aggregates { if let column = aggregate.column { used.insert(column) } }
            return .aggregate(pushProjection(input, required: used), window: window, keys: keys, aggregates: aggregates)
        case .sink(let input, let sink):
            return .sink(pushProjection(input, required: required), sink)
        }
    }
}
