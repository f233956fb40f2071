import ArgumentParser
import EddyConnectors
import EddyEngine
import EddyFormats
import Foundation

/// `EddyPipelineBench`: runs one of the use-case pipelines written with the Swift API (`ExamplePipeline`)
/// over JSON-lines files, with a checkpoint, into a files sink: the Swift API side of `make
/// bench-engine`, which runs the same queries from SQL with `eddy run examples/*.sql` and compares the
/// two. Not a user command: users run SQL files.
@main
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "EddyPipelineBench",
        abstract: "Run a use-case pipeline built with the Swift API over JSON-lines files, exactly once, into a directory (benchmarks).",
        discussion: """
            Pipelines: \(ExamplePipeline.allCases.map { "\n  \($0.rawValue): \($0.summary)" }.joined())
            Generate input with `eddy gen <kind> --out DIR`. Output files are listed by <output>/_eddy_manifest; \
            kill the process at any moment and start it again with the same --checkpoint: the output is \
            the same as one uninterrupted run.
            """
    )

    @Argument(help: "Pipeline: \(ExamplePipeline.allCases.map(\.rawValue).joined(separator: ", ")).")
    var pipeline: String

    @Option(help: "Directory of JSON-lines input files (new files are picked up unless --bounded).")
    var input: String

    @Option(help: "Directory for the results (JSON lines).")
    var output: String

    @Option(help: "Checkpoint directory (offsets, commits, state); resume by reusing it.")
    var checkpoint: String

    @Flag(help: "Read only the files present at the first start; their end closes every window.")
    var bounded = false

    @Option(help: "processing-time (with --interval-ms), once, or available-now.")
    var trigger = "processing-time"

    @Option(help: "Trigger interval for processing-time, in milliseconds.")
    var intervalMs: Int64 = 1000

    @Option(help: "Most input bytes per micro-batch (maxBytesPerTrigger).")
    var maxBytesPerTrigger: Int64 = 24 << 20

    @Option(help: "Output mode: append, update or complete.")
    var mode = "append"

    @Option(help: "Most bytes of aggregation state (state.bytes.max).")
    var stateBytesMax: Int?

    @Flag(help: "Checkpoint the whole state after every batch (no deltas: state.backend.incremental = false).")
    var wholeState = false

    @Flag(help: "Print each batch's progress (Spark's StreamingQueryProgress as JSON).")
    var progress = false

    @Flag(help: "At the end, print totals and peak memory (for benchmarks).")
    var report = false

    func validate() throws {
        guard ExamplePipeline(rawValue: pipeline) != nil else {
            throw ValidationError("unknown pipeline \(pipeline); choose one of \(ExamplePipeline.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ["processing-time", "once", "available-now"].contains(trigger) else {
            throw ValidationError("--trigger must be processing-time, once or available-now")
        }
        guard OutputMode(rawValue: mode) != nil else { throw ValidationError("--mode must be append, update or complete") }
        guard maxBytesPerTrigger > 0, intervalMs >= 0 else { throw ValidationError("--max-bytes-per-trigger must be positive") }
    }

    func run() async throws {
        Allocator.tune(for: .engine)
        let example = ExamplePipeline(rawValue: pipeline)!
        let schema = EventGenerator(example.input).schema
        let source = FileSourceDescriptor.files(input, format: .jsonLines(schema), bounded: bounded)
        let pipeline = example.build(source: source, sink: .files(output), mode: OutputMode(rawValue: mode)!)
        var options = QueryOptions()
        options.name = example.rawValue
        options.trigger = trigger == "once" ? .once : trigger == "available-now" ? .availableNow : .processingTime(intervalMs: intervalMs)
        options.readLimit = ReadLimit(maxBytes: maxBytesPerTrigger)
        options.stateBytesLimit = stateBytesMax
        if wholeState { options.stateMinDeltasForSnapshot = 0 }
        let started = Date()
        let totals = Totals()
        let printProgress = progress
        let query = try pipeline.start(checkpoint: checkpoint, options: options) { progress in
            totals.add(progress)
            if printProgress { print(progress.json) }
        }
        do {
            try await query.run()
        } catch let error as EngineError {
            FileHandle.standardError.write(Data("EddyPipelineBench: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if report {
            let seconds = Date().timeIntervalSince(started)
            print(totals.report(seconds: seconds))
        }
    }
}
