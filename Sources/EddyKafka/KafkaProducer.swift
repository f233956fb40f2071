import CRdKafka

/// An error from librdkafka: its error name and text, and what Eddy was doing.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var description: String

    init(_ context: String, _ code: rd_kafka_resp_err_t) {
        description = "\(context): \(String(cString: rd_kafka_err2name(code))) (\(String(cString: rd_kafka_err2str(code))))"
    }

    public init(_ text: String) {
        description = text
    }
}

/// A Kafka producer on librdkafka, for any Kafka-protocol cluster (Eddy's own broker or Kafka).
///
/// `properties` are librdkafka's configuration names and values as the Kafka clients know them
/// (`bootstrap.servers`, `acks`, `compression.type`, `linger.ms`, `enable.idempotence`, …). Eddy's
/// defaults, each overridable: `acks=all`, `enable.idempotence=true` and `partitioner=murmur2_random`
/// (the Java client's partitioner, so a key lands in the same partition whichever client wrote it).
///
/// `send` only enqueues; when librdkafka's queue is full (`queue.buffering.max.messages`/`kbytes`) it
/// serves delivery reports until there is room, so a fast generator is paced by the broker instead of
/// failing, and it throws as soon as a record has failed. `flush` waits for every report and returns
/// the counts; a failed record is counted with the first error seen, and records still queued when
/// the producer goes away are purged with failure reports, never dropped silently. `delivered` counts
/// only with delivery reports for every record (not with `delivery.report.only.error=true`). Not
/// thread-safe: one thread at a time.
public final class KafkaProducer {
    public struct Deliveries: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        public var firstError: String?
    }

    /// Delivery reports land here, through librdkafka's opaque pointer.
    private final class Reports {
        var deliveries = Deliveries()
    }

    public static let defaults = ["acks": "all", "enable.idempotence": "true", "partitioner": "murmur2_random"]

    private let handle: OpaquePointer
    private let reports = Reports()
    private var topics: [String: OpaquePointer] = [:]

    public init(_ properties: [String: String]) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError("cannot allocate a librdkafka configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in Self.defaults.merging(properties, uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaError("producer property \(name)=\(value): \(cText(errorText))")
            }
        }
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let reports = Unmanaged<Reports>.fromOpaque(opaque).takeUnretainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                reports.deliveries.delivered += 1
            } else {
                reports.deliveries.failed += 1
                if reports.deliveries.firstError == nil {
                    reports.deliveries.firstError = KafkaError("delivery failed", message.pointee.err).description
                }
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(reports).toOpaque())
        // On success rd_kafka_new owns the configuration; on failure it is still ours.
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create a producer: \(cText(errorText))")
        }
        self.handle = handle
    }

    deinit {
        // Records still queued or in flight (after a failure) fail now, with reports, rather than
        // vanish inside rd_kafka_destroy.
        rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_poll(handle, 0)
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        rd_kafka_destroy(handle)
    }

    /// Reports received so far.
    public var deliveries: Deliveries { reports.deliveries }

    /// Enqueues one record (the partitioner picks the partition from the key; no key: sticky random).
    /// Throws once any earlier record has failed, so a producer that cannot deliver stops early
    /// instead of queueing everything first.
    public func send(topic: String, key: [UInt8]?, value: [UInt8]) throws(KafkaError) {
        if let error = reports.deliveries.firstError { throw KafkaError(error) }
        let topicHandle = try self.topic(topic)
        while true {
            let result = value.withUnsafeBytes { payload in
                withOptional(key) { keyBytes in
                    rd_kafka_produce(topicHandle, -1 /* RD_KAFKA_PARTITION_UA */, RD_KAFKA_MSG_F_COPY,
                                     UnsafeMutableRawPointer(mutating: payload.baseAddress), payload.count,
                                     keyBytes?.baseAddress, keyBytes?.count ?? 0, nil)
                }
            }
            if result == 0 { return }
            let code = rd_kafka_last_error()
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw KafkaError("cannot enqueue a record for \(topic)", code) }
            rd_kafka_poll(handle, 100)  // serve delivery reports until the queue has room
            if let error = reports.deliveries.firstError { throw KafkaError(error) }
        }
    }

    /// Serves delivery reports that have arrived, without waiting.
    public func poll() {
        rd_kafka_poll(handle, 0)
    }

    /// Waits until every enqueued record is delivered or failed, at most `timeoutMs` (give it more
    /// than `message.timeout.ms`, after which librdkafka fails a record it could not deliver).
    public func flush(timeoutMs: Int32) throws(KafkaError) -> Deliveries {
        let code = rd_kafka_flush(handle, timeoutMs)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("\(rd_kafka_outq_len(handle)) records still undelivered after \(timeoutMs) ms", code)
        }
        return reports.deliveries
    }

    private func topic(_ name: String) throws(KafkaError) -> OpaquePointer {
        if let existing = topics[name] { return existing }
        guard let created = rd_kafka_topic_new(handle, name, nil) else {
            throw KafkaError("cannot use topic \(name)", rd_kafka_last_error())
        }
        topics[name] = created
        return created
    }
}

