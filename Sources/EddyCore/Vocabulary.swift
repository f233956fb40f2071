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
