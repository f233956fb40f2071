import EddyCore

/// When the active segment rolls before an append, as Kafka's `LogSegment.shouldRoll`. Pure: the
/// segment's state, the batch and the time in, a reason (or nil) out. An empty segment never rolls:
/// its replacement would have the same base offset.
enum RollPolicy {
    enum Reason: Equatable, Sendable {
        /// The batch would take the segment past segment.bytes (or past int32 positions).
        case size
        /// segment.ms has passed since the segment's first append.
        case age
        /// The offset or time index holds segment.index.bytes worth of entries.
        case indexFull
        /// The batch's last offset is too far from the base offset for an int32 relative offset.
        case offsetOverflow
    }

    struct Segment {
        var baseOffset: Offset
        var size: Int
        var firstAppendMs: Int64?
        var indexesFull: Bool
    }

    static func reason(_ segment: Segment, batchSize: Int, lastOffset: Offset, now: Int64, config: LogConfig) -> Reason? {
        guard segment.size > 0 else { return nil }
        if segment.size > min(config.segmentBytes, Int(Int32.max)) - batchSize { return .size }
        if isAged(segment, now: now, config: config) { return .age }
        if segment.indexesFull { return .indexFull }
        if lastOffset.rawValue - segment.baseOffset.rawValue > Int64(Int32.max) { return .offsetOverflow }
        return nil
    }

    static func isAged(_ segment: Segment, now: Int64, config: LogConfig) -> Bool {
        guard segment.size > 0, let first = segment.firstAppendMs else { return false }
        return now &- first > config.segmentMs
    }
}
