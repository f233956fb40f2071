import EddyCore

/// A segment's two indexes and the running values that decide their entries. Pure: `add` is called
/// for every batch in log order, by append and by recovery alike, so an index rebuilt from the log
/// equals the one the appends built (Kafka's `LogSegment.append` and `recover` share this rule).
struct SegmentIndexes: Equatable {
    var offsets: OffsetIndex
    var times: TimeIndex
    /// Log bytes since the last offset-index entry (the batch at that entry included).
    var bytesSinceLastEntry = 0
    /// The largest batch maxTimestamp in the segment, -1 when no batch carries one.
    var maxTimestamp: Int64 = -1
    /// The last offset of the first batch that carried `maxTimestamp`.
    var offsetOfMaxTimestamp: Offset

    init(baseOffset: Offset, indexBytes: Int) {
        offsets = OffsetIndex(baseOffset: baseOffset, maxEntries: OffsetIndex.maxEntries(indexBytes: indexBytes))
        times = TimeIndex(baseOffset: baseOffset, maxEntries: TimeIndex.maxEntries(indexBytes: indexBytes))
        offsetOfMaxTimestamp = baseOffset
    }

    init(offsets: OffsetIndex, times: TimeIndex, bytesSinceLastEntry: Int, maxTimestamp: Int64, offsetOfMaxTimestamp: Offset) {
        self.offsets = offsets
        self.times = times
        self.bytesSinceLastEntry = bytesSinceLastEntry
        self.maxTimestamp = maxTimestamp
        self.offsetOfMaxTimestamp = offsetOfMaxTimestamp
    }

    var isFull: Bool { offsets.isFull || times.isFull }

    /// Whether the batch appended next gets an offset-index entry.
    func wantsEntry(intervalBytes: Int) -> Bool { bytesSinceLastEntry > intervalBytes }

    /// Accounts for the batch at `position`, in log order.
    mutating func add(position: Int, lastOffset: Offset, maxTimestamp batchMaxTimestamp: Int64, size: Int, intervalBytes: Int) {
        if batchMaxTimestamp > maxTimestamp {
            maxTimestamp = batchMaxTimestamp
            offsetOfMaxTimestamp = lastOffset
        }
        if wantsEntry(intervalBytes: intervalBytes) {
            offsets.append(offset: lastOffset, position: position)
            times.maybeAppend(timestamp: maxTimestamp, offset: offsetOfMaxTimestamp)
            bytesSinceLastEntry = 0
        }
        bytesSinceLastEntry += size
    }

    /// Records the segment's final largest timestamp in the time index (at roll and close), so that
    /// after a reopen the last time-index entry gives the segment's largest timestamp.
    mutating func seal() {
        times.maybeAppend(timestamp: maxTimestamp, offset: offsetOfMaxTimestamp)
    }
}
