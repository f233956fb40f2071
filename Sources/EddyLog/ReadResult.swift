import EddyCore
import NIOCore

/// A read: whole batches starting with the one that contains the fetch offset (a batch is never split,
/// even when the offset is in its middle), up to maxBytes, but at least one whole batch when
/// `minOneBatch` (Kafka's behaviour for the first partition of a fetch).
public struct ReadResult: Sendable {
    /// Concatenated whole batches, as stored. Empty at the end of the log.
    public var records: ByteBuffer
    /// The log end offset: on a single node every appended offset is "replicated".
    public var highWatermark: Offset
    public var logStartOffset: Offset

    public init(records: ByteBuffer, highWatermark: Offset, logStartOffset: Offset) {
        self.records = records
        self.highWatermark = highWatermark
        self.logStartOffset = logStartOffset
    }
}
