/// What a pipeline computes, as plain data: built by the Swift API (and later by SQL), rewritten by
/// `LogicalOptimizer`, lowered by `PhysicalPlanner`. Nothing here runs.
public indirect enum LogicalPlan: Sendable {
    case source(LogicalSource)
    case watermark(LogicalPlan, column: String, delay: Interval, idleTimeout: Interval?)
    case filter(LogicalPlan, Expr)
    case project(LogicalPlan, [NamedExpr])
    case aggregate(LogicalPlan, window: WindowGrouping?, keys: [String], aggregates: [Aggregate])
    case sink(LogicalPlan, LogicalSink)

    /// The schema of the rows this node produces (checks names and types on the way).
    public func schema() throws(EngineError) -> Schema {
        switch self {
        case .source(let source):
            return source.schema
        case .watermark(let input, _, _, _), .sink(let input, _):
            return try input.schema()
        case .filter(let input, let predicate):
            let schema = try input.schema()
            let bound = try predicate.bind(to: schema)
            guard bound.type == .bool else { throw .plan("filter \(predicate) is \(bound.type), not BOOLEAN") }
            return schema
        case .project(let input, let expressions):
            let inputSchema = try input.schema()
            return Schema(try expressions.map { named throws(EngineError) in
                let bound = try named.expr.bind(to: inputSchema)
                return Field(named.name, bound.type, nullable: bound.nullable)
            })
        case .aggregate(let input, let window, let keys, let aggregates):
            return try AggregatePlanning.outputSchema(input: input.schema(), window: window, keys: keys, aggregates: aggregates)
        }
    }

    /// The plan as an indented tree, the root first (EXPLAIN).
    public var tree: String {
        var lines: [String] = []
        describe(into: &lines, depth: 0)
        return lines.joined(separator: "\n")
    }

    private func describe(into lines: inout [String], depth: Int) {
        let indent = String(repeating: "  ", count: depth)
        switch self {
        case .source(let source):
            let columns = source.requiredColumns.map { " columns=[\($0.joined(separator: ", "))]" } ?? ""
            lines.append("\(indent)Source \(source.descriptor.description)\(columns)")
        case .watermark(let input, let column, let delay, let idle):
            lines.append("\(indent)Watermark \(column) - \(delay)\(idle.map { " idle=\($0)" } ?? "")")
            input.describe(into: &lines, depth: depth + 1)
        case .filter(let input, let predicate):
            lines.append("\(indent)Filter \(predicate)")
            input.describe(into: &lines, depth: depth + 1)
        case .project(let input, let expressions):
            lines.append("\(indent)Project \(expressions.map(\.description).joined(separator: ", "))")
            input.describe(into: &lines, depth: depth + 1)
        case .aggregate(let input, let window, let keys, let aggregates):
            let grouping = (window.map { [$0.description] } ?? []) + keys
            lines.append("\(indent)Aggregate by [\(grouping.joined(separator: ", "))] compute [\(aggregates.map(\.description).joined(separator: ", "))]")
            input.describe(into: &lines, depth: depth + 1)
        case .sink(let input, let sink):
            lines.append("\(indent)Sink \(sink.descriptor.description) mode=\(sink.mode.rawValue)")
            input.describe(into: &lines, depth: depth + 1)
        }
    }
}

public struct LogicalSource: Sendable {
    public var descriptor: any SourceDescriptor
    /// Set by projection pushdown: the only columns the plan reads.
    public var requiredColumns: [String]?

    /// The columns the scan produces: the declared ones, narrowed to `requiredColumns`.
    public var schema: Schema {
        requiredColumns.map { columns in Schema(columns.compactMap { descriptor.schema.field(named: $0) }) } ?? descriptor.schema
    }

    public init(_ descriptor: any SourceDescriptor, requiredColumns: [String]? = nil) {
        self.descriptor = descriptor
        self.requiredColumns = requiredColumns
    }
}

public struct LogicalSink: Sendable {
    public var descriptor: any SinkDescriptor
    public var mode: OutputMode

    public init(_ descriptor: any SinkDescriptor, mode: OutputMode) {
        self.descriptor = descriptor
        self.mode = mode
    }
}
