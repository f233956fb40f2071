import EddyCore

/// What an append did.
public struct AppendResult: Sendable, Equatable {
    /// The first offset assigned.
    public var baseOffset: Offset
    /// The last offset assigned.
    public var lastOffset: Offset
    /// The broker time stamped on the batches with LogAppendTime, else `.none` (-1).
    public var logAppendTime: Timestamp
    /// The log start offset after the append.
    public var logStartOffset: Offset
    /// A retried batch of an idempotent producer: nothing was appended; the offsets are the
    /// original append's.
    public var isDuplicate: Bool

    public init(baseOffset: Offset, lastOffset: Offset, logAppendTime: Timestamp, logStartOffset: Offset, isDuplicate: Bool = false) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.logAppendTime = logAppendTime
        self.logStartOffset = logStartOffset
        self.isDuplicate = isDuplicate
    }
}
