import EddyCore
import EddyLog
import NIOConcurrencyHelpers

/// One partition: its log behind a lock. The log is not thread-safe; every use goes through
/// `withLog`, which holds the lock for the call (appends and reads are per batch, never per record).
final class Partition: @unchecked Sendable {
    let topicPartition: TopicPartition
    private let lock = NIOLock()
    private let log: PartitionLog
    /// A background fsync of a rolled segment is under way (`Broker.flushInBackground`): one at a time.
    let backgroundFlushRunning = NIOLockedValueBox(false)

    init(_ topicPartition: TopicPartition, log: PartitionLog) {
        self.topicPartition = topicPartition
        self.log = log
    }

    func withLog<T>(_ body: (PartitionLog) throws -> T) rethrows -> T {
        try lock.withLock { try body(log) }
    }
}
