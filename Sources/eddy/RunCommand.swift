import ArgumentParser
import EddyBroker
import EddyConnectors
import EddyCore
import EddyEngine
import EddyFormats
import EddySQL
import EddyServer
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A SQL file run through a session: the statements executed, errors shown with the line and a caret.
struct SQLScript {
    let path: String
    let text: String
    let session: SQLSession

    init(path: String, bounded: Bool, embedded: (log: any RecordLog, address: String)? = nil, planningOnly: Bool = false) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(description: "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure(description: "\(path) is not UTF-8 text") }
        self.text = text
        session = SQLSession(connectors: SQLConnectors.standard(embedded: embedded, planningOnly: planningOnly), bounded: bounded)
    }

    /// Executes every statement; an error is printed as `file:line, column: message`, the line and a caret.
    func execute(_ command: String) throws -> [SQLOutcome] {
        do {
            return try session.run(text)
        } catch {
            FileHandle.standardError.write(Data("eddy \(command): \(error.rendered(in: text, file: path))\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// `eddy run FILE.sql`: every INSERT INTO / CREATE TABLE … AS in the file as a continuous query.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the continuous queries of a SQL file (Flink SQL), exactly once, until Ctrl-C or the bounded input ends.",
        discussion: """
            The file declares tables (CREATE TABLE … WITH ('connector' = …)) and starts queries (INSERT INTO … \
            SELECT, CREATE TABLE … AS SELECT); see docs/sql.md. Connectors: filesystem, kafka (the broker \
            --broker-data-dir embeds in this process), datagen, print, blackhole.
            Each query keeps its offsets and state under <checkpoint>/<table it writes>: kill the process at \
            any moment and run the file again with the same --checkpoint, and the output is as if it had not \
            stopped. SET 'execution.checkpointing.dir' = '…' in the file does the same as --checkpoint.
            """
    )

    @Argument(help: "The SQL file.")
    var file: String

    @Option(help: "Checkpoint directory (one subdirectory per query); resume by reusing it.")
    var checkpoint: String?

    @Flag(help: "Read the input up to where it ends now; its end closes every window, then exit.")
    var bounded = false

    @Option(help: "Trigger interval in milliseconds (default: SET 'execution.checkpointing.interval', else 1000).")
    var intervalMs: Int64?

    @Option(help: "Most input bytes per micro-batch (maxBytesPerTrigger).")
    var maxBytesPerTrigger: Int64 = 24 << 20

    @Option(help: "Where dead letters go (malformed and late rows, rows a sink refused): a directory (JSON lines) or kafka://HOST:PORT/TOPIC[?property=value&…] (librdkafka properties, e.g. security settings).")
    var deadLetters: String?

    @Flag(help: "Print each batch's progress (Spark's StreamingQueryProgress as JSON).")
    var progress = false

    @Flag(help: "At the end, print totals and peak memory (for benchmarks).")
    var report = false

    @Option(help: "Embed a Kafka-compatible broker with its log in this directory: 'kafka' tables read its topics.")
    var brokerDataDir: String?

    @Option(help: "Address the embedded broker listens on, host:port (with --broker-data-dir).")
    var listen = "127.0.0.1:9092"

    func validate() throws {
        guard maxBytesPerTrigger > 0 else { throw ValidationError("--max-bytes-per-trigger must be positive") }
        guard BrokerCommand.split(listen) != nil else { throw ValidationError("--listen must be host:port, not \(listen)") }
        if let intervalMs, intervalMs < 0 { throw ValidationError("--interval-ms must not be negative") }
    }

    func run() async throws {
        Allocator.tune(for: .engine)
        var logger = Logger(label: "eddy.run")
        logger.logLevel = .notice
        var embedded: EmbeddedBroker?
        if let brokerDataDir {
            embedded = try EmbeddedBroker(dataDirectory: brokerDataDir, listen: listen, logger: logger)
        }
        let totals = Totals()
        let queries: [(String, StreamingQuery)]
        do {
            queries = try startQueries(embedded: embedded, totals: totals)
        } catch {
            try await embedded?.close()
            throw error
        }
        let started = Date()
        // SIGINT or SIGTERM stops the queries between batches (and the broker, if embedded).
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: QueriesService(queries: queries), successTerminationBehavior: .gracefullyShutdownGroup,
                             failureTerminationBehavior: .gracefullyShutdownGroup)] + (embedded?.services ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        SecondSignal.exitsAtOnce()
        let failure = await services.runUntilStopped(logger: logger, "eddy run")
        if let failure {
            FileHandle.standardError.write(Data("eddy run: \(failure)\n".utf8))
            try? await embedded?.close()
            throw ExitCode(2)
        }
        try await embedded?.close()
        if report {
            let seconds = Date().timeIntervalSince(started)
            print(totals.report(seconds: seconds))
        }
    }

    /// Runs the file's statements and starts a query for each INSERT / CREATE TABLE … AS.
    func startQueries(embedded: EmbeddedBroker?, totals: Totals) throws -> [(String, StreamingQuery)] {
        let script = try SQLScript(path: file, bounded: bounded, embedded: embedded.map { ($0.broker, listen) })
        _ = try script.execute("run")
        let jobs = script.session.jobs
        guard !jobs.isEmpty else {
            throw CommandFailure(description: "\(file) starts no query: add INSERT INTO <table> SELECT … (or CREATE TABLE … AS SELECT …)")
        }
        let options = try queryOptions(script.session.settings)
        let directory = checkpoint ?? script.session.settings["execution.checkpointing.dir"] ?? script.session.settings["state.checkpoints.dir"]
        let printProgress = progress
        var queries: [(String, StreamingQuery)] = []
        for job in jobs {
            var jobOptions = options
            jobOptions.name = job.name
            do {
                let query = try job.pipeline.start(checkpoint: directory.map { "\($0)/\(QuerySettings.directoryName(job.name))" }, options: jobOptions) { progress in
                    totals.add(progress)
                    if printProgress { print(progress.json) }
                }
                queries.append((job.name, query))
            } catch {
                throw CommandFailure(description: "\(file):\(job.location): query into `\(job.name)` cannot start: \(error)")
            }
        }
        return queries
    }

    /// The trigger, read limit, state limit and dead letters, from the flags and the file's SETs.
    func queryOptions(_ sets: [String: String]) throws -> QueryOptions {
        var settings = QuerySettings()
        settings.bounded = bounded
        settings.intervalMs = intervalMs
        settings.maxBytesPerTrigger = maxBytesPerTrigger
        settings.deadLetters = deadLetters
        do {
            return try settings.options(sets)
        } catch {
            throw CommandFailure(description: error.description)
        }
    }
}

/// The first SIGINT or SIGTERM stops the queries between batches (ServiceLifecycle); a second one
/// exits at once, as a user pressing Ctrl-C again expects.
enum SecondSignal {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func exitsAtOnce() {
        let seen = SignalCount()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)  // the dispatch sources (this one and ServiceLifecycle's) take it
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let count = seen.increment()
                if count >= 2 {
                    FileHandle.standardError.write(Data("eddy run: stopped at once\n".utf8))
                    exit(128 + number)  // 130 for SIGINT, 143 for SIGTERM, as a shell reports them
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}

final class SignalCount: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}

/// The queries of a file as one service: all run at once; the first failure stops the others; a
/// graceful shutdown stops them between batches.
struct QueriesService: Service {
    let queries: [(String, StreamingQuery)]

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (name, query) in queries {
                    group.addTask {
                        do {
                            try await query.run()
                        } catch let error as EngineError {
                            throw CommandFailure(description: "query into `\(name)` stopped: \(error)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// A broker in the same process as the queries (`eddy run --broker-data-dir`): Kafka clients
/// produce to it over the network, 'kafka' tables read its log in process.
final class EmbeddedBroker: @unchecked Sendable {
    let broker: Broker
    let services: [ServiceGroupConfiguration.ServiceConfiguration]
    private let pool: NIOThreadPool
    let group: MultiThreadedEventLoopGroup

    init(dataDirectory: String, listen: String, defaultPartitions: Int32? = nil, retentionMs: Int64? = nil, logger: Logger) throws {
        var config = BrokerConfig(dataDirectory: dataDirectory)
        (config.listenHost, config.listenPort) = BrokerCommand.split(listen)!
        if let defaultPartitions { config.defaultPartitions = defaultPartitions }
        if let retentionMs { config.logDefaults.retentionMs = retentionMs }
        pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        broker = try Broker(config: config, pool: pool, logger: logger)
        services = broker.backgroundServices.map { .init(service: $0) }
            + [.init(service: KafkaServer(broker: broker, group: group, logger: logger), failureTerminationBehavior: .gracefullyShutdownGroup)]
    }

    func close() async throws {
        try broker.close()
        try await group.shutdownGracefully()
        try await pool.shutdownGracefully()
    }
}

/// `eddy explain FILE.sql`: the logical, optimised and physical plan of every query in the file.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Print the plans of the queries of a SQL file (nothing runs)."
    )

    @Argument(help: "The SQL file.")
    var file: String

    func run() throws {
        let script = try SQLScript(path: file, bounded: false, planningOnly: true)
        _ = try script.execute("explain")
        guard !script.session.jobs.isEmpty else { throw CommandFailure(description: "\(file) starts no query to explain") }
        for job in script.session.jobs {
            print("-- query into `\(job.name)` (\(file):\(job.location))")
            do {
                print(try job.pipeline.explain())
            } catch {
                throw CommandFailure(description: "\(file):\(job.location): \(error)")
            }
        }
    }
}
