import ArgumentParser
import EddyBroker
import EddyConnectors
import EddyCore
import EddyEngine
import EddyServer
import EddySQL
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// `eddy server`: the broker, the pipelines and the HTTP side (API, live events, dashboard,
/// /metrics) in one process under one data directory.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the broker, the SQL pipelines, the REST API, the dashboard and /metrics in one process.",
        discussion: """
            Kafka clients connect to --listen; a browser opens the dashboard at http://<--http-listen>/; \
            Prometheus scrapes /metrics there; the REST API is under /api (described at /api/openapi.json). \
            See docs/server.md.
            Pipelines are SQL files (Flink SQL, docs/sql.md): every .sql file of --pipelines starts with the \
            server, and POST /api/pipelines creates more (kept under <data-dir>/pipelines). Each query keeps \
            its checkpoint under <data-dir>/checkpoints/<pipeline>/<table>, so a restarted server resumes \
            every pipeline where it stopped. Dead letters go to the topic <pipeline>.dead-letters. Relative \
            paths in the SQL are relative to the directory the server runs in.
            Every option can also come from the environment (EDDY_ and the option's name in capitals with \
            _ for -, as EDDY_HTTP_LISTEN) or from --config FILE (lines of `name = value`, the option's \
            name without --; # starts a comment). A flag wins over the environment, which wins over the file.
            SIGINT or SIGTERM stops it gracefully: the queries stop between batches, the logs are flushed, \
            and it exits 0. A second signal exits at once.
            """
    )

    @Option(help: "Directory for the broker's log, the pipelines' checkpoints and stored pipelines (default: data).")
    var dataDir: String?

    @Option(help: "Address Kafka clients connect to, host:port (default: 127.0.0.1:9092).")
    var listen: String?

    @Option(help: "Address of the HTTP API, dashboard and /metrics, host:port (default: 127.0.0.1:8080).")
    var httpListen: String?

    @Option(help: "Directory of .sql files, one pipeline each (named after the file), started with the server.")
    var pipelines: String?

    @Option(help: "Trigger interval of queries whose SQL sets no 'execution.checkpointing.interval', in ms (default: 1000).")
    var intervalMs: String?

    @Option(help: "Partitions of an auto-created topic (default: 1).")
    var numPartitions: String?

    @Option(help: "Default retention.ms for topics; -1 keeps forever (default: 604800000, 7 days).")
    var logRetentionMs: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: notice).")
    var logLevel: String?

    @Option(help: "A file of `name = value` lines with any of these options (flags and EDDY_* win over it).")
    var config: String?

    /// The options after flags, environment and config file, checked.
    struct Resolved {
        var dataDir = "data"
        var listen = "127.0.0.1:9092"
        var httpListen = "127.0.0.1:8080"
        var pipelines: String?
        var intervalMs: Int64?
        var numPartitions: Int32 = 1
        var logRetentionMs: Int64 = 7 * 24 * 3600 * 1000
        var logLevel: Logger.Level = .notice
    }

    static let optionNames = ["data-dir", "listen", "http-listen", "pipelines", "interval-ms", "num-partitions", "log-retention-ms", "log-level"]

    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        var file: [String: String] = [:]
        let configPath = config ?? environment["EDDY_CONFIG"]
        if let configPath { file = try Self.readConfig(configPath) }
        let flags: [String: String?] = [
            "data-dir": dataDir, "listen": listen, "http-listen": httpListen, "pipelines": pipelines, "interval-ms": intervalMs,
            "num-partitions": numPartitions, "log-retention-ms": logRetentionMs, "log-level": logLevel,
        ]
        func value(_ name: String) -> (String, String)? {
            if let flag = flags[name] ?? nil { return (flag, "--\(name)") }
            let variable = "EDDY_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            if let env = environment[variable] { return (env, variable) }
            if let text = file[name] { return (text, "\(configPath ?? "config"): \(name)") }
            return nil
        }
        var resolved = Resolved()
        if let (v, _) = value("data-dir") { resolved.dataDir = v }
        if let (v, from) = value("listen") {
            guard BrokerCommand.split(v) != nil else { throw CommandFailure(description: "\(from) must be host:port, not \(v)") }
            resolved.listen = v
        }
        if let (v, from) = value("http-listen") {
            guard BrokerCommand.split(v) != nil else { throw CommandFailure(description: "\(from) must be host:port, not \(v)") }
            resolved.httpListen = v
        }
        if let (v, _) = value("pipelines") { resolved.pipelines = v }
        if let (v, from) = value("interval-ms") {
            guard let ms = Int64(v), ms >= 0 else { throw CommandFailure(description: "\(from) must be a non-negative number of ms, not \(v)") }
            resolved.intervalMs = ms
        }
        if let (v, from) = value("num-partitions") {
            guard let n = Int32(v), n > 0 else { throw CommandFailure(description: "\(from) must be a positive number, not \(v)") }
            resolved.numPartitions = n
        }
        if let (v, from) = value("log-retention-ms") {
            guard let ms = Int64(v), ms >= -1 else { throw CommandFailure(description: "\(from) must be -1 or a number of ms, not \(v)") }
            resolved.logRetentionMs = ms
        }
        if let (v, from) = value("log-level") {
            guard let level = Logger.Level(rawValue: v) else {
                throw CommandFailure(description: "\(from) must be one of trace, debug, info, notice, warning, error, critical, not \(v)")
            }
            resolved.logLevel = level
        }
        if let directory = resolved.pipelines {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure(description: "pipelines directory \(directory) does not exist or is not a directory")
            }
        }
        return resolved
    }

    /// `name = value` lines; blank lines and `#` comments skipped; quotes around a value removed.
    static func readConfig(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(description: "cannot read config file \(path)")
        }
        var result: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw CommandFailure(description: "\(path):\(number + 1): expected `name = value`, found `\(line)`")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard optionNames.contains(name) else {
                throw CommandFailure(description: "\(path):\(number + 1): unknown option `\(name)`; the options are \(optionNames.joined(separator: ", "))")
            }
            result[name] = value
        }
        return result
    }

    func run() async throws {
        let options = try resolve()
        var logger = Logger(label: "eddy.server")
        logger.logLevel = options.logLevel
        Allocator.tune(for: .engine)
        try FileManager.default.createDirectory(atPath: options.dataDir, withIntermediateDirectories: true)

        let registry = PrometheusCollectorRegistry()
        // Libraries that report through swift-metrics (Hummingbird's request metrics) land in the same registry.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let embedded = try EmbeddedBroker(dataDirectory: options.dataDir + "/broker", listen: options.listen,
                                          defaultPartitions: options.numPartitions, retentionMs: options.logRetentionMs, logger: logger)
        let broker = embedded.broker
        let hub = EventHub()
        let metrics = PipelineMetrics(registry: registry)
        var hostConfig = PipelineHost.Configuration(dataDirectory: options.dataDir)
        hostConfig.pipelinesDirectory = options.pipelines
        hostConfig.intervalMs = options.intervalMs
        let listen = options.listen
        let host = PipelineHost(
            configuration: hostConfig,
            connectors: { SQLConnectors.standard(embedded: (broker, listen)) },
            deadLetters: { name in try LogDeadLetterSink(log: broker, topic: ServerInfo.deadLetterTopic(name)) },
            events: hub, metrics: metrics, logger: logger)
        let rates = TopicRates()
        let info = ServerInfo(kafkaAddress: options.listen, httpAddress: options.httpListen, dataDirectory: options.dataDir,
                              pipelinesDirectory: options.pipelines)
        let api = HTTPAPI(host: host, broker: broker, hub: hub, registry: registry,
                          brokerMetrics: BrokerMetrics(registry: registry, broker: broker), rates: rates, info: info)
        let (httpHost, httpPort) = BrokerCommand.split(options.httpListen)!
        let router = api.router()
        router.middlewares.add(MetricsMiddleware())
        let http = Application(router: router, configuration: .init(address: .hostname(httpHost, port: httpPort), serverName: "eddy"),
                               eventLoopGroupProvider: .shared(embedded.group), logger: logger)
        print("eddy server \(EddyVersion.current): Kafka on \(options.listen), dashboard and API on http://\(options.httpListen)/, data in \(options.dataDir)")
        fflush(nil)  // the address line reaches a log file or pipe at once
        // Graceful shutdown runs in reverse order: the ticker ends the event streams, then HTTP stops,
        // then the queries stop between batches, then the broker.
        let services = ServiceGroup(configuration: .init(
            services: embedded.services + [
                .init(service: PipelineHostService(host: host)),
                .init(service: http, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: OverviewTicker(broker: broker, hub: hub, rates: rates)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        SecondSignal.exitsAtOnce()
        let failure = await services.runUntilStopped(logger: logger, "eddy server")
        try await embedded.close()
        if let failure {
            FileHandle.standardError.write(Data("eddy server: \(failure)\n".utf8))
            throw ExitCode(2)
        }
        print("eddy server: stopped")
    }
}
