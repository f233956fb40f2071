/// The log as a source or sink sees it: topics of partitions of records, read by offset range and
/// appended to. It is all `EddyConnectors` knows of a log, so the engine's log source and dead-letter
/// sink work unchanged over the broker embedded in the same process (`Broker` conforms, reading its
/// partitions directly) and, later, over an external Kafka cluster through a librdkafka-backed
/// client (not built yet: EddyKafka's consumer and admin client will implement this protocol).
///
/// Reads hand records to a visitor, one call per record, as `LogRecord` views: the key and value are
/// `UnsafeRawBufferPointer`s into the bytes the implementation already holds (the broker's read
/// buffer, decompressed once per batch; librdkafka's message payload), valid only during the call.
/// A reader decodes them where they lie (the engine's JSON/CSV decoders take raw bytes), so nothing
/// is copied per record and no record array is built; one that keeps bytes copies them itself.
/// A visitor rather than an iterator or a returned array because the views' lifetime is then the
/// call's (`withUnsafe…` style): a non-escaping closure call per record allocates nothing and costs
/// less than decoding the record. Headers (few and small: Eddy's own are dead-letter metadata) are
/// handed over as copies, and only for records that have some.
///
/// Errors are the implementation's (`RecordLogError` when the topic or partition does not exist);
/// their descriptions name the topic, partition and cause.
public protocol RecordLog: AnyObject, Sendable {
    /// The number of partitions of `topic`, nil when it does not exist.
    func partitionCount(_ topic: String) throws -> Int?

    /// The names of every topic of the log, internal ones included (topic patterns match them).
    func topicNames() throws -> [String]

    /// Creates `topic` with `partitions` partitions and these topic configs (`cleanup.policy` …)
    /// unless it exists; returns its partition count. An existing topic is left as it is.
    @discardableResult
    func ensureTopic(_ topic: String, partitions: Int32, configs: [String: String]) throws -> Int

    /// Per partition, in partition order: the offsets a reader at `isolation` can read now, from the
    /// log start to the last stable offset (read_committed) or the log end (read_uncommitted). Nil
    /// when the topic does not exist.
    func readableRanges(_ topic: String, isolation: IsolationLevel) throws -> [ReadableRange]?

    /// Per partition, in partition order: the first offset whose record timestamp is at or after
    /// `millis` (ListOffsets by timestamp), or the readable end when no record is. Nil when the topic
    /// does not exist.
    func offsets(_ topic: String, atOrAfter millis: Int64, isolation: IsolationLevel) throws -> [Offset]?

    /// Visits the records of `partition` in [from, to), in offset order, without control records;
    /// at read_committed, without the records of aborted transactions, and never past the last
    /// stable offset. Reads at most about `maxBytes` of the log per call (at least one batch) and
    /// returns the offset to continue from (`to` once everything is read; equal to `from` when
    /// nothing could be read). Throws when [from, to) is no longer in the log (retention moved
    /// past it) or the partition does not exist.
    func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int,
              isolation: IsolationLevel, _ visit: (LogRecord) throws -> Void) throws -> Offset

    /// `read`, with each record's headers only when `headers` is true (empty otherwise): a reader
    /// that needs none is spared decoding and copying them.
    func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int,
              isolation: IsolationLevel, headers: Bool, _ visit: (LogRecord) throws -> Void) throws -> Offset

    /// Appends `records` to `partition` as one batch (creating the topic with the log's defaults
    /// when it is missing) and returns the first record's offset. Durable as an acks=1 produce is.
    @discardableResult
    func append(_ topic: String, partition: PartitionID, _ records: [LogAppend]) throws -> Offset

    /// A hint that reads of these partitions from these offsets follow (a micro-batch's plan), so a
    /// client that fetches ahead can start them all at once. Does nothing unless a log needs it.
    func willRead(_ topic: String, from offsets: [PartitionID: Offset], isolation: IsolationLevel) throws

    /// The timestamp of the first record at or after `offset` and before `before`, when the log can
    /// tell without disturbing the reads under way (progress shows a reader's lag in seconds with
    /// it); nil when there is none or it is not at hand.
    func firstTimestamp(_ topic: String, partition: PartitionID, at offset: Offset, before: Offset, isolation: IsolationLevel) -> Int64?
}

extension RecordLog {
    public func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int,
                     isolation: IsolationLevel, headers: Bool, _ visit: (LogRecord) throws -> Void) throws -> Offset {
        try read(topic, partition: partition, from: from, to: to, maxBytes: maxBytes, isolation: isolation, visit)
    }

    /// Creates `topic` with the log's default configs unless it exists; returns its partition count.
    @discardableResult
    public func ensureTopic(_ topic: String, partitions: Int32) throws -> Int {
        try ensureTopic(topic, partitions: partitions, configs: [:])
    }

    public func willRead(_ topic: String, from offsets: [PartitionID: Offset], isolation: IsolationLevel) throws {}

    /// Reads the first batch at `offset` (a log whose reads have no position to disturb).
    public func firstTimestamp(_ topic: String, partition: PartitionID, at offset: Offset, before: Offset, isolation: IsolationLevel) -> Int64? {
        guard offset < before else { return nil }
        var first: Int64?
        _ = try? read(topic, partition: partition, from: offset, to: before, maxBytes: 1, isolation: isolation) { record in
            if first == nil { first = record.timestamp.millis }
        }
        return first
    }
}

/// The offsets of a partition a reader can read now: [start, end).
public struct ReadableRange: Hashable, Sendable, CustomStringConvertible {
    /// The log start offset: older records were deleted by retention or DeleteRecords.
    public var start: Offset
    /// The last stable offset (read_committed) or the log end offset (read_uncommitted).
    public var end: Offset

    public init(start: Offset, end: Offset) {
        self.start = start
        self.end = end
    }

    public var description: String { "[\(start), \(end))" }
}

/// One record as a `RecordLog` read shows it. `key` and `value` point into the log's buffers and
/// are valid only during the visitor's call (see `RecordLog`); nil is a null key or value (a
/// tombstone), not an empty one.
public struct LogRecord {
    public var offset: Offset
    public var timestamp: Timestamp
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer?
    /// Copied, and empty for most records (see `RecordLog`).
    public var headers: [LogHeader]

    public init(offset: Offset, timestamp: Timestamp, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                headers: [LogHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A record header: a UTF-8 name and bytes (nil for a null value).
public struct LogHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// A record to append (dead letters, engine sinks): the log assigns its offset and timestamp.
public struct LogAppend: Hashable, Sendable {
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [LogHeader]

    public init(key: [UInt8]?, value: [UInt8]?, headers: [LogHeader] = []) {
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A `RecordLog` call named a topic or partition that does not exist.
public struct RecordLogError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: Hashable, Sendable { case unknownTopicOrPartition }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }
        /// The topic or the partition does not exist.
        public static let unknownTopicOrPartition = Code(.unknownTopicOrPartition)
        public var description: String { "\(raw)" }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail }
}

/// A log that writes a micro-batch's records atomically, with a marker of which batch it was, for
/// sinks whose readers must see a batch all at once or not at all (Kafka transactions read at
/// read_committed). The marker is committed with the records, so after a crash the writer can ask
/// which batch it committed last.
public protocol TransactionalRecordLog: RecordLog {
    /// The newest batch committed under `writer` to `topic` (nil: none). Asks only after any
    /// transaction a previous incarnation of the writer left undecided has been completed or aborted.
    func committedBatch(writer: String, topic: String) throws -> Int64?

    /// Appends `records` (each to its partition) as one transaction of `writer`, marked as batch
    /// `batchId`; on return they are committed, visible to read_committed readers all together.
    func appendTransaction(writer: String, topic: String, batchId: Int64, _ records: [(partition: PartitionID, record: LogAppend)]) throws
}

/// A log that keeps consumer groups' committed offsets, so that a reader that owns its offsets
/// (the engine's checkpoint) can still show its progress to the cluster's tools (lag per group).
public protocol GroupOffsetsRecordLog: RecordLog {
    /// Commits `offsets` (the next offset to read, per partition) of `topic` for `group`.
    func commitGroupOffsets(group: String, topic: String, _ offsets: [PartitionID: Offset]) throws

    /// The offsets `group` has committed for the partitions of `topic` (the next offset to read);
    /// a partition without one is absent.
    func committedGroupOffsets(group: String, topic: String) throws -> [PartitionID: Offset]
}
