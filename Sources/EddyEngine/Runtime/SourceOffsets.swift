/// A source's position: one offset per partition, by partition name. The log source names partitions
/// by number ("0", "1", …) and stores the next offset to read; the file source has one partition whose
/// offset is a byte position in the concatenation of its file log; the generator counts events.
/// Written as a JSON object into the checkpoint's offsets log, so names and values stay readable.
public struct SourceOffsets: Sendable, Hashable, Codable, CustomStringConvertible {
    public var partitions: [String: Int64]

    public init(_ partitions: [String: Int64] = [:]) {
        self.partitions = partitions
    }

    public subscript(partition: String) -> Int64? {
        get { partitions[partition] }
        set { partitions[partition] = newValue }
    }

    /// Partition names in a stable order (numeric names by value, then the rest by text).
    public var sortedPartitions: [String] {
        partitions.keys.sorted { a, b in
            switch (Int(a), Int(b)) {
            case let (x?, y?): x < y
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): a < b
            }
        }
    }

    /// How far `self` is ahead of `other`, summed over partitions (records or bytes, as the source counts).
    public func distance(from other: SourceOffsets) -> Int64 {
        partitions.reduce(0) { total, entry in total + max(0, entry.value - (other.partitions[entry.key] ?? 0)) }
    }

    public var description: String {
        "{" + sortedPartitions.map { "\($0): \(partitions[$0]!)" }.joined(separator: ", ") + "}"
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
