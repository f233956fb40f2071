import EddyWire

/// Per-partition log settings. Defaults are Kafka's, and each field names the topic config it backs.
/// Changes made through `PartitionLog.config` apply from the next append, roll or retention pass.
public struct LogConfig: Sendable, Equatable {
    /// `segment.bytes`: a segment rolls before an append would take it past this size.
    public var segmentBytes: Int = 1 << 30
    /// `segment.ms`: a non-empty segment rolls once this long has passed since its first append.
    public var segmentMs: Int64 = 7 * 24 * 3600 * 1000
    /// `retention.ms`: a segment is deleted once its largest timestamp is older than this (-1: keep forever).
    public var retentionMs: Int64 = 7 * 24 * 3600 * 1000
    /// `retention.bytes`: the oldest segments are deleted while the log would stay at least this big (-1: no limit).
    public var retentionBytes: Int64 = -1
    /// `max.message.bytes`: the largest batch an append accepts.
    public var maxMessageBytes: Int = 1_048_588
    /// `index.interval.bytes`: log bytes between two offset-index entries.
    public var indexIntervalBytes: Int = 4096
    /// `segment.index.bytes`: bounds each index (entries = bytes / entry size); a full index rolls the segment.
    public var segmentIndexBytes: Int = 10 * 1024 * 1024
    /// `flush.messages`: `flushIfDue()` flushes once this many offsets are unflushed.
    public var flushIntervalMessages: Int64 = Int64.max
    /// `flush.ms`: `flushIfDue()` flushes once this long has passed since the last flush.
    public var flushIntervalMs: Int64 = Int64.max
    /// `preallocate`: the active segment reserves disk blocks ahead of its appends (Linux fallocate
    /// keeping the file's size, so readers and recovery see only appended bytes): when an append would
    /// pass the reservation, as much again as the segment holds, at least the batch and at most
    /// `preallocationStepBytes`, so a quiet partition reserves little. A rolled segment frees what it
    /// did not use at its fsync, the active one at close, and recovery after a crash. On ext4 this
    /// spares the kernel its per-page delayed-allocation work (a 2 GiB write with fdatasync every 4 MiB:
    /// about half the system time; the broker: about 12 % less CPU for 1 KiB acks=all produce). Unlike
    /// Kafka (whose `preallocate` sizes each new segment to `segment.bytes` and defaults to false) it is
    /// on by default.
    public var preallocate = true
    /// How far ahead of its end an active segment reserves blocks when `preallocate` is on.
    public static let preallocationStepBytes = 16 << 20
    /// `message.timestamp.type`: with `.logAppendTime` the log stamps each batch with its clock.
    public var messageTimestampType: TimestampType = .createTime
    /// `cleanup.policy`: "delete", "compact" or "compact,delete". Retention by time and size runs only
    /// when it contains "delete"; compaction (`LogCleaner`) only when it contains "compact".
    public var cleanupPolicy: String = "delete"
    /// `delete.retention.ms`: how long a tombstone stays after its first cleaning pass, by its
    /// batch's max timestamp.
    public var deleteRetentionMs: Int64 = 24 * 3600 * 1000
    /// `min.cleanable.dirty.ratio`: a compaction pass runs once the uncleaned share of the inactive
    /// segments' bytes reaches this.
    public var minCleanableDirtyRatio: Double = 0.5
    /// `producer.id.expiration.ms` (a broker setting): an idempotent producer silent this long is
    /// forgotten (its next batch starts afresh).
    public var producerIdExpirationMs: Int64 = 86_400_000
    /// `log.cleaner.dedupe.buffer.size` (a broker setting): bounds the cleaner's key map.
    public var cleanerMapBytes: Int = 128 << 20

    public init() {}

    /// Whether retention by time and size deletes segments.
    var deletesOldSegments: Bool { cleanupPolicy.split(separator: ",").contains { $0.trimmingWhitespace == "delete" } }
    /// Whether compaction runs.
    public var compacts: Bool { cleanupPolicy.split(separator: ",").contains { $0.trimmingWhitespace == "compact" } }
}

extension Substring {
    fileprivate var trimmingWhitespace: Substring {
        var s = self
        while let c = s.first, c == " " { s = s.dropFirst() }
        while let c = s.last, c == " " { s = s.dropLast() }
        return s
    }
}
