import EddyCore

extension MicroBatchExecution {
    /// Spark's `StreamingQueryProgress` for a finished batch.
    func progress(_ entry: OffsetLogEntry, latest: [SourceOffsets], rowsPerSource: [Int64], output: RecordBatch,
                  letters: [DeadLetter], context: BatchContext, readMs: Int64, clock: PhaseClock) -> StreamingQueryProgress {
        var durations = clock.phases
        durations["getBatch"] = readMs
        let totalMs = max(clock.totalMs, 1)
        let inputRows = rowsPerSource.reduce(0, +)
        let previousMs = lastProgressTimestampMs ?? entry.timestampMs
        let sinceLastMs = max(entry.timestampMs - previousMs, 0)
        lastProgressTimestampMs = entry.timestampMs
        var eventTime: [String: String] = [:]
        if context.eventTimeCount > 0 {
            eventTime["min"] = formatTimestamp(context.eventTimeMin)
            eventTime["max"] = formatTimestamp(context.eventTimeMax)
            eventTime["avg"] = formatTimestamp(Int64(context.eventTimeSum / Double(context.eventTimeCount)))
        }
        if entry.watermarkMs != .min { eventTime["watermark"] = formatTimestamp(entry.watermarkMs) }
        // Commit time minus event time of the batch's slowest and fastest rows kept (not late).
        var latency: [String: Int64] = [:]
        let committedMs = entry.timestampMs + clock.totalMs
        if context.onTimeEventTimeMin != .max {
            latency["max"] = max(0, committedMs - context.onTimeEventTimeMin)
            latency["min"] = max(0, committedMs - context.eventTimeMax)
        }
        if context.oldestRecordTimeMs != .max { latency["sinceRecordTimeMax"] = max(0, committedMs - context.oldestRecordTimeMs) }
        let sources = plan.sources.enumerated().map { index, source in
            let behind = latest.indices.contains(index) ? Self.behind(latest[index], entry.end[index]) : [:]
            var metrics: [String: String] = [:]
            if let minimum = behind.values.min(), let maximum = behind.values.max() {
                metrics["minOffsetsBehindLatest"] = String(minimum)
                metrics["maxOffsetsBehindLatest"] = String(maximum)
                metrics["avgOffsetsBehindLatest"] = String(Double(behind.values.reduce(0, +)) / Double(behind.count))
            }
            // A log's lag per partition, in records and in seconds (Eddy's; Spark's Kafka source has the three above).
            if latest.indices.contains(index), let seconds = source.secondsBehind(end: entry.end[index], latest: latest[index], nowMs: committedMs) {
                for (partition, records) in behind {
                    let label = source.partitionLabel(partition)
                    metrics["offsetsBehindLatest.\(label)"] = String(records)
                    metrics["secondsBehindLatest.\(label)"] = formatSeconds(seconds[partition] ?? 0)
                }
                metrics["maxSecondsBehindLatest"] = formatSeconds(seconds.values.max() ?? 0)
            }
            // Eddy's data-quality counts of this batch (Spark's sources put their own figures here too).
            for (column, nulls) in context.nullsPerSource[index] ?? [:] { metrics["nulls." + column] = String(nulls) }
            for (cause, count) in context.malformedPerSource[index] ?? [:] { metrics["malformed." + cause] = String(count) }
            return StreamingQueryProgress.SourceProgress(
                description: source.description, startOffset: entry.start[index], endOffset: entry.end[index],
                latestOffset: latest.indices.contains(index) ? latest[index] : entry.end[index],
                numInputRows: rowsPerSource[index],
                inputRowsPerSecond: sinceLastMs > 0 ? Double(rowsPerSource[index]) * 1000 / Double(sinceLastMs) : 0,
                processedRowsPerSecond: Double(rowsPerSource[index]) * 1000 / Double(totalMs), metrics: metrics)
        }
        var deadLetters: [String: Int64] = [:]
        for letter in letters { deadLetters[letter.reason.rawValue, default: 0] += 1 }
        return StreamingQueryProgress(
            id: id, runId: runId, name: options.name, timestamp: formatTimestamp(entry.timestampMs), batchId: entry.batchId,
            numInputRows: inputRows,
            inputRowsPerSecond: sinceLastMs > 0 ? Double(inputRows) * 1000 / Double(sinceLastMs) : 0,
            processedRowsPerSecond: Double(inputRows) * 1000 / Double(totalMs),
            durationMs: durations, eventTime: eventTime,
            stateOperators: plan.operators.compactMap(stateProgress), sources: sources,
            sink: .init(description: plan.sink.description, numOutputRows: Int64(output.count)),
            numDeadLetterRows: deadLetters, latencyMs: latency)
    }



    /// An operator's state figures, with what the batch wrote of it to the checkpoint:
    /// `stateCheckpointBytes` (the file's payload), `stateCheckpointWhole` (1: a whole snapshot,
    /// 0: a delta) and `stateCompactionBytes` (snapshots compactions finished since the last batch).
    private func stateProgress(_ op: any StreamOperator) -> StreamingQueryProgress.StateOperatorProgress? {
        guard var progress = op.stateProgress else { return nil }
        if let written = lastStateWrite[op.name] {
            progress.customMetrics["stateCheckpointBytes"] = Int64(written.bytes)
            progress.customMetrics["stateCheckpointWhole"] = written.whole ? 1 : 0
        }
        if checkpoint != nil && op.stateCompactor != nil {
            progress.customMetrics["stateCompactionBytes"] = Int64(compactedBytes.removeValue(forKey: op.name) ?? 0)
        }
        return progress
    }

    /// Offsets behind latest per partition.
    private static func behind(_ latest: SourceOffsets, _ end: SourceOffsets) -> [PartitionID: Int64] {
        Dictionary(uniqueKeysWithValues: latest.partitions.map { partition, offset in (partition, max(0, offset - (end.partitions[partition] ?? 0))) })
    }
}

/// Phase durations of one batch (progress `durationMs`), from a monotonic clock.
struct PhaseClock {
    private(set) var phases: [String: Int64] = [:]
    private let startedAt: Int64
    private var lastMark: Int64

    init() {
        startedAt = monotonicMillis()
        lastMark = startedAt
    }

    mutating func mark(_ phase: String) {
        let now = monotonicMillis()
        phases[phase, default: 0] += now - lastMark
        lastMark = now
        phases["triggerExecution"] = now - startedAt
    }

    var totalMs: Int64 { phases["triggerExecution"] ?? 0 }
}

/// Seconds with millisecond precision, as progress metrics show them ("1.25").
private func formatSeconds(_ seconds: Double) -> String {
    String(Double((seconds * 1000).rounded()) / 1000)
}
