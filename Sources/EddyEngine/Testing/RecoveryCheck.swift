import Foundation

/// Runs one pipeline and one script of inputs three ways and checks that the sink and the
/// dead letters get the same rows from each (Flink's and Spark's exactly-once promise, tested the
/// way Redpanda's failure probes test the log):
///
/// 1. straight: no checkpoint, one execution;
/// 2. checkpointed, and restarted on its checkpoint after every batch;
/// 3. once per crash point the checkpointed run visits (every `MicroBatchProtocol.CrashPoint` of
///    every batch): stopped there by a `CrashInjector`, then restarted on the same checkpoint,
///    sources and sinks, as after a crash.
///
/// ```swift
/// let check = RecoveryCheck(inputs: [.init(schema, partitions: 2)]) { inputs, sink in
///     Pipeline.read(inputs[0]).withWatermark("t", delay: .seconds(5))
///         .groupBy(.tumble("t", .minutes(1)), "k").aggregate(.count()).write(sink)
/// }
/// let report = try check.run { run in
///     run.inputs[0].add([[.timestamp(0), .string("a")]], partition: 1)
///     try run.runUntilIdle()
///     run.advanceTime(by: .seconds(10))
///     try run.runUntilIdle()
/// }
/// ```
///
/// The script must do the same in every run (it is called once per run, on fresh inputs, sinks
/// and checkpoint). `run` throws `RecoveryCheck.Mismatch` naming the run and the first batch that
/// differs.
public struct RecoveryCheck {
    /// One `MemoryStream` the pipeline reads.
    public struct Input {
        public var schema: Schema
        public var partitions: Int
        public var bounded: Bool

        public init(_ schema: Schema, partitions: Int = 1, bounded: Bool = false) {
            self.schema = schema
            self.partitions = partitions
            self.bounded = bounded
        }
    }

    public typealias Build = (_ inputs: [MemoryStream], _ sink: MemorySink) -> StreamingPipeline

    /// The sink and dead-letter output of one run.
    public struct Output: Sendable, Equatable, CustomStringConvertible {
        public var rowsByBatch: [Int64: [[Value]]]
        /// Dead letters without what legitimately differs between runs (query id, replay flag).
        public var deadLetters: [DeadLetter]

        public var description: String {
            let batches = rowsByBatch.keys.sorted().map { "batch \($0): \(rowsByBatch[$0]!)" }
            return (batches + deadLetters.map { "dead letter \($0.batchId ?? -1)#\($0.index ?? -1): \($0.reason) \($0.detail)" })
                .joined(separator: "\n")
        }
    }

    /// What the check did, for a test to assert it did something.
    public struct Report {
        public var output: Output
        /// Batches the straight run ran.
        public var batches: Int
        /// Crash points stopped at (and restored from) in turn.
        public var crashPoints: [CrashInjector.Stop]
    }

    public struct Mismatch: Error, CustomStringConvertible {
        public var run: String
        public var expected: Output
        public var actual: Output

        public var description: String {
            let batches = Set(expected.rowsByBatch.keys).union(actual.rowsByBatch.keys).sorted()
            if let batch = batches.first(where: { expected.rowsByBatch[$0] != actual.rowsByBatch[$0] }) {
                return "\(run): batch \(batch) wrote \(actual.rowsByBatch[batch] ?? []), the straight run \(expected.rowsByBatch[batch] ?? [])"
            }
            return "\(run): dead letters differ:\n\(actual)\nstraight run:\n\(expected)"
        }
    }

    public let inputs: [Input]
    public let options: QueryOptions
    public let startMs: Int64
    public let build: Build

    public init(inputs: [Input], options: QueryOptions = QueryOptions(), startMs: Int64 = 0, build: @escaping Build) {
        precondition(options.crashInjector == nil, "the check arms its own crash injector")
        self.inputs = inputs
        self.options = options
        self.startMs = startMs
        self.build = build
    }

    /// Runs `script` straight, checkpointed with a restart after every batch, and crashed at every
    /// crash point in turn; throws `Mismatch` when any run's output differs from the straight run's.
    public func run(_ script: (Run) throws -> Void) throws -> Report {
        let straight = try Run(self, mode: .straight)
        try script(straight)
        let expected = straight.output
        let batches = straight.batches

        let directory = NSTemporaryDirectory() + "eddy-recovery-" + newRunId()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let survey = CrashInjector()
        let restarted = try Run(self, mode: .restartEveryBatch, checkpoint: directory + "/restarted", injector: survey)
        try script(restarted)
        guard restarted.output == expected else {
            throw Mismatch(run: "checkpointed, restarted after every batch", expected: expected, actual: restarted.output)
        }

        let stops = survey.visited
        for (number, stop) in stops.enumerated() {
            let injector = CrashInjector(stopAt: stop)
            let crashed = try Run(self, mode: .crash, checkpoint: directory + "/crash-\(number)", injector: injector)
            try script(crashed)
            guard injector.fired else { throw Mismatch(run: "crash at \(stop) never reached", expected: expected, actual: crashed.output) }
            guard crashed.output == expected else { throw Mismatch(run: "crashed at \(stop)", expected: expected, actual: crashed.output) }
        }
        return Report(output: expected, batches: batches, crashPoints: stops)
    }

    /// One run's world: its inputs, sink, dead letters, processing time and execution.
    public final class Run {
        enum Mode { case straight, restartEveryBatch, crash }

        public let inputs: [MemoryStream]
        public let sink = MemorySink()
        public let deadLetters = MemoryDeadLetterSink()
        public private(set) var nowMs: Int64
        /// Batches run (a batch restored after a crash counts once).
        public private(set) var batches = 0
        public private(set) var restarts = 0
        private let mode: Mode
        private let pipeline: StreamingPipeline
        private let checkpoint: String?
        private var options: QueryOptions
        private var driver: TestDriver
        private let stopAt: CrashInjector.Stop?

        init(_ check: RecoveryCheck, mode: Mode, checkpoint: String? = nil, injector: CrashInjector? = nil) throws {
            self.mode = mode
            self.checkpoint = checkpoint
            inputs = check.inputs.map { MemoryStream($0.schema, partitions: $0.partitions, bounded: $0.bounded) }
            pipeline = check.build(inputs, sink)
            options = check.options
            options.deadLetters = deadLetters
            options.crashInjector = injector
            stopAt = injector?.armedStop
            nowMs = check.startMs
            driver = try TestDriver(pipeline, checkpoint: checkpoint, options: options, startMs: nowMs, runId: newRunId())
        }

        public func advanceTime(by interval: Interval) {
            nowMs += interval.milliseconds
        }

        /// One micro-batch (restarting as the run's mode says); false when there was nothing to do.
        @discardableResult
        public func runBatch() throws -> Bool {
            let ran: Bool
            do {
                ran = try batch() != nil
            } catch {
                guard mode == .crash, CrashInjector.isSimulatedCrash(error), let stop = stopAt else { throw error }
                try recover(from: stop)
                ran = true
            }
            guard ran else { return false }
            batches += 1
            if mode == .restartEveryBatch { try restart() }
            return true
        }

        /// After a crash at `stop`: a new execution on the checkpoint. Past commits/N the batch is
        /// done; before it, the restored query replays it.
        private func recover(from stop: CrashInjector.Stop) throws {
            try restart()
            if stop.point == .commitWritten || stop.point == .purged { return }
            if try batch() == nil {
                throw Mismatch(run: "crashed at \(stop): the restored query replayed nothing", expected: output, actual: output)
            }
        }

        /// Batches until nothing is left to do.
        public func runUntilIdle(maxBatches: Int = 10_000) throws {
            var count = 0
            while try runBatch() {
                count += 1
                precondition(count < maxBatches, "the pipeline did not settle within \(maxBatches) batches")
            }
        }

        private func batch() throws(EngineError) -> StreamingQueryProgress? {
            driver.advance(to: nowMs)
            return try driver.runBatch()
        }

        private func restart() throws(EngineError) {
            restarts += 1
            driver = try TestDriver(pipeline, checkpoint: checkpoint, options: options, startMs: nowMs, runId: newRunId())
        }

        var output: Output {
            Output(rowsByBatch: sink.rowsByBatch, deadLetters: deadLetters.letters.map { letter in
                var normalized = letter
                normalized.queryId = nil
                normalized.replayed = false
                return normalized
            })
        }
    }
}

/// Dead letters in memory, written once each: a letter whose (query, batch, index) is held already
/// (a replayed batch writes its letters again) is skipped, as `LogDeadLetterSink` skips it.
public final class MemoryDeadLetterSink: DeadLetterSink, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [DeadLetter] = []
    private var seen: Set<String> = []

    public init() {}

    public var description: String { "memory dead letters" }

    public var letters: [DeadLetter] { lock.withLock { held } }

    public func write(_ letters: [DeadLetter]) {
        lock.withLock {
            for letter in letters {
                if let batchId = letter.batchId, let index = letter.index {
                    guard seen.insert("\(letter.queryId ?? "")/\(batchId)/\(index)").inserted else { continue }
                }
                held.append(letter)
            }
        }
    }
}
