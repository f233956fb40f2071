import EddyLog
import EddyWire

/// Everything `eddy broker` can be told. Names follow Kafka's server properties where one exists;
/// every limit is named with its unit last.
public struct BrokerConfig: Sendable {
    /// Where partitions and broker metadata live.
    public var dataDirectory: String
    public var listenHost = "127.0.0.1"
    public var listenPort = 9092
    /// What Metadata tells clients to connect to (`advertised.listeners`); defaults to the listener.
    public var advertisedHost: String? = nil
    public var advertisedPort: Int? = nil
    public var nodeId: Int32 = 0
    /// `auto.create.topics.enable`
    public var autoCreateTopics = true
    /// `num.partitions`: partitions of an auto-created topic or a CreateTopics with -1.
    public var defaultPartitions: Int32 = 1
    /// Topic config defaults (`log.retention.ms`, `log.segment.bytes`, …).
    public var logDefaults = LogConfig()
    /// `socket.request.max.bytes`: a larger frame closes the connection.
    public var maxRequestBytes = KafkaFrame.defaultMaxFrameBytes
    /// `max.connections`: connections past this are closed as they are accepted.
    public var maxConnections = 1000
    /// Requests read ahead of the one being answered on a connection (`queued.max.requests` per
    /// connection); past this, the broker stops reading the socket until it catches up.
    public var maxQueuedRequestsPerConnection = 16
    /// `fetch.max.bytes`: the most a Fetch response carries, whatever the client asks.
    public var fetchMaxBytes = 55 * 1024 * 1024
    /// `log.retention.check.interval.ms`: how often retention and time-based flushes run.
    public var retentionCheckIntervalMs: Int64 = 300_000

    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when it is created (Kafka
    /// has 50 for a cluster; one node needs few).
    public var offsetsTopicPartitions: Int32 = 4
    /// `offsets.topic.segment.bytes`
    public var offsetsTopicSegmentBytes = 100 * 1024 * 1024
    /// `group.min.session.timeout.ms`, `group.max.session.timeout.ms`,
    /// `group.initial.rebalance.delay.ms`, `group.max.size`.
    public var groupCoordinator = GroupCoordinatorSettings()
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often transactions past
    /// their timeout are looked for (and aborted).
    public var transactionAbortCheckIntervalMs: Int64 = 10_000
    /// `transaction.max.timeout.ms`: the longest transaction timeout a producer may ask for.
    public var transactionMaxTimeoutMs: Int32 = 900_000
    /// `log.cleaner.backoff.ms`: how often compacted partitions are checked for a cleaning pass.
    public var cleanerBackoffMs: Int64 = 15_000

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    public var advertised: (host: String, port: Int) {
        (advertisedHost ?? listenHost, advertisedPort ?? listenPort)
    }
}

/// The group coordinator's limits, with Kafka's defaults.
public struct GroupCoordinatorSettings: Sendable {
    public var minSessionTimeoutMs: Int32 = 6000
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// How long the first rebalance of an empty group waits for more members (0: none).
    public var initialRebalanceDelayMs: Int64 = 3000
    public var maxGroupSize = Int.max
    public init() {}
}
