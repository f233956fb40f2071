import EddyBroker
import EddyEngine

/// Dead letters into a topic of the embedded broker: the record's original key and value, and the
/// reason in `eddy.error.*` headers (Kafka Connect's habit), so any Kafka client can inspect them.
/// At least once: a batch replayed after a crash may dead-letter its records again.
public final class LogDeadLetterSink: DeadLetterSink, @unchecked Sendable {
    let broker: Broker
    let topic: String
    /// Records per appended batch.
    static let batchRecordsMax = 1000

    public init(broker: Broker, topic: String, partitions: Int32 = 1) throws {
        self.broker = broker
        self.topic = topic
        try broker.ensureTopic(topic, partitions: partitions)
    }

    public var description: String { "log[\(topic)]" }

    public func write(_ letters: [DeadLetter]) throws(EngineError) {
        var start = 0
        while start < letters.count {
            let slice = letters[start..<min(start + Self.batchRecordsMax, letters.count)]
            let records = slice.map { letter in
                Broker.EmbeddedAppend(key: letter.key, value: letter.value,
                                      headers: letter.headers.map { ($0.0, Array($0.1.utf8)) })
            }
            do {
                try broker.appendRecords(topic, partition: 0, records)
            } catch {
                throw .execution("cannot write dead letters to \(topic): \(error)")
            }
            start += slice.count
        }
    }
}
