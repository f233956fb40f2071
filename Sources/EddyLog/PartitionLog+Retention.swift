import EddyCore

extension PartitionLog {
    /// DeleteRecords: moves `logStartOffset` forward to `offset` (at most `logEndOffset`; an offset at
    /// or below the current start changes nothing), persists it in the `log-start-offset` checkpoint,
    /// and deletes the segments wholly below it (rolling first when that is every segment). Flushes
    /// first when the new start is past `flushedOffset`, so the checkpoint never points past what
    /// a crash could lose. Returns the new log start offset.
    public func deleteRecords(before offset: Offset) throws -> Offset {
        try checkUsable()
        let target = min(offset, logEndOffset)
        guard target > logStartOffset else { return logStartOffset }
        if target > flushedOffset { try flush() }
        try logStartOffsetFile.write(target)
        logStartOffset = target
        _ = try deleteLeadingSegments(RetentionPlanner.belowLogStart(summaries, logStartOffset: logStartOffset))
        return logStartOffset
    }

    /// One retention pass: rolls the active segment when segment.ms says so, then (when
    /// cleanup.policy includes "delete") deletes the oldest segments whose largest timestamp is older
    /// than retention.ms, then those beyond retention.bytes, then any wholly below the log start
    /// offset. The active segment goes only when every segment is deletable and it is not empty: the
    /// log rolls first, as Kafka does. Advances `logStartOffset`. Returns the segments deleted.
    public func applyRetention() throws -> Int {
        try checkUsable()
        let time = now()
        let segment = RollPolicy.Segment(baseOffset: active.baseOffset, size: active.size,
                                         firstAppendMs: active.firstAppendMs, indexesFull: active.indexes.isFull)
        if RollPolicy.isAged(segment, now: time, config: config) { try roll(now: time) }
        var deleted = 0
        if config.deletesOldSegments {
            deleted += try deleteLeadingSegments(RetentionPlanner.expiredByTime(summaries, now: time, retentionMs: config.retentionMs))
            deleted += try deleteLeadingSegments(RetentionPlanner.exceedingSize(summaries, retentionBytes: config.retentionBytes))
        }
        deleted += try deleteLeadingSegments(RetentionPlanner.belowLogStart(summaries, logStartOffset: logStartOffset))
        producers.removeExpiredProducers(now: Timestamp(millis: time), expirationMs: config.producerIdExpirationMs)
        return deleted
    }

    var summaries: [RetentionPlanner.Segment] {
        segments.map {
            RetentionPlanner.Segment(baseOffset: $0.baseOffset, nextOffset: $0.nextOffset, size: $0.size, largestTimestamp: $0.largestTimestamp)
        }
    }

    /// Deletes the `count` oldest segments. When that is all of them, rolls first and makes the new
    /// segment's directory entry durable before deleting, so a crash never leaves no segment (which
    /// would restart the offsets at the checkpoint or 0).
    func deleteLeadingSegments(_ count: Int) throws -> Int {
        guard count > 0 else { return 0 }
        precondition(count <= segments.count, "deleting \(count) of \(segments.count) segments")
        do {
            if count == segments.count {
                try roll(now: now())
                precondition(segments.count > count, "roll of a deletable active segment made no new segment")
                try FileSystem.syncDirectory(directory)
                for segment in segments { segment.creationSynced = true }
                directoryNeedsSync = false
            }
            for _ in 0..<count {
                forgetRead(segments[0])
                try segments[0].deleteFiles()
                segments.removeFirst()
            }
            try FileSystem.syncDirectory(directory)
            // That fsync made every segment's creation durable too.
            for segment in segments { segment.creationSynced = true }
            directoryNeedsSync = false
        } catch let error as LogError {
            state = .failed(error)
            throw error
        }
        logStartOffset = max(logStartOffset, segments[0].baseOffset)
        producers.truncateHead(logStartOffset: logStartOffset)
        return count
    }
}
