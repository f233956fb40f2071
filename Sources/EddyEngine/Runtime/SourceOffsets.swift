import EddyCore

/// A source's position: one offset per partition. The log source stores the next offset to read per
/// Kafka partition; the file source has one partition, 0, whose offset is a byte position in the
/// concatenation of its file log; the generator counts events per partition. Written into the
/// checkpoint's offsets log as `{"partitions": {"0": 120, "1": 98}}` (keyed by partition number), so
/// names and values stay readable.
public struct SourceOffsets: Sendable, Hashable, Codable, CustomStringConvertible {
    public var partitions: [PartitionID: Int64]

    public init(_ partitions: [PartitionID: Int64] = [:]) {
        self.partitions = partitions
    }

    /// Offsets of partitions 0, 1, … in order.
    public init(ordered offsets: [Int64]) {
        partitions = Dictionary(uniqueKeysWithValues: offsets.enumerated().map { (PartitionID(Int32($0)), $1) })
    }

    public subscript(partition: PartitionID) -> Int64? {
        get { partitions[partition] }
        set { partitions[partition] = newValue }
    }

    /// Partitions in ascending order.
    public var sortedPartitions: [PartitionID] { partitions.keys.sorted() }

    /// How far `self` is ahead of `other`, summed over partitions (records or bytes, as the source counts).
    public func distance(from other: SourceOffsets) -> Int64 {
        partitions.reduce(0) { total, entry in total + max(0, entry.value - (other.partitions[entry.key] ?? 0)) }
    }

    public var description: String {
        "{" + sortedPartitions.map { "\($0): \(partitions[$0]!)" }.joined(separator: ", ") + "}"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self).nestedContainer(keyedBy: PartitionKey.self, forKey: .partitions)
        var partitions: [PartitionID: Int64] = [:]
        for key in container.allKeys {
            guard let number = Int32(key.stringValue) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "\"\(key.stringValue)\" is not a partition number")
            }
            partitions[PartitionID(number)] = try container.decode(Int64.self, forKey: key)
        }
        self.partitions = partitions
    }

    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.container(keyedBy: Field.self)
        var container = outer.nestedContainer(keyedBy: PartitionKey.self, forKey: .partitions)
        for (partition, offset) in partitions { try container.encode(offset, forKey: PartitionKey(stringValue: String(partition.rawValue))) }
    }

    private enum Field: String, CodingKey { case partitions }

    private struct PartitionKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// How much one micro-batch may read from a source (Spark's maxOffsetsPerTrigger / maxBytesPerTrigger).
public struct ReadLimit: Sendable, Hashable {
    public var maxRecords: Int64?
    public var maxBytes: Int64?

    public init(maxRecords: Int64? = nil, maxBytes: Int64? = nil) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
    }

    public static let unlimited = ReadLimit()
}
