/// How a pipeline runs: one source scan (with the columns it decodes), a chain of operators, one
/// sink. Lowered from an optimised `LogicalPlan` by `PhysicalPlanner`; `instantiate` creates the
/// running pieces.
public struct PhysicalPlan: Sendable, CustomStringConvertible {
    public enum Step: Sendable, CustomStringConvertible {
        case watermark(column: String, delayMs: Int64)
        case filter(Expr)
        case project([NamedExpr])
        case aggregate(AggregateStep)

        public var description: String {
            switch self {
            case .watermark(let column, let delayMs): "EventTimeWatermark \(column) delay=\(delayMs)ms"
            case .filter(let predicate): "Filter \(predicate)"
            case .project(let expressions): "Project \(expressions.map(\.description).joined(separator: ", "))"
            case .aggregate(let step): step.description
            }
        }
    }

    public struct AggregateStep: Sendable, CustomStringConvertible {
        public var window: WindowGrouping?
        public var keys: [String]
        public var aggregates: [Aggregate]
        /// Event time for first/last (the window's column, else the watermark's).
        public var timeColumn: String?
        public var mode: OutputMode
        /// state.bytes.max for this aggregation (nil: the default).
        public var stateBytesLimit: Int?
        /// table.exec.state.ttl for a plain group-by (nil: groups are kept).
        public var stateTTLMs: Int64? = nil

        public var description: String {
            let grouping = (window.map { [$0.description] } ?? []) + keys
            return "WindowAggregate by [\(grouping.joined(separator: ", "))] compute [\(aggregates.map(\.description).joined(separator: ", "))] mode=\(mode.rawValue)"
        }
    }

    public var source: LogicalSource
    public var steps: [Step]
    public var sink: LogicalSink
    public var watermark: WatermarkPolicy?
    /// Columns that identify an output row in update mode.
    public var upsertKeys: [String]

    public var description: String {
        var lines = ["Sink \(sink.descriptor.description) mode=\(sink.mode.rawValue)\(upsertKeys.isEmpty ? "" : " upsert keys=[\(upsertKeys.joined(separator: ", "))]")"]
        for step in steps.reversed() { lines.append("  " + step.description) }
        let columns = source.requiredColumns.map { " columns=[\($0.joined(separator: ", "))]" } ?? ""
        lines.append("  Scan \(source.descriptor.description)\(columns)")
        return lines.joined(separator: "\n")
    }

    /// What the checkpoint's state depends on (see `StatefulSignature`): the source count, the
    /// watermark, and each aggregation with the types it reads. Changing filters, projections, the
    /// sink or any description keeps a checkpoint usable; changing these refuses it.
    public func signature() throws(EngineError) -> StatefulSignature {
        var schema = source.schema
        var aggregations: [StatefulSignature.Aggregation] = []
        func column(_ name: String) throws(EngineError) -> StatefulSignature.Column {
            guard let field = schema.field(named: name) else { throw .plan("no column \(name) in \(schema)") }
            return StatefulSignature.Column(name: name, type: field.type.canonicalName)
        }
        for step in steps {
            switch step {
            case .watermark, .filter:
                break
            case .project(let expressions):
                let input = schema
                schema = Schema(try expressions.map { named throws(EngineError) in
                    let bound = try named.expr.bind(to: input)
                    return Field(named.name, bound.type, nullable: bound.nullable)
                })
            case .aggregate(let step):
                let window = step.window.map { window in
                    switch window.kind {
                    case .tumbling(let size):
                        StatefulSignature.Window(kind: "tumbling", column: window.column, sizeMs: size.milliseconds)
                    case .hopping(let size, let slide):
                        StatefulSignature.Window(kind: "hopping", column: window.column, sizeMs: size.milliseconds, slideMs: slide.milliseconds)
                    case .session(let gap):
                        StatefulSignature.Window(kind: "session", column: window.column, gapMs: gap.milliseconds)
                    case .cumulating(let size, let step):
                        StatefulSignature.Window(kind: "cumulating", column: window.column, sizeMs: size.milliseconds, slideMs: step.milliseconds)
                    }
                }
                let keys = try step.keys.map { name throws(EngineError) in try column(name) }
                let calls = try step.aggregates.map { aggregate throws(EngineError) in
                    StatefulSignature.AggregateCall(function: aggregate.function.rawValue,
                                                    input: try aggregate.column.map { name throws(EngineError) in try column(name) })
                }
                aggregations.append(StatefulSignature.Aggregation(window: window, keys: keys, aggregates: calls, mode: step.mode.rawValue))
                schema = try AggregatePlanning.outputSchema(input: schema, window: step.window, keys: step.keys, aggregates: step.aggregates)
            }
        }
        return StatefulSignature(sources: 1, watermark: watermark.map { StatefulSignature.Watermark(column: $0.column, delayMs: $0.delayMs) },
                                 aggregations: aggregations)
    }

    /// What checkpoint metadata version 1 stored: a hash of the stateful steps' descriptions. Kept
    /// only to accept (and upgrade) checkpoints written then; nothing new is checked against it.
    public var legacyFingerprint: String {
        var text = "sources=1;"
        if let watermark { text += "watermark=\(watermark.column)/\(watermark.delayMs);" }
        for step in steps { if case .aggregate(let aggregate) = step { text += aggregate.description + ";" } }
        return StatefulSignature.fnv1a(text)
    }

    /// Creates the running source, operators and sink.
    public func instantiate(checkpoint: CheckpointStore?, queryId: String, stateBytesLimit: Int? = nil, stateTTLMs: Int64? = nil,
                            setsRowsAside: Bool = false) throws(EngineError) -> QueryPlan {
        let context = SourceContext(metadataDirectory: try checkpoint?.sourceDirectory(0), requiredColumns: source.requiredColumns)
        let scan = try source.descriptor.makeSource(context)
        var schema = scan.schema
        var operators: [any StreamOperator] = []
        for (index, step) in steps.enumerated() {
            let name = "\(index)-\(step.operatorKind)"
            let op: any StreamOperator
            switch step {
            case .watermark(let column, let delayMs):
                op = try WatermarkOperator(name: name, inputSchema: schema, column: column, delayMs: delayMs)
            case .filter(let predicate):
                op = try FilterOperator(name: name, inputSchema: schema, predicate: predicate)
            case .project(let expressions):
                op = try ProjectOperator(name: name, inputSchema: schema, expressions: expressions)
            case .aggregate(var step):
                step.stateBytesLimit = stateBytesLimit ?? step.stateBytesLimit
                step.stateTTLMs = stateTTLMs ?? step.stateTTLMs
                op = try AggregateOperator(name: name, inputSchema: schema, step: step)
            }
            operators.append(op)
            schema = op.outputSchema
        }
        var sinkContext = SinkContext(schema: schema, mode: sink.mode, upsertKeys: upsertKeys, queryId: queryId)
        sinkContext.setsRowsAside = setsRowsAside
        let sink = try sink.descriptor.makeSink(sinkContext)
        return QueryPlan(sources: [scan], operators: operators, sink: sink, watermark: watermark,
                         boundedInput: source.descriptor.isBounded, signature: try signature(), legacyFingerprint: legacyFingerprint)
    }
}

extension PhysicalPlan.Step {
    var operatorKind: String {
        switch self {
        case .watermark: "watermark"
        case .filter: "filter"
        case .project: "project"
        case .aggregate: "aggregate"
        }
    }
}

/// Lowers an optimised logical plan, checking what only the whole plan can tell (Spark's rules for
/// output modes and watermarks).
public enum PhysicalPlanner {
    public static func plan(_ logical: LogicalPlan) throws(EngineError) -> PhysicalPlan {
        guard case .sink(let body, let sink) = logical else { throw .plan("a pipeline must end in a sink (call write)") }
        _ = try body.schema()  // names and types check out everywhere
        var steps: [PhysicalPlan.Step] = []
        var watermark: WatermarkPolicy?
        var source: LogicalSource?
        var aggregateSeen = false
        try lower(body, steps: &steps, watermark: &watermark, source: &source, aggregateSeen: &aggregateSeen, mode: sink.mode)
        guard let source else { throw .internal("plan without a source") }
        var upsertKeys: [String] = []
        for step in steps {
            guard case .aggregate(let aggregate) = step else { continue }
            upsertKeys = (aggregate.window == nil ? [] : ["window_start", "window_end"]) + aggregate.keys
        }
        if sink.mode == .complete && !aggregateSeen {
            throw .plan("complete mode needs an aggregation (it re-emits the whole result every batch)")
        }
        return PhysicalPlan(source: source, steps: steps, sink: sink, watermark: watermark, upsertKeys: upsertKeys)
    }

    private static func lower(_ plan: LogicalPlan, steps: inout [PhysicalPlan.Step], watermark: inout WatermarkPolicy?,
                              source: inout LogicalSource?, aggregateSeen: inout Bool, mode: OutputMode) throws(EngineError) {
        switch plan {
        case .source(let scan):
            source = scan
        case .watermark(let input, let column, let delay, let idle):
            try lower(input, steps: &steps, watermark: &watermark, source: &source, aggregateSeen: &aggregateSeen, mode: mode)
            if watermark != nil { throw .plan("a pipeline declares one watermark (withWatermark was called twice)") }
            watermark = WatermarkPolicy(column: column, delayMs: delay.milliseconds, idleTimeoutMs: idle?.milliseconds)
            steps.append(.watermark(column: column, delayMs: delay.milliseconds))
        case .filter(let input, let predicate):
            try lower(input, steps: &steps, watermark: &watermark, source: &source, aggregateSeen: &aggregateSeen, mode: mode)
            steps.append(.filter(predicate))
        case .project(let input, let expressions):
            try lower(input, steps: &steps, watermark: &watermark, source: &source, aggregateSeen: &aggregateSeen, mode: mode)
            steps.append(.project(expressions))
        case .aggregate(let input, let window, let keys, let aggregates):
            try lower(input, steps: &steps, watermark: &watermark, source: &source, aggregateSeen: &aggregateSeen, mode: mode)
            if aggregateSeen { throw .plan("one aggregation per pipeline is supported; write the first one to a topic and read it back") }
            aggregateSeen = true
            if let window {
                guard let watermark, watermark.column == window.column else {
                    throw .plan("window on \"\(window.column)\" needs withWatermark(\"\(window.column)\", delay:) before it, so windows can close")
                }
            } else if mode == .append {
                throw .plan("append mode with an aggregation needs an event-time window and a watermark; use update or complete mode for a plain group-by")
            }
            // A plain group-by keeps event time (for first/last) only while the watermark's column is
            // still a column: a projection before it may have dropped it (Flink's rowtime rule).
            var timeColumn = window?.column
            if timeColumn == nil, let column = watermark?.column, try input.schema().index(of: column) != nil { timeColumn = column }
            if aggregates.contains(where: { $0.function == .first || $0.function == .last }) && timeColumn == nil {
                throw .plan("first/last pick by event time: declare withWatermark on the event-time column (and keep it in the aggregation's input)")
            }
            steps.append(.aggregate(.init(window: window, keys: keys, aggregates: aggregates, timeColumn: timeColumn, mode: mode,
                                          stateBytesLimit: nil)))
        case .sink:
            throw .plan("a pipeline has one sink, at its end")
        }
    }
}
