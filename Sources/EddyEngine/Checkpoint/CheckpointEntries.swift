import EddyCore

/// `<checkpoint>/metadata`: written when the checkpoint is created. A query refuses a checkpoint
/// whose stateful steps (`StatefulSignature`) differ from its own plan's: the state and offsets
/// inside would be read by operators that do not match them.
///
/// Version 2 stores the signature and its fingerprint. Version 1 stored a hash of the physical
/// plan's text and the text itself; a query whose plan hashes the same accepts it and rewrites it as
/// version 2.
public struct CheckpointMetadata: Sendable, Hashable, Codable {
    public var version: Int
    /// The query's id, stable across restarts (Spark's `id`).
    public var id: String
    public var pipelineFingerprint: String
    /// Version 2: the stateful steps the fingerprint encodes (explains a refusal).
    public var signature: StatefulSignature?
    /// Version 1 only: the physical plan text its fingerprint was computed from.
    public var plan: String?

    public static let currentVersion = 2

    public init(id: String, signature: StatefulSignature) {
        version = Self.currentVersion
        self.id = id
        self.pipelineFingerprint = signature.fingerprint
        self.signature = signature
    }

    /// Metadata as version 1 wrote it (tests of the upgrade).
    public init(version1 id: String, pipelineFingerprint: String, plan: String) {
        version = 1
        self.id = id
        self.pipelineFingerprint = pipelineFingerprint
        self.plan = plan
    }
}

/// `<checkpoint>/offsets/<batchId>`: the write-ahead log. Written (and fsynced) before batch
/// `batchId` is processed: the offset range of every source and the watermark the batch runs with, so a
/// replay after a crash reads the same rows and applies the same watermark.
public struct OffsetLogEntry: Sendable, Hashable, Codable {
    public var batchId: Int64
    /// Processing time the batch was planned at (milliseconds since the epoch).
    public var timestampMs: Int64
    /// The event-time watermark this batch applies (Int64.min: none yet).
    public var watermarkMs: Int64
    /// Start and end offsets per source, in plan order.
    public var start: [SourceOffsets]
    public var end: [SourceOffsets]
    /// True when every bounded source reached its end with this batch (open windows are flushed).
    public var endOfInput: Bool

    public init(batchId: Int64, timestampMs: Int64, watermarkMs: Int64, start: [SourceOffsets], end: [SourceOffsets], endOfInput: Bool) {
        self.batchId = batchId
        self.timestampMs = timestampMs
        self.watermarkMs = watermarkMs
        self.start = start
        self.end = end
        self.endOfInput = endOfInput
    }
}

/// `<checkpoint>/commits/<batchId>`: batch `batchId` is done (sink written, state saved). Carries the
/// watermark tracker after the batch, from which the next batch's watermark is computed.
public struct CommitLogEntry: Sendable, Hashable, Codable {
    public var batchId: Int64
    public var watermark: WatermarkState

    public init(batchId: Int64, watermark: WatermarkState) {
        self.batchId = batchId
        self.watermark = watermark
    }
}

/// The watermark tracker's memory: source partitions (written `"<source index>/<partition>"`) in the
/// order the tracker numbers them, and the tracker's own state (see `WatermarkTracker.state`).
public struct WatermarkState: Sendable, Hashable, Codable {
    public var partitions: [SourcePartition]
    public var tracker: [Int64]

    public init(partitions: [SourcePartition] = [], tracker: [Int64] = []) {
        self.partitions = partitions
        self.tracker = tracker
    }
}
