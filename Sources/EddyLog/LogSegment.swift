import EddyCore
import EddyWire
import NIOCore

/// One segment: a `.log` file of whole record batches, stored back to back exactly as appended
/// (layout on `RecordBatchHeader`), with its offset and time indexes (`OffsetIndex`, `TimeIndex`).
/// `size` counts the bytes of whole valid batches; the file never holds fewer, and holds more only
/// between a failed write and its repair.
final class LogSegment {
    let baseOffset: Offset
    let logPath: String
    let indexPath: String
    let timeIndexPath: String

    private(set) var indexes: SegmentIndexes
    private(set) var size = 0
    /// The offset after the last batch; `baseOffset` while empty.
    private(set) var nextOffset: Offset
    /// Bytes of the log file known to be fsynced.
    private(set) var flushedSize = 0
    /// The index files were written since their last fsync.
    private(set) var indexFilesNeedSync = false
    /// The directory entry of the log file is durable (the directory was fsynced after creating it).
    var creationSynced = false
    /// The injected clock at the first append (or at open for a non-empty segment), for segment.ms.
    private(set) var firstAppendMs: Int64?
    /// The injected clock at the last append (the file's mtime after a reopen), for retention of
    /// segments whose batches carry no timestamp.
    private(set) var lastModifiedMs: Int64

    /// The file has blocks reserved up to here (`LogConfig.preallocate`); 0 when none are.
    private var preallocatedEnd = 0
    /// A reservation failed (unsupported, or the disk is full): this segment stops trying.
    private var preallocationFailed = false

    /// Opened on first use; inactive segments close theirs after loading so that a log of many
    /// segments does not hold a descriptor for each.
    private var handle: LogFile?

    private init(directory: String, baseOffset: Offset, indexBytes: Int, lastModifiedMs: Int64) {
        self.baseOffset = baseOffset
        self.logPath = directory + "/" + SegmentFileName.name(baseOffset, .log)
        self.indexPath = directory + "/" + SegmentFileName.name(baseOffset, .index)
        self.timeIndexPath = directory + "/" + SegmentFileName.name(baseOffset, .timeindex)
        self.indexes = SegmentIndexes(baseOffset: baseOffset, indexBytes: indexBytes)
        self.nextOffset = baseOffset
        self.lastModifiedMs = lastModifiedMs
    }

    /// Creates an empty segment (replacing any stale files of that name). The caller makes the
    /// directory entry durable.
    static func create(directory: String, baseOffset: Offset, indexBytes: Int, now: Int64) throws -> LogSegment {
        let segment = LogSegment(directory: directory, baseOffset: baseOffset, indexBytes: indexBytes, lastModifiedMs: now)
        try FileSystem.remove(segment.indexPath)
        try FileSystem.remove(segment.timeIndexPath)
        segment.handle = try LogFile.open(segment.logPath, create: true, truncate: true)
        return segment
    }

    /// An existing segment, not yet loaded: call `load` or `recover` next.
    static func existing(directory: String, baseOffset: Offset, indexBytes: Int) -> LogSegment {
        let segment = LogSegment(directory: directory, baseOffset: baseOffset, indexBytes: indexBytes, lastModifiedMs: 0)
        segment.lastModifiedMs = FileSystem.modificationTimeMs(segment.logPath) ?? 0
        segment.creationSynced = true
        return segment
    }

    /// A segment the cleaner rewrote (its file is in place and fsynced; its indexes are not written).
    static func cleaned(directory: String, baseOffset: Offset, size: Int, nextOffset: Offset, indexes: SegmentIndexes,
                        lastModifiedMs: Int64) -> LogSegment {
        let segment = LogSegment(directory: directory, baseOffset: baseOffset, indexBytes: 0, lastModifiedMs: lastModifiedMs)
        segment.indexes = indexes
        segment.size = size
        segment.flushedSize = size
        segment.nextOffset = nextOffset
        segment.creationSynced = true
        return segment
    }

    var isEmpty: Bool { size == 0 }
    var hasUnflushedData: Bool { flushedSize < size || indexFilesNeedSync }
    /// The largest timestamp retention goes by: the largest batch timestamp, or the last
    /// modification when no batch carries one (as Kafka's `LogSegment.largestTimestamp`).
    var largestTimestamp: Int64 { indexes.maxTimestamp >= 0 ? indexes.maxTimestamp : lastModifiedMs }

    func file() throws -> LogFile {
        if let handle { return handle }
        let opened = try LogFile.open(logPath)
        handle = opened
        return opened
    }

    func closeFile() {
        handle?.close()
        handle = nil
    }

    // MARK: Appending

    /// Writes one batch (its rewritten header, then its records untouched) at the end of the segment
    /// with pwritev, and indexes it. On a failed write the partial bytes are cut off again; if that
    /// fails too the failure says so and the log must stop.
    /// With `preallocate` > 0, blocks are first reserved that far past the end when the batch would
    /// pass the reservation.
    func append(header: ByteBuffer, payload: ByteBuffer, parsed: RecordBatchHeader, intervalBytes: Int,
                preallocate: Int = 0, now: Int64, faults: FaultInjector?) throws {
        let position = size
        let batchSize = header.readableBytes + payload.readableBytes
        precondition(parsed.baseOffset >= nextOffset, "batch at \(parsed.baseOffset) appended after \(nextOffset)")
        precondition(position + batchSize <= Int(Int32.max) || position == 0, "segment \(baseOffset) outgrows int32 positions")
        let file = try file()
        if preallocate > 0, !preallocationFailed, position + batchSize > preallocatedEnd {
            // As much again as the segment holds (at least the batch, at most `preallocate`): a quiet
            // partition reserves little, a busy one reaches the full step after a few doublings.
            let length = max(batchSize, min(preallocate, position))
            if file.preallocate(at: position, length: length) {
                preallocatedEnd = position + length
            } else {
                preallocationFailed = true
            }
        }
        do {
            if let fault = faults?.takeWriteFault() {
                switch fault {
                case .crashAfter(let bytes):
                    try file.write(header, payload, at: position, limit: min(bytes, batchSize))
                    throw SimulatedCrash()
                case .failAfter(let bytes):
                    try file.write(header, payload, at: position, limit: min(bytes, batchSize))
                    throw LogError(.io, "injected write failure after \(bytes) bytes")
                }
            }
            try file.write(header, payload, at: position)
        } catch let writeError as LogError {
            do {
                try file.truncate(to: position)
                preallocatedEnd = 0
            } catch {
                throw SegmentWriteFailure(error: writeError, repaired: false)
            }
            throw SegmentWriteFailure(error: writeError, repaired: true)
        }
        indexes.add(position: position, lastOffset: parsed.lastOffset, maxTimestamp: parsed.maxTimestamp.millis,
                    size: batchSize, intervalBytes: intervalBytes)
        size += batchSize
        nextOffset = parsed.nextOffset
        if firstAppendMs == nil { firstAppendMs = now }
        lastModifiedMs = now
    }

    /// Adds the final time-index entry; called when the segment stops being active and at close.
    func seal() {
        indexes.seal()
    }

    /// Frees the blocks reserved past the end (`LogConfig.preallocate`) with a same-size truncate.
    /// Called once the segment's data is fsynced (a rolled segment's first flush, or close), where on
    /// some file systems (XFS) the truncate would otherwise write the data back first. A failure
    /// costs only disk space until the segment is deleted, or until recovery after a crash.
    func releasePreallocation() {
        guard preallocatedEnd > size, let handle else { return }
        try? handle.truncate(to: size)
        preallocatedEnd = 0
    }

    /// Its file is open (reads keep it so; see `PartitionLog.keepOpenAfterRead`).
    var isOpen: Bool { handle != nil }

    func writeIndexFiles() throws {
        try FileSystem.writeAll(indexPath, indexes.offsets.encoded())
        try FileSystem.writeAll(timeIndexPath, indexes.times.encoded())
        indexFilesNeedSync = true
    }

    /// fsyncs what is unflushed: the log file, and the index files if they were written.
    func flush(faults: FaultInjector?) throws {
        if flushedSize < size {
            if faults?.takeSyncFault() == true { throw LogError(.io, "injected fsync failure on \(logPath)") }
            try file().sync()
            flushedSize = size
        }
        if indexFilesNeedSync {
            try FileSystem.syncFile(indexPath)
            try FileSystem.syncFile(timeIndexPath)
            indexFilesNeedSync = false
        }
    }

    /// Marks everything durable after recovery fsynced it.
    func markFlushed() {
        flushedSize = size
    }

    func deleteFiles() throws {
        closeFile()
        try FileSystem.remove(logPath)
        try FileSystem.remove(indexPath)
        try FileSystem.remove(timeIndexPath)
    }

    // MARK: Reading

    /// Whole batches from the first whose last offset is >= `offset`: up to `maxBytes`, or the
    /// first batch alone when it is larger and `minOneBatch`. Nil when no batch of this segment
    /// reaches `offset` (the caller moves to the next segment); empty when the first batch does
    /// not fit. Usually one pread: from the index position, enough for the skip and the result.
    func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool, intervalBytes: Int) throws -> ByteBuffer? {
        guard offset < nextOffset, size > 0 else { return nil }
        let limit = max(0, maxBytes)
        var position = indexes.offsets.lookup(offset)
        var window = FileWindow(file: try file(), end: size)
        // Enough for the walk from the index entry (about an interval) and the result; with
        // minOneBatch and a tiny limit, room for a typical batch so that it too is one read.
        let readAhead = intervalBytes &+ min(max(limit, minOneBatch ? 16 * 1024 : 0), size) &+ RecordBatchHeader.size
        while true {
            guard position < size else { return nil }
            try load(&window, position, readAhead: readAhead)
            let length = Int(window.int32(at: position + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
            let last = window.int64(at: position) &+ Int64(window.int32(at: position + StoredBatch.lastOffsetDeltaPosition))
            if last >= offset.rawValue { break }
            position += length
        }
        let first = position
        var end = first
        while end < size {
            let length: Int
            if window.contains(end, StoredBatch.offsetsPrefix) {
                length = Int(window.int32(at: end + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
            } else {
                var small = FileWindow(file: window.file, end: size)
                try load(&small, end, readAhead: StoredBatch.offsetsPrefix)
                length = Int(small.int32(at: end + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
            }
            let fits = end == first ? (length <= limit || minOneBatch) : end + length - first <= limit
            guard fits else { break }
            end += length
        }
        if end == first { return ByteBuffer() }
        if window.contains(first, end - first) { return window.slice(first, end - first) }
        let bytes = try window.file.read(at: first, count: end - first)
        guard bytes.readableBytes == end - first else {
            throw LogError(.corruptMessage, "\(logPath) ends before \(end), the log expects \(size) bytes")
        }
        return bytes
    }

    /// Loads the batch header prefix at `position`, checking that the length it gives stays inside
    /// the segment (the in-memory size only ever covers whole batches, so a failure means the file
    /// changed under the log).
    private func load(_ window: inout FileWindow, _ position: Int, readAhead: Int) throws {
        guard position + StoredBatch.offsetsPrefix <= size else {
            throw LogError(.corruptMessage, "\(logPath): batch header at \(position) runs past \(size)")
        }
        try window.load(position, count: StoredBatch.offsetsPrefix, readAhead: readAhead)
        let length = Int(window.int32(at: position + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
        guard length >= RecordBatchHeader.size, position + length <= size else {
            throw LogError(.corruptMessage, "\(logPath): batch at \(position) of \(length) bytes runs past \(size)")
        }
    }

    /// Visits the headers of the batches whose last offset is >= `offset`, in order, until `visit`
    /// returns false. Reads one window at a time.
    func forEachBatch(from offset: Offset, _ visit: (RecordBatchHeader, Int) throws -> Bool) throws {
        guard offset < nextOffset, size > 0 else { return }
        var position = indexes.offsets.lookup(offset)
        var window = FileWindow(file: try file(), end: size)
        while position < size {
            try load(&window, position, readAhead: 64 * 1024)
            try window.load(position, count: RecordBatchHeader.size, readAhead: 64 * 1024)
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader(parsing: window.slice(position, RecordBatchHeader.size))
            } catch {
                throw LogError(.corruptMessage, "\(logPath): batch at \(position): \(error)")
            }
            if header.lastOffset >= offset, try !visit(header, position) { return }
            position += header.totalSize
        }
    }

    /// The whole batch stored at `position`.
    func batch(at position: Int, size length: Int) throws -> RecordBatch {
        precondition(position >= 0 && position + length <= size, "batch \(position)+\(length) outside \(size)")
        let bytes = try file().read(at: position, count: length)
        do {
            return try RecordBatch(bytes)
        } catch {
            throw LogError(.corruptMessage, "\(logPath): batch at \(position): \(error)")
        }
    }

    // MARK: Recovery

    /// What `recover` found.
    struct Recovery {
        var validBytes: Int
        var truncatedBytes: Int
        var reason: String?
    }

    /// Scans the whole log file batch by batch (structure, contiguous offsets, CRC-32C), rebuilds both indexes
    /// and cuts the file after the last valid batch. The caller fsyncs. `allowGaps` for a segment
    /// below the recovery point, which compaction may have rewritten.
    func recover(intervalBytes: Int, indexBytes: Int, allowGaps: Bool = false, chunkBytes: Int = 1 << 20) throws -> Recovery {
        let file = try file()
        let fileSize = try file.size()
        var rebuilt = SegmentIndexes(baseOffset: baseOffset, indexBytes: indexBytes)
        var window = FileWindow(file: file, end: fileSize)
        var position = 0
        var next = baseOffset
        var reason: String?
        while position < fileSize {
            let remaining = fileSize - position
            guard remaining >= RecordBatchHeader.size else {
                reason = "torn batch: \(remaining) bytes, fewer than a header"
                break
            }
            try window.load(position, count: RecordBatchHeader.size, readAhead: chunkBytes)
            let length = Int(window.int32(at: position + RecordBatchHeader.Position.batchLength)) + RecordBatchHeader.logOverhead
            let whole = length >= RecordBatchHeader.size && length <= remaining
            if whole { try window.load(position, count: length, readAhead: max(chunkBytes, length)) }
            let bytes = window.slice(position, whole ? length : RecordBatchHeader.size)
            let (verdict, header) = StoredBatch.check(bytes, remainingBytes: remaining, expectedOffset: next, segmentBase: baseOffset,
                                                      allowGaps: allowGaps)
            guard case .valid(let batchSize) = verdict, let header else {
                if case .invalid(let why) = verdict { reason = why }
                break
            }
            rebuilt.add(position: position, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp.millis,
                        size: batchSize, intervalBytes: intervalBytes)
            position += batchSize
            next = header.nextOffset
        }
        // Also when nothing is cut but blocks lie past the end: a crashed broker reserved them
        // (`LogConfig.preallocate`), and a truncate to the same size frees them. (Not otherwise:
        // a truncate moves the file's mtime, which retention reads for batches without timestamps.)
        if try position < fileSize || file.hasBlocksPastEnd() { try file.truncate(to: position) }
        preallocatedEnd = 0
        indexes = rebuilt
        size = position
        nextOffset = next
        flushedSize = 0
        return Recovery(validBytes: position, truncatedBytes: fileSize - position, reason: reason)
    }

    /// Loads a segment recovery trusts (flushed before the last clean shutdown or recovery point):
    /// reads its index files and checks them against the log's tail by walking batch headers from
    /// the last offset-index entry to the end. Returns why the indexes must be rebuilt (the caller
    /// then calls `recover`), or nil when they were loaded.
    func load(intervalBytes: Int, indexBytes: Int, now: Int64) throws -> String? {
        let file = try file()
        let fileSize = try file.size()
        guard let offsetBytes = try FileSystem.readAll(indexPath) else { return "missing \(indexPath)" }
        guard let timeBytes = try FileSystem.readAll(timeIndexPath) else { return "missing \(timeIndexPath)" }
        let offsets: OffsetIndex
        let times: TimeIndex
        do {
            offsets = try OffsetIndex.decode(offsetBytes, baseOffset: baseOffset, maxEntries: OffsetIndex.maxEntries(indexBytes: indexBytes))
            times = try TimeIndex.decode(timeBytes, baseOffset: baseOffset, maxEntries: TimeIndex.maxEntries(indexBytes: indexBytes))
        } catch {
            return "\(error)"
        }
        let start = offsets.last?.position ?? 0
        guard start < fileSize || (offsets.count == 0 && fileSize == 0) else {
            return "offset index points at \(start), past the log's \(fileSize) bytes"
        }
        // An index is short when the log after its last entry runs longer than an entry's spacing.
        // The spacing it was built with is below its smallest gap, and may differ from today's
        // config: only more than both proves an entry missing.
        let shortAfter = max(intervalBytes, offsets.smallestGap ?? intervalBytes)
        var window = FileWindow(file: file, end: fileSize)
        var position = start
        var bytesSinceEntry = 0
        var next = offsets.last.map { Offset($0.offset.rawValue + 1) } ?? baseOffset
        var maxTimestamp = times.last?.timestamp ?? -1
        var offsetOfMax = times.last?.offset ?? baseOffset
        while position < fileSize {
            let remaining = fileSize - position
            guard remaining >= RecordBatchHeader.size else { return "torn batch at \(position)" }
            try window.load(position, count: RecordBatchHeader.size, readAhead: intervalBytes + 64 * 1024)
            guard let header = try? RecordBatchHeader(parsing: window.slice(position, RecordBatchHeader.size)) else {
                return "no batch header at \(position)"
            }
            if position == start, let entry = offsets.last {
                guard header.lastOffset == entry.offset else {
                    return "offset index entry (\(entry.offset), \(entry.position)) does not match the batch there (last offset \(header.lastOffset))"
                }
                guard case .valid = StoredBatch.checkHeader(header, remainingBytes: remaining, expectedOffset: nil, segmentBase: baseOffset) else {
                    return "batch at \(position) does not check"
                }
            } else {
                if bytesSinceEntry > shortAfter { return "offset index ends before the log (no entry at \(position))" }
                if case .invalid(let why) = StoredBatch.checkHeader(header, remainingBytes: remaining, expectedOffset: next,
                                                                    segmentBase: baseOffset, allowGaps: true) {
                    return why
                }
            }
            if header.maxTimestamp.millis > maxTimestamp {
                maxTimestamp = header.maxTimestamp.millis
                offsetOfMax = header.lastOffset
            }
            bytesSinceEntry += header.totalSize
            position += header.totalSize
            next = header.nextOffset
        }
        if let last = times.last, last.offset >= next {
            return "time index entry at offset \(last.offset) is past the log's end \(next)"
        }
        indexes = SegmentIndexes(offsets: offsets, times: times, bytesSinceLastEntry: bytesSinceEntry,
                                 maxTimestamp: maxTimestamp, offsetOfMaxTimestamp: offsetOfMax)
        size = fileSize
        nextOffset = next
        flushedSize = fileSize
        if fileSize > 0 { firstAppendMs = now }
        return nil
    }

    /// After `recover`: the segment is non-empty, so segment.ms counts from the open.
    func startAgeClock(now: Int64) {
        if size > 0 && firstAppendMs == nil { firstAppendMs = now }
    }
}
