import EddyCore

extension PartitionLog {
    /// Opens the log in `directory` (`<data>/<topic>-<partition>`), creating it when missing, and
    /// recovers it:
    ///
    /// - After a clean shutdown (the `.clean-shutdown` marker, which open removes), every segment's
    ///   index files are loaded and checked against its log by walking the batch headers after the
    ///   last offset-index entry; a missing, short or inconsistent index is rebuilt by a full scan.
    /// - Otherwise every segment from the recovery point on (the active segment at the last flush
    ///   that changed it; all segments when unknown), and always the last one, is scanned batch by
    ///   batch: a torn or corrupt tail (short batch, bad CRC or magic, wrong lengths, offsets not
    ///   increasing) is cut after the last valid batch, indexes are rebuilt, and the segments after
    ///   a cut are deleted, so the log stays a prefix of what was appended. Older segments are
    ///   loaded as after a clean shutdown.
    ///
    /// What was repaired is in `recoveryReport`. Everything found is then fsynced, so
    /// `flushedOffset` starts at the log end.
    public static func open(directory: String, config: LogConfig, now: @escaping () -> Int64) throws -> PartitionLog {
        let createdDirectory = try FileSystem.makeDirectory(directory)
        var logBases: [Offset] = []
        var indexFiles: [(base: Offset, name: String)] = []
        for name in try FileSystem.list(directory) {
            if name.hasSuffix(".tmp") || name.hasSuffix(LogCleaner.cleanedSuffix) {
                // A checkpoint write or a cleaning pass interrupted before its rename: the old
                // file is still whole.
                try FileSystem.remove(directory + "/" + name)
                continue
            }
            guard let (base, kind) = SegmentFileName.parse(name) else { continue }
            if kind == .log { logBases.append(base) } else { indexFiles.append((base, name)) }
        }
        logBases.sort()
        let bases = Set(logBases)
        // Index files of a segment whose log was deleted first (a deletion cut short).
        for file in indexFiles where !bases.contains(file.base) { try FileSystem.remove(directory + "/" + file.name) }

        let markerPath = directory + "/" + SegmentFileName.cleanShutdown
        let clean = FileSystem.exists(markerPath)
        var report = RecoveryReport(cleanShutdown: clean)
        let startFile = OffsetCheckpointFile(path: directory + "/" + SegmentFileName.logStartOffset, directory: directory)
        let pointFile = OffsetCheckpointFile(path: directory + "/" + SegmentFileName.recoveryPoint, directory: directory)
        var checkpointedStart: Offset?
        do { checkpointedStart = try startFile.read() } catch { report.notes.append("ignored \(error)") }
        var storedPoint: Offset?
        do { storedPoint = try pointFile.read() } catch {
            if !clean { report.notes.append("ignored \(error); scanning every segment") }
        }
        let recoveryPoint = storedPoint ?? Offset(0)

        let time = now()
        var segments: [LogSegment] = []
        var scanned: [LogSegment] = []
        var directoryChanged = false
        /// Set by a cut in the unflushed part of the log: what follows is not a continuation.
        var cut = false
        for (i, base) in logBases.enumerated() {
            let segment = LogSegment.existing(directory: directory, baseOffset: base, indexBytes: config.segmentIndexBytes)
            let untrusted = !clean && (base >= recoveryPoint || i == logBases.count - 1)
            // Only segments created after the last flush (above the recovery point) can have lost
            // their predecessor's file with the crash; a hole before any other is damage to report.
            let afterLostFile = base > recoveryPoint && !clean && segments.last.map { $0.nextOffset != base } == true
            if cut || afterLostFile {
                // A truncated segment, or a segment file lost with the crash (its creation was not
                // yet durable), leaves a hole: what follows holds only unflushed data.
                try segment.deleteFiles()
                report.deletedSegments.append(base)
                directoryChanged = true
                cut = true
                continue
            }
            if let previous = segments.last, previous.nextOffset > base {
                throw LogError(.corruptMessage, "segment \(base) overlaps the previous one, which ends at offset \(previous.nextOffset)")
            }
            var recovery: LogSegment.Recovery?
            if untrusted {
                recovery = try segment.recover(intervalBytes: config.indexIntervalBytes, indexBytes: config.segmentIndexBytes)
            } else if let problem = try segment.load(intervalBytes: config.indexIntervalBytes, indexBytes: config.segmentIndexBytes, now: time) {
                report.rebuiltIndexes.append(.init(segmentBaseOffset: base, reason: problem))
                recovery = try segment.recover(intervalBytes: config.indexIntervalBytes, indexBytes: config.segmentIndexBytes,
                                               allowGaps: true)
            }
            if let recovery {
                report.segmentsScanned += 1
                scanned.append(segment)
                segment.startAgeClock(now: time)
                if recovery.truncatedBytes > 0 {
                    report.truncations.append(.init(segmentBaseOffset: base, validBytes: Int64(recovery.validBytes),
                                                    truncatedBytes: Int64(recovery.truncatedBytes), reason: recovery.reason ?? "?"))
                    // In a segment recovery trusted, the damage is not a crash's: keep what follows.
                    if untrusted { cut = true }
                }
            }
            // Compaction leaves gaps where whole batches went.
            if !config.compacts, let previous = segments.last, previous.nextOffset != base {
                report.notes.append("offsets \(previous.nextOffset)..<\(base) are missing between segments")
            }
            segments.append(segment)
        }

        if segments.isEmpty {
            let base = checkpointedStart ?? Offset(0)
            segments.append(try LogSegment.create(directory: directory, baseOffset: base, indexBytes: config.segmentIndexBytes, now: time))
            directoryChanged = true
        }
        var logStart = max(segments[0].baseOffset, checkpointedStart ?? Offset(0))
        if logStart > segments[segments.count - 1].nextOffset {
            // DeleteRecords moved the start past what survived (only if the files were tampered
            // with: deleteRecords flushes first). Start over there, as Kafka does.
            report.notes.append("log start offset \(logStart) is past the recovered end \(segments[segments.count - 1].nextOffset); emptied the log")
            for segment in segments {
                try segment.deleteFiles()
                report.deletedSegments.append(segment.baseOffset)
            }
            scanned = []
            segments = [try LogSegment.create(directory: directory, baseOffset: logStart, indexBytes: config.segmentIndexBytes, now: time)]
            directoryChanged = true
        }
        logStart = max(segments[0].baseOffset, checkpointedStart ?? Offset(0))

        // Make what recovery kept durable, so flushedOffset can start at the log end.
        let last = segments[segments.count - 1]
        for segment in scanned {
            try segment.file().sync()
            segment.markFlushed()
        }
        for segment in scanned where segment !== last {
            // Sealed and written like a segment that rolled (the last one's wait for close).
            segment.seal()
            try segment.writeIndexFiles()
            try segment.flush(faults: nil)
        }
        for segment in segments where segment !== last { segment.closeFile() }
        if clean { try FileSystem.remove(markerPath) }
        // Everything kept is durable: recovery may start at the last segment next time. One
        // directory fsync covers that rename, the marker's removal and any segment changes.
        let movePoint = storedPoint != last.baseOffset
        if movePoint { try pointFile.write(last.baseOffset, syncDirectory: false) }
        if clean || directoryChanged || createdDirectory || movePoint { try FileSystem.syncDirectory(directory) }
        for segment in segments { segment.creationSynced = true }

        let fresh = createdDirectory || logBases.isEmpty
        let log = PartitionLog(directory: directory, config: config, now: now, segments: segments, logStartOffset: logStart,
                               recoveryReport: fresh && report.isEmpty ? nil : report, persistedRecoveryPoint: last.baseOffset)
        try log.loadProducers()
        do { log.cleanerCheckpoint = try log.cleanerCheckpointFile.read() } catch {
            // Costs one pass over the whole log, nothing more.
            log.recoveryReport?.notes.append("ignored \(error)")
        }
        return log
    }
}
