import EddyCore
import EddyLog
import EddyWire
import NIOConcurrencyHelpers
import NIOCore

/// Producer ids for the transaction coordinator from the broker's durable allocator.
struct AllocatedProducerIds: ProducerIdSource {
    let allocator: ProducerIdAllocator
    func nextProducerId() -> Int64? { try? allocator.next() }
}

/// Drives the pure `TransactionCoordinator` for the broker. One call at a time, its I/O included
/// (`AsyncSerial`): the coordinator moves its state at once and asks for write-ahead persistence,
/// so each action list is carried out in order before the next call sees the coordinator:
/// `persist` appends to `__transaction_state` and waits for the fsync; `writeMarkers` appends a
/// COMMIT/ABORT control batch to every partition of the transaction (settling transactional
/// offsets in `__consumer_offsets`), waits for their fsync and reports back with `markersWritten`.
/// If a persist fails, the rest of the list is dropped, its requests are answered
/// COORDINATOR_NOT_AVAILABLE, and the coordinator is rebuilt from the log.
final class TransactionService: @unchecked Sendable {
    typealias Coordinator = TransactionCoordinator<AllocatedProducerIds>

    private let serial = AsyncSerial()
    private var coordinator: Coordinator
    private let makeCoordinator: @Sendable () -> Coordinator
    /// False until the state topic was read and unfinished transactions were completed.
    private var loaded = false
    private var nextToken: RequestToken = 1

    init(allocator: ProducerIdAllocator, config: TransactionCoordinatorConfig) {
        let make: @Sendable () -> Coordinator = { Coordinator(config: config, producerIds: AllocatedProducerIds(allocator: allocator)) }
        self.makeCoordinator = make
        self.coordinator = make()
    }

    /// What a handler gets back from a call: the answer for its token, if the call produced one.
    enum Answer {
        case initProducerId(ErrorCode, Int64, Int16)
        case endTxn(ErrorCode)
    }

    /// Runs one coordinator call and carries out its actions. `body` gets the coordinator and a
    /// token for its request. Before the state topic is loaded, every call waits for the load.
    func run<T>(_ broker: Broker, _ body: (inout Coordinator, RequestToken, Int64) -> (T, [TxnAction])) async -> (T, Answer?) {
        await serial.lock()
        defer { serial.unlock() }
        if !loaded { await loadLocked(broker) }
        let token = nextToken
        nextToken += 1
        let (value, actions) = body(&coordinator, token, broker.clock())
        let answers = await carryOut(actions, broker)
        return (value, answers[token])
    }

    /// The coordinator's timers (transaction timeouts, id expiry); also the first load.
    func tick(_ broker: Broker) async {
        await serial.lock()
        defer { serial.unlock() }
        if !loaded { await loadLocked(broker) }
        let now = broker.clock()
        guard let due = coordinator.nextDeadline, due <= now else { return }
        _ = await carryOut(coordinator.tick(now: now), broker)
    }

    func validateTxnOffsetCommit(_ broker: Broker, transactionalId: String, producerId: Int64, producerEpoch: Int16,
                                 offsetsPartition: TopicPartition) async -> ErrorCode {
        await run(broker) { c, _, _ in
            (c.validateTxnOffsetCommit(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                       offsetsPartition: offsetsPartition), [])
        }.0
    }

    // MARK: Carrying out actions (the caller holds `serial`)

    private func carryOut(_ actions: [TxnAction], _ broker: Broker) async -> [RequestToken: Answer] {
        var answers: [RequestToken: Answer] = [:]
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .persist(let id, let key, let value):
                do {
                    try await broker.appendTransactionState(key: key, value: value)
                } catch {
                    broker.logger.error("transaction state for \(id) could not be written: \(error); reloading the coordinator")
                    for rest in queue {
                        switch rest {
                        case .respondInitProducerId(let t, _, _, _): answers[t] = .initProducerId(.coordinatorNotAvailable, -1, -1)
                        case .respondEndTxn(let t, _): answers[t] = .endTxn(.coordinatorNotAvailable)
                        default: break
                        }
                    }
                    loaded = false
                    return answers
                }
            case .writeMarkers(let markers):
                do {
                    try await broker.writeMarkers(markers)
                    queue.append(contentsOf: coordinator.markersWritten(transactionalId: markers.transactionalId, now: broker.clock()))
                } catch {
                    // The transaction stays Prepare*; markers are written again at the next load.
                    broker.logger.error("markers for \(markers.transactionalId) could not be written: \(error)")
                    loaded = false
                }
            case .respondInitProducerId(let token, let error, let producerId, let epoch):
                answers[token] = .initProducerId(error, producerId, epoch)
            case .respondEndTxn(let token, let error):
                answers[token] = .endTxn(error)
            }
        }
        return answers
    }

    /// Reads `__transaction_state` into a fresh coordinator and completes what was decided but not
    /// finished (markers of PrepareCommit/PrepareAbort transactions).
    private func loadLocked(_ broker: Broker) async {
        do {
            let records = try await broker.blocking { try broker.readTransactionState() }
            var fresh = makeCoordinator()
            let actions = try fresh.load(records: records, now: broker.clock())
            coordinator = fresh
            loaded = true
            if !records.isEmpty { broker.logger.info("loaded \(coordinator.list().count) transactional ids from \(Broker.transactionStateTopic)") }
            _ = await carryOut(actions, broker)
        } catch {
            broker.logger.error("loading \(Broker.transactionStateTopic) failed: \(error)")
        }
    }
}

/// A FIFO async mutex: `lock()` suspends until the holder calls `unlock()`.
final class AsyncSerial: @unchecked Sendable {
    private let lock = NIOLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = lock.withLock { () -> Bool in
                if !held {
                    held = true
                    return true
                }
                waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func unlock() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiters.isEmpty {
                held = false
                return nil
            }
            return waiters.removeFirst()
        }
        next?.resume()
    }
}
