import EddyCore
import EddyEngine
import Foundation

/// Dead letters into partition 0 of a topic of a `RecordLog` (the embedded broker): the record's original key and
/// value, and the reason in `eddy.error.*` headers (Kafka Connect's habit), so any Kafka client can
/// inspect them, with `eddy.query.id`, `eddy.batch.id` and `eddy.batch.index`.
///
/// A batch replayed after a restart (`DeadLetter.replayed`) writes only the letters after the newest
/// one of the same query and batch already in the topic, so a crash between the dead letters and the
/// commit leaves each letter once. That holds when the query's source decodes deterministically (the
/// `Source` contract) and the pipeline did not change before the replay. Otherwise it falls back to
/// at least once: the newest letter is looked for only among the last `scanRecordsMax` records (other
/// writers sharing the topic, or retention and DeleteRecords, can hide it), and letters without the
/// runtime's fields are always written. Batches that are not replays never skip anything.
public final class LogDeadLetterSink: DeadLetterSink, @unchecked Sendable {
    let log: any RecordLog
    let topic: String
    /// Records per appended batch.
    static let batchRecordsMax = 1000
    /// How far back a replay looks for its query's newest letter.
    static let scanRecordsMax: Int64 = 100_000
    /// The newest letter each query has written through this sink, or found in the topic.
    private var newest: [String: Position] = [:]
    /// Queries whose letters were looked for in the topic already.
    private var scanned: Set<String> = []
    private let lock = NSLock()

    typealias Position = QueryPosition

    public init(log: any RecordLog, topic: String, partitions: Int32 = 1) throws {
        self.log = log
        self.topic = topic
        try log.ensureTopic(topic, partitions: partitions)
    }

    public var description: String { "log[\(topic)]" }

    public func write(_ letters: [DeadLetter]) throws(EngineError) {
        lock.lock()
        defer { lock.unlock() }
        var fresh: [DeadLetter] = []
        for letter in letters {
            if letter.replayed, let queryId = letter.queryId, let batchId = letter.batchId, let index = letter.index,
               let written = try newestLetter(of: queryId), written.batchId == batchId, index <= written.index {
                continue  // this replay wrote it before the crash
            }
            fresh.append(letter)
        }
        var start = 0
        while start < fresh.count {
            let slice = fresh[start..<min(start + Self.batchRecordsMax, fresh.count)]
            let records = slice.map { letter in
                LogAppend(key: letter.key, value: letter.value,
                          headers: letter.headers.map { LogHeader(key: $0.0, value: Array($0.1.utf8)) })
            }
            do {
                try log.append(topic, partition: PartitionID(0), records)
            } catch {
                throw .execution("cannot write dead letters to \(topic): \(error)")
            }
            for letter in slice {
                if let queryId = letter.queryId, let batchId = letter.batchId, let index = letter.index {
                    newest[queryId] = Position(batchId: batchId, index: index)
                }
            }
            start += slice.count
        }
    }

    /// The newest letter of `queryId` in partition 0 (the largest batch and index among the last
    /// `scanRecordsMax` records); looked up in the topic once, then kept as letters are written.
    private func newestLetter(of queryId: String) throws(EngineError) -> Position? {
        if let known = newest[queryId] { return known }
        guard scanned.insert(queryId).inserted else { return nil }
        let found: Position?
        do {
            found = try QueryPosition.newest(of: queryId, in: log, topic: topic, partition: PartitionID(0), scanRecords: Self.scanRecordsMax)
        } catch {
            throw .execution("cannot read back the dead letters in \(topic): \(error)")
        }
        if let found { newest[queryId] = found }
        return found
    }
}
