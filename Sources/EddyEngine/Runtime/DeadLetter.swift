import EddyCore

/// A record the pipeline could not use, with the reason: it goes to the dead-letter output with the
/// reason in headers and a counter goes up; the pipeline keeps going.
public struct DeadLetter: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The bytes did not parse or did not fit the declared schema.
        case malformed
        /// The row's event time was behind the watermark.
        case late
        /// The sink's store refused the row (a value out of a column's range, a constraint, too large).
        case rejected
    }

    public var reason: Reason
    /// Human-readable detail (`field amount: expected DECIMAL(18,2), found string "abc"`).
    public var detail: String
    /// For a malformed record, a short stable class of the failure for metrics (the decoder's:
    /// `malformedJSON`, `typeMismatch`, `missingField`, …; `key`, `tombstone`); nil when unknown.
    public var cause: String?
    /// Source description and partition (nil when the row no longer has one: a late row after an
    /// aggregation); offset (or line number for files) when known.
    public var source: String
    public var partition: PartitionID?
    public var offset: Int64?
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Which query and micro-batch dead-lettered it, and its place among that batch's dead letters;
    /// set by the runtime before the letters are written. A batch replayed after a restart reads the
    /// same offsets, so (for sources that decode deterministically, as `Source` requires, and an
    /// unchanged pipeline) its letters come in the same order with the same numbers, and a sink can
    /// write only the ones it does not hold yet.
    public var queryId: String?
    public var batchId: Int64?
    public var index: Int?
    /// The batch is a replay of one that did not commit: some of its letters may have been written.
    public var replayed = false

    public init(reason: Reason, detail: String, source: String, partition: PartitionID?, offset: Int64?, key: [UInt8]? = nil, value: [UInt8]) {
        self.reason = reason
        self.detail = detail
        self.source = source
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
    }

    /// Headers a Kafka dead-letter record carries (Kafka Connect's `__connect.errors.*` habit).
    public var headers: [(String, String)] {
        var result = [("eddy.error.reason", reason.rawValue), ("eddy.error.detail", detail),
                      ("eddy.error.cause", cause ?? ""),
                      ("eddy.error.source", source), ("eddy.error.partition", partition.map { String($0.rawValue) } ?? "")]
        if let offset { result.append(("eddy.error.offset", String(offset))) }
        if let queryId { result.append((Self.queryIdHeader, queryId)) }
        if let batchId { result.append((Self.batchIdHeader, String(batchId))) }
        if let index { result.append((Self.indexHeader, String(index))) }
        return result
    }
}

extension DeadLetter {
    public static let queryIdHeader = "eddy.query.id"
    public static let batchIdHeader = "eddy.batch.id"
    public static let indexHeader = "eddy.batch.index"
}

/// Where dead letters go (a topic of the embedded log, a directory). Each letter carries its query,
/// batch and index (see `DeadLetter`); a sink that looks at what it already holds can skip what a
/// replayed batch writes again (`LogDeadLetterSink` does); one that does not is at least once.
public protocol DeadLetterSink: AnyObject, Sendable {
    var description: String { get }
    func write(_ letters: [DeadLetter]) throws(EngineError)
}
