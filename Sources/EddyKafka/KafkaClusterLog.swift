import CRdKafka
import EddyCore
import Foundation

/// EddyCore's `RecordLog` over any Kafka-protocol cluster (Apache Kafka, Redpanda, a remote `eddy
/// broker`) through librdkafka, so the engine's log source, log sink and dead-letter sink read and
/// write a cluster exactly as they do the broker embedded in the process.
///
/// - Reads use librdkafka's partition consumer (`rd_kafka_consume_start`/`consume_batch`), one per
///   topic, partition and isolation level, without a consumer group: the engine's checkpoint owns
///   the offsets, as Spark's Kafka source does. A read that continues where the last one stopped
///   keeps librdkafka's prefetched records; one that starts elsewhere (a replay) restarts the
///   partition at its offset. Records past the read's end that librdkafka already handed over are
///   kept for the next read. At read_committed librdkafka drops aborted records and control records,
///   so offsets have gaps; a read ends at its `to` when it sees a record at or past it, or the end of
///   the partition there.
/// - Readable ranges are ListOffsets answers (`rd_kafka_query_watermark_offsets`) from a handle of
///   the reader's isolation level: the last stable offset at read_committed.
/// - Appends go through an idempotent producer (`acks=all`) to the given partition and wait for
///   the delivery reports.
///
/// `properties` are librdkafka's (Kafka's) client properties, passed verbatim (`bootstrap.servers`,
/// security settings, …). Thread-safe: calls are serialised.
public final class KafkaClusterLog: TransactionalRecordLog, GroupOffsetsRecordLog, @unchecked Sendable {
    public let properties: [String: String]
    /// How long a call waits for the cluster before it fails.
    public let timeoutMs: Int32
    private let lock = NSLock()
    private var consumers: [IsolationLevel: OpaquePointer] = [:]
    /// Handles for metadata and ListOffsets only: a consuming handle's connection carries fetches
    /// that the broker holds up to `fetch.wait.max.ms` at the end of a partition, and requests on one
    /// connection are answered in order, so a query behind them would wait.
    private var queriers: [IsolationLevel: OpaquePointer] = [:]
    private var partitions: [PartitionKey: PartitionReader] = [:]
    private var producerHandle: OpaquePointer?
    private let deliveries = Deliveries()
    /// Transactional producers by transactional id, and the consumer that reads their markers.
    private var transactional: [String: OpaquePointer] = [:]
    private var markerReaders: [String: OpaquePointer] = [:]

    public init(properties: [String: String], timeoutMs: Int32 = 30_000) throws(KafkaError) {
        guard properties["bootstrap.servers"] != nil else { throw KafkaError("'bootstrap.servers' is required to reach a cluster") }
        self.properties = properties
        self.timeoutMs = timeoutMs
        _ = try querier(.readCommitted)  // bad properties fail here, not at the first read
    }

    deinit {
        for reader in partitions.values { reader.close() }
        for handle in consumers.values { rd_kafka_destroy(handle) }
        for handle in queriers.values { rd_kafka_destroy(handle) }
        for handle in transactional.values { rd_kafka_destroy(handle) }
        for handle in markerReaders.values { rd_kafka_destroy(handle) }
        if let producerHandle {
            rd_kafka_flush(producerHandle, timeoutMs)
            rd_kafka_destroy(producerHandle)
        }
    }

    public var bootstrapServers: String { properties["bootstrap.servers"] ?? "" }

    // MARK: RecordLog

    public func partitionCount(_ topic: String) throws -> Int? {
        try lock.withLock { try metadataPartitions(topic) }
    }

    public func topicNames() throws -> [String] {
        try lock.withLock {
            let handle = try querier(.readCommitted)
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError("the topics of \(bootstrapServers)", code) }
            defer { rd_kafka_metadata_destroy(metadata) }
            return (0..<Int(metadata.pointee.topic_cnt)).compactMap { index in
                let topic = metadata.pointee.topics[index]
                return topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? String(cString: topic.topic) : nil
            }
        }
    }

    public func ensureTopic(_ topic: String, partitions count: Int32, configs: [String: String]) throws -> Int {
        try lock.withLock {
            if let existing = try metadataPartitions(topic) { return existing }
            try createTopic(topic, partitions: count, configs: configs)
            // The cluster may take a moment to show a new topic in its metadata.
            let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
            while Date() < deadline {
                if let created = try metadataPartitions(topic) { return created }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw KafkaError("topic \(topic) was created on \(bootstrapServers) but does not show in its metadata")
        }
    }

    public func readableRanges(_ topic: String, isolation: IsolationLevel) throws -> [ReadableRange]? {
        try lock.withLock {
            guard let count = try metadataPartitions(topic) else { return nil }
            let handle = try querier(isolation)
            var ranges: [ReadableRange] = []
            for partition in 0..<Int32(count) {
                var low: Int64 = 0, high: Int64 = 0
                let code = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMs)
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("offsets of \(topic)-\(partition) on \(bootstrapServers)", code) }
                ranges.append(ReadableRange(start: Offset(low), end: Offset(high)))
            }
            return ranges
        }
    }

    public func offsets(_ topic: String, atOrAfter millis: Int64, isolation: IsolationLevel) throws -> [Offset]? {
        guard let ranges = try readableRanges(topic, isolation: isolation) else { return nil }
        return try lock.withLock {
            guard let list = rd_kafka_topic_partition_list_new(Int32(ranges.count)) else { throw KafkaError("out of memory") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in ranges.indices { rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = millis }
            let code = rd_kafka_offsets_for_times(try querier(isolation), list, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("offsets of \(topic) at \(millis) ms on \(bootstrapServers)", code) }
            return ranges.indices.map { index in
                let element = list.pointee.elems[index]
                // No record at or after the time: the readable end.
                return element.err == RD_KAFKA_RESP_ERR_NO_ERROR && element.offset >= 0 ? Offset(element.offset) : ranges[index].end
            }
        }
    }

    public func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int,
                     isolation: IsolationLevel, _ visit: (LogRecord) throws -> Void) throws -> Offset {
        try read(topic, partition: partition, from: from, to: to, maxBytes: maxBytes, isolation: isolation, headers: true, visit)
    }

    public func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int,
                     isolation: IsolationLevel, headers: Bool, _ visit: (LogRecord) throws -> Void) throws -> Offset {
        guard from < to else { return from }
        return try lock.withLock {
            let reader = try partitionReader(topic, partition, isolation)
            return try reader.read(from: from.rawValue, to: to.rawValue, maxBytes: maxBytes, timeoutMs: timeoutMs, cluster: bootstrapServers,
                                   headers: headers) { record in
                try visit(record)
            }
        }
    }

    /// Starts fetching every partition of the coming reads, so they arrive in parallel.
    public func willRead(_ topic: String, from offsets: [PartitionID: Offset], isolation: IsolationLevel) throws {
        try lock.withLock {
            for (partition, offset) in offsets {
                try partitionReader(topic, partition, isolation).position(at: offset.rawValue, cluster: bootstrapServers)
            }
        }
    }

    /// Only from records librdkafka already handed over past the last read (the fetch is not moved).
    public func firstTimestamp(_ topic: String, partition: PartitionID, at offset: Offset, before: Offset, isolation: IsolationLevel) -> Int64? {
        lock.withLock {
            partitions[PartitionKey(topic: topic, partition: partition.rawValue, isolation: isolation)]?.heldTimestamp(at: offset.rawValue, before: before.rawValue)
        }
    }

    private func partitionReader(_ topic: String, _ partition: PartitionID, _ isolation: IsolationLevel) throws -> PartitionReader {
        let key = PartitionKey(topic: topic, partition: partition.rawValue, isolation: isolation)
        if let existing = partitions[key] { return existing }
        guard let handle = rd_kafka_topic_new(try consumer(isolation), topic, nil) else {
            throw KafkaError("cannot read topic \(topic)", rd_kafka_last_error())
        }
        let reader = PartitionReader(topic: topic, partition: partition.rawValue, handle: handle)
        partitions[key] = reader
        return reader
    }

    public func append(_ topic: String, partition: PartitionID, _ records: [LogAppend]) throws -> Offset {
        try lock.withLock {
            guard !records.isEmpty else { throw KafkaError("nothing to append to \(topic)-\(partition.rawValue)") }
            let producer = try self.producer()
            deliveries.reset(count: records.count)
            for (index, record) in records.enumerated() {
                try produce(producer, topic, partition, record, opaque: index + 1)
            }
            let flushed = rd_kafka_flush(producer, timeoutMs)
            guard flushed == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError("records for \(topic)-\(partition.rawValue) undelivered after \(timeoutMs) ms", flushed)
            }
            if let error = deliveries.firstError { throw KafkaError("append to \(topic)-\(partition.rawValue): \(error)") }
            guard let first = deliveries.firstOffset else { throw KafkaError("append to \(topic)-\(partition.rawValue): no delivery report") }
            return Offset(first)
        }
    }

    // MARK: group offsets

    public func commitGroupOffsets(group: String, topic: String, _ offsets: [PartitionID: Offset]) throws {
        guard !offsets.isEmpty else { return }
        try lock.withLock {
            let handle = try groupConsumer(group)
            guard let list = rd_kafka_topic_partition_list_new(Int32(offsets.count)) else { throw KafkaError("out of memory") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                rd_kafka_topic_partition_list_add(list, topic, partition.rawValue).pointee.offset = offset.rawValue
            }
            let code = rd_kafka_commit(handle, list, 0)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("committing the offsets of \(topic) for group \(group)", code) }
        }
    }

    public func committedGroupOffsets(group: String, topic: String) throws -> [PartitionID: Offset] {
        try lock.withLock {
            guard let count = try metadataPartitions(topic), count > 0 else { return [:] }
            let handle = try groupConsumer(group)
            guard let list = rd_kafka_topic_partition_list_new(Int32(count)) else { throw KafkaError("out of memory") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in 0..<Int32(count) { rd_kafka_topic_partition_list_add(list, topic, partition) }
            let code = rd_kafka_committed(handle, list, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("the offsets of group \(group) for \(topic)", code) }
            var offsets: [PartitionID: Offset] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("the offset of group \(group) for \(topic)-\(element.partition)", element.err) }
                if element.offset >= 0 { offsets[PartitionID(element.partition)] = Offset(element.offset) }
            }
            return offsets
        }
    }

    /// A consumer of `group` that never joins it: it reads and commits the group's offsets only.
    private func groupConsumer(_ group: String) throws -> OpaquePointer {
        if let existing = markerReaders[group] { return existing }
        var settings = properties
        settings["group.id"] = group
        settings["enable.auto.commit"] = "false"
        settings["isolation.level"] = "read_committed"
        let handle = try makeHandle(RD_KAFKA_CONSUMER, settings, what: "consumer")
        markerReaders[group] = handle
        return handle
    }

    // MARK: transactions

    /// The batch marker is an offset committed for partition 0 of the topic in the consumer group
    /// named after the writer (the transactional id), inside the transaction (Kafka's
    /// consume-transform-produce commit, KIP-98/447): batch N commits offset N + 1.
    public func committedBatch(writer: String, topic: String) throws -> Int64? {
        try lock.withLock {
            _ = try transactionalProducer(writer)  // completes or aborts what a previous incarnation left
            let reader = try groupConsumer(writer)
            guard let list = rd_kafka_topic_partition_list_new(1) else { throw KafkaError("out of memory") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            rd_kafka_topic_partition_list_add(list, topic, 0)
            let code = rd_kafka_committed(reader, list, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("the committed batch of \(writer) on \(bootstrapServers)", code) }
            let element = list.pointee.elems[0]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("the committed batch of \(writer) on \(bootstrapServers)", element.err) }
            return element.offset > 0 ? element.offset - 1 : nil
        }
    }

    public func appendTransaction(writer: String, topic: String, batchId: Int64, _ records: [(partition: PartitionID, record: LogAppend)]) throws {
        try lock.withLock {
            let producer = try transactionalProducer(writer)
            try check(rd_kafka_begin_transaction(producer), "begin a transaction of \(writer)", producer)
            do {
                deliveries.reset(count: records.count)
                for (index, entry) in records.enumerated() {
                    try produce(producer, topic, entry.partition, entry.record, opaque: index + 1)
                }
                guard let offsets = rd_kafka_topic_partition_list_new(1) else { throw KafkaError("out of memory") }
                defer { rd_kafka_topic_partition_list_destroy(offsets) }
                rd_kafka_topic_partition_list_add(offsets, topic, 0).pointee.offset = batchId + 1
                guard let group = rd_kafka_consumer_group_metadata_new(writer) else { throw KafkaError("out of memory") }
                defer { rd_kafka_consumer_group_metadata_destroy(group) }
                try check(rd_kafka_send_offsets_to_transaction(producer, offsets, group, timeoutMs), "mark batch \(batchId) of \(writer)", producer)
                // A failed delivery makes the commit fail (an abortable error): nothing is committed then.
                try check(rd_kafka_commit_transaction(producer, timeoutMs), "commit batch \(batchId) of \(writer) to \(topic)", producer)
            } catch {
                // The batch is written again on replay. A fenced producer cannot even abort; one whose
                // abort fails too (a commit that timed out) is replaced.
                if (error as? TransactionFailure)?.fatal == true {
                    discardProducer(writer)
                } else if let abortError = rd_kafka_abort_transaction(producer, timeoutMs) {
                    rd_kafka_error_destroy(abortError)
                    discardProducer(writer)
                }
                throw error
            }
        }
    }

    /// The transactional producer of `writer`, its transactions initialised: this fences an older
    /// incarnation and settles the transaction it left (completed if its commit had begun, else
    /// aborted).
    private func transactionalProducer(_ writer: String) throws -> OpaquePointer {
        if let existing = transactional[writer] { return existing }
        var settings = ["acks": "all", "enable.idempotence": "true"].merging(properties) { $1 }
        for key in ["group.id", "isolation.level", "auto.offset.reset"] { settings[key] = nil }
        settings["transactional.id"] = writer
        let handle = try makeHandle(RD_KAFKA_PRODUCER, settings, what: "transactional producer") { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<Deliveries>.fromOpaque(opaque).takeUnretainedValue().report(message.pointee)
            }
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self.deliveries).toOpaque())
        }
        do {
            try check(rd_kafka_init_transactions(handle, timeoutMs), "initialise the transactions of \(writer)", handle)
        } catch {
            rd_kafka_destroy(handle)
            throw error
        }
        transactional[writer] = handle
        return handle
    }

    /// A failed transactional call; `fatal` when the producer can no longer be used (fenced by a newer
    /// writer with the same transactional id, or refused by the cluster).
    private struct TransactionFailure: Error, CustomStringConvertible {
        let description: String
        let fatal: Bool
    }

    /// Throws a librdkafka transaction error as a `TransactionFailure`.
    private func check(_ error: OpaquePointer?, _ what: String, _ producer: OpaquePointer?) throws {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        let text = String(cString: rd_kafka_error_string(error))
        let fatal = rd_kafka_error_is_fatal(error) != 0
        throw TransactionFailure(description: "cannot \(what) on \(bootstrapServers): \(text)"
                                 + (fatal ? " (fatal: another writer with this transactional id took over, or the cluster refused)" : ""),
                                 fatal: fatal)
    }

    /// Forgets (and destroys) the transactional producer of `writer`: the next write makes a new one,
    /// whose `init_transactions` settles whatever this one left.
    private func discardProducer(_ writer: String) {
        if let producer = transactional.removeValue(forKey: writer) { rd_kafka_destroy(producer) }
    }

    /// Enqueues one record to its partition (headers handed to librdkafka).
    private func produce(_ producer: OpaquePointer, _ topic: String, _ partition: PartitionID, _ record: LogAppend, opaque: Int) throws {
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                _ = withOptional(header.value) { value in
                    rd_kafka_header_add(headers, header.key, -1, value?.baseAddress, value?.count ?? 0)
                }
            }
        }
        while true {
            let code = withOptional(record.key) { key in
                withOptional(record.value) { value in
                    eddy_rd_kafka_produce(producer, topic, partition.rawValue, key?.baseAddress, key?.count ?? 0,
                                          value?.baseAddress, value?.count ?? 0, headers, UnsafeMutableRawPointer(bitPattern: opaque))
                }
            }
            if code == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                if let headers { rd_kafka_headers_destroy(headers) }
                throw KafkaError("cannot produce to \(topic)-\(partition.rawValue)", code)
            }
            rd_kafka_poll(producer, 100)  // serve delivery reports until the queue has room
        }
    }

    // MARK: handles

    private func querier(_ isolation: IsolationLevel) throws(KafkaError) -> OpaquePointer {
        if let existing = queriers[isolation] { return existing }
        var settings = properties
        settings["isolation.level"] = isolation == .readCommitted ? "read_committed" : "read_uncommitted"
        settings["enable.auto.commit"] = "false"
        settings["allow.auto.create.topics"] = "false"
        settings["group.id"] = settings["group.id"] ?? "eddy-no-group"
        let handle = try makeHandle(RD_KAFKA_CONSUMER, settings, what: "consumer")
        queriers[isolation] = handle
        return handle
    }

    private func consumer(_ isolation: IsolationLevel) throws(KafkaError) -> OpaquePointer {
        if let existing = consumers[isolation] { return existing }
        var settings = properties
        settings["isolation.level"] = isolation == .readCommitted ? "read_committed" : "read_uncommitted"
        settings["enable.partition.eof"] = "true"
        settings["enable.auto.commit"] = "false"
        settings["enable.auto.offset.store"] = "false"
        settings["allow.auto.create.topics"] = "false"
        settings["group.id"] = settings["group.id"] ?? "eddy-no-group"  // required by librdkafka; never joined
        // A read from an offset the log no longer has is data loss, reported, never a silent jump.
        settings["auto.offset.reset"] = "error"
        // Each started partition prefetches up to librdkafka's queued.min.messages (100 000 records) or
        // queued.max.messages.kbytes (64 MiB); smaller queues make librdkafka 2.0 pause a partition's
        // fetching for a second whenever its queue is full, which a micro-batch then waits for.
        let handle = try makeHandle(RD_KAFKA_CONSUMER, settings, what: "consumer")
        consumers[isolation] = handle
        return handle
    }

    private func producer() throws(KafkaError) -> OpaquePointer {
        if let producerHandle { return producerHandle }
        var settings = ["acks": "all", "enable.idempotence": "true"].merging(properties) { $1 }
        for key in ["group.id", "isolation.level", "auto.offset.reset"] { settings[key] = nil }  // consumer-only keys
        let handle = try makeHandle(RD_KAFKA_PRODUCER, settings, what: "producer") { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<Deliveries>.fromOpaque(opaque).takeUnretainedValue().report(message.pointee)
            }
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self.deliveries).toOpaque())
        }
        producerHandle = handle
        return handle
    }

    private func metadataPartitions(_ topic: String) throws -> Int? {
        let handle = try querier(.readCommitted)
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else { throw KafkaError("cannot name topic \(topic)", rd_kafka_last_error()) }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError("metadata of \(topic) from \(bootstrapServers)", code) }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return nil }
        let found = metadata.pointee.topics[0]
        if found.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { return nil }
        guard found.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("metadata of \(topic) from \(bootstrapServers)", found.err) }
        return Int(found.partition_cnt)
    }

    private func createTopic(_ topic: String, partitions count: Int32, configs: [String: String]) throws {
        let handle = try querier(.readCommitted)
        var errorText = [CChar](repeating: 0, count: 512)
        // Replication factor -1: the cluster's default (KIP-464).
        guard let newTopic = rd_kafka_NewTopic_new(topic, count, -1, &errorText, errorText.count) else {
            throw KafkaError("cannot describe topic \(topic): \(cText(errorText))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
            let code = rd_kafka_NewTopic_set_config(newTopic, name, value)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("topic config \(name) = \(value)", code) }
        }
        guard let queue = rd_kafka_queue_new(handle) else { throw KafkaError("out of memory") }
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32(timeoutMs) + 1000) else {
            throw KafkaError("creating topic \(topic) on \(bootstrapServers) timed out")
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError("cannot create topic \(topic)", rd_kafka_event_error(event))
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { throw KafkaError("creating topic \(topic): no result") }
        var resultCount = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &resultCount), resultCount > 0 else { return }
        let code = rd_kafka_topic_result_error(results[0])
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else {
            let message = rd_kafka_topic_result_error_string(results[0]).map { String(cString: $0) } ?? ""
            throw KafkaError("cannot create topic \(topic) on \(bootstrapServers): \(String(cString: rd_kafka_err2name(code))) \(message)")
        }
    }

    private func makeHandle(_ type: rd_kafka_type_t, _ settings: [String: String], what: String,
                            configure: (OpaquePointer) -> Void = { _ in }) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError("cannot allocate a librdkafka configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaError("property \(name): \(cText(errorText))")
            }
        }
        configure(conf)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create a \(what) for \(settings["bootstrap.servers"] ?? "?"): \(cText(errorText))")
        }
        return handle
    }
}

private struct PartitionKey: Hashable {
    let topic: String
    let partition: Int32
    let isolation: IsolationLevel
}

/// One partition's consumer (see `KafkaClusterLog`): where the next sequential read starts, and the
/// records librdkafka handed over past the last read's end.
private final class PartitionReader {
    struct Held {
        var offset: Int64
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [LogHeader]
    }

    let topic: String
    let partition: Int32
    let handle: OpaquePointer
    private var started = false
    /// The offset a read continuing the last one starts at.
    private var expected: Int64 = -1
    private var held: [Held] = []
    /// The partition's end (or last stable offset) as the last end-of-partition event said.
    private var endSeen: Int64 = -1

    init(topic: String, partition: Int32, handle: OpaquePointer) {
        self.topic = topic
        self.partition = partition
        self.handle = handle
    }

    func close() {
        if started { rd_kafka_consume_stop(handle, partition) }
        rd_kafka_topic_destroy(handle)
    }

    /// Makes the next read start at `from`: continues the fetch under way when it is there already,
    /// else restarts the partition's fetch at `from`.
    func position(at from: Int64, cluster: String) throws {
        guard !started || from != expected else { return }
        if started { rd_kafka_consume_stop(handle, partition) }
        held = []
        endSeen = -1
        guard rd_kafka_consume_start(handle, partition, from) == 0 else {
            throw KafkaError("cannot read \(topic)-\(partition) from \(from) on \(cluster)", rd_kafka_last_error())
        }
        started = true
        expected = from
    }

    /// The timestamp of the first held record at or after `offset`, when the next read starts there.
    func heldTimestamp(at offset: Int64, before: Int64) -> Int64? {
        guard started, expected == offset, let first = held.first(where: { $0.offset >= offset }), first.offset < before else { return nil }
        return first.timestamp
    }

    func read(from: Int64, to: Int64, maxBytes: Int, timeoutMs: Int32, cluster: String, headers: Bool,
              _ visit: (LogRecord) throws -> Void) throws -> Offset {
        try position(at: from, cluster: cluster)
        var next = from
        var bytes = 0
        // Records handed over earlier, past the last read's end.
        while let first = held.first, next < to, bytes < maxBytes {
            guard first.offset < to else { expected = to; return Offset(to) }
            held.removeFirst()
            guard first.offset >= next else { continue }
            try withHeld(first, visit)
            bytes += (first.key?.count ?? 0) + (first.value?.count ?? 0)
            next = first.offset + 1
        }
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: 1000)
        var waitedMs: Int32 = 0
        while next < to && bytes < maxBytes && held.isEmpty {
            if endSeen >= to { next = to; break }  // the rest of [next, to) holds no record we may see
            // What is queued, without waiting for a full batch (consume_batch waits until it has as many
            // as asked or the timeout passes); when nothing is, wait for one record.
            var count = rd_kafka_consume_batch(handle, partition, 0, &messages, messages.count)
            guard count >= 0 else { throw KafkaError("reading \(topic)-\(partition) on \(cluster)", rd_kafka_last_error()) }
            if count == 0, let one = rd_kafka_consume(handle, partition, 200) {
                messages[0] = one
                count = 1
            }
            if count == 0 {
                waitedMs += 200
                if waitedMs >= timeoutMs {
                    throw KafkaError("no record of \(topic)-\(partition) from offset \(next) (before \(to)) arrived from \(cluster) in \(timeoutMs) ms")
                }
                continue
            }
            waitedMs = 0
            var failure: Error?
            for index in 0..<count {
                guard let message = messages[index] else { continue }
                defer { rd_kafka_message_destroy(message) }
                guard failure == nil else { continue }
                let record = message.pointee
                if record.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    endSeen = max(endSeen, record.offset)
                    continue
                }
                guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    if record.err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE || record.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET {
                        failure = KafkaError("offset \(next) of \(topic)-\(partition) is no longer in the log on \(cluster) (retention deleted it)")
                    } else {
                        failure = KafkaError("reading \(topic)-\(partition) on \(cluster)", record.err)
                    }
                    continue
                }
                if record.offset < next { continue }
                if record.offset >= to || bytes >= maxBytes || !held.isEmpty {
                    held.append(Self.copy(message))
                    continue
                }
                do {
                    try withMessage(message, headers: headers, visit)
                } catch {
                    failure = error
                    continue
                }
                bytes += record.len + record.key_len
                next = record.offset + 1
            }
            if let failure {
                rd_kafka_consume_stop(handle, partition)
                started = false
                throw failure
            }
        }
        if let first = held.first, first.offset >= to { next = max(next, to) }
        expected = next
        return Offset(next)
    }

    private func withMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>, headers: Bool, _ visit: (LogRecord) throws -> Void) throws {
        let record = message.pointee
        let value = record.payload.map { UnsafeRawBufferPointer(start: $0, count: record.len) }
        let key = record.key.map { UnsafeRawBufferPointer(start: $0, count: record.key_len) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        try visit(LogRecord(offset: Offset(record.offset), timestamp: Timestamp(millis: timestamp), key: key, value: value,
                            headers: headers ? Self.headers(message) : []))
    }

    private func withHeld(_ held: Held, _ visit: (LogRecord) throws -> Void) throws {
        try withOptional(held.key) { key in
            try withOptional(held.value) { value in
                try visit(LogRecord(offset: Offset(held.offset), timestamp: Timestamp(millis: held.timestamp), key: key, value: value, headers: held.headers))
            }
        }
    }

    private static func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> Held {
        let record = message.pointee
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        return Held(offset: record.offset, timestamp: rd_kafka_message_timestamp(message, &type),
                    key: record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) },
                    value: record.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: record.len)) },
                    headers: headers(message))
    }

    private static func headers(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> [LogHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [LogHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(LogHeader(key: name.map { String(cString: $0) } ?? "",
                                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }
}

/// Delivery reports of one append: the first record's offset and the first error.
private final class Deliveries: @unchecked Sendable {
    private(set) var firstOffset: Int64?
    private(set) var firstError: String?

    func reset(count: Int) {
        firstOffset = nil
        firstError = nil
    }

    func report(_ message: rd_kafka_message_t) {
        guard message.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if firstError == nil { firstError = KafkaError("delivery failed", message.err).description }
            return
        }
        // The opaque is the record's index + 1; the first record's offset is the append's.
        if Int(bitPattern: message._private) == 1 { firstOffset = message.offset }
    }
}

func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

/// A NUL-terminated C buffer as a String.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
