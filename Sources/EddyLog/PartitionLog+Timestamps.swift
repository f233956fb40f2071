import EddyCore
import EddyWire

extension PartitionLog {
    /// ListOffsets by timestamp: the first record at or after `logStartOffset` whose timestamp is
    /// >= `timestamp`, as (offset, timestamp); nil when none is. Segments are skipped by their largest
    /// timestamp, the time index gives where to start in the segment, batches are skipped by their
    /// maxTimestamp, and only the batch that holds the answer is decoded.
    public func offset(forTimestamp timestamp: Int64) throws -> (offset: Offset, timestamp: Int64)? {
        try checkUsable()
        for segment in segments where segment.indexes.maxTimestamp >= timestamp && segment.nextOffset > logStartOffset {
            let start = max(logStartOffset, segment.baseOffset)
            let from = max(segment.indexes.times.lookup(timestamp), start)
            var found: (offset: Offset, timestamp: Int64)?
            defer { keepOpenAfterRead(segment) }
            try segment.forEachBatch(from: from) { header, position in
                guard header.maxTimestamp.millis >= timestamp else { return true }
                let batch = try segment.batch(at: position, size: header.totalSize)
                found = try Self.firstRecord(of: batch, from: start) { $0 >= timestamp }
                return found == nil
            }
            if let found { return found }
        }
        return nil
    }

    /// ListOffsets MAX_TIMESTAMP (-3): the offset and timestamp of the first record with the largest
    /// timestamp at or after `logStartOffset`; nil when no record carries a timestamp.
    public func maxTimestampOffset() throws -> (offset: Offset, timestamp: Int64)? {
        try checkUsable()
        var best: (segment: LogSegment, timestamp: Int64, batchOffset: Offset)?
        for segment in segments where segment.nextOffset > logStartOffset && segment.indexes.maxTimestamp >= 0 {
            var candidate = (segment: segment, timestamp: segment.indexes.maxTimestamp, batchOffset: segment.indexes.offsetOfMaxTimestamp)
            if candidate.batchOffset < logStartOffset {
                // DeleteRecords hid the batch that carried the segment's maximum: find the largest
                // among the batches still visible.
                var visible: (Int64, Offset)?
                defer { keepOpenAfterRead(segment) }
                try segment.forEachBatch(from: logStartOffset) { header, _ in
                    if header.maxTimestamp.millis > (visible?.0 ?? -1) { visible = (header.maxTimestamp.millis, header.lastOffset) }
                    return true
                }
                guard let visible else { continue }
                candidate = (segment, visible.0, visible.1)
            }
            if candidate.timestamp > (best?.timestamp ?? -1) { best = candidate }
        }
        guard let best else { return nil }
        var found: (offset: Offset, timestamp: Int64)?
        let start = max(logStartOffset, best.segment.baseOffset)
        defer { keepOpenAfterRead(best.segment) }
        try best.segment.forEachBatch(from: best.batchOffset) { header, position in
            let batch = try best.segment.batch(at: position, size: header.totalSize)
            found = try Self.firstRecord(of: batch, from: start) { $0 >= best.timestamp }
                ?? (max(header.lastOffset, start), header.maxTimestamp.millis)
            return false
        }
        return found
    }

    /// The first record of `batch` at or after `start` whose timestamp satisfies `matches`.
    static func firstRecord(of batch: RecordBatch, from start: Offset, where matches: (Int64) -> Bool) throws -> (offset: Offset, timestamp: Int64)? {
        do {
            var reader = try batch.recordReader()
            while let record = try reader.next() {
                let offset = batch.header.offset(of: record)
                let timestamp = batch.header.timestamp(of: record).millis
                if offset >= start && matches(timestamp) { return (offset, timestamp) }
            }
            return nil
        } catch let error as WireError {
            throw LogError(.corruptMessage, "batch at offset \(batch.header.baseOffset): \(error)")
        }
    }
}
