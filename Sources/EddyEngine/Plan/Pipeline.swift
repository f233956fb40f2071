/// The Swift API: a pipeline is built by chaining, read as it runs, and ends in a sink.
///
/// ```swift
/// let revenue = Pipeline.read(.files(input, format: .jsonLines(schema)))
///     .withWatermark("event_time", delay: .seconds(10))
///     .groupBy(.tumble("event_time", .minutes(1)), "category")
///     .aggregate(.count(), .sum("amount"), .avg("amount"))
///     .write(.files(output), mode: .append)
/// print(try revenue.explain())
/// try await revenue.start(checkpoint: dir).run()
/// ```
public struct Pipeline: Sendable {
    public let plan: LogicalPlan

    public init(_ plan: LogicalPlan) {
        self.plan = plan
    }

    public static func read(_ source: some SourceDescriptor) -> Pipeline {
        Pipeline(.source(LogicalSource(source)))
    }

    /// Declares event time: the watermark is the max of `column` seen (per source partition, combined
    /// by minimum) minus `delay`; a partition quiet for `idleTimeout` stops holding it back.
    public func withWatermark(_ column: String, delay: Interval, idleTimeout: Interval? = nil) -> Pipeline {
        Pipeline(.watermark(plan, column: column, delay: delay, idleTimeout: idleTimeout))
    }

    public func filter(_ predicate: Expr) -> Pipeline {
        Pipeline(.filter(plan, predicate))
    }

    /// Keeps (and computes) columns: `.select(col("a"), (col("b") * lit(2)).as("b2"))`.
    public func select(_ expressions: NamedExpr...) -> Pipeline {
        select(expressions)
    }

    public func select(_ expressions: [NamedExpr]) -> Pipeline {
        Pipeline(.project(plan, expressions))
    }

    /// Adds (or replaces) one computed column, keeping the others.
    public func withColumn(_ name: String, _ expr: Expr) throws(EngineError) -> Pipeline {
        var columns = try plan.schema().names.filter { $0 != name }.map { NamedExpr(.column($0), name: $0) }
        columns.append(NamedExpr(expr, name: name))
        return select(columns)
    }

    public func groupBy(_ window: WindowGrouping, _ keys: String...) -> GroupedPipeline {
        GroupedPipeline(input: plan, window: window, keys: keys)
    }

    public func groupBy(_ keys: String...) -> GroupedPipeline {
        GroupedPipeline(input: plan, window: nil, keys: keys)
    }

    /// `groupBy` with the keys as an array (a window is optional).
    public func grouped(_ window: WindowGrouping?, _ keys: [String]) -> GroupedPipeline {
        GroupedPipeline(input: plan, window: window, keys: keys)
    }

    public func write(_ sink: some SinkDescriptor, mode: OutputMode = .append) -> StreamingPipeline {
        StreamingPipeline(plan: .sink(plan, LogicalSink(sink, mode: mode)))
    }
}

/// A pipeline between `groupBy` and `aggregate`.
public struct GroupedPipeline: Sendable {
    let input: LogicalPlan
    let window: WindowGrouping?
    let keys: [String]

    public func aggregate(_ aggregates: Aggregate...) -> Pipeline {
        aggregate(aggregates)
    }

    public func aggregate(_ aggregates: [Aggregate]) -> Pipeline {
        Pipeline(.aggregate(input, window: window, keys: keys, aggregates: aggregates))
    }
}

/// A complete pipeline (source to sink), ready to explain or start.
public struct StreamingPipeline: Sendable {
    public let plan: LogicalPlan

    /// A pipeline from a logical plan that ends in a sink (the SQL front end builds these).
    public init(plan: LogicalPlan) {
        self.plan = plan
    }

    /// The logical plan as written, the optimised one, and the physical plan.
    public func explain() throws(EngineError) -> String {
        let optimized = LogicalOptimizer.optimize(plan)
        let physical = try PhysicalPlanner.plan(optimized)
        return """
            == Logical plan ==
            \(plan.tree)
            == Optimised logical plan ==
            \(optimized.tree)
            == Physical plan ==
            \(physical.description)
            """
    }

    public func physicalPlan() throws(EngineError) -> PhysicalPlan {
        try PhysicalPlanner.plan(LogicalOptimizer.optimize(plan))
    }

    /// A query over this pipeline. With a checkpoint directory, batches are exactly-once across
    /// restarts; without one, the query starts from the sources' initial offsets every time.
    public func start(checkpoint directory: String?, options: QueryOptions = QueryOptions(), runId: String = newRunId(),
                      onProgress: @escaping @Sendable (StreamingQueryProgress) -> Void = { _ in }) throws(EngineError) -> StreamingQuery {
        let execution = try makeExecution(checkpoint: directory, options: options, runId: runId)
        return StreamingQuery(execution: execution, onProgress: onProgress)
    }

    /// The execution without a runner: call `start(nowMs:)` and `runBatch(nowMs:)` yourself.
    public func makeExecution(checkpoint directory: String?, options: QueryOptions = QueryOptions(),
                              runId: String = newRunId()) throws(EngineError) -> MicroBatchExecution {
        let physical = try physicalPlan()
        let store = try directory.map { path throws(EngineError) in try CheckpointStore(directory: path) }
        // Sinks hear the query's id, which a checkpoint keeps across restarts (Spark's `id`; a new
        // query takes its first run's id), so a sink can recognise what it wrote before a crash.
        let queryId = try store?.readMetadata()?.id ?? runId
        let queryPlan = try physical.instantiate(checkpoint: store, queryId: queryId, stateBytesLimit: options.stateBytesLimit,
                                                stateTTLMs: options.stateTTLMs, setsRowsAside: options.deadLetters != nil)
        return try MicroBatchExecution(plan: queryPlan, options: options, checkpoint: store, runId: runId)
    }
}

/// A random version-4 UUID as text (query and run ids).
public func newRunId() -> String {
    var generator = SystemRandomNumberGenerator()
    var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    bytes[6] = bytes[6] & 0x0F | 0x40
    bytes[8] = bytes[8] & 0x3F | 0x80
    let hex = bytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }
    return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
}
