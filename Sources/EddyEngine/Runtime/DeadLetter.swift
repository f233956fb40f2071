/// A record the pipeline could not use, with the reason: it goes to the dead-letter output with the
/// reason in headers and a counter goes up; the pipeline keeps going.
public struct DeadLetter: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// The bytes did not parse or did not fit the declared schema.
        case malformed
        /// The row's event time was behind the watermark.
        case late
    }

    public var reason: Reason
    /// Human-readable detail (`field amount: expected DECIMAL(18,2), found string "abc"`).
    public var detail: String
    /// Source description and partition; offset (or line number for files) when known.
    public var source: String
    public var partition: String
    public var offset: Int64?
    public var key: [UInt8]?
    public var value: [UInt8]

    public init(reason: Reason, detail: String, source: String, partition: String, offset: Int64?, key: [UInt8]? = nil, value: [UInt8]) {
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
                      ("eddy.error.source", source), ("eddy.error.partition", partition)]
        if let offset { result.append(("eddy.error.offset", String(offset))) }
        return result
    }
}

/// Where dead letters go (a topic of the embedded log, a directory). Dead letters are written
/// at least once: a batch replayed after a crash may write its dead letters again.
public protocol DeadLetterSink: AnyObject, Sendable {
    var description: String { get }
    func write(_ letters: [DeadLetter]) throws(EngineError)
}
