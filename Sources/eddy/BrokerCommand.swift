import ArgumentParser
import EddyBroker
import EddyEngine
import EddyLog
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `eddy broker`: a single-node Kafka-compatible broker.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a single-node Kafka-compatible broker.",
        discussion: """
            Any Kafka client can produce to and consume from it (kcat, librdkafka, the Java client, \
            kafka-python, aiokafka). Data lives under --data-dir in Kafka's layout \
            (<topic>-<partition>/<base offset>.log|.index|.timeindex). SIGINT or SIGTERM stops it \
            gracefully: it stops accepting, finishes requests in flight, flushes and closes the logs.
            """
    )

    @Option(help: "Directory for partitions and broker metadata.")
    var dataDir: String

    @Option(help: "Address to listen on, host:port (loopback by default).")
    var listen = "127.0.0.1:9092"

    @Option(help: "Address clients are told to connect to, host:port (advertised.listeners); defaults to --listen.")
    var advertise: String?

    @Option(help: "Create topics on first use (auto.create.topics.enable).")
    var autoCreateTopics = true

    @Option(help: "Partitions of an auto-created topic (num.partitions).")
    var numPartitions: Int32 = 1

    @Option(help: "Largest request frame in bytes (socket.request.max.bytes).")
    var maxRequestBytes = 104_857_600

    @Option(help: "Most client connections at once (max.connections).")
    var maxConnections = 1000

    @Option(help: "Requests read ahead of the one being answered, per connection (queued.max.requests).")
    var maxQueuedRequests = 16

    @Option(help: "Most bytes in one Fetch response (fetch.max.bytes).")
    var fetchMaxBytes = 55 * 1024 * 1024

    @Option(help: "Default retention.ms for topics (log.retention.ms); -1 keeps forever.")
    var logRetentionMs: Int64 = 7 * 24 * 3600 * 1000

    @Option(help: "Default retention.bytes for topics (log.retention.bytes); -1 for no limit.")
    var logRetentionBytes: Int64 = -1

    @Option(help: "Default segment.bytes for topics (log.segment.bytes).")
    var logSegmentBytes = 1 << 30

    @Option(help: "Default flush.messages for topics (log.flush.interval.messages): fsync once this many records are unflushed, whatever the acks.")
    var logFlushIntervalMessages = Int64.max

    @Option(help: "Default flush.ms for topics (log.flush.interval.ms): fsync data unflushed this long, whatever the acks.")
    var logFlushIntervalMs = Int64.max

    @Option(help: "Default preallocate for topics (log.preallocate): reserve disk blocks ahead of appends (up to 16 MiB a partition); false to turn off.")
    var logPreallocate = true

    @Option(help: "How often retention runs, in ms (log.retention.check.interval.ms).")
    var logRetentionCheckIntervalMs: Int64 = 300_000

    @Option(help: "How long the first rebalance of an empty consumer group waits for more members, in ms (group.initial.rebalance.delay.ms).")
    var groupInitialRebalanceDelayMs: Int64 = 3000

    @Option(help: "Shortest session timeout a group member may ask for, in ms (group.min.session.timeout.ms).")
    var groupMinSessionTimeoutMs: Int32 = 6000

    @Option(help: "Longest session timeout a group member may ask for, in ms (group.max.session.timeout.ms).")
    var groupMaxSessionTimeoutMs: Int32 = 1_800_000

    @Option(help: "Most members in one consumer group (group.max.size).")
    var groupMaxSize = Int(Int32.max)

    @Option(help: "Partitions of __consumer_offsets when it is created (offsets.topic.num.partitions).")
    var offsetsTopicNumPartitions: Int32 = 4

    @Option(help: "How often compacted topics are checked for a cleaning pass, in ms (log.cleaner.backoff.ms).")
    var logCleanerBackoffMs: Int64 = 15_000

    @Option(help: "How often transactions past their timeout are aborted, in ms (transaction.abort.timed.out.transaction.cleanup.interval.ms).")
    var transactionAbortCheckIntervalMs: Int64 = 10_000

    @Option(help: "Longest transaction timeout a producer may ask for, in ms (transaction.max.timeout.ms).")
    var transactionMaxTimeoutMs: Int32 = 900_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard Self.split(listen) != nil else { throw ValidationError("--listen must be host:port, not \(listen)") }
        if let advertise, Self.split(advertise) == nil { throw ValidationError("--advertise must be host:port, not \(advertise)") }
        guard numPartitions > 0 else { throw ValidationError("--num-partitions must be positive") }
        guard maxRequestBytes > 0, maxConnections > 0, maxQueuedRequests > 0, fetchMaxBytes > 0 else {
            throw ValidationError("limits must be positive")
        }
        guard logSegmentBytes >= 14 else { throw ValidationError("--log-segment-bytes must be at least 14") }
        guard logFlushIntervalMessages >= 1 else { throw ValidationError("--log-flush-interval-messages must be at least 1") }
        guard logFlushIntervalMs >= 0 else { throw ValidationError("--log-flush-interval-ms must not be negative") }
        guard logRetentionCheckIntervalMs > 0 else { throw ValidationError("--log-retention-check-interval-ms must be positive") }
        guard groupInitialRebalanceDelayMs >= 0 else { throw ValidationError("--group-initial-rebalance-delay-ms must not be negative") }
        guard groupMinSessionTimeoutMs > 0, groupMinSessionTimeoutMs <= groupMaxSessionTimeoutMs else {
            throw ValidationError("--group-min-session-timeout-ms must be positive and at most --group-max-session-timeout-ms")
        }
        guard groupMaxSize > 0, offsetsTopicNumPartitions > 0, logCleanerBackoffMs > 0, transactionAbortCheckIntervalMs > 0,
              transactionMaxTimeoutMs > 0 else {
            throw ValidationError("--group-max-size, --offsets-topic-num-partitions, --log-cleaner-backoff-ms and the transaction options must be positive")
        }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        return (String(address[..<colon]), port)
    }

    func makeConfig() -> BrokerConfig {
        var config = BrokerConfig(dataDirectory: dataDir)
        (config.listenHost, config.listenPort) = Self.split(listen)!
        if let advertise { (config.advertisedHost, config.advertisedPort) = Self.split(advertise).map { ($0.0, $0.1) }! }
        config.autoCreateTopics = autoCreateTopics
        config.defaultPartitions = numPartitions
        config.maxRequestBytes = maxRequestBytes
        config.maxConnections = maxConnections
        config.maxQueuedRequestsPerConnection = maxQueuedRequests
        config.fetchMaxBytes = fetchMaxBytes
        config.retentionCheckIntervalMs = logRetentionCheckIntervalMs
        config.logDefaults.retentionMs = logRetentionMs
        config.logDefaults.retentionBytes = logRetentionBytes
        config.logDefaults.segmentBytes = logSegmentBytes
        config.logDefaults.preallocate = logPreallocate
        config.logDefaults.flushIntervalMessages = logFlushIntervalMessages
        config.logDefaults.flushIntervalMs = logFlushIntervalMs
        config.groupCoordinator.initialRebalanceDelayMs = groupInitialRebalanceDelayMs
        config.groupCoordinator.minSessionTimeoutMs = groupMinSessionTimeoutMs
        config.groupCoordinator.maxSessionTimeoutMs = groupMaxSessionTimeoutMs
        config.groupCoordinator.maxGroupSize = groupMaxSize
        config.offsetsTopicPartitions = offsetsTopicNumPartitions
        config.cleanerBackoffMs = logCleanerBackoffMs
        config.transactionAbortCheckIntervalMs = transactionAbortCheckIntervalMs
        config.transactionMaxTimeoutMs = transactionMaxTimeoutMs
        return config
    }

    func run() async throws {
        var logger = Logger(label: "eddy.broker")
        logger.logLevel = logLevel
        Allocator.tune(for: .broker)
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let broker = try Broker(config: makeConfig(), pool: pool, logger: logger)
        let server = KafkaServer(broker: broker, group: group, logger: logger)
        let services = ServiceGroup(configuration: .init(
            services: broker.backgroundServices.map { .init(service: $0) } + [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        let failure = await services.runUntilStopped(logger: logger, "broker")
        try broker.close()
        logger.info("logs flushed and closed")
        try await group.shutdownGracefully()
        try await pool.shutdownGracefully()
        if let failure { throw failure }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
