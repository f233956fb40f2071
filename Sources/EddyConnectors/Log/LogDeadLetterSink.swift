import EddyBroker
import EddyEngine
import NIOCore

/// Dead letters into partition 0 of a topic of the embedded broker: the record's original key and
/// value, and the reason in `eddy.error.*` headers (Kafka Connect's habit), so any Kafka client can
/// inspect them, with `eddy.query.id`, `eddy.batch.id` and `eddy.batch.index`.
///
/// Exactly once across a query's replays: before its first write for a query, the sink finds that
/// query's newest letter in the topic (looking back at most `scanRecordsMax` records, so other
/// writers sharing the topic may hide it past that), and a replayed batch then writes only the letters
/// after it. Letters without those fields (not from the runtime) are always written.
public final class LogDeadLetterSink: DeadLetterSink, @unchecked Sendable {
    let broker: Broker
    let topic: String
    /// Records per appended batch.
    static let batchRecordsMax = 1000
    /// How far back the first write of a query looks for that query's newest letter.
    static let scanRecordsMax: Int64 = 100_000
    /// Per query: the (batch, index) of its newest letter in the topic; nil when it has none.
    private var newest: [String: (batchId: Int64, index: Int)?] = [:]

    public init(broker: Broker, topic: String, partitions: Int32 = 1) throws {
        self.broker = broker
        self.topic = topic
        try broker.ensureTopic(topic, partitions: partitions)
    }

    public var description: String { "log[\(topic)]" }

    public func write(_ letters: [DeadLetter]) throws(EngineError) {
        var fresh: [DeadLetter] = []
        for letter in letters {
            guard let queryId = letter.queryId, let batchId = letter.batchId, let index = letter.index else {
                fresh.append(letter)
                continue
            }
            let written = try newestLetter(of: queryId)
            if let written, (batchId, index) <= (written.batchId, written.index) { continue }
            fresh.append(letter)
        }
        var start = 0
        while start < fresh.count {
            let slice = fresh[start..<min(start + Self.batchRecordsMax, fresh.count)]
            let records = slice.map { letter in
                Broker.EmbeddedAppend(key: letter.key, value: letter.value,
                                      headers: letter.headers.map { ($0.0, Array($0.1.utf8)) })
            }
            do {
                try broker.appendRecords(topic, partition: 0, records)
            } catch {
                throw .execution("cannot write dead letters to \(topic): \(error)")
            }
            for letter in slice {
                if let queryId = letter.queryId, let batchId = letter.batchId, let index = letter.index {
                    newest[queryId] = (batchId, index)
                }
            }
            start += slice.count
        }
    }

    /// The (batch, index) of `queryId`'s newest letter in partition 0, looked up once per query.
    private func newestLetter(of queryId: String) throws(EngineError) -> (batchId: Int64, index: Int)? {
        if let known = newest[queryId] { return known }
        var found: (batchId: Int64, index: Int)?
        guard let range = broker.readableRange(topic, readCommitted: false)?.first else { return nil }
        let floor = max(range.start, range.end - Self.scanRecordsMax)
        do {
            var from = floor
            while from < range.end {
                let read = try broker.readRecords(topic, partition: 0, from: from, to: range.end, maxBytes: 4 << 20, readCommitted: false)
                for record in read.records {
                    var query: String?, batch: Int64?, index: Int?
                    for header in record.headers {
                        let text = header.value.map { String(buffer: $0) }
                        switch header.key {
                        case DeadLetter.queryIdHeader: query = text
                        case DeadLetter.batchIdHeader: batch = text.flatMap { Int64($0) }
                        case DeadLetter.indexHeader: index = text.flatMap { Int($0) }
                        default: break
                        }
                    }
                    if query == queryId, let batch, let index { found = (batch, index) }
                }
                guard read.next > from else { break }
                from = read.next
            }
        } catch {
            throw .execution("cannot read back the dead letters in \(topic): \(error)")
        }
        newest[queryId] = .some(found)
        return found
    }
}
