import EddyCore
import EddyWire
import NIOCore

extension PartitionLog {
    /// Step 1 of a cleaning pass (see `LogCleaner`): nil unless cleanup.policy includes "compact"
    /// and the inactive segments hold a dirty range worth cleaning: its share of the inactive bytes
    /// is at least `min.cleanable.dirty.ratio`. `force` ignores the ratio (tests, and a pass
    /// requested by an operator). Only segments below the recovery point are cleaned (recovery
    /// after a crash allows gaps in those alone), so this flushes first when a roll moved the
    /// active segment past it.
    public func planCleaning(force: Bool = false) throws -> LogCleaner.Plan? {
        try checkUsable()
        guard config.compacts, segments.count > 1 else { return nil }
        if persistedRecoveryPoint < active.baseOffset { try flush() }
        let inactive = segments.filter { $0.baseOffset < persistedRecoveryPoint }
        let firstDirty = max(cleanerCheckpoint ?? logStartOffset, logStartOffset)
        let total = inactive.reduce(0) { $0 + $1.size }
        let dirty = inactive.filter { $0.baseOffset >= firstDirty }.reduce(0) { $0 + $1.size }
        guard dirty > 0, total > 0 else { return nil }
        guard force || Double(dirty) / Double(total) >= config.minCleanableDirtyRatio else { return nil }
        return LogCleaner.Plan(
            directory: directory,
            sources: inactive.map { LogCleaner.Plan.Source(baseOffset: $0.baseOffset, logPath: $0.logPath, size: $0.size) },
            firstDirtyOffset: firstDirty, cleanUpTo: persistedRecoveryPoint,
            deleteHorizonMs: now() &- config.deleteRetentionMs,
            indexIntervalBytes: config.indexIntervalBytes, indexBytes: config.segmentIndexBytes,
            mapBytes: config.cleanerMapBytes, maxBatchBytes: CompressionCodec.defaultMaxDecompressedBytes)
    }

    /// Step 3 of a cleaning pass: swaps in each cleaned segment whose original is still there and
    /// unchanged (a segment retention or DeleteRecords removed meanwhile is skipped and its cleaned
    /// file deleted), then records `result.cleanedUpTo` as the first dirty offset of the next pass.
    /// The swap is a rename over the old log file after its index files are removed, so a crash
    /// leaves either the old segment or the new one, and the next open rebuilds missing indexes.
    /// Returns how many segments were swapped.
    @discardableResult
    public func installCleaned(_ result: LogCleaner.Result) throws -> Int {
        defer { for cleaned in result.segments { try? FileSystem.remove(cleaned.cleanedPath) } }
        try checkUsable()
        var swapped = 0
        do {
            for cleaned in result.segments {
                guard let index = segments.firstIndex(where: { $0.baseOffset == cleaned.baseOffset }),
                      index < segments.count - 1, segments[index].size == cleaned.originalSize else { continue }
                let old = segments[index]
                forgetRead(old)
                old.closeFile()
                try FileSystem.remove(old.indexPath)
                try FileSystem.remove(old.timeIndexPath)
                if cleaned.size == 0 {
                    try FileSystem.remove(old.logPath)
                    segments.remove(at: index)
                } else {
                    try FileSystem.move(cleaned.cleanedPath, over: old.logPath)
                    let segment = LogSegment.cleaned(directory: directory, baseOffset: cleaned.baseOffset, size: cleaned.size,
                                                     nextOffset: cleaned.nextOffset, indexes: cleaned.indexes,
                                                     lastModifiedMs: old.lastModifiedMs)
                    try segment.writeIndexFiles()
                    try segment.flush(faults: nil)
                    segments[index] = segment
                }
                swapped += 1
            }
            try FileSystem.syncDirectory(directory)
            try cleanerCheckpointFile.write(result.cleanedUpTo)
        } catch let error as LogError {
            state = .failed(error)
            throw error
        }
        cleanerCheckpoint = result.cleanedUpTo
        return swapped
    }

    /// One whole pass on the caller's thread (tests and tools; the broker runs the steps apart).
    @discardableResult
    public func compact(force: Bool = false) throws -> LogCleaner.Stats? {
        guard let plan = try planCleaning(force: force) else { return nil }
        let result = try LogCleaner.clean(plan, now: now())
        try installCleaned(result)
        return result.stats
    }

    var cleanerCheckpointFile: OffsetCheckpointFile {
        OffsetCheckpointFile(path: directory + "/" + SegmentFileName.cleanerCheckpoint, directory: directory)
    }
}
