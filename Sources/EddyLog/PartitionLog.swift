import EddyCore
import EddyWire
import NIOCore

/// One partition's log on disk: a directory of segments (`LogSegment`), each a `.log` file of record
/// batches stored exactly as appended, with a sparse offset index and a time index, laid out as
/// Kafka lays them out (`<dir>/<20-digit base offset>.log|.index|.timeindex`).
///
/// Durability: `append` only writes to the OS (pwritev); `flush()` fsyncs every file with unflushed
/// data and the directory after segments were created, then advances `flushedOffset`. After a
/// crash, `open` scans what may be unflushed and cuts a torn or corrupt tail (see `open`).
///
/// Not thread-safe: the owner serialises calls (the broker holds a lock per partition), which is
/// why it can be `@unchecked Sendable`. All file I/O is synchronous.
public final class PartitionLog: @unchecked Sendable {
    enum State {
        case open
        /// A write could not be repaired or an fsync failed: what is on disk is unknown, so the log
        /// refuses further calls until it is reopened (and recovered).
        case failed(LogError)
        case closed
    }

    public let directory: String
    /// Changes apply from the next append, roll or retention pass.
    public var config: LogConfig
    let now: () -> Int64
    /// Sorted by base offset; the last is the active segment. Never empty.
    var segments: [LogSegment]
    public internal(set) var logStartOffset: Offset
    /// All offsets below it are fsynced.
    public internal(set) var flushedOffset: Offset
    /// What `open` recovered; nil when the directory held no log yet.
    public internal(set) var recoveryReport: RecoveryReport?
    var state = State.open
    /// Segments were created since the directory was last fsynced.
    var directoryNeedsSync = false
    /// A roll happened since the last flush (new segment, index files written): even with no new
    /// offsets, the next flush has work.
    var syncPending = false
    var lastFlushMs: Int64
    /// The recovery point last persisted: segments below it are durable, indexes included.
    var persistedRecoveryPoint: Offset
    /// Idempotent and transactional producers seen in this partition (`PartitionLog+Producers`).
    public internal(set) var producers = ProducerStateTable()
    /// Where the next compaction pass's dirty range starts (nil: at the log start).
    var cleanerCheckpoint: Offset?
    /// Test hooks; nil in production.
    var faults: FaultInjector?
    /// Inactive segments read lately, least recent first: their files stay open for the next read,
    /// at most `maxOpenReadSegments` of them (the others close), so a consumer walking a long log
    /// does not hold a descriptor per segment.
    var recentlyRead: [LogSegment] = []
    /// The most inactive segments whose files a log keeps open between reads. With the active
    /// segment's, a partition holds at most this + 1 descriptors (more only while rolled segments
    /// wait for their fsync, which closes them).
    public static let maxOpenReadSegments = 4

    init(directory: String, config: LogConfig, now: @escaping () -> Int64, segments: [LogSegment],
         logStartOffset: Offset, recoveryReport: RecoveryReport?, persistedRecoveryPoint: Offset) {
        precondition(!segments.isEmpty, "a log has an active segment")
        self.directory = directory
        self.config = config
        self.now = now
        self.segments = segments
        self.logStartOffset = logStartOffset
        self.flushedOffset = segments[segments.count - 1].nextOffset
        self.recoveryReport = recoveryReport
        self.lastFlushMs = now()
        self.persistedRecoveryPoint = persistedRecoveryPoint
    }

    var active: LogSegment { segments[segments.count - 1] }

    /// The next offset to assign.
    public var logEndOffset: Offset { active.nextOffset }
    public var sizeInBytes: Int64 { segments.reduce(0) { $0 + Int64($1.size) } }
    public var segmentCount: Int { segments.count }

    func checkUsable() throws {
        switch state {
        case .open: return
        case .failed(let error): throw LogError(.io, "\(directory) is offline after an earlier failure (\(error.detail)); reopen it")
        case .closed: throw LogError(.closed, "\(directory) is closed")
        }
    }

    // MARK: Append

    /// Appends one batch the caller validated (see `append(batches:)`).
    public func append(_ batch: RecordBatch) throws -> AppendResult {
        try append(batches: [batch])
    }

    /// Appends the batches of one produce request for this partition, in order: assigns offsets
    /// (rewrites baseOffset, partitionLeaderEpoch 0), stamps LogAppendTime when the config says so
    /// (maxTimestamp, the timestamp-type bit and the CRC), rolls the segment first when it is due
    /// (size, age, index full), writes to the OS and indexes. Every batch is checked before any is
    /// written: messageTooLarge over max.message.bytes, corruptMessage for a bad CRC or structure,
    /// invalidRecord for a batch without records or whose count does not match its offsets. A batch
    /// from an idempotent producer is checked against the producer-state table: a retry of one of
    /// its last five batches appends nothing and returns the original offsets (`isDuplicate`); a
    /// sequence or epoch the table refuses throws `ProducerRejection`.
    public func append(batches: [RecordBatch]) throws -> AppendResult {
        try checkUsable()
        guard !batches.isEmpty else { throw LogError(.invalidRecord, "append of no batches") }
        for batch in batches { try StoredBatch.validateForAppend(batch, maxMessageBytes: config.maxMessageBytes) }
        if batches.count == 1, let original = try checkProducer(batches[0].header) {
            return AppendResult(baseOffset: original.firstOffset, lastOffset: original.lastOffset, logAppendTime: .none,
                                logStartOffset: logStartOffset, isDuplicate: true)
        }
        for batch in batches.dropFirst() where AppendingBatch(batch.header) != nil {
            throw LogError(.invalidRecord, "an idempotent producer's batch must be appended on its own")
        }
        return try write(batches, trackingProducers: true)
    }

    /// Writes validated batches (see `append`); with `trackingProducers` each one updates the
    /// producer-state table.
    func write(_ batches: [RecordBatch], trackingProducers: Bool) throws -> AppendResult {
        let time = now()
        let appendTime: Int64? = config.messageTimestampType == .logAppendTime ? time : nil
        let firstOffset = logEndOffset
        for batch in batches {
            let (header, parsed) = StoredBatch.storedHeader(of: batch, baseOffset: logEndOffset, logAppendTime: appendTime)
            let segment = RollPolicy.Segment(baseOffset: active.baseOffset, size: active.size,
                                             firstAppendMs: active.firstAppendMs, indexesFull: active.indexes.isFull)
            if RollPolicy.reason(segment, batchSize: batch.bytes.readableBytes, lastOffset: parsed.lastOffset, now: time, config: config) != nil {
                try roll(now: time)
            }
            do {
                try active.append(header: header, payload: batch.payload, parsed: parsed,
                                  intervalBytes: config.indexIntervalBytes,
                                  preallocate: config.preallocate ? min(LogConfig.preallocationStepBytes, config.segmentBytes) : 0,
                                  now: time, faults: faults)
            } catch is SimulatedCrash {
                let error = LogError(.io, "simulated crash during a write")
                state = .failed(error)
                throw error
            } catch let failure as SegmentWriteFailure {
                if !failure.repaired { state = .failed(failure.error) }
                throw failure.error
            }
            if trackingProducers { recordProducer(parsed) }
        }
        return AppendResult(baseOffset: firstOffset, lastOffset: Offset(logEndOffset.rawValue - 1),
                            logAppendTime: appendTime.map { Timestamp(millis: $0) } ?? .none, logStartOffset: logStartOffset)
    }

    /// Starts a new active segment at the log end offset. The old one gets its final time-index
    /// entry and its index files (written now, fsynced by the next flush). No-op when empty.
    func roll(now time: Int64) throws {
        let old = active
        guard !old.isEmpty else { return }
        old.seal()
        try old.writeIndexFiles()
        let segment = try LogSegment.create(directory: directory, baseOffset: old.nextOffset,
                                            indexBytes: config.segmentIndexBytes, now: time)
        segments.append(segment)
        directoryNeedsSync = true
        syncPending = true
        // Recovery replays producer state from here: at most the active segment.
        try snapshotProducers()
    }

    // MARK: Read

    /// Whole batches from the one holding `offset`, up to `maxBytes` (at least one whole batch when
    /// `minOneBatch`), from one segment. Throws offsetOutOfRange below `logStartOffset` or past
    /// `logEndOffset`; at `logEndOffset` the records are empty.
    public func read(from offset: Offset, maxBytes: Int, minOneBatch: Bool) throws -> ReadResult {
        try checkUsable()
        guard offset >= logStartOffset, offset <= logEndOffset else {
            throw LogError(.offsetOutOfRange, "offset \(offset) is outside \(logStartOffset)..<\(logEndOffset)")
        }
        var records = ByteBuffer()
        var index = segmentIndex(containing: offset)
        while index < segments.count {
            // A segment with nothing at or after `offset` (a gap left by a damaged segment) sends
            // the read on to the next one.
            let segment = segments[index]
            defer { keepOpenAfterRead(segment) }
            if let found = try segment.read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch,
                                            intervalBytes: config.indexIntervalBytes) {
                records = found
                break
            }
            index += 1
        }
        return ReadResult(records: records, highWatermark: logEndOffset, logStartOffset: logStartOffset)
    }

    /// Notes that `segment` was read; closes the file of the least recently read inactive segment
    /// past `maxOpenReadSegments` (unless it still waits for its fsync, which closes it).
    func keepOpenAfterRead(_ segment: LogSegment) {
        guard segment !== active, segment.isOpen else { return }
        if let i = recentlyRead.firstIndex(where: { $0 === segment }) { recentlyRead.remove(at: i) }
        recentlyRead.append(segment)
        while recentlyRead.count > Self.maxOpenReadSegments {
            let evicted = recentlyRead.removeFirst()
            if evicted !== active && !evicted.hasUnflushedData { evicted.closeFile() }
        }
    }

    /// Drops a segment that leaves the log (deleted or replaced) from `recentlyRead`.
    func forgetRead(_ segment: LogSegment) {
        recentlyRead.removeAll { $0 === segment }
    }

    /// A segment rolled since the last flush and waits for its fsync (which also closes its file and
    /// frees its reservation). Kafka flushes a rolled segment in the background; the broker does too
    /// when this says so.
    public var rolledSegmentAwaitsFlush: Bool { syncPending }

    /// The index of the last segment whose base offset is <= `offset` (0 when none is).
    func segmentIndex(containing offset: Offset) -> Int {
        var low = 0
        var high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].baseOffset <= offset { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    // MARK: Flush

    /// fsyncs every segment file with unflushed data (log and written index files), then the
    /// directory when segments were created or the recovery point moved (once per roll), and
    /// advances `flushedOffset` to the log end. Costs
    /// two comparisons when nothing is dirty. A failed fsync takes the log offline: after one, the
    /// kernel may have dropped the dirty pages, so retrying cannot prove anything durable.
    public func flush() throws {
        try checkUsable()
        guard flushedOffset < logEndOffset || syncPending else { return }
        let target = logEndOffset
        do {
            for segment in segments where segment.hasUnflushedData {
                try segment.flush(faults: faults)
                // Kept open until now so that a writeback error still reaches this descriptor.
                if segment !== active {
                    segment.releasePreallocation()
                    segment.closeFile()
                }
            }
            // Every segment is durable now, so recovery may start at the active one. The rename
            // that records it is made durable by the directory fsync below, with the creation of
            // the segments since the last flush: one directory fsync for both.
            let point = active.baseOffset
            let movePoint = persistedRecoveryPoint != point
            if movePoint { try recoveryPointFile.write(point, syncDirectory: false) }
            if directoryNeedsSync || movePoint {
                try FileSystem.syncDirectory(directory)
                for segment in segments { segment.creationSynced = true }
                directoryNeedsSync = false
            }
            if movePoint { persistedRecoveryPoint = point }
        } catch let error as LogError {
            state = .failed(error)
            throw error
        }
        flushedOffset = target
        syncPending = false
        lastFlushMs = now()
    }

    /// flush() when flush.messages or flush.ms (by the injected clock) says it is due. Cheap
    /// otherwise: the broker may call it after every append as well as on a timer.
    public func flushIfDue() throws {
        try checkUsable()
        guard flushedOffset < logEndOffset || syncPending else { return }
        let unflushed = logEndOffset.rawValue - flushedOffset.rawValue
        if unflushed >= config.flushIntervalMessages || now() &- lastFlushMs >= config.flushIntervalMs {
            try flush()
        }
    }

    var recoveryPointFile: OffsetCheckpointFile {
        OffsetCheckpointFile(path: directory + "/" + SegmentFileName.recoveryPoint, directory: directory)
    }

    var logStartOffsetFile: OffsetCheckpointFile {
        OffsetCheckpointFile(path: directory + "/" + SegmentFileName.logStartOffset, directory: directory)
    }

    var cleanShutdownPath: String { directory + "/" + SegmentFileName.cleanShutdown }

    // MARK: Close

    /// Flushes, writes the active segment's indexes, and leaves the clean-shutdown marker so the next
    /// open need not scan. A second close does nothing; a log that went offline closes without the
    /// marker, so the next open recovers it.
    public func close() throws {
        switch state {
        case .closed:
            return
        case .failed:
            closeFiles()
            state = .closed
            return
        case .open:
            break
        }
        try flush()
        do {
            try snapshotProducers()
            active.seal()
            try active.writeIndexFiles()
            try active.flush(faults: nil)
            active.releasePreallocation()
            try FileSystem.createDurably(cleanShutdownPath, directory: directory)
        } catch let error as LogError {
            state = .failed(error)
            throw error
        }
        closeFiles()
        state = .closed
    }

    /// Removes the directory and everything in it (topic deletion). The log is closed afterwards.
    public func delete() throws {
        closeFiles()
        state = .closed
        try FileSystem.removeDirectory(directory)
        try? FileSystem.syncDirectory(FileSystem.parentDirectory(directory))
    }

    func closeFiles() {
        recentlyRead = []
        for segment in segments { segment.closeFile() }
    }
}
