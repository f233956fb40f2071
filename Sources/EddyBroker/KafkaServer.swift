import EddyWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Kafka listener: accepts connections and answers each connection's requests in order, one at
/// a time (as Kafka does: a connection is muted while its request is handled). A malformed or
/// oversized frame closes that connection only. On graceful shutdown it stops accepting, lets each
/// connection finish the request it is on, and returns.
public final class KafkaServer: Service, Sendable {
    private let broker: Broker
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connections = NIOLockedValueBox<ConnectionTable>(ConnectionTable())
    /// Resolved once the listener is bound (port 0 picks a free port).
    public let boundPort = NIOLockedValueBox<Int?>(nil)

    struct ConnectionTable {
        /// Each connection with the number of requests it has taken and not yet answered.
        var open: [ObjectIdentifier: (channel: any Channel, unanswered: Int)] = [:]
        var shuttingDown = false
    }

    public init(broker: Broker, group: any EventLoopGroup, logger: Logger) {
        self.broker = broker
        self.group = group
        self.logger = logger
    }

    /// The listener could not bind: the address is taken, not this host's, or does not resolve.
    public struct ListenError: Error, CustomStringConvertible {
        public let description: String
    }

    public func run() async throws {
        let config = broker.config
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await bind(config)
        } catch {
            let cause = (error as? IOError).map { "\(String(cString: strerror($0.errnoCode))) (errno \($0.errnoCode))" } ?? "\(error)"
            throw ListenError(description: "cannot listen on \(config.listenHost):\(config.listenPort): \(cause)")
        }
        let port = server.channel.localAddress?.port
        boundPort.withLockedValue { $0 = port }
        logger.info("listening", metadata: ["address": "\(config.listenHost):\(port ?? -1)"])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        guard admit(connection.channel) else {
                            broker.stats.countRejectedConnection()
                            logger.warning("refusing a connection: max.connections \(config.maxConnections) reached")
                            try? await connection.channel.close()
                            continue
                        }
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.broker.groups.shutDown()
            self.beginShutdown(server.channel)
        }
        logger.info("listener stopped")
    }

    private func bind(_ config: BrokerConfig) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: config.listenHost, port: config.listenPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(KafkaFrameHandler(maxFrameBytes: config.maxRequestBytes))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(
                            lowWatermark: 1, highWatermark: max(2, config.maxQueuedRequestsPerConnection))))
                }
            }
    }

    private func admit(_ channel: any Channel) -> Bool {
        connections.withLockedValue { table in
            guard !table.shuttingDown, table.open.count < broker.config.maxConnections else { return false }
            table.open[ObjectIdentifier(channel)] = (channel, 0)
            return true
        }
    }

    /// Stops accepting and closes idle connections; busy ones close after their current response.
    private func beginShutdown(_ server: any Channel) {
        let idle = connections.withLockedValue { table -> [any Channel] in
            table.shuttingDown = true
            return table.open.values.filter { $0.unanswered == 0 }.map(\.channel)
        }
        server.close(promise: nil)
        for channel in idle { channel.close(promise: nil) }
    }

    /// A request was taken on the connection; false when it should close instead (shutdown began).
    private func begin(_ channel: any Channel) -> Bool {
        connections.withLockedValue { table in
            guard !table.shuttingDown else { return false }
            table.open[ObjectIdentifier(channel)]?.unanswered += 1
            return true
        }
    }

    /// A request's answer was written; false when the connection should close (shutdown began and
    /// nothing else is unanswered).
    private func end(_ channel: any Channel) -> Bool {
        connections.withLockedValue { table in
            guard let entry = table.open[ObjectIdentifier(channel)] else { return false }
            table.open[ObjectIdentifier(channel)]!.unanswered = entry.unanswered - 1
            return !(table.shuttingDown && entry.unanswered == 1)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        let peer = channel.remoteAddress?.description ?? "?"
        let clientHost = "/" + (channel.remoteAddress?.ipAddress ?? "")
        defer { _ = connections.withLockedValue { $0.open.removeValue(forKey: ObjectIdentifier(channel)) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                // The reader handles requests in order and queues their replies; the writer writes
                // them in the same order, waiting on those not due yet (acks=all produces waiting
                // for their fsync), so later requests are handled meanwhile. At most
                // max.queued.requests replies wait; past that the reader waits for the writer.
                let (replies, queue) = AsyncStream.makeStream(of: Reply.self)
                let slots = ReplySlots(limit: max(1, broker.config.maxQueuedRequestsPerConnection))
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        defer { queue.finish() }
                        for try await payload in inbound {
                            await slots.acquire()
                            guard self.begin(channel) else { return }
                            queue.yield(try await self.broker.start(payload, clientHost: clientHost))
                        }
                    }
                    for await reply in replies {
                        if let response = try await reply.response() { try await outbound.write(response) }
                        slots.release()
                        guard end(channel) else { break }
                    }
                    tasks.cancelAll()
                    try await tasks.waitForAll()
                }
            }
        } catch let error as WireError {
            broker.stats.countMalformedFrame()
            logger.warning("closing connection from \(peer): \(error)")
        } catch let error as Broker.ConnectionError {
            broker.stats.countMalformedFrame()
            logger.warning("closing connection from \(peer): \(error)")
        } catch {
            logger.debug("connection from \(peer) ended: \(error)")
        }
    }
}

/// Bounds the replies a connection has queued but not yet written.
private final class ReplySlots: @unchecked Sendable {
    private let lock = NIOLock()
    private let limit: Int
    private var used = 0
    private var waiter: CheckedContinuation<Void, Never>?

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, waiting while all are used (only the connection's reader calls this).
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = lock.withLock { () -> Bool in
                if used < limit {
                    used += 1
                    return true
                }
                waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Gives a slot back (straight to the reader if it is waiting for one).
    func release() {
        let woken = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if let w = waiter {
                waiter = nil
                return w
            }
            used -= 1
            return nil
        }
        woken?.resume()
    }
}
