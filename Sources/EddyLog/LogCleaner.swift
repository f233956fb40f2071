import EddyCore
import EddyWire
import NIOCore

/// Log compaction (`cleanup.policy=compact`): keeps the latest record of every key, as Kafka's log
/// cleaner does. A pass runs in three steps so that appends and reads never wait for the copying:
///
/// 1. `PartitionLog.planCleaning` (under the owner's lock, cheap): picks the inactive segments and
///    the dirty range `[firstDirtyOffset, cleanUpTo)`: everything appended since the last pass, up to
///    the active segment, which is never cleaned.
/// 2. `LogCleaner.clean` (no lock): builds the map key → latest offset over the dirty range, then
///    rewrites every planned segment that loses a record into `<base>.log.cleaned`, fsynced. It
///    only reads inactive segments, which nothing else writes.
/// 3. `PartitionLog.installCleaned` (under the lock): swaps each cleaned file in by rename, unless
///    its segment was deleted or changed meanwhile (retention, DeleteRecords), and records the
///    new first dirty offset in the `cleaner-offset-checkpoint` file.
///
/// Which records stay (Kafka's rules): a record whose key has a later record in the dirty range
/// goes; a record without a key goes; a tombstone (null value) goes once it has survived one pass
/// (it lies below the previous pass's end) and its batch's max timestamp is older than
/// `delete.retention.ms` (Kafka ≥ 3.1 stores a delete horizon in the batch instead; the effect
/// for consumers is the same: a consumer that reads from the start within delete.retention.ms of
/// the tombstone's time sees it). Control batches stay whole. The cleaner does not read
/// transaction outcomes: a transactional record never shadows another (it could be aborted) and
/// goes only when a later non-transactional record of its key exists (Kafka's cleaner removes
/// aborted records and can compact committed ones too). Offsets never change: a batch keeps
/// its base offset and last offset delta, so a cleaned segment has gaps, and an emptied batch
/// disappears (an emptied segment too). Kafka also merges small segments; Eddy keeps one file per
/// segment.
public enum LogCleaner {
    /// What step 1 chose; step 2 needs nothing else.
    public struct Plan: Sendable {
        struct Source: Sendable {
            let baseOffset: Offset
            let logPath: String
            let size: Int
        }
        let directory: String
        let sources: [Source]
        /// Where the dirty range starts (the previous pass's `cleanUpTo`, or the log start).
        public let firstDirtyOffset: Offset
        /// The active segment's base offset: the end of the range.
        public let cleanUpTo: Offset
        /// Tombstones whose batch's max timestamp is below this may go.
        let deleteHorizonMs: Int64
        let indexIntervalBytes: Int
        let indexBytes: Int
        /// Bounds the key map (key bytes plus a fixed cost a key): `log.cleaner.dedupe.buffer.size`.
        let mapBytes: Int
        let maxBatchBytes: Int
    }

    /// A segment step 2 rewrote.
    struct CleanedSegment: @unchecked Sendable {
        let baseOffset: Offset
        /// The size of the segment when it was read: the swap is off if it changed.
        let originalSize: Int
        let cleanedPath: String
        let size: Int
        let nextOffset: Offset
        let indexes: SegmentIndexes
    }

    /// What step 2 produced, for step 3.
    public struct Result: @unchecked Sendable {
        let segments: [CleanedSegment]
        /// The end of the range the map covered (`plan.cleanUpTo` unless the map filled first).
        public let cleanedUpTo: Offset
        public internal(set) var stats: Stats
    }

    public struct Stats: Sendable, Equatable, CustomStringConvertible {
        public var keys = 0
        public var recordsRead = 0
        public var recordsRemoved = 0
        public var tombstonesRemoved = 0
        public var bytesBefore = 0
        public var bytesAfter = 0
        public var segmentsRewritten = 0
        public var segmentsRemoved = 0
        public var description: String {
            "\(recordsRemoved) of \(recordsRead) records removed (\(tombstonesRemoved) tombstones), \(bytesBefore) → \(bytesAfter) bytes, \(segmentsRewritten) segments rewritten, \(segmentsRemoved) removed, \(keys) keys"
        }
    }

    static let cleanedSuffix = ".cleaned"
    /// The map's cost per key besides the key bytes (dictionary slot, array header).
    static let mapEntryOverhead = 64

    /// Step 2. Reads the planned segments and writes the cleaned ones; throws on an I/O error or a
    /// corrupt batch (the pass is then abandoned: nothing was swapped in).
    public static func clean(_ plan: Plan, now: Int64) throws -> Result {
        var stats = Stats()
        // The key map over the dirty range, one whole segment at a time: when the next segment
        // would not fit, the range ends before it (Kafka does the same with its dedupe buffer).
        var latest: [ByteBuffer: Int64] = [:]
        var mapBytes = 0
        var cleanedUpTo = plan.firstDirtyOffset
        let dirty = plan.sources.filter { $0.baseOffset >= plan.firstDirtyOffset }
        for (i, source) in dirty.enumerated() {
            var segmentKeys: [ByteBuffer: Int64] = [:]
            var segmentBytes = 0
            try forEachBatch(source, maxBatchBytes: plan.maxBatchBytes) { batch, _ in
                // A transactional record may belong to an aborted transaction: it never shadows
                // another record (the cleaner does not read transaction outcomes).
                guard !batch.header.isControl, !batch.header.isTransactional else { return }
                var reader = try batch.recordReader(maxDecompressedBytes: plan.maxBatchBytes)
                while let record = try reader.next() {
                    guard let key = record.key else { continue }
                    let owned = ByteBuffer(bytes: key.readableBytesView)  // not a slice: it must not pin the batch
                    if segmentKeys.updateValue(batch.header.baseOffset.rawValue + Int64(record.offsetDelta), forKey: owned) == nil,
                       latest[owned] == nil {
                        segmentBytes += key.readableBytes + mapEntryOverhead
                    }
                }
            }
            if mapBytes + segmentBytes > plan.mapBytes {
                guard i > 0 else {
                    throw LogError(.limitExceeded, "the keys of segment \(source.baseOffset) of \(plan.directory) need \(segmentBytes) bytes, more than the cleaner's map holds (\(plan.mapBytes))")
                }
                break
            }
            latest.merge(segmentKeys) { _, new in new }
            mapBytes += segmentBytes
            cleanedUpTo = dirty.indices.contains(i + 1) ? dirty[i + 1].baseOffset : plan.cleanUpTo
        }
        stats.keys = latest.count

        var cleaned: [CleanedSegment] = []
        for source in plan.sources where source.baseOffset < cleanedUpTo {
            if let segment = try rewrite(source, plan: plan, latest: latest, now: now, stats: &stats) {
                cleaned.append(segment)
            }
        }
        return Result(segments: cleaned, cleanedUpTo: cleanedUpTo, stats: stats)
    }

    /// Rewrites one segment into `<base>.log.cleaned` when it loses anything; nil when it keeps
    /// every record (nothing to swap).
    private static func rewrite(_ source: Plan.Source, plan: Plan, latest: [ByteBuffer: Int64], now: Int64,
                                stats: inout Stats) throws -> CleanedSegment? {
        var output: [ByteBuffer] = []
        var changed = false
        var indexes = SegmentIndexes(baseOffset: source.baseOffset, indexBytes: plan.indexBytes)
        var position = 0
        var nextOffset = source.baseOffset
        var removed = 0
        var tombstones = 0
        var read = 0
        try forEachBatch(source, maxBatchBytes: plan.maxBatchBytes) { batch, _ in
            let header = batch.header
            var kept: [Record] = []
            var dropped = false
            if !header.isControl {
                let records = try batch.records(maxDecompressedBytes: plan.maxBatchBytes)
                read += records.count
                for record in records {
                    let offset = header.baseOffset.rawValue + Int64(record.offsetDelta)
                    let keep: Bool
                    if let key = record.key {
                        if let newest = latest[key], newest > offset {
                            keep = false
                        } else if record.value == nil, !header.isTransactional, offset < plan.firstDirtyOffset.rawValue,
                                  header.maxTimestamp.millis < plan.deleteHorizonMs {
                            keep = false
                            tombstones += 1
                        } else {
                            keep = true
                        }
                    } else {
                        keep = false
                    }
                    if keep { kept.append(record) } else { dropped = true }
                }
                removed += records.count - kept.count
            }
            let bytes: ByteBuffer
            if !dropped {
                bytes = batch.bytes
            } else {
                changed = true
                guard !kept.isEmpty else { return }
                bytes = try RecordBatch.encode(
                    records: kept, baseOffset: header.baseOffset, baseTimestamp: header.baseTimestamp,
                    maxTimestamp: header.maxTimestamp, lastOffsetDelta: header.lastOffsetDelta,
                    compression: header.compression, timestampType: header.timestampType,
                    producerId: header.producerId, producerEpoch: header.producerEpoch,
                    baseSequence: header.baseSequence, isTransactional: header.isTransactional,
                    partitionLeaderEpoch: header.partitionLeaderEpoch)
            }
            indexes.add(position: position, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp.millis,
                        size: bytes.readableBytes, intervalBytes: plan.indexIntervalBytes)
            position += bytes.readableBytes
            nextOffset = header.nextOffset
            output.append(bytes)
        }
        stats.recordsRead += read
        stats.recordsRemoved += removed
        stats.tombstonesRemoved += tombstones
        stats.bytesBefore += source.size
        stats.bytesAfter += changed ? position : source.size
        guard changed else { return nil }
        indexes.seal()
        let path = source.logPath + cleanedSuffix
        let file = try LogFile.open(path, create: true, truncate: true)
        defer { file.close() }
        var at = 0
        for bytes in output {
            try file.write(bytes, ByteBuffer(), at: at)
            at += bytes.readableBytes
        }
        try file.sync()
        if position == 0 { stats.segmentsRemoved += 1 } else { stats.segmentsRewritten += 1 }
        return CleanedSegment(baseOffset: source.baseOffset, originalSize: source.size, cleanedPath: path,
                              size: position, nextOffset: nextOffset, indexes: indexes)
    }

    /// Every whole batch of a segment file (up to the size the plan saw), CRC-checked.
    private static func forEachBatch(_ source: Plan.Source, maxBatchBytes: Int,
                                     _ visit: (RecordBatch, Int) throws -> Void) throws {
        let file = try LogFile.open(source.logPath)
        defer { file.close() }
        var window = FileWindow(file: file, end: source.size)
        var position = 0
        while position < source.size {
            guard source.size - position >= RecordBatchHeader.size else {
                throw LogError(.corruptMessage, "\(source.logPath): torn batch at \(position)")
            }
            try window.load(position, count: RecordBatchHeader.size, readAhead: 1 << 20)
            let length = Int(window.int32(at: position + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
            guard length >= RecordBatchHeader.size, position + length <= source.size else {
                throw LogError(.corruptMessage, "\(source.logPath): batch at \(position) of \(length) bytes runs past \(source.size)")
            }
            try window.load(position, count: length, readAhead: max(1 << 20, length))
            let batch: RecordBatch
            do {
                batch = try RecordBatch(window.slice(position, length))
                try batch.validate()
            } catch {
                throw LogError(.corruptMessage, "\(source.logPath): batch at \(position): \(error)")
            }
            try visit(batch, position)
            position += length
        }
    }
}
