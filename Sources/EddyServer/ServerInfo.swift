import EddyBroker
import EddyCore
import EddyEngine
import Foundation
import ServiceLifecycle

/// What `GET /api/info` says about the server.
public struct ServerInfo: Sendable {
    public var kafkaAddress: String
    public var httpAddress: String
    public var dataDirectory: String
    public var pipelinesDirectory: String?
    public let startedMs = Int64(Date().timeIntervalSince1970 * 1000)

    public init(kafkaAddress: String, httpAddress: String, dataDirectory: String, pipelinesDirectory: String?) {
        self.kafkaAddress = kafkaAddress
        self.httpAddress = httpAddress
        self.dataDirectory = dataDirectory
        self.pipelinesDirectory = pipelinesDirectory
    }

    /// Where a pipeline's dead letters go: a topic of the embedded broker.
    public static func deadLetterTopic(_ pipeline: String) -> String { pipeline + ".dead-letters" }

    var json: String {
        let limits = [
            #""bodyBytesMax":\#(HTTPAPI.bodyBytesMax)"#, #""itemsMax":\#(HTTPAPI.itemsMax)"#,
            #""pipelinesMax":\#(PipelineHost.pipelinesMax)"#, #""sqlBytesMax":\#(PipelineHost.sqlBytesMax)"#,
            #""eventStreamsMax":\#(EventHub.subscribersMax)"#, #""eventsBufferedMax":\#(EventHub.bufferedEventsMax)"#,
            #""progressKept":\#(PipelineHost.progressKept)"#, #""rowsKept":\#(PipelineHost.rowsKept)"#,
        ]
        return #"{"version":\#(jsonString(EddyVersion.current)),"kafka":\#(jsonString(kafkaAddress)),"http":\#(jsonString(httpAddress)),"dataDirectory":\#(jsonString(dataDirectory)),"pipelinesDirectory":\#(pipelinesDirectory.map(jsonString) ?? "null"),"startedAt":\#(jsonString(formatTimestamp(startedMs))),"limits":{\#(limits.joined(separator: ","))}}"#
    }
}

/// Messages per second into each topic, from the log end offsets sampled by the ticker.
public final class TopicRates: @unchecked Sendable {
    private let lock = NSLock()
    private var last: (ms: Int64, ends: [String: Int64])?
    private var rates: [String: Double] = [:]

    public init() {}

    func sample(_ topics: [Broker.TopicSummary], nowMs: Int64) {
        let ends = Dictionary(topics.map { ($0.name, $0.partitions.reduce(Int64(0)) { $0 + $1.logEndOffset }) }, uniquingKeysWith: { a, _ in a })
        lock.withLock {
            if let last, nowMs > last.ms {
                rates = ends.mapValues { _ in 0 }
                for (name, end) in ends {
                    rates[name] = Double(max(0, end - (last.ends[name] ?? end))) * 1000 / Double(nowMs - last.ms)
                }
            }
            last = (nowMs, ends)
        }
    }

    public func rate(_ topic: String) -> Double { lock.withLock { rates[topic] ?? 0 } }
}

/// Every `intervalMs`: samples topic rates and sends an `overview` event (topics' rates, groups'
/// lag) to the event streams, which also tells a stream whose client left that it is gone. On
/// graceful shutdown it ends every event stream, so the HTTP server can stop.
public struct OverviewTicker: Service {
    let broker: Broker
    let hub: EventHub
    let rates: TopicRates
    let intervalMs: Int64

    public init(broker: Broker, hub: EventHub, rates: TopicRates, intervalMs: Int64 = 2000) {
        self.broker = broker
        self.hub = hub
        self.rates = rates
        self.intervalMs = intervalMs
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let topics = broker.topicSummaries().filter { !$0.isInternal }
                rates.sample(topics, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                let lag = (try? await broker.consumerLag()) ?? []
                var groups: [String: (Int64, Double)] = [:]
                for entry in lag {
                    let current = groups[entry.group] ?? (0, 0)
                    groups[entry.group] = (current.0 + entry.lagRecords, max(current.1, entry.lagSeconds))
                }
                let topicItems = topics.map {
                    #"{"name":\#(jsonString($0.name)),"records":\#($0.partitions.reduce(Int64(0)) { $0 + $1.logEndOffset - $1.logStartOffset }),"messagesPerSecond":\#(jsonNumber(rates.rate($0.name)))}"#
                }
                let groupItems = groups.sorted { $0.key < $1.key }.map {
                    #"{"groupId":\#(jsonString($0.key)),"lagRecords":\#($0.value.0),"lagSeconds":\#(jsonNumber($0.value.1))}"#
                }
                hub.publish(ServerEvent(name: "overview", json: #"{"time":\#(jsonString(formatTimestamp(Int64(Date().timeIntervalSince1970 * 1000)))),"topics":[\#(topicItems.joined(separator: ","))],"groups":[\#(groupItems.joined(separator: ","))]}"#))
                try? await Task.sleep(nanoseconds: UInt64(intervalMs) * 1_000_000)
            }
        }
        hub.finishAll()
    }
}
