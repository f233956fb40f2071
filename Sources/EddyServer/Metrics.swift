import EddyBroker
import EddyEngine
import EddyFormats
import EddyWire
import Foundation
import Prometheus

/// The pipelines' metrics in Prometheus form (names and labels in docs/metrics.md), fed by each
/// batch's progress record. Label values are the pipeline's name and the table a query writes.
public final class PipelineMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    /// Every metric made per pipeline (once per name and labels), so a deleted pipeline's series go
    /// away with it.
    private var made: [String: [String: Made]] = [:]

    private enum Made {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    /// Seconds: 5 ms to 2 min.
    static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
    /// Seconds: 10 ms to 1 h (replayed history is minutes to hours behind).
    static let latencyBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "eddy", subsystem: "pipeline", metricName: metric, unitName: unit, helpText: help)
    }

    static var inputRows: MetricNameDescriptor { name("input_rows", "total", "Rows the pipeline's sources read.") }
    static var inputBytes: MetricNameDescriptor { name("input_bytes", "total", "Bytes the pipeline's sources read (estimated from offsets for logs).") }
    static var outputRows: MetricNameDescriptor { name("output_rows", "total", "Rows the pipeline wrote to its sink.") }
    static var batches: MetricNameDescriptor { name("batches", "total", "Micro-batches committed.") }
    static var batchDuration: MetricNameDescriptor { name("batch_duration", "seconds", "Wall time of a micro-batch, from its start to its commit.") }
    static var latency: MetricNameDescriptor { name("end_to_end_latency", "seconds",
                              "Per batch: sink commit time minus the event time of the batch's oldest row at or after the watermark.") }
    static var recordLatency: MetricNameDescriptor { name("record_latency", "seconds",
                              "Per batch: sink commit time minus the oldest Kafka record timestamp read (producer's CreateTime or the broker's LogAppendTime).") }
    static var watermarkDelay: MetricNameDescriptor { name("watermark_delay", "seconds", "Commit time of the last batch minus the watermark.") }
    static var stateRows: MetricNameDescriptor { name("state_rows", "", "Rows (groups, windows) held in the pipeline's state.") }
    static var stateBytes: MetricNameDescriptor { name("state", "bytes", "Bytes of state held in memory.") }
    static var lateRows: MetricNameDescriptor { name("late_rows", "total", "Rows dropped because they arrived behind the watermark.") }
    static var stateCheckpointBytes: MetricNameDescriptor { name("state_checkpoint", "bytes_total",
                              "State bytes written to the checkpoint: each batch's deltas or snapshots, and the snapshots compactions rebuilt.") }
    static var stateExpiredRows: MetricNameDescriptor { name("state_expired_rows", "total", "Groups dropped by the state TTL (table.exec.state.ttl).") }
    static var deadLetters: MetricNameDescriptor { name("dead_letter_rows", "total", "Rows sent to the dead-letter destination, by reason.") }
    static var behind: MetricNameDescriptor { name("offsets_behind_latest", "", "Records between the last batch's end and the newest offset, summed over partitions.") }
    static var behindSeconds: MetricNameDescriptor { name("source_lag", "seconds", "Age of the oldest record a log source has not read, over its partitions (0 when caught up).") }
    private static func source(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "eddy", subsystem: "source", metricName: metric, unitName: unit, helpText: help)
    }
    static var sourceRows: MetricNameDescriptor { source("rows", "total", "Rows a source decoded (per source of a query).") }
    static var nulls: MetricNameDescriptor { source("null_values", "total", "NULLs among the decoded rows, per column (null rate: divide by eddy_source_rows_total).") }
    static var malformed: MetricNameDescriptor { source("malformed_records", "total", "Records that did not decode or fit the schema, by cause (malformedJSON, typeMismatch, missingField, …).") }
    static var errors: MetricNameDescriptor { name("errors", "total", "Query failures, by kind (start: could not start; query: stopped by an error).") }
    static var up: MetricNameDescriptor { name("up", "", "1 while the pipeline runs, 0 otherwise.") }

    private func labels(_ pipeline: String, _ query: String) -> [(String, String)] { [("pipeline", pipeline), ("query", query)] }

    private func counter(_ descriptor: MetricNameDescriptor, _ pipeline: String, _ labels: [(String, String)]) -> Counter {
        let metric = registry.makeCounter(descriptor: descriptor, labels: labels)
        remember(pipeline, descriptor, labels, .counter(metric))
        return metric
    }

    private func gauge(_ descriptor: MetricNameDescriptor, _ pipeline: String, _ labels: [(String, String)]) -> Gauge {
        let metric = registry.makeGauge(descriptor: descriptor, labels: labels)
        remember(pipeline, descriptor, labels, .gauge(metric))
        return metric
    }

    private func histogram(_ descriptor: MetricNameDescriptor, _ pipeline: String, _ labels: [(String, String)], _ buckets: [Double]) -> ValueHistogram {
        let metric = registry.makeValueHistogram(descriptor: descriptor, labels: labels, buckets: buckets)
        remember(pipeline, descriptor, labels, .histogram(metric))
        return metric
    }

    /// The registry hands back the same metric for the same name and labels; it is kept once.
    private func remember(_ pipeline: String, _ descriptor: MetricNameDescriptor, _ labels: [(String, String)], _ metric: Made) {
        let key = descriptor.name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
        lock.withLock { made[pipeline, default: [:]][key] = metric }
    }

    /// One batch's progress into the series of its pipeline and query.
    public func record(_ progress: StreamingQueryProgress, pipeline: String, query: String) {
        let labels = labels(pipeline, query)
        counter(Self.inputRows, pipeline, labels).increment(by: progress.numInputRows)
        counter(Self.outputRows, pipeline, labels).increment(by: progress.sink.numOutputRows)
        counter(Self.batches, pipeline, labels).increment()
        let durationMs = progress.durationMs["triggerExecution"] ?? 0
        histogram(Self.batchDuration, pipeline, labels, Self.durationBuckets).record(Double(durationMs) / 1000)
        let startMs = parseISOTimestamp(progress.timestamp)
        let commitMs = startMs.map { $0 + durationMs }
        if let slowest = progress.latencyMs["max"] {
            histogram(Self.latency, pipeline, labels, Self.latencyBuckets).record(Double(slowest) / 1000)
        }
        if let slowest = progress.latencyMs["sinceRecordTimeMax"] {
            histogram(Self.recordLatency, pipeline, labels, Self.latencyBuckets).record(Double(slowest) / 1000)
        }
        if let commitMs, let watermark = progress.eventTime["watermark"].flatMap(parseISOTimestamp) {
            gauge(Self.watermarkDelay, pipeline, labels).set(Double(commitMs - watermark) / 1000)
        }
        gauge(Self.stateRows, pipeline, labels).set(Double(progress.stateOperators.reduce(0) { $0 + $1.numRowsTotal }))
        gauge(Self.stateBytes, pipeline, labels).set(Double(progress.stateOperators.reduce(0) { $0 + $1.memoryUsedBytes }))
        counter(Self.lateRows, pipeline, labels).increment(by: progress.stateOperators.reduce(0) { $0 + $1.numRowsDroppedByWatermark })
        let written = progress.stateOperators.compactMap { operatorProgress -> Int64? in
            let metrics = operatorProgress.customMetrics
            guard metrics["stateCheckpointBytes"] != nil || metrics["stateCompactionBytes"] != nil else { return nil }
            return (metrics["stateCheckpointBytes"] ?? 0) + (metrics["stateCompactionBytes"] ?? 0)
        }
        if !written.isEmpty { counter(Self.stateCheckpointBytes, pipeline, labels).increment(by: written.reduce(0, +)) }
        let expired = progress.stateOperators.compactMap { $0.customMetrics["numRowsExpiredByTTL"] }
        if !expired.isEmpty { counter(Self.stateExpiredRows, pipeline, labels).increment(by: expired.reduce(0, +)) }
        for (reason, count) in progress.numDeadLetterRows where count > 0 {
            counter(Self.deadLetters, pipeline, labels + [("reason", reason)]).increment(by: count)
        }
        for source in progress.sources {
            let labels = labels + [("source", source.description)]
            counter(Self.sourceRows, pipeline, labels).increment(by: source.numInputRows)
            for (key, value) in source.metrics {
                guard let count = Int64(value), count >= 0 else { continue }
                if key.hasPrefix("nulls.") {  // every column, 0 too: a null rate of 0 is a series
                    counter(Self.nulls, pipeline, labels + [("column", String(key.dropFirst("nulls.".count)))]).increment(by: count)
                } else if key.hasPrefix("malformed.") {
                    counter(Self.malformed, pipeline, labels + [("cause", String(key.dropFirst("malformed.".count)))]).increment(by: count)
                }
            }
        }
        let behind = progress.sources.reduce(0.0) { $0 + (Double($1.metrics["avgOffsetsBehindLatest"] ?? "0") ?? 0) * Double(max(1, $1.endOffset.partitions.count)) }
        gauge(Self.behind, pipeline, labels).set(behind)
        let behindSeconds = progress.sources.compactMap { Double($0.metrics["maxSecondsBehindLatest"] ?? "") }.max() ?? 0
        gauge(Self.behindSeconds, pipeline, labels).set(behindSeconds)
    }

    /// The series a pipeline has from its start (Prometheus' advice: counters that exist at 0, so
    /// `rate` and `increase` see the first error).
    public func register(pipeline: String) {
        for kind in ["start", "query"] { _ = counter(Self.errors, pipeline, [("pipeline", pipeline), ("kind", kind)]) }
        setUp(pipeline: pipeline, running: false)
    }

    public func countError(pipeline: String, kind: String) {
        counter(Self.errors, pipeline, [("pipeline", pipeline), ("kind", kind)]).increment()
    }

    public func setUp(pipeline: String, running: Bool) {
        gauge(Self.up, pipeline, [("pipeline", pipeline)]).set(to: running ? 1.0 : 0.0)
    }

    /// Removes a deleted pipeline's series.
    public func forget(pipeline: String) {
        let metrics = lock.withLock { made.removeValue(forKey: pipeline) ?? [:] }
        for metric in metrics.values {
            switch metric {
            case .counter(let c): registry.unregisterCounter(c)
            case .gauge(let g): registry.unregisterGauge(g)
            case .histogram(let h): registry.unregisterValueHistogram(h)
            }
        }
    }
}

/// The broker's series, read when Prometheus scrapes: topics, consumer-group lag, request counts.
public final class BrokerMetrics: @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    let broker: Broker
    private let lock = NSLock()
    private var counted: [String: Int] = [:]
    private var gauges: [String: Gauge] = [:]
    private var seen: Set<String> = []

    public init(registry: PrometheusCollectorRegistry, broker: Broker) {
        self.registry = registry
        self.broker = broker
    }

    private static func name(_ subsystem: String, _ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "eddy", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }

    static var lagRecords: MetricNameDescriptor { name("consumer_group", "lag", "records", "Records between a group's committed offset and the log end, per partition.") }
    static var lagSeconds: MetricNameDescriptor { name("consumer_group", "lag", "seconds", "Age of the first record a group has not committed past, per partition (0 when caught up).") }
    static var endOffset: MetricNameDescriptor { name("topic", "log_end_offset", "", "Next offset of a partition.") }
    static var startOffset: MetricNameDescriptor { name("topic", "log_start_offset", "", "First offset still kept in a partition.") }
    static var size: MetricNameDescriptor { name("topic", "size", "bytes", "Bytes on disk of a partition's segments.") }
    static var requests: MetricNameDescriptor { name("broker", "requests", "total", "Kafka requests handled, by API.") }
    static var malformed: MetricNameDescriptor { name("broker", "malformed_frames", "total", "Request frames that did not decode (the connection is closed).") }
    static var rejected: MetricNameDescriptor { name("broker", "rejected_connections", "total", "Connections refused past max.connections.") }

    /// Sets the broker's series from its state now (called before each scrape).
    public func refresh() async {
        let lag = (try? await broker.consumerLag()) ?? []
        let topics = broker.topicSummaries()
        lock.withLock {
            var current: Set<String> = []
            func set(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)], _ value: Double) {
                let key = descriptor.name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
                current.insert(key)
                let gauge = gauges[key] ?? registry.makeGauge(descriptor: descriptor, labels: labels)
                gauges[key] = gauge
                gauge.set(value)
            }
            for entry in lag {
                let labels = [("group", entry.group), ("topic", entry.topicPartition.topic), ("partition", String(entry.topicPartition.partition.rawValue))]
                set(Self.lagRecords, labels, Double(entry.lagRecords))
                set(Self.lagSeconds, labels, entry.lagSeconds)
            }
            for topic in topics where !topic.isInternal {
                for p in topic.partitions {
                    let labels = [("topic", topic.name), ("partition", String(p.partition))]
                    set(Self.endOffset, labels, Double(p.logEndOffset))
                    set(Self.startOffset, labels, Double(p.logStartOffset))
                    set(Self.size, labels, Double(p.sizeBytes))
                }
            }
            // Series of deleted topics and groups go away.
            for key in seen.subtracting(current) {
                if let gauge = gauges.removeValue(forKey: key) { registry.unregisterGauge(gauge) }
            }
            seen = current
            func advance(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)], to total: Int) {
                let key = descriptor.name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
                let delta = total - (counted[key] ?? 0)
                counted[key] = total
                let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
                if delta > 0 { counter.increment(by: Int64(delta)) }
            }
            for key in ApiKey.allCases {
                let count = broker.stats.requests(key)
                if count > 0 { advance(Self.requests, [("api", key.name)], to: count) }
            }
            advance(Self.malformed, [], to: broker.stats.malformedFrames)
            advance(Self.rejected, [], to: broker.stats.rejectedConnections)
        }
    }
}
