import ArgumentParser
import EddyBroker
import EddyConnectors
import EddyEngine
import EddyFormats
import EddySQL
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `eddy demo`: the end-to-end slice in one process: the embedded broker (any Kafka client can
/// produce to it), the revenue-by-category SQL pipeline reading its log in-process, results in files,
/// progress printed live, malformed records in a dead-letter topic.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the broker and the revenue-by-category pipeline together (scripts/demo.sh feeds it).",
        discussion: """
            Produce purchases as JSON to --topic with any Kafka client, for example:
              eddy gen purchases --count 100000 --rate 20000 --keyed | kcat -P -b 127.0.0.1:9092 -t shop.purchases.v1 -K '\\t'
            Windows of 1 minute (event time) by category are written to <data-dir>/results/revenue as \
            they close (watermark: 10 s); bad records go to <topic>.dlq. SIGINT or SIGTERM stops it \
            gracefully; started again, it resumes from its checkpoint.
            """
    )

    @Option(help: "Directory for the broker's log, the pipeline's checkpoint and results.")
    var dataDir: String

    @Option(help: "Address the broker listens on, host:port.")
    var listen = "127.0.0.1:9092"

    @Option(help: "Topic the purchases arrive on.")
    var topic = "shop.purchases.v1"

    @Option(help: "Partitions of the topic when it is created.")
    var partitions: Int32 = 3

    @Option(help: "Trigger interval of the pipeline, in milliseconds.")
    var intervalMs: Int64 = 1000

    @Option(help: "Stop after this many seconds (0: run until SIGINT/SIGTERM).")
    var durationS = 0

    func validate() throws {
        guard BrokerCommand.split(listen) != nil else { throw ValidationError("--listen must be host:port, not \(listen)") }
        guard partitions > 0, intervalMs > 0, durationS >= 0 else { throw ValidationError("--partitions and --interval-ms must be positive") }
    }

    func run() async throws {
        var logger = Logger(label: "eddy.demo")
        logger.logLevel = .notice
        let embedded = try EmbeddedBroker(dataDirectory: dataDir + "/broker", listen: listen, defaultPartitions: partitions, logger: logger)
        let broker = embedded.broker
        try broker.ensureTopic(topic, partitions: partitions)

        let results = dataDir + "/results/revenue"
        let sql = Self.sql(topic: topic, results: results)
        let session = SQLSession(connectors: SQLConnectors.standard(embedded: (broker, listen)))
        do {
            _ = try session.run(sql)
        } catch {
            try await embedded.close()
            throw CommandFailure(description: "the demo's SQL does not run: \(error.rendered(in: sql))")
        }
        let pipeline = session.jobs[0].pipeline
        var options = QueryOptions()
        options.name = "revenue"
        options.trigger = .processingTime(intervalMs: intervalMs)
        options.deadLetters = try LogDeadLetterSink(log: broker, topic: topic + ".dlq")
        print("eddy demo: broker on \(listen), topic \(topic) (\(partitions) partitions); results in \(results)")
        print(sql)
        print(try pipeline.explain())
        let query = try pipeline.start(checkpoint: dataDir + "/checkpoints/revenue", options: options) { progress in
            print(DemoCommand.summary(progress))
        }
        let services = ServiceGroup(configuration: .init(
            services: embedded.services + [
                .init(service: QueryService(query: query), successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: Timer(seconds: durationS), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        let failure = await services.runUntilStopped(logger: logger, "demo")
        try await embedded.close()
        if let failure { throw failure }
        print("eddy demo: stopped; \(try FileSinkReader.committedFiles(results).count) result files in \(results)")
    }

    /// The demo's pipeline: revenue by category per minute (examples/revenue.sql) over the topic.
    static func sql(topic: String, results: String) -> String {
        func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
        return """
            CREATE TABLE purchases (
              event_id STRING, user_id BIGINT, category STRING, amount DECIMAL(10, 2), country STRING, event_time TIMESTAMP(3),
              WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
            ) WITH ('connector' = 'kafka', 'topic' = \(literal(topic)), 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
            CREATE TABLE revenue WITH ('connector' = 'filesystem', 'path' = \(literal(results)), 'format' = 'json') AS
            SELECT window_start, window_end, category, COUNT(*) AS `count`, SUM(amount) AS revenue, AVG(amount) AS avg_amount
            FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
            GROUP BY window_start, window_end, category;
            """
    }

    /// One line per batch: the fields people watch.
    static func summary(_ p: StreamingQueryProgress) -> String {
        let state = p.stateOperators.first
        let behind = p.sources.first?.metrics["maxOffsetsBehindLatest"] ?? "0"
        let dead = p.numDeadLetterRows.values.reduce(0, +)
        return "batch \(p.batchId): \(p.numInputRows) rows in \(p.durationMs["triggerExecution"] ?? 0) ms "
            + "(\(Int(p.processedRowsPerSecond)) rows/s), watermark \(p.eventTime["watermark"] ?? "none"), "
            + "state \(state?.numRowsTotal ?? 0) groups, late \(state?.numRowsDroppedByWatermark ?? 0), "
            + "dead letters \(dead), behind \(behind), wrote \(p.sink.numOutputRows) windows"
    }
}

/// A streaming query as a service: it stops between batches on graceful shutdown.
struct QueryService: Service {
    let query: StreamingQuery

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await query.run()
        }
    }
}

/// Ends after `seconds` (0: waits for graceful shutdown).
struct Timer: Service {
    let seconds: Int

    func run() async throws {
        if seconds == 0 {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(nanoseconds: UInt64(seconds) * 1_000_000_000)
        }
    }
}
