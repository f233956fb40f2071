/// Runs a pipeline synchronously, with no broker and no threads (Kafka Streams' TopologyTestDriver):
/// the test adds rows to `MemoryStream`s, moves processing time by hand, runs batches and reads the
/// `MemorySink` back.
///
/// ```swift
/// let input = MemoryStream(schema)
/// let output = MemorySink()
/// let driver = try TestDriver(Pipeline.read(input).withWatermark("t", delay: .seconds(5))
///     .groupBy(.tumble("t", .minutes(1)), "k").aggregate(.count()).write(output))
/// input.add([[.timestamp(0), .string("a")]])
/// try driver.runUntilIdle()
/// ```
public final class TestDriver {
    public let execution: MicroBatchExecution
    /// Processing time in milliseconds; moves only when the test moves it.
    public private(set) var nowMs: Int64
    public private(set) var progress: [StreamingQueryProgress] = []

    public init(_ pipeline: StreamingPipeline, checkpoint: String? = nil, options: QueryOptions = QueryOptions(),
                startMs: Int64 = 0, runId: String = "test-run") throws(EngineError) {
        nowMs = startMs
        var options = options
        options.stateCompactionInBackground = false
        execution = try pipeline.makeExecution(checkpoint: checkpoint, options: options, runId: runId)
        try execution.start(nowMs: nowMs)
    }

    public func advanceTime(by interval: Interval) {
        nowMs += interval.milliseconds
    }

    /// Moves processing time to `ms` (never backwards).
    public func advance(to ms: Int64) {
        precondition(ms >= nowMs, "processing time does not go back")
        nowMs = ms
    }

    /// One micro-batch over what is available now; nil when there was nothing to do.
    @discardableResult
    public func runBatch() throws(EngineError) -> StreamingQueryProgress? {
        let result = try execution.runBatch(nowMs: nowMs)
        if let result { progress.append(result) }
        return result
    }

    /// Batches until nothing is left to do (input read, watermark settled); returns how many ran.
    @discardableResult
    public func runUntilIdle(maxBatches: Int = 10_000) throws(EngineError) -> Int {
        var count = 0
        while count < maxBatches, try runBatch() != nil { count += 1 }
        precondition(count < maxBatches, "the pipeline did not settle within \(maxBatches) batches")
        return count
    }
}
