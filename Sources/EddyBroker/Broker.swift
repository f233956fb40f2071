import EddyCore
import EddyLog
import EddyWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The broker's state and request dispatch, apart from sockets: `handle` takes one request frame's
/// payload and returns the response frame (or nil when none is due, as for acks=0). `KafkaServer`
/// drives it from connections; tests can call it directly.
public final class Broker: Sendable {
    public let config: BrokerConfig
    public let clusterId: String
    let topics: TopicRegistry
    let groupCommit: GroupCommit
    let groups: GroupService
    let producerIds: ProducerIdAllocator
    let transactions: TransactionService
    let appendSignal = AppendSignal()
    let pool: NIOThreadPool
    let logger: Logger
    let clock: @Sendable () -> Int64
    public let stats = BrokerStats()
    let instruments = BrokerInstruments()
    let directoryLock: DataDirectoryLock
    /// The engine's transactional topic sinks in this process (`TransactionalRecordLog`).
    let inProcessProducers = InProcessProducers()

    /// Locks `config.dataDirectory` (`DataDirectoryLock`: one broker per directory), then opens (and
    /// recovers) every partition under it. `pool` runs file I/O.
    public init(config: BrokerConfig, pool: NIOThreadPool, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.config = config
        self.pool = pool
        self.logger = logger
        self.clock = clock
        // Before anything reads or recovers the directory.
        self.directoryLock = try DataDirectoryLock(config.dataDirectory)
        self.topics = try TopicRegistry(dataDirectory: config.dataDirectory, defaults: config.logDefaults, clock: clock)
        self.groupCommit = GroupCommit(pool: pool)
        self.groups = GroupService(settings: config.groupCoordinator, clock: clock)
        self.clusterId = try Self.loadClusterId(config.dataDirectory)
        self.producerIds = try ProducerIdAllocator(dataDirectory: config.dataDirectory)
        var transactionConfig = TransactionCoordinatorConfig()
        transactionConfig.abortTimedOutCheckIntervalMs = config.transactionAbortCheckIntervalMs
        transactionConfig.maxTimeoutMs = config.transactionMaxTimeoutMs
        self.transactions = TransactionService(allocator: producerIds, config: transactionConfig)
        for topic in topics.all {
            for p in topic.partitions {
                p.withLog { log in
                    if let report = log.recoveryReport, !report.isEmpty {
                        logger.warning("recovered \(p.topicPartition): \(report)")
                    }
                }
            }
        }
        try openOffsetsTopic()
        try openTransactionStateTopic()
    }

    /// The cluster id is made once per data directory and kept in `<data>/eddy-cluster-id`.
    private static func loadClusterId(_ directory: String) throws -> String {
        let path = directory + "/eddy-cluster-id"
        if let data = FileManager.default.contents(atPath: path), let id = String(data: data, encoding: .utf8), !id.isEmpty {
            return id.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let id = KafkaUUID.random().description
        try DurableFile.replace(path, with: Array(id.utf8))
        return id
    }

    /// Flushes and closes every partition (graceful shutdown).
    public func close() throws {
        defer { directoryLock.release() }
        try topics.closeAll()
    }

    /// Runs blocking file I/O off the event loops and the cooperative pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    // MARK: Dispatch

    /// A request the broker cannot take: the connection it came on is closed, as Kafka closes it.
    public struct ConnectionError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Handles one request frame's payload (without its size prefix) and returns the response frame
    /// once it is due (nil when none is: acks=0).
    public func handle(_ payload: ByteBuffer, clientHost: String = "/127.0.0.1") async throws -> ByteBuffer? {
        try await start(payload, clientHost: clientHost).response()
    }

    /// Handles one request frame's payload as far as it can go now: the answer may still wait (a
    /// Produce with acks=all waits for its fsync), while the connection goes on to the next request.
    public func start(_ payload: ByteBuffer, clientHost: String) async throws -> Reply {
        let frame: RequestFrame
        do { frame = try KafkaFrame.decodeRequest(payload) } catch {
            throw ConnectionError(description: "malformed request header: \(error)")
        }
        let version = frame.header.requestApiVersion
        guard let key = frame.apiKey, let api = ApiTable.entries[key] else {
            throw ConnectionError(description: "unknown API key \(frame.header.requestApiKey)")
        }
        guard api.versions.contains(version) else {
            if key == .apiVersions {
                // KIP-511: answer in v0 with the error and our range, so the client can retry lower.
                return .now(try KafkaFrame.encodeResponse(ApiTable.apiVersionsResponse(error: .unsupportedVersion),
                                                          version: 0, correlationId: frame.header.correlationId))
            }
            throw ConnectionError(description: "\(key.name) v\(version) is not supported (\(api.versions))")
        }
        stats.count(key)
        let began = NIODeadline.now()
        return instruments.observe(key, requestBytes: payload.readableBytes, began: began, try await api.run(self, frame, clientHost))
    }
}

/// A response frame, ready now or once `response()` returns (see `Broker.start`).
public enum Reply: Sendable {
    case now(ByteBuffer?)
    case later(@Sendable () async throws -> ByteBuffer?)

    public func response() async throws -> ByteBuffer? {
        switch self {
        case .now(let buffer): buffer
        case .later(let finish): try await finish()
        }
    }
}

/// Counters the broker keeps (the metrics issue exports them).
public final class BrokerStats: Sendable {
    private let box = NIOLockedValueBox<(requests: [Int16: Int], malformedFrames: Int, rejectedConnections: Int)>(([:], 0, 0))

    func count(_ key: ApiKey) { box.withLockedValue { $0.requests[key.rawValue, default: 0] += 1 } }
    public func countMalformedFrame() { box.withLockedValue { $0.malformedFrames += 1 } }
    public func countRejectedConnection() { box.withLockedValue { $0.rejectedConnections += 1 } }
    public var malformedFrames: Int { box.withLockedValue { $0.malformedFrames } }
    public var rejectedConnections: Int { box.withLockedValue { $0.rejectedConnections } }
    public func requests(_ key: ApiKey) -> Int { box.withLockedValue { $0.requests[key.rawValue] ?? 0 } }
}
