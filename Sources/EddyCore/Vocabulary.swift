/// Distinct quantities get distinct small types, converted by name (STYLE.md).

/// A position in a partition's log. Kafka offsets are signed 64-bit; negative values are sentinels
/// in requests (-1 latest, -2 earliest) and never stored.
public struct Offset: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }
    public static func < (a: Offset, b: Offset) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A partition number within a topic.
public struct PartitionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ value: Int32) { self.rawValue = value }
    public static func < (a: PartitionID, b: PartitionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A topic and one of its partitions, printed the way Kafka names the partition's directory.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: PartitionID
    public init(_ topic: String, _ partition: PartitionID) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)-\(partition)" }
}

/// Milliseconds since the Unix epoch, as Kafka record timestamps are. -1 means "no timestamp".
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(millis: Int64) { self.rawValue = millis }
    public var millis: Int64 { rawValue }
    public static let none = Timestamp(millis: -1)
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

extension PartitionID: Codable {
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int32.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// One partition of one of a query's sources: the source's place in the plan (0 for the first) and
/// the partition within that source (a Kafka partition, a generator's stream; a file source has one).
/// Watermarks are tracked per source partition. Written into checkpoints as `"<source>/<partition>"`.
public struct SourcePartition: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var source: Int
    public var partition: PartitionID

    public init(source: Int, partition: PartitionID) {
        self.source = source
        self.partition = partition
    }

    public static func < (a: SourcePartition, b: SourcePartition) -> Bool {
        (a.source, a.partition) < (b.source, b.partition)
    }

    public var description: String { "\(source)/\(partition)" }

    /// Parses `"<source>/<partition>"`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let source = Int(parts[0]), source >= 0, let partition = Int32(parts[1]) else { return nil }
        self.init(source: source, partition: PartitionID(partition))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = SourcePartition(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a source partition (<source>/<partition>)")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// `PartitionID` literals (`[0: 120]`, `partition: 0`) read as what they are; a value held in an
/// `Int` still converts by name.
extension PartitionID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int32) { self.init(value) }
}
