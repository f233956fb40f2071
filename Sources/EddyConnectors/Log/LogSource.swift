import EddyCore
import EddyEngine
import EddyFormats
import Foundation
import Logging

/// Reads topics of a `RecordLog` (the broker embedded in the same process: no sockets; or a cluster),
/// with no consumer group; offsets per partition live in the query's checkpoint (as Spark's Kafka
/// source keeps them), so a restart resumes exactly. One topic, a list, or every topic whose name
/// matches a pattern (new ones picked up as they appear). Record values are decoded with the format;
/// columns named by `key` come from the record key instead (Flink's 'key.fields'); a record's topic,
/// partition, offset, timestamp and headers can be columns too (`metadata`, Flink's metadata
/// columns). A record whose value or key does not decode is dead-lettered whole.
public struct LogSourceDescriptor: SourceDescriptor {
    /// Where a query that has no checkpoint yet starts reading (a checkpoint's offsets win over it).
    public indirect enum StartingOffsets: Sendable, Hashable {
        case earliest
        case latest
        /// Per partition, the first record whose timestamp is at or after these epoch milliseconds.
        case timestamp(Int64)
        /// The listed partitions at these offsets (kept within what the partition holds: below its
        /// start is its start, past its end its end); the others as `otherwise`.
        case specific([Int32: Int64], otherwise: StartingOffsets)
        /// The offsets `groupId` committed (Flink's 'group-offsets'); a partition without one, or whose
        /// committed offset the log no longer holds, as `otherwise` (Kafka's auto.offset.reset).
        case group(otherwise: StartingOffsets)
    }

    /// Which topics a source reads.
    public enum Topics: Sendable, Hashable, CustomStringConvertible {
        /// These topics (Flink's 'topic' = 'a;b'); each must exist.
        case list([String])
        /// Every topic whose whole name matches this regular expression (Flink's 'topic-pattern'),
        /// internal topics (`__…`) aside; topics created later are read from their start.
        case pattern(String)

        public var description: String {
            switch self {
            case .list(let topics): topics.joined(separator: ";")
            case .pattern(let pattern): "/\(pattern)/"
            }
        }
    }

    /// What a metadata column holds (Flink's kafka connector keys).
    public enum Metadata: String, Sendable, CaseIterable {
        /// The topic, as STRING.
        case topic
        /// The partition, as BIGINT.
        case partition
        /// The record's offset, as BIGINT.
        case offset
        /// The record's Kafka timestamp, as TIMESTAMP.
        case timestamp
        /// The record's headers as a JSON object of strings, `{"trace":"abc","empty":null}` (Flink's
        /// is a MAP<STRING, BYTES>, which Eddy does not have); a repeated key keeps its last value.
        case headers

        public var type: DataType {
            switch self {
            case .partition, .offset: .int64
            case .timestamp: .timestamp
            case .headers, .topic: .utf8
            }
        }
    }

    /// The columns a record's key holds, and how it is written (json, csv or raw: one STRING column
    /// holding the key's text). A NULL key makes them NULL.
    public struct KeyColumns: Sendable {
        public var format: MessageFormat
        public var fields: [String]

        public init(format: MessageFormat, fields: [String]) {
            self.format = format
            self.fields = fields
        }
    }

    public var log: any RecordLog
    public var topics: Topics
    /// The one topic, the list (`a;b`) or the pattern (`/shop\..*/`), as descriptions show it.
    public var topic: String { topics.description }
    public var format: RecordFormat
    public var key: KeyColumns?
    public var startingOffsets: StartingOffsets
    /// Only committed transactional records (read_committed); true by default, as Eddy's own
    /// transactional sinks need.
    public var readCommitted: Bool
    /// Columns filled from the record rather than its value: name → what it holds.
    public var metadata: [String: Metadata] = [:]
    /// The columns in their declared order (the format's and the metadata columns); nil: the format's.
    public var declaredSchema: Schema?
    /// Read only up to these offsets, found when the query first starts (kept in its checkpoint, so a
    /// restart ends at the same place), and let that end close event time: Flink's
    /// `scan.bounded.mode` ('latest-offset' is `.latest`, also `eddy run --bounded`; 'timestamp',
    /// 'specific-offsets' and 'group-offsets'). Nil: unbounded.
    public var boundedEnd: StartingOffsets?
    /// Bounded at the offsets readable when the query first starts (`.latest`).
    public var bounded: Bool {
        get { boundedEnd != nil }
        set { boundedEnd = newValue ? (boundedEnd ?? .latest) : nil }
    }
    /// After each committed micro-batch, its end offsets are committed for this consumer group too
    /// (when the log keeps groups: a cluster), so Kafka's tools show the query's lag. The query reads
    /// from its checkpoint, never from the group.
    public var groupId: String?
    /// Spark's `failOnDataLoss`: records deleted before the query read them (retention,
    /// DeleteRecords), or a partition that now ends before the query's offset (a topic deleted and
    /// created again), stop the query. False: a warning is logged and the query goes on from the
    /// partition's first record.
    public var failOnDataLoss = true

    public var isBounded: Bool { bounded }

    public var schema: Schema { declaredSchema ?? format.schema }
    public var description: String { "log[\(topic), \(format)]" }

    public func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        try LogSource(self, columns: context.requiredColumns, metadataDirectory: context.metadataDirectory)
    }
}

extension SourceDescriptor where Self == LogSourceDescriptor {
    /// A topic of a `RecordLog`: pass the embedded `Broker`.
    public static func log(_ log: any RecordLog, topic: String, format: RecordFormat,
                           startingOffsets: LogSourceDescriptor.StartingOffsets = .earliest,
                           readCommitted: Bool = true) -> LogSourceDescriptor {
        LogSourceDescriptor(log: log, topics: .list([topic]), format: format, startingOffsets: startingOffsets, readCommitted: readCommitted)
    }

    /// Topics of a `RecordLog`: a list, or a pattern (see `LogSourceDescriptor.Topics`).
    public static func log(_ log: any RecordLog, topics: LogSourceDescriptor.Topics, format: RecordFormat,
                           startingOffsets: LogSourceDescriptor.StartingOffsets = .earliest,
                           readCommitted: Bool = true) -> LogSourceDescriptor {
        LogSourceDescriptor(log: log, topics: topics, format: format, startingOffsets: startingOffsets, readCommitted: readCommitted)
    }
}

final class LogSource: Source {
    let descriptor: LogSourceDescriptor
    let columns: [String]?
    let schema: Schema
    /// Bytes of batches fetched from the log per call.
    static let readBytesMax = 8 << 20
    /// A partition's id is its topic's index (in `topicNames`) × 2^16 + its number, so one topic's
    /// ids are its partition numbers, and the checkpoint's offsets of a query that reads one topic
    /// are keyed as Kafka numbers them.
    static let partitionsPerTopicMax: Int32 = 1 << 16
    static let topicsMax = 1 << 15

    /// The value columns to decode (nil: all of the format's), the key columns and the metadata
    /// columns wanted.
    let valueColumns: [String]?
    let keyColumns: [String]
    let metadataColumns: [(name: String, key: LogSourceDescriptor.Metadata)]
    /// The key's columns in key order (json, csv), when any is wanted.
    let keyFormat: RecordFormat?

    /// The bounded end, where the checkpoint keeps it.
    private let boundedEndPath: String?
    private var boundedEnd: SourceOffsets?
    /// The bounded end was fixed by an earlier run of the checkpoint (not found by this one).
    private var boundedEndStored = false
    /// Every topic the query has read or selected, by index, in the order first seen; kept in the
    /// checkpoint (`topics`) so that ids stay the same across restarts and as a pattern finds more.
    private var topicNames: [String] = []
    private let topicsPath: String?
    private let pattern: NSRegularExpression?
    private let logger = Logger(label: "eddy.source.log")

    init(_ descriptor: LogSourceDescriptor, columns: [String]?, metadataDirectory: String? = nil) throws(EngineError) {
        self.descriptor = descriptor
        self.columns = columns
        boundedEndPath = metadataDirectory.map { $0 + "/bounded-end" }
        topicsPath = metadataDirectory.map { $0 + "/topics" }
        switch descriptor.topics {
        case .list(let topics):
            guard !topics.isEmpty else { throw .configuration("a log source reads at least one topic") }
            pattern = nil
        case .pattern(let text):
            do { pattern = try NSRegularExpression(pattern: text) } catch {
                throw .configuration("topic pattern /\(text)/ is not a regular expression: \(error.localizedDescription)")
            }
        }
        schema = columns.map { names in Schema(descriptor.schema.fields.filter { names.contains($0.name) }) } ?? descriptor.schema
        metadataColumns = schema.names.compactMap { name in descriptor.metadata[name].map { (name, $0) } }
        let keyFields = descriptor.key?.fields ?? []
        keyColumns = schema.names.filter { keyFields.contains($0) }
        valueColumns = descriptor.metadata.isEmpty && keyFields.isEmpty
            ? columns : schema.names.filter { descriptor.metadata[$0] == nil && !keyFields.contains($0) }
        if let key = descriptor.key, !keyColumns.isEmpty {
            let keySchema = Schema(try key.fields.map { name throws(EngineError) in
                guard let field = descriptor.schema.field(named: name) else { throw .configuration("key field \(name) is not a column of \(descriptor.topic)") }
                return field
            })
            switch key.format {
            case .json: keyFormat = .json(keySchema)
            case .csv: keyFormat = .csv(keySchema, CSVDecodeOptions(hasHeader: false))
            case .raw:
                guard keySchema.count == 1, keySchema.fields[0].type == .utf8 else {
                    throw .configuration("a raw key is one STRING column; the key fields are \(key.fields)")
                }
                keyFormat = nil
            }
        } else {
            keyFormat = nil
        }
        _ = try descriptor.format.makeDecoder(columns: valueColumns)
        _ = try keyFormat?.makeDecoder(columns: keyColumns)
        if let path = topicsPath, let stored = try EngineError.io(.checkpoint, { () throws(FileError) in try DurableFile.read(path) }) {
            guard let names = try? JSONDecoder().decode([String].self, from: Data(stored)) else {
                throw .checkpoint("\(path) is damaged: the topics of \(descriptor.topic) are unknown")
            }
            topicNames = names
        }
    }

    var description: String { descriptor.description }

    private var isolation: IsolationLevel { descriptor.readCommitted ? .readCommitted : .readUncommitted }

    // MARK: topics and partition ids

    /// The topic and Kafka partition number of a partition id.
    private func locate(_ id: PartitionID) -> (topic: String, partition: PartitionID) {
        let index = Int(id.rawValue / Self.partitionsPerTopicMax)
        return (index < topicNames.count ? topicNames[index] : "?", PartitionID(id.rawValue % Self.partitionsPerTopicMax))
    }

    private func id(_ topicIndex: Int, _ partition: Int) -> PartitionID {
        PartitionID(Int32(topicIndex) * Self.partitionsPerTopicMax + Int32(partition))
    }

    /// `topic-3`, or `3` when the source reads one topic (progress metrics, messages).
    func partitionLabel(_ id: PartitionID) -> String {
        if case .list(let topics) = descriptor.topics, topics.count == 1, id.rawValue < Self.partitionsPerTopicMax { return "\(id.rawValue)" }
        let (topic, partition) = locate(id)
        return "\(topic)-\(partition.rawValue)"
    }

    /// The topics selected now (a pattern's matches as the log lists them), each with its index;
    /// a topic seen for the first time gets the next index, kept in the checkpoint.
    private func selectedTopics() throws(EngineError) -> [(index: Int, name: String)] {
        var names: [String]
        switch descriptor.topics {
        case .list(let topics):
            names = topics
        case .pattern:
            let all: [String]
            do { all = try descriptor.log.topicNames() } catch { throw .execution("cannot list the topics for \(descriptor.topic): \(error)") }
            names = all.filter { name in
                !name.hasPrefix("__") && pattern!.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)).map {
                    $0.range == NSRange(name.startIndex..., in: name)
                } == true
            }.sorted()
        }
        let new = names.filter { !topicNames.contains($0) }
        if !new.isEmpty {
            guard topicNames.count + new.count <= Self.topicsMax else {
                throw .limit("\(descriptor.topic) selects more than \(Self.topicsMax) topics")
            }
            topicNames += new
            if let path = topicsPath {
                guard let json = try? JSONEncoder().encode(topicNames) else { throw .internal("cannot encode the topics of \(descriptor.topic)") }
                try? FileManager.default.createDirectory(atPath: DurableFile.parentDirectory(path), withIntermediateDirectories: true)
                try EngineError.io(.checkpoint) { () throws(FileError) in try DurableFile.replace(path, with: Array(json)) }
            }
        }
        return names.map { name in (topicNames.firstIndex(of: name)!, name) }
    }

    /// The readable offsets of every partition of the selected topics, by partition id. A listed
    /// topic must exist; a pattern's topic deleted since it was listed is left out.
    private func ranges() throws(EngineError) -> [PartitionID: (start: Int64, end: Int64)] {
        var ranges: [PartitionID: (start: Int64, end: Int64)] = [:]
        for (index, topic) in try selectedTopics() {
            let found: [ReadableRange]?
            do { found = try descriptor.log.readableRanges(topic, isolation: isolation) } catch {
                throw .execution("cannot list the partitions of \(topic): \(error)")
            }
            guard let found else {
                if pattern != nil { continue }
                throw .execution("topic \(topic) does not exist")
            }
            guard found.count <= Int(Self.partitionsPerTopicMax) else {
                throw .limit("topic \(topic) has \(found.count) partitions; a log source reads at most \(Self.partitionsPerTopicMax) of a topic")
            }
            for (partition, range) in found.enumerated() { ranges[id(index, partition)] = (range.start.rawValue, range.end.rawValue) }
        }
        return ranges
    }

    /// The partitions of `ranges`, grouped by topic: topic → (partition number, id, range).
    private func byTopic(_ ranges: [PartitionID: (start: Int64, end: Int64)]) -> [String: [(partition: Int, id: PartitionID, range: (start: Int64, end: Int64))]] {
        var grouped: [String: [(partition: Int, id: PartitionID, range: (start: Int64, end: Int64))]] = [:]
        for (id, range) in ranges.sorted(by: { $0.key < $1.key }) {
            let (topic, partition) = locate(id)
            grouped[topic, default: []].append((Int(partition.rawValue), id, range))
        }
        return grouped
    }

    func initialOffsets() throws(EngineError) -> SourceOffsets {
        SourceOffsets(try startingOffsets(descriptor.startingOffsets, ranges()))
    }

    private func startingOffsets(_ mode: LogSourceDescriptor.StartingOffsets,
                                 _ ranges: [PartitionID: (start: Int64, end: Int64)]) throws(EngineError) -> [PartitionID: Int64] {
        switch mode {
        case .earliest:
            return ranges.mapValues(\.start)
        case .latest:
            return ranges.mapValues(\.end)
        case .timestamp(let millis):
            var offsets: [PartitionID: Int64] = [:]
            for (topic, partitions) in byTopic(ranges) {
                let found: [Offset]?
                do { found = try descriptor.log.offsets(topic, atOrAfter: millis, isolation: isolation) } catch {
                    throw .execution("cannot look up the offsets of \(topic) at timestamp \(millis): \(error)")
                }
                // A partition added between the two calls (or a topic deleted) starts at its start.
                for entry in partitions {
                    offsets[entry.id] = found.flatMap { entry.partition < $0.count ? max(entry.range.start, $0[entry.partition].rawValue) : nil } ?? entry.range.start
                }
            }
            return offsets
        case .specific(let listed, let otherwise):
            var offsets = try startingOffsets(otherwise, ranges)
            for (id, range) in ranges {
                if let offset = listed[locate(id).partition.rawValue] { offsets[id] = min(max(offset, range.start), range.end) }
            }
            return offsets
        case .group(let otherwise):
            var offsets = try startingOffsets(otherwise, ranges)
            guard let group = descriptor.groupId else { return offsets }
            guard let log = descriptor.log as? any GroupOffsetsRecordLog else {
                throw .configuration("\(descriptor.topic): this log keeps no consumer group offsets to start from")
            }
            for (topic, partitions) in byTopic(ranges) {
                let committed: [PartitionID: Offset]
                do { committed = try log.committedGroupOffsets(group: group, topic: topic) } catch {
                    throw .execution("cannot read the offsets of group \(group) for \(topic): \(error)")
                }
                for entry in partitions {
                    // A committed offset past the readable end (the last stable offset at read_committed;
                    // a read_uncommitted consumer may have committed beyond it) starts at that end.
                    if let offset = committed[PartitionID(Int32(entry.partition))]?.rawValue, offset >= entry.range.start {
                        offsets[entry.id] = min(offset, entry.range.end)
                    }
                }
            }
            return offsets
        }
    }

    func committed(_ end: SourceOffsets) {
        guard let group = descriptor.groupId, let log = descriptor.log as? any GroupOffsetsRecordLog else { return }
        var perTopic: [String: [PartitionID: Offset]] = [:]
        for (id, offset) in end.partitions {
            let (topic, partition) = locate(id)
            perTopic[topic, default: [:]][partition] = Offset(offset)
        }
        // Only for the cluster's tools: a failure costs a stale lag figure, never a result.
        for (topic, offsets) in perTopic { try? log.commitGroupOffsets(group: group, topic: topic, offsets) }
    }

    /// The age of the first record not read; when the log cannot tell without moving its reads (a
    /// cluster whose client has not fetched it yet), the age of the last record read.
    func secondsBehind(end: SourceOffsets, latest: SourceOffsets, nowMs: Int64) -> [PartitionID: Double]? {
        var seconds: [PartitionID: Double] = [:]
        for (id, last) in latest.partitions {
            let from = end[id] ?? 0
            guard from < last else {
                seconds[id] = 0
                continue
            }
            let (topic, partition) = locate(id)
            let time = descriptor.log.firstTimestamp(topic, partition: partition, at: Offset(from), before: Offset(last), isolation: isolation)
                ?? lastRecordTime[id]
            seconds[id] = time.map { max(0, Double(nowMs - $0) / 1000) } ?? 0
        }
        return seconds
    }

    func latestOffsets() throws(EngineError) -> SourceOffsets {
        guard descriptor.bounded else { return SourceOffsets(try ranges().mapValues(\.end)) }
        if let boundedEnd { return boundedEnd }
        // The first look fixes the end, durably: a restart must not read further than the first run.
        if let path = boundedEndPath, let stored = try EngineError.io(.checkpoint, { () throws(FileError) in try DurableFile.read(path) }) {
            // By partition id; an older checkpoint kept one topic's ends in partition order.
            if let ends = try? JSONDecoder().decode([String: Int64].self, from: Data(stored)) {
                var offsets = SourceOffsets()
                for (id, offset) in ends {
                    guard let raw = Int32(id) else { throw .checkpoint("\(path) is damaged: partition \(id)") }
                    offsets[PartitionID(raw)] = offset
                }
                boundedEnd = offsets
            } else if let ends = try? JSONDecoder().decode([Int64].self, from: Data(stored)) {
                boundedEnd = SourceOffsets(ordered: ends)
            } else {
                throw .checkpoint("\(path) is damaged: the bounded end of \(descriptor.topic) is unknown")
            }
            boundedEndStored = true
            return boundedEnd!
        }
        // An end below where the query starts reads nothing there (`planEnd` never goes backwards).
        let ends = try startingOffsets(descriptor.boundedEnd ?? .latest, ranges())
        if let path = boundedEndPath {
            let keyed = Dictionary(uniqueKeysWithValues: ends.map { (String($0.key.rawValue), $0.value) })
            guard let json = try? JSONEncoder().encode(keyed) else { throw .internal("cannot encode the bounded end") }
            try? FileManager.default.createDirectory(atPath: DurableFile.parentDirectory(path), withIntermediateDirectories: true)
            try EngineError.io(.checkpoint) { () throws(FileError) in try DurableFile.replace(path, with: Array(json)) }
        }
        boundedEnd = SourceOffsets(ends)
        return boundedEnd!
    }

    /// The average bytes of a record value read so far: `maxBytesPerTrigger` becomes a record count
    /// with it (records of a log are planned by offset, before their sizes are known).
    private var averageRecordBytes = 256.0
    /// Per partition, the timestamp of the last record read.
    private var lastRecordTime: [PartitionID: Int64] = [:]
    private var bytesSeen = 0, recordsSeen = 0

    /// Up to `limit.maxRecords` offsets in all (or as many as `limit.maxBytes` holds of records of the
    /// average size seen), shared among partitions in proportion to their lag.
    func planEnd(from start: SourceOffsets, limit: ReadLimit) throws(EngineError) -> SourceOffsets {
        let latest = try latestOffsets()
        let ranges = try self.ranges()
        var end = start
        for (id, range) in ranges.sorted(by: { $0.key < $1.key }) {
            guard let from = end[id] else {
                // A partition (or a pattern's topic) added since the query started is read from its
                // start, whatever the startup mode said for the others (as Spark's Kafka source does).
                if latest[id] != nil { end[id] = range.start }
                continue
            }
            let (topic, partition) = locate(id)
            let where_ = "\(topic)-\(partition.rawValue)"
            // Spark's failOnDataLoss: records the query has not read are gone.
            if from < range.start {
                guard descriptor.failOnDataLoss else {
                    logger.warning("\(where_): records \(from) to \(range.start - 1) were deleted before the query read them; going on from \(range.start) ('scan.fail-on-data-loss' = 'false')")
                    end[id] = range.start
                    continue
                }
                throw .execution("""
                    \(where_): records \(from) to \(range.start - 1) were deleted (retention or DeleteRecords) \
                    before the query read them; restart it on a new checkpoint (with 'scan.startup.mode') to go on without them, \
                    or set 'scan.fail-on-data-loss' = 'false'
                    """)
            }
            if descriptor.bounded, boundedEndStored, let boundedEnd = latest[id], from > boundedEnd {
                throw .execution("""
                    \(where_): the checkpoint is at offset \(from), past the end (\(boundedEnd)) its first bounded \
                    run fixed; a bounded run reads to that end once: use a new checkpoint for another
                    """)
            }
            if from > range.end && !descriptor.bounded {
                guard descriptor.failOnDataLoss else {
                    logger.warning("\(where_) ends at offset \(range.end), before the query's \(from): the topic was deleted and created again, or truncated; reading it from its start, \(range.start) ('scan.fail-on-data-loss' = 'false')")
                    end[id] = range.start
                    continue
                }
                throw .execution("""
                    \(where_) ends at offset \(range.end), before the query's \(from): the topic was deleted and \
                    created again, or truncated; restart the query on a new checkpoint to read it, or set 'scan.fail-on-data-loss' = 'false'
                    """)
            }
        }
        let lag = latest.partitions.reduce(into: [PartitionID: Int64]()) { result, entry in
            result[entry.key] = max(0, entry.value - (end[entry.key] ?? 0))
        }
        let totalLag = lag.values.reduce(0, +)
        for (partition, behind) in lag {
            var take = behind
            if let maxRecords = limit.maxRecords ?? limit.maxBytes.map({ max(1, Int64(Double($0) / averageRecordBytes)) }), totalLag > maxRecords {
                take = max(1, behind * maxRecords / totalLag)
                take = min(take, behind)
            }
            end[partition] = (end[partition] ?? 0) + take
        }
        return end
    }

    func read(from start: SourceOffsets, to end: SourceOffsets) throws(EngineError) -> [SourceChunk] {
        defer { if recordsSeen > 0 { averageRecordBytes = max(16, Double(bytesSeen) / Double(recordsSeen)) } }
        var start = start
        if end.partitions.keys.contains(where: { start[$0] == nil }) {
            // A partition added since the last batch starts at its log start (see `planEnd`).
            let ranges = try self.ranges()
            for id in end.partitions.keys where start[id] == nil {
                if let range = ranges[id] { start[id] = range.start }
            }
        }
        if !descriptor.failOnDataLoss {
            // Past data loss (see `planEnd`): from the partition's first record when the range begins
            // before it, or when the plan went back to it (a topic created again).
            let ranges = try self.ranges()
            for (id, to) in end.partitions {
                guard let from = start[id], let range = ranges[id] else { continue }
                if from < range.start || (to < from && to >= range.start) { start[id] = range.start }
            }
        }
        var starts: [String: [PartitionID: Offset]] = [:]
        for id in end.sortedPartitions where (end[id] ?? 0) > (start[id] ?? 0) {
            let (topic, partition) = locate(id)
            starts[topic, default: [:]][partition] = Offset(start[id] ?? 0)
        }
        for (topic, offsets) in starts.sorted(by: { $0.key < $1.key }) {
            do { try descriptor.log.willRead(topic, from: offsets, isolation: isolation) } catch {
                throw .execution("cannot read \(topic): \(error)")
            }
        }
        // Fetched here, one partition after another (the log's reads are serial), then decoded in
        // pieces on every core: the JSON and CSV decoding is most of a batch's cost.
        var fetched: [Fetched] = []
        let wantsHeaders = metadataColumns.contains { $0.key == .headers }
        for id in end.sortedPartitions {
            guard let to = end[id] else { continue }
            let from = start[id] ?? 0
            guard to > from else { continue }
            fetched.append(try fetch(id, from: from, to: to, headers: wantsHeaders))
        }
        var pieces: [(partition: Int, records: Range<Int>)] = []
        for (index, partition) in fetched.enumerated() {
            var lower = 0
            repeat {
                let upper = min(partition.count, lower + Self.decodePieceRecords)
                pieces.append((index, lower..<upper))
                lower = upper
            } while lower < partition.count
        }
        let results = ChunkSlots(count: pieces.count)
        let decoder = pieceDecoder, partitions = fetched, tasks = pieces
        let decodeOne: @Sendable (Int) -> Void = { index in
            do {
                results.set(index, try decoder.decode(partitions[tasks[index].partition], tasks[index].records))
            } catch {
                results.fail(error as? EngineError ?? .internal("decoding failed: \(error)"))
            }
        }
        if pieces.count == 1 {
            decodeOne(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: pieces.count, execute: decodeOne)
        }
        var chunks = try results.collect()
        // Per partition: every dead letter in record order (as a replay gives them) on its first
        // chunk, with the partition's oldest record time.
        var first = 0
        for partition in fetched {
            let count = pieces[first...].prefix { $0.partition == pieces[first].partition }.count
            var letters = partition.tombstones
            for index in first..<(first + count) {
                letters += chunks[index].deadLetters
                chunks[index].deadLetters = []
            }
            chunks[first].deadLetters = letters.sorted { ($0.offset ?? 0) < ($1.offset ?? 0) }
            chunks[first].oldestRecordTimeMs = partition.oldest == .max ? nil : partition.oldest
            if let newest = partition.newest { lastRecordTime[partition.id] = newest }
            first += count
        }
        return chunks
    }

    /// Records decoded per task: a partition's batch is split into pieces of this many.
    static let decodePieceRecords = 16_384

    /// One partition's records of a batch, copied out of the log's buffers so that other threads
    /// can decode them.
    fileprivate struct Fetched: Sendable {
        let id: PartitionID
        let topic: String
        let partition: PartitionID
        /// Record i's value is `values[valueEnds[i - 1]..<valueEnds[i]]`; its key likewise (nil when
        /// `keyNull[i]`).
        var values: [UInt8] = []
        var valueEnds: [Int] = []
        var keys: [UInt8] = []
        var keyEnds: [Int] = []
        var keyNull: [Bool] = []
        var offsets: [Int64] = []
        var timestamps: [Int64] = []
        /// Only when a headers column is read.
        var headers: [String] = []
        /// Records without a value, as dead letters.
        var tombstones: [DeadLetter] = []
        var oldest = Int64.max
        var newest: Int64?

        var count: Int { valueEnds.count }
    }

    private func fetch(_ id: PartitionID, from start: Int64, to: Int64, headers wantsHeaders: Bool) throws(EngineError) -> Fetched {
        let (topic, partition) = locate(id)
        var fetched = Fetched(id: id, topic: topic, partition: partition)
        let source = "log[\(topic), \(descriptor.format)]"
        var from = start
        while from < to {
            let next: Offset
            do {
                next = try descriptor.log.read(topic, partition: partition, from: Offset(from), to: Offset(to),
                                               maxBytes: Self.readBytesMax, isolation: isolation, headers: wantsHeaders) { record in
                    guard let value = record.value else {
                        fetched.tombstones.append(Self.letter(source: source, partition: partition, offset: record.offset.rawValue,
                                                         key: record.key.map { Array($0) }, value: [],
                                                         reason: "the record has no value (a tombstone)", cause: "tombstone"))
                        return
                    }
                    bytesSeen += value.count
                    recordsSeen += 1
                    fetched.oldest = min(fetched.oldest, record.timestamp.millis)
                    fetched.newest = record.timestamp.millis
                    fetched.values.append(contentsOf: value)
                    fetched.valueEnds.append(fetched.values.count)
                    if let key = record.key { fetched.keys.append(contentsOf: key) }
                    fetched.keyEnds.append(fetched.keys.count)
                    fetched.keyNull.append(record.key == nil)
                    fetched.offsets.append(record.offset.rawValue)
                    fetched.timestamps.append(record.timestamp.millis)
                    if wantsHeaders { fetched.headers.append(Self.headersText(record.headers)) }
                }
            } catch {
                throw .execution("cannot read \(topic)-\(partition) at offset \(from): \(error)")
            }
            guard next.rawValue > from else {
                throw .execution("\(topic)-\(partition) ends before offset \(to) (log truncated?)")
            }
            from = next.rawValue
        }
        return fetched
    }

    /// What decoding a piece of a batch needs (Sendable: pieces decode on other threads).
    private var pieceDecoder: PieceDecoder {
        PieceDecoder(format: descriptor.format, valueColumns: valueColumns, keyFormat: keyFormat,
                     rawKey: descriptor.key?.format == .raw && !keyColumns.isEmpty, keyColumns: keyColumns,
                     metadataColumns: metadataColumns, metadata: descriptor.metadata, schema: schema)
    }

    fileprivate struct PieceDecoder: Sendable {
        let format: RecordFormat
        let valueColumns: [String]?
        let keyFormat: RecordFormat?
        let rawKey: Bool
        let keyColumns: [String]
        let metadataColumns: [(name: String, key: LogSourceDescriptor.Metadata)]
        let metadata: [String: LogSourceDescriptor.Metadata]
        let schema: Schema

        /// Records `range` of a fetched partition, decoded: their rows and the dead letters of those that
        /// do not decode.
        func decode(_ fetched: Fetched, _ range: Range<Int>) throws(EngineError) -> SourceChunk {
            var decoder = try format.makeDecoder(columns: valueColumns)
            var keys = try KeyReader(format: keyFormat, raw: rawKey, columns: keyColumns)
            var letters: [DeadLetter] = []
            // The metadata of each decoded row, when the plan reads any.
            var offsets: [Int64] = [], timestamps: [Int64] = [], headers: [String] = []
            let source = "log[\(fetched.topic), \(format)]"
            fetched.values.withUnsafeBytes { values in
                fetched.keys.withUnsafeBytes { keyBytes in
                    for index in range {
                        let value = UnsafeRawBufferPointer(rebasing: values[(index == 0 ? 0 : fetched.valueEnds[index - 1])..<fetched.valueEnds[index]])
                        let key = fetched.keyNull[index]
                            ? nil : UnsafeRawBufferPointer(rebasing: keyBytes[(index == 0 ? 0 : fetched.keyEnds[index - 1])..<fetched.keyEnds[index]])
                        func letter(_ reason: String, _ cause: String) -> DeadLetter {
                            LogSource.letter(source: source, partition: fetched.partition, offset: fetched.offsets[index], key: key.map { Array($0) },
                                        value: Array(value), reason: reason, cause: cause)
                        }
                        if let failure = decoder.appendRecord(value) {
                            letters.append(letter(failure.reason, failure.code.rawValue))
                        } else if let failure = keys.append(key) {
                            decoder.dropLastRow()
                            letters.append(letter("key: " + failure, "key"))
                        } else if !metadataColumns.isEmpty {
                            offsets.append(fetched.offsets[index])
                            timestamps.append(fetched.timestamps[index])
                            if !fetched.headers.isEmpty { headers.append(fetched.headers[index]) }
                        }
                    }
                }
            }
            var batch = decoder.finish()
            if !metadataColumns.isEmpty || !keyColumns.isEmpty {
                batch = assemble(batch, keys: keys.finish(), topic: fetched.topic, partition: fetched.partition, offsets: offsets,
                                 timestamps: timestamps, headers: headers)
            }
            return SourceChunk(partition: fetched.id, batch: batch, deadLetters: letters)
        }

        /// The decoded value, key and metadata columns, in the source's column order.
        private func assemble(_ values: RecordBatch, keys: RecordBatch?, topic: String, partition: PartitionID, offsets: [Int64], timestamps: [Int64],
                              headers: [String]) -> RecordBatch {
            let columns = schema.names.map { name -> Column in
                switch metadata[name] {
                case .topic: .utf8(Array(repeating: topic, count: values.count))
                case .partition: .int64(Array(repeating: Int64(partition.rawValue), count: values.count))
                case .offset: .int64(offsets)
                case .timestamp: .timestamp(timestamps)
                case .headers: .utf8(headers)
                case nil:
                    if let keys, let index = keys.schema.index(of: name) { keys.columns[index] } else { values.columns[values.schema.index(of: name)!] }
                }
            }
            return RecordBatch(schema: schema, columns: columns)
        }
    }

    /// Headers as a JSON object; a repeated key keeps its last value, in the place of its first.
    static func headersText(_ headers: [LogHeader]) -> String {
        var members: [(key: String, value: [UInt8]?)] = []
        var positions: [String: Int] = [:]
        for header in headers {
            if let position = positions[header.key] {
                members[position].value = header.value
            } else {
                positions[header.key] = members.count
                members.append((header.key, header.value))
            }
        }
        return jsonObject(members)
    }

    static func letter(source: String, partition: PartitionID, offset: Int64, key: [UInt8]?, value: [UInt8], reason: String, cause: String) -> DeadLetter {
        var letter = DeadLetter(reason: .malformed, detail: reason, source: source, partition: partition, offset: offset, key: key, value: value)
        letter.cause = cause
        return letter
    }
}

/// Decodes record keys into the key columns: with a format (json, csv), or raw (the key's UTF-8 text
/// as one STRING column). A NULL key gives NULL columns.
struct KeyReader {
    private var decoder: RowDecoder?
    private var raw: ColumnBuilder?
    private let columns: [String]
    private let nullKey: [UInt8]

    init(format: RecordFormat?, raw: Bool, columns: [String]) throws(EngineError) {
        self.columns = columns
        decoder = try format?.makeDecoder(columns: columns)
        self.raw = raw ? ColumnBuilder(.utf8) : nil
        // A NULL key as the format writes all-NULL columns: `{}`, or a CSV record of empty fields.
        if case .csv(let schema, _)? = format {
            nullKey = Array(repeating: UInt8(ascii: ","), count: schema.count - 1) + [0x0A]
        } else {
            nullKey = Array("{}".utf8)
        }
    }

    /// Appends the key's row; the reason when the key does not decode (nothing is appended then).
    mutating func append(_ key: UnsafeRawBufferPointer?) -> String? {
        if raw != nil {
            guard let key else {
                raw!.appendNull()
                return nil
            }
            guard let text = String(validating: key, as: UTF8.self) else { return "a raw key must be UTF-8 text" }
            raw!.append(text)
            return nil
        }
        guard decoder != nil else { return nil }
        if let key { return decoder!.appendRecord(key)?.reason }
        return nullKey.withUnsafeBytes { decoder!.appendRecord($0)?.reason }
    }

    /// The key columns decoded since the last call; nil when no key column is read.
    mutating func finish() -> RecordBatch? {
        if raw != nil {
            let column = raw!.finish()
            raw = ColumnBuilder(.utf8)
            return RecordBatch(schema: Schema([Field(columns[0], .utf8)]), columns: [column])
        }
        return decoder?.finish()
    }
}
