import ArgumentParser
import EddyCore
import CEddyShims

@main
struct Eddy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eddy",
        abstract: "Eddy: a real-time analytics pipeline with a Kafka-compatible log.",
        discussion: """
            Eddy runs a Kafka-wire-compatible broker, a streaming engine, sinks and a dashboard in one binary.
            `eddy broker` runs the Kafka-compatible broker; `eddy inspect` decodes captured Kafka requests.
            """,
        version: EddyVersion.current,
        subcommands: [BrokerCommand.self, DemoCommand.self, GenCommand.self, ExampleCommand.self, Inspect.self]
    )

    /// Argument parser's own `main`, after `keepLargeBlocks()`.
    static func main() async {
        keepLargeBlocks()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// The engine allocates and frees batch-sized blocks (tens of MiB) every micro-batch. glibc serves
    /// blocks above its mmap threshold (adaptive, at most 32 MiB) with fresh mappings and unmaps them on
    /// free, so each batch paid page faults and kernel zeroing for memory it had just given back: a third
    /// of `eddy example`'s time was in the kernel. Large blocks now stay in the heap and are reused, and
    /// at most two arenas (one a core on this class of machine) keep the decode threads' frees shared
    /// instead of spread over per-thread arenas. Measured with `make bench-engine`.
    static func keepLargeBlocks() {
        _ = eddy_malloc_tune(1 << 30, 2)
    }
}
