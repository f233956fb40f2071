import EddyCore

/// Which of the oldest segments retention deletes, as Kafka's `UnifiedLog.deletableSegments`: the
/// longest run of leading segments that satisfy a rule. The active (last) segment counts only when it
/// is not empty; when every segment is deletable the log rolls first, so an empty active segment
/// remains. Pure: segment summaries in, a count out.
enum RetentionPlanner {
    struct Segment {
        var baseOffset: Offset
        var nextOffset: Offset
        var size: Int
        /// The largest batch timestamp, or the last modification when no batch has one.
        var largestTimestamp: Int64
    }

    /// retention.ms: segments whose largest timestamp is more than `retentionMs` old.
    static func expiredByTime(_ segments: [Segment], now: Int64, retentionMs: Int64) -> Int {
        guard retentionMs >= 0 else { return 0 }
        return leading(segments) { segment, _ in now &- segment.largestTimestamp > retentionMs }
    }

    /// retention.bytes: the oldest segments while the log without them stays >= `retentionBytes`.
    static func exceedingSize(_ segments: [Segment], retentionBytes: Int64) -> Int {
        guard retentionBytes >= 0 else { return 0 }
        var excess = segments.reduce(Int64(0)) { $0 + Int64($1.size) } - retentionBytes
        return leading(segments) { segment, _ in
            guard excess - Int64(segment.size) >= 0 else { return false }
            excess -= Int64(segment.size)
            return true
        }
    }

    /// Segments wholly below the log start offset (DeleteRecords).
    static func belowLogStart(_ segments: [Segment], logStartOffset: Offset) -> Int {
        leading(segments) { segment, next in (next?.baseOffset ?? segment.nextOffset) <= logStartOffset }
    }

    private static func leading(_ segments: [Segment], _ rule: (Segment, Segment?) -> Bool) -> Int {
        var count = 0
        for i in segments.indices {
            let next = i + 1 < segments.count ? segments[i + 1] : nil
            if next == nil && segments[i].size == 0 { break }
            guard rule(segments[i], next) else { break }
            count += 1
        }
        return count
    }
}
