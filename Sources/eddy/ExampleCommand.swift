import ArgumentParser
import EddyConnectors
import EddyEngine
import EddyFormats
import Foundation

/// `eddy example`: runs one of the use-case pipelines (written with the Swift API) over JSON-lines
/// files, with a checkpoint, into a files sink. Streaming SQL (`eddy run pipeline.sql`) comes later.
struct ExampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run a built-in pipeline over JSON-lines files, exactly once, into a directory.",
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

    @Option(help: "Directory for dead letters (malformed and late rows), as JSON lines.")
    var deadLetters: String?

    @Option(help: "Most bytes of aggregation state (state.bytes.max).")
    var stateBytesMax: Int?

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
        if let deadLetters { try options.sendDeadLetters(to: deadLetters) }
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
            FileHandle.standardError.write(Data("eddy example: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if report {
            let seconds = Date().timeIntervalSince(started)
            print("REPORT rows=\(totals.rows) batches=\(totals.batches) seconds=\(String(format: "%.3f", seconds)) "
                  + "rows_per_s=\(Int(Double(totals.rows) / max(seconds, 1e-9))) output_rows=\(totals.outputRows) "
                  + "peak_rss_mb=\(String(format: "%.1f", peakResidentMegabytes()))")
        }
    }
}

/// Totals over a query's batches (the progress callback runs on the query's task).
final class Totals: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var rows: Int64 = 0
    private(set) var outputRows: Int64 = 0
    private(set) var batches = 0

    func add(_ progress: StreamingQueryProgress) {
        lock.withLock {
            rows += progress.numInputRows
            outputRows += progress.sink.numOutputRows
            batches += 1
        }
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}
