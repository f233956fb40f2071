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

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    public var advertised: (host: String, port: Int) {
        (advertisedHost ?? listenHost, advertisedPort ?? listenPort)
    }
}
