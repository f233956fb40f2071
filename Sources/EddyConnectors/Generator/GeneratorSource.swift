import EddyCore
import EddyEngine
import EddyFormats

/// Rows made by their index, the same in every run (so offsets replay exactly), as JSON objects.
public protocol RowGenerator: Sendable {
    /// The columns each row has.
    var schema: Schema { get }
    /// How many rows there are in all.
    var count: Int64 { get }
    /// What it makes, for plans and progress.
    var summary: String { get }
    /// Appends row `index` as one JSON object (no newline).
    func appendRow(_ index: Int64, to out: inout [UInt8])
}

extension EventGenerator: RowGenerator {
    public var count: Int64 { options.count }
    public var summary: String { "\(kind.rawValue), seed=\(options.seed), count=\(options.count)" }

    public func appendRow(_ index: Int64, to out: inout [UInt8]) {
        appendEvent(index, to: &out)
    }
}

/// A deterministic generator as a source (`eddy gen` as a stream): event i is the same in every run,
/// so offsets (events emitted) replay exactly. With a rate, events become available as processing
/// time passes; without one all `count` events are there at once and the source is bounded.
public struct GeneratorSourceDescriptor: SourceDescriptor {
    public var generator: any RowGenerator
    /// Events per second of processing time; nil: all at once.
    public var eventsPerSecond: Int64?
    public var partitions: Int

    public init(generator: any RowGenerator, eventsPerSecond: Int64?, partitions: Int) {
        self.generator = generator
        self.eventsPerSecond = eventsPerSecond
        self.partitions = max(1, partitions)
    }

    public var schema: Schema { generator.schema }
    public var isBounded: Bool { eventsPerSecond == nil }
    public var description: String { "generator[\(generator.summary)]" }

    public func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        try GeneratorSource(self, columns: context.requiredColumns)
    }
}

extension SourceDescriptor where Self == GeneratorSourceDescriptor {
    public static func generator(_ kind: EventGenerator.Kind, options: EventGenerator.Options = .init(),
                                 eventsPerSecond: Int64? = nil, partitions: Int = 1) -> GeneratorSourceDescriptor {
        GeneratorSourceDescriptor(generator: EventGenerator(kind, options: options), eventsPerSecond: eventsPerSecond,
                                  partitions: partitions)
    }
}

/// Partition p holds events p, p + n, p + 2n, … (n partitions); its offset counts its events.
final class GeneratorSource: Source {
    let descriptor: GeneratorSourceDescriptor
    let columns: [String]?
    let schema: Schema
    private var startedAtMs: Int64?
    /// Events already emitted when this run began (a restart resumes the rate from there).
    private var baseEvents: Int64 = 0

    init(_ descriptor: GeneratorSourceDescriptor, columns: [String]?) throws(EngineError) {
        self.descriptor = descriptor
        self.columns = columns
        schema = columns.map { names in Schema(descriptor.schema.fields.filter { names.contains($0.name) }) } ?? descriptor.schema
    }

    var description: String { descriptor.description }

    func initialOffsets() -> SourceOffsets {
        SourceOffsets(ordered: Array(repeating: 0, count: descriptor.partitions))
    }

    /// Events available in all: `count`, or what the rate allows since the first batch was planned
    /// (from where the checkpoint left off; before that, just what it holds).
    private func available() -> Int64 {
        let count = descriptor.generator.count
        guard let rate = descriptor.eventsPerSecond else { return count }
        guard let started = startedAtMs else { return min(count, baseEvents) }
        return min(count, baseEvents + (wallClockMillis() - started) * rate / 1000)
    }

    func latestOffsets() -> SourceOffsets {
        let total = available()
        let n = Int64(descriptor.partitions)
        return SourceOffsets(ordered: (0..<n).map { p in total > p ? (total - p + n - 1) / n : 0 })
    }

    func planEnd(from start: SourceOffsets, limit: ReadLimit) -> SourceOffsets {
        if startedAtMs == nil {
            // The rate counts from here, on top of what the query read before (a restart resumes).
            baseEvents = start.partitions.values.reduce(0, +)
            startedAtMs = wallClockMillis()
        }
        let latest = latestOffsets()
        guard let maxRecords = limit.maxRecords else {
            return SourceOffsets(latest.partitions.mapValues { $0 }.merging(start.partitions) { max($0, $1) })
        }
        let perPartition = max(1, maxRecords / Int64(descriptor.partitions))
        var end = start
        for (partition, offset) in latest.partitions {
            let from = start[partition] ?? 0
            end[partition] = max(from, min(offset, from + perPartition))
        }
        return end
    }

    func read(from start: SourceOffsets, to end: SourceOffsets) throws(EngineError) -> [SourceChunk] {
        let n = Int64(descriptor.partitions)
        var chunks: [SourceChunk] = []
        for partition in end.sortedPartitions {
            guard let to = end[partition] else { continue }
            let p = Int64(partition.rawValue)
            let from = start[partition] ?? 0
            guard to > from else { continue }
            var decoder = try RecordFormat.jsonLines(descriptor.schema).makeDecoder(columns: columns)
            var letters: [DeadLetter] = []
            var line: [UInt8] = []
            for local in from..<to {
                line.removeAll(keepingCapacity: true)
                descriptor.generator.appendRow(local * n + p, to: &line)
                if let failure = line.withUnsafeBytes({ decoder.appendRecord($0) }) {
                    var letter = DeadLetter(reason: .malformed, detail: failure.reason, source: description,
                                            partition: partition, offset: local, value: line)
                    letter.cause = failure.code.rawValue
                    letters.append(letter)
                }
            }
            chunks.append(SourceChunk(partition: partition, batch: decoder.finish(), deadLetters: letters))
        }
        return chunks
    }
}
