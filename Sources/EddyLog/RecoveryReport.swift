import EddyCore

/// What `PartitionLog.open` found and repaired, for the broker to log. Empty (`isEmpty`) when
/// nothing was lost or repaired, even after an unclean shutdown whose scan found every batch whole.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// A segment whose tail was cut off after its last valid batch.
    public struct Truncation: Sendable, Equatable {
        public var segmentBaseOffset: Offset
        /// Bytes kept: the valid batches.
        public var validBytes: Int64
        /// Bytes removed after them.
        public var truncatedBytes: Int64
        /// Why the first removed byte does not start a valid batch (torn, CRC mismatch, …).
        public var reason: String
    }

    /// A segment whose index files were missing or did not match its log, and were rebuilt.
    public struct RebuiltIndex: Sendable, Equatable {
        public var segmentBaseOffset: Offset
        public var reason: String
    }

    /// The `.clean-shutdown` marker was present: only indexes were checked, no batch was scanned.
    public var cleanShutdown: Bool
    /// Segments scanned batch by batch (CRC included).
    public var segmentsScanned = 0
    public var truncations: [Truncation] = []
    public var rebuiltIndexes: [RebuiltIndex] = []
    /// Segments removed because they came after a cut (a truncated segment or a lost segment file
    /// in the unflushed part of the log): what follows a hole is not a continuation of the log.
    public var deletedSegments: [Offset] = []
    /// Anything else worth a line in the broker's log (an unreadable checkpoint, say).
    public var notes: [String] = []

    public init(cleanShutdown: Bool) {
        self.cleanShutdown = cleanShutdown
    }

    public var bytesTruncated: Int64 { truncations.reduce(0) { $0 + $1.truncatedBytes } }

    /// Nothing lost, rebuilt or worth noting.
    public var isEmpty: Bool { truncations.isEmpty && rebuiltIndexes.isEmpty && deletedSegments.isEmpty && notes.isEmpty }

    public var description: String {
        var parts = [cleanShutdown ? "clean shutdown" : "unclean shutdown, \(segmentsScanned) segment(s) scanned"]
        for t in truncations {
            parts.append("segment \(t.segmentBaseOffset) truncated to \(t.validBytes) bytes (\(t.truncatedBytes) removed: \(t.reason))")
        }
        for r in rebuiltIndexes { parts.append("segment \(r.segmentBaseOffset) indexes rebuilt (\(r.reason))") }
        if !deletedSegments.isEmpty {
            parts.append("segments deleted after a cut: \(deletedSegments.map(\.description).joined(separator: ", "))")
        }
        parts.append(contentsOf: notes)
        return parts.joined(separator: "; ")
    }
}
