import EddyLog
import ServiceLifecycle

extension Broker {
    /// The broker's background work, to run in the same `ServiceGroup` as its `KafkaServer`.
    public var backgroundServices: [any Service] {
        [LogMaintenance(broker: self), LogCleaning(broker: self), GroupTimer(broker: self), TransactionTimer(broker: self)]
    }
}

/// Periodic work: retention (and time-based rolls), flush.ms, and the fsync of segments rolled since
/// the last flush (those the produce path did not flush already), every `log.retention.check.interval.ms`.
struct LogMaintenance: Service {
    let broker: Broker

    func run() async throws {
        let interval = UInt64(max(10, broker.config.retentionCheckIntervalMs)) * 1_000_000
        while !Task.isShuttingDownGracefully {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: interval) } } catch { return }
            let deleted = try await broker.blocking { () -> Int in
                var deleted = 0
                for topic in broker.topics.all {
                    for p in topic.partitions {
                        try p.withLog { log in
                            deleted += try log.applyRetention()
                            try log.flushIfDue()
                            if log.rolledSegmentAwaitsFlush { try log.flush() }
                        }
                    }
                }
                return deleted
            }
            if deleted > 0 { broker.logger.info("retention deleted \(deleted) segments") }
        }
    }
}

/// Compaction: every `log.cleaner.backoff.ms`, each partition whose cleanup.policy includes
/// "compact" and whose dirty share reached min.cleanable.dirty.ratio gets a pass. The copying runs
/// on the blocking pool without the partition's lock (see `LogCleaner`); appends and reads go on.
struct LogCleaning: Service {
    let broker: Broker

    func run() async throws {
        let interval = UInt64(max(10, broker.config.cleanerBackoffMs)) * 1_000_000
        while !Task.isShuttingDownGracefully {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: interval) } } catch { return }
            for topic in broker.topics.all where topic.config.compacts {
                for partition in topic.partitions {
                    do {
                        guard let plan = try await broker.blocking({ try partition.withLog { try $0.planCleaning() } }) else { continue }
                        let now = broker.clock()
                        let result = try await broker.blocking { try LogCleaner.clean(plan, now: now) }
                        try await broker.blocking { try partition.withLog { _ = try $0.installCleaned(result) } }
                        broker.logger.info("compacted \(partition.topicPartition): \(result.stats)")
                    } catch {
                        broker.logger.error("compaction of \(partition.topicPartition) failed: \(error)")
                    }
                }
            }
        }
    }
}

/// Runs the group coordinator's timers (session expiry, end of join and sync phases) at their
/// deadlines, and answers parked group requests on graceful shutdown.
struct GroupTimer: Service {
    let broker: Broker
    /// The longest sleep: a deadline set meanwhile (a join, a heartbeat) is seen within it.
    static let intervalMs: Int64 = 100

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            // Until the next deadline, so a member expires at its own session timeout (a client may
            // wait exactly that long and then delete the group), not up to a tick later.
            let wait = Self.wait(nextDeadline: broker.groups.nextDeadline, now: broker.clock())
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: UInt64(wait) * 1_000_000) } } catch { break }
            broker.groups.tick()
        }
        broker.groups.shutDown()
    }

    /// Milliseconds to sleep before the next tick: to the coordinator's next deadline (at least 1),
    /// and never more than `intervalMs`.
    static func wait(nextDeadline: Int64?, now: Int64) -> Int64 {
        nextDeadline.map { min(intervalMs, max(1, $0 - now)) } ?? intervalMs
    }
}

/// Loads the transaction coordinator at start (completing transactions decided before a crash)
/// and runs its timers (transaction timeouts, transactional id expiry) every 100 ms.
struct TransactionTimer: Service {
    let broker: Broker

    func run() async throws {
        await broker.transactions.tick(broker)
        while !Task.isShuttingDownGracefully {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: UInt64(GroupTimer.intervalMs) * 1_000_000) } } catch { break }
            await broker.transactions.tick(broker)
        }
    }
}
