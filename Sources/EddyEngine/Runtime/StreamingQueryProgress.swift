/// One micro-batch's report, with the field names of Spark's `StreamingQueryProgress` so dashboards,
/// parsers and habits carry over. Encoded as JSON by `json`.
public struct StreamingQueryProgress: Sendable, Hashable, Codable {
    public var id: String
    public var runId: String
    public var name: String
    /// When the batch started, ISO-8601 UTC.
    public var timestamp: String
    public var batchId: Int64
    public var numInputRows: Int64
    public var inputRowsPerSecond: Double
    public var processedRowsPerSecond: Double
    /// Phases in milliseconds: latestOffset, walCommit, getBatch (read and decode), addBatch (operators
    /// and sink), commitOffsets (state and commit log), triggerExecution (the whole batch).
    public var durationMs: [String: Int64]
    /// avg/min/max event time of the batch's rows and the watermark, ISO-8601 UTC (absent before any).
    public var eventTime: [String: String]
    public var stateOperators: [StateOperatorProgress]
    public var sources: [SourceProgress]
    public var sink: SinkProgress
    /// Eddy's addition: records sent to the dead-letter output in this batch, by reason.
    public var numDeadLetterRows: [String: Int64]
    /// Eddy's addition: end-to-end latency of the batch in milliseconds, the batch's commit time minus
    /// the event time of its oldest row at or after the watermark (`max`: its slowest row) and of its
    /// newest (`min`). Rows behind the watermark do not count (absent when the query has no event time). `sinceRecordTimeMax`:
    /// commit time minus the oldest record timestamp the log kept (Kafka's CreateTime, when the
    /// producer sent it, or LogAppendTime): the pipeline's own latency, whatever the event times say.
    public var latencyMs: [String: Int64] = [:]

    public struct StateOperatorProgress: Sendable, Hashable, Codable {
        public var operatorName: String
        /// Rows (groups, sessions) held after the batch.
        public var numRowsTotal: Int64
        /// Groups the batch created or changed (this batch only, as Spark's).
        public var numRowsUpdated: Int64
        public var memoryUsedBytes: Int64
        /// Rows the batch dropped as late (this batch only, as Spark's).
        public var numRowsDroppedByWatermark: Int64
        public var customMetrics: [String: Int64]

        public init(operatorName: String, numRowsTotal: Int64, numRowsUpdated: Int64, memoryUsedBytes: Int64,
                    numRowsDroppedByWatermark: Int64, customMetrics: [String: Int64] = [:]) {
            self.operatorName = operatorName
            self.numRowsTotal = numRowsTotal
            self.numRowsUpdated = numRowsUpdated
            self.memoryUsedBytes = memoryUsedBytes
            self.numRowsDroppedByWatermark = numRowsDroppedByWatermark
            self.customMetrics = customMetrics
        }
    }

    public struct SourceProgress: Sendable, Hashable, Codable {
        public var description: String
        public var startOffset: SourceOffsets
        public var endOffset: SourceOffsets
        public var latestOffset: SourceOffsets
        public var numInputRows: Int64
        public var inputRowsPerSecond: Double
        public var processedRowsPerSecond: Double
        /// minOffsetsBehindLatest, maxOffsetsBehindLatest, avgOffsetsBehindLatest (Spark's Kafka source names); a
        /// log's offsetsBehindLatest.<p>, secondsBehindLatest.<p> and maxSecondsBehindLatest.
        public var metrics: [String: String]
    }

    public struct SinkProgress: Sendable, Hashable, Codable {
        public var description: String
        public var numOutputRows: Int64
    }

    /// The progress as one line of JSON (keys sorted).
    public var json: String {
        String(decoding: (try? ControlJSON.encode(self)) ?? [], as: UTF8.self)
    }
}
