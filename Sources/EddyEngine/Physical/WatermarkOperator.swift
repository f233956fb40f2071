/// `withWatermark(column, delay)`: passes rows through and records, per source partition, the max
/// event time seen, from which the runtime's `WatermarkTracker` computes the next batch's watermark.
public final class WatermarkOperator: StreamOperator {
    public let name: String
    public let outputSchema: Schema
    public let column: String
    public let delayMs: Int64
    private let columnIndex: Int

    public init(name: String, inputSchema: Schema, column: String, delayMs: Int64) throws(EngineError) {
        guard let index = inputSchema.index(of: column) else {
            throw .plan("watermark column \"\(column)\" is not among \(inputSchema.names)")
        }
        guard inputSchema.fields[index].type == .timestamp else {
            throw .plan("watermark column \"\(column)\" is \(inputSchema.fields[index].type); it must be a TIMESTAMP")
        }
        guard delayMs >= 0 else { throw .plan("watermark delay must not be negative (got \(delayMs) ms)") }
        self.name = name
        self.outputSchema = inputSchema
        self.column = column
        self.delayMs = delayMs
        self.columnIndex = index
    }

    public func process(_ batch: RecordBatch, context: inout BatchContext) throws(EngineError) -> RecordBatch {
        let column = batch.columns[columnIndex]
        var maximum = Int64.min, minimum = Int64.max, onTimeMinimum = Int64.max, sum = 0.0, count: Int64 = 0
        let watermark = context.watermarkMs
        column.int64s.withUnsafeBufferPointer { times in
            for row in 0..<times.count where !column.isNull(row) {
                let time = times[row]
                if time > maximum { maximum = time }
                if time < minimum { minimum = time }
                if time >= watermark && time < onTimeMinimum { onTimeMinimum = time }
                sum += Double(time)
                count += 1
            }
        }
        if count > 0 {
            context.maxEventTimeMs[context.partition] = max(context.maxEventTimeMs[context.partition] ?? .min, maximum)
            context.eventTimeMax = max(context.eventTimeMax, maximum)
            context.eventTimeMin = min(context.eventTimeMin, minimum)
            context.onTimeEventTimeMin = min(context.onTimeEventTimeMin, onTimeMinimum)
            context.eventTimeSum += sum
            context.eventTimeCount += count
        }
        return batch
    }
}
