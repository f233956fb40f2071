import Foundation

/// One server-sent event: its name (`progress`, `rows`, `pipeline`, `lag`) and its JSON data.
public struct ServerEvent: Sendable, Equatable {
    public let name: String
    public let json: String
    /// The pipeline the event is about (a stream can ask for one pipeline's events only).
    public let pipeline: String?

    public init(name: String, json: String, pipeline: String? = nil) {
        self.name = name
        self.json = json
        self.pipeline = pipeline
    }

    /// The event in the text/event-stream format.
    public var encoded: String { "event: \(name)\ndata: \(json)\n\n" }
}

/// Fans events out to the server-sent-event streams of the dashboard and API clients. Publishing
/// never waits: each subscriber has a bounded buffer, and a subscriber too slow to keep up loses
/// its oldest events (counted) rather than holding back the pipelines.
public final class EventHub: @unchecked Sendable {
    /// Most event streams open at once; past it a new stream is refused (HTTP 503).
    public static let subscribersMax = 64
    /// Events buffered for one subscriber before its oldest are dropped.
    public static let bufferedEventsMax = 1024

    private let lock = NSLock()
    private var subscribers: [Int: AsyncStream<ServerEvent>.Continuation] = [:]
    private var nextId = 0
    private var _dropped: Int64 = 0
    /// After `finishAll` (the server is stopping) no stream opens: one would keep HTTP from stopping.
    private var closed = false

    public init() {}

    public var subscriberCount: Int { lock.withLock { subscribers.count } }
    /// Events dropped because a subscriber's buffer was full.
    public var dropped: Int64 { lock.withLock { _dropped } }

    /// A stream of the events published from now on; nil when `subscribersMax` streams are open or
    /// the server is stopping.
    public func subscribe() -> AsyncStream<ServerEvent>? {
        let (stream, continuation) = AsyncStream<ServerEvent>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferedEventsMax))
        let id: Int? = lock.withLock {
            guard !closed, subscribers.count < Self.subscribersMax else { return nil }
            nextId += 1
            subscribers[nextId] = continuation
            return nextId
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            _ = self.lock.withLock { self.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ event: ServerEvent) {
        let targets = lock.withLock { Array(subscribers.values) }
        var dropped: Int64 = 0
        for continuation in targets {
            if case .dropped = continuation.yield(event) { dropped += 1 }
        }
        if dropped > 0 { lock.withLock { _dropped += dropped } }
    }

    /// Ends every stream (server shutdown).
    public func finishAll() {
        let targets = lock.withLock {
            closed = true
            return Array(subscribers.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
