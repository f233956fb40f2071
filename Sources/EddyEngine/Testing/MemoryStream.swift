import EddyCore
import Foundation

/// An in-memory source for tests and the test driver (Spark's MemoryStream): rows are added per
/// partition; offsets count rows per partition, so any range can be read again.
public final class MemoryStream: SourceDescriptor, Source, @unchecked Sendable {
    public let schema: Schema
    public let partitionCount: Int
    public let isBounded: Bool
    private let lock = NSLock()
    /// Per partition, in order: batches of rows and malformed records. Offsets count rows and
    /// malformed records alike (each takes one position, as a bad Kafka record takes one offset).
    private var partitions: [[Entry]]

    private enum Entry {
        case rows(RecordBatch)
        case malformed([UInt8], reason: String)

        var size: Int64 {
            switch self {
            case .rows(let batch): Int64(batch.count)
            case .malformed: 1
            }
        }
    }

    public init(_ schema: Schema, partitions: Int = 1, bounded: Bool = false) {
        precondition(partitions > 0, "a stream has at least one partition")
        self.schema = schema
        self.partitionCount = partitions
        self.isBounded = bounded
        self.partitions = Array(repeating: [], count: partitions)
    }

    public var description: String { "memory\(schema)" }

    /// Appends rows to `partition`.
    public func add(_ rows: [[Value]], partition: Int = 0) {
        add(RecordBatch(schema: schema, rows: rows), partition: partition)
    }

    public func add(_ batch: RecordBatch, partition: Int = 0) {
        precondition(batch.schema == schema, "batch schema \(batch.schema) differs from the stream's \(schema)")
        lock.withLock { partitions[partition].append(.rows(batch)) }
    }

    /// Adds a record that failed to decode: reading its position yields a dead letter.
    public func addMalformed(_ bytes: [UInt8], reason: String, partition: Int = 0) {
        lock.withLock { partitions[partition].append(.malformed(bytes, reason: reason)) }
    }

    public func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        if let required = context.requiredColumns, required != schema.names {
            return ProjectedMemorySource(stream: self, columns: required.compactMap { schema.index(of: $0) })
        }
        return self
    }

    public func initialOffsets() -> SourceOffsets {
        SourceOffsets(ordered: Array(repeating: 0, count: partitionCount))
    }

    public func latestOffsets() -> SourceOffsets {
        lock.withLock {
            SourceOffsets(ordered: partitions.map { entries in entries.reduce(0) { $0 + $1.size } })
        }
    }

    public func planEnd(from start: SourceOffsets, limit: ReadLimit) -> SourceOffsets {
        let latest = latestOffsets()
        guard let maxRecords = limit.maxRecords else { return latest }
        var end = start
        var budget = maxRecords
        for partition in latest.sortedPartitions {
            let from = start[partition] ?? 0
            let take = min(budget, (latest[partition] ?? 0) - from)
            end[partition] = from + take
            budget -= take
        }
        return end
    }

    public func read(from start: SourceOffsets, to end: SourceOffsets) -> [SourceChunk] {
        lock.withLock {
            (0..<partitionCount).compactMap { index -> SourceChunk? in
                let key = PartitionID(Int32(index))
                let from = start[key] ?? 0, to = end[key] ?? 0
                guard to > from else { return nil }
                var batches: [RecordBatch] = []
                var dead: [DeadLetter] = []
                var position: Int64 = 0
                for entry in partitions[index] {
                    let entryEnd = position + entry.size
                    defer { position = entryEnd }
                    guard entryEnd > from, position < to else { continue }
                    switch entry {
                    case .rows(let batch):
                        let rows = (max(from, position)..<min(to, entryEnd)).map { Int32($0 - position) }
                        batches.append(batch.take(rows))
                    case .malformed(let bytes, let reason):
                        dead.append(DeadLetter(reason: .malformed, detail: reason, source: description,
                                               partition: key, offset: position, value: bytes))
                    }
                }
                return SourceChunk(partition: key, batch: RecordBatch.concatenate(batches, schema: schema), deadLetters: dead)
            }
        }
    }
}

/// A `MemoryStream` read with projection pushdown.
final class ProjectedMemorySource: Source {
    let stream: MemoryStream
    let columns: [Int]
    let schema: Schema

    init(stream: MemoryStream, columns: [Int]) {
        self.stream = stream
        self.columns = columns
        self.schema = Schema(columns.map { stream.schema.fields[$0] })
    }

    var description: String { stream.description }
    func initialOffsets() -> SourceOffsets { stream.initialOffsets() }
    func latestOffsets() -> SourceOffsets { stream.latestOffsets() }
    func planEnd(from start: SourceOffsets, limit: ReadLimit) -> SourceOffsets { stream.planEnd(from: start, limit: limit) }
    func read(from start: SourceOffsets, to end: SourceOffsets) -> [SourceChunk] {
        stream.read(from: start, to: end).map { chunk in
            SourceChunk(partition: chunk.partition, batch: chunk.batch.select(columns), deadLetters: chunk.deadLetters)
        }
    }
}
