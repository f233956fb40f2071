import EddyCore
import EddyWire
/// The broker side of Kafka's transactions for every transactional id (this single node is the
/// coordinator and the leader of every partition): InitProducerId, AddPartitionsToTxn v0-3,
/// AddOffsetsToTxn, EndTxn, the checks of TxnOffsetCommit, the abort of timed-out transactions, the
/// expiry of idle ids, and recovery from __transaction_state. Mirrors Kafka 3.x's
/// TransactionCoordinator and TransactionStateManager with transactions version 1 (the epoch moves
/// only on InitProducerId and on fencing; no KIP-890 part 2).
///
/// A pure state machine (STYLE.md, "state machines that return actions"): no I/O, no clock, no
/// threads; `now` is milliseconds. Events return `TxnAction`s for the driver to carry out in order.
/// Persistence is synchronous write-ahead (see `TxnAction`): the state moves at once and every
/// request is answered in the actions of its own call. The life of a commit:
///
///     endTxn(commit)   → persist PrepareCommit, respondEndTxn NONE, writeMarkers
///     markersWritten   → persist CompleteCommit
///
/// Kafka answers EndTxn once the decision is in the log, before the markers are written; until they
/// are, the id answers CONCURRENT_TRANSACTIONS to AddPartitions/AddOffsets/InitProducerId and to an
/// EndTxn retry. A timeout, or InitProducerId by a new instance of the producer, aborts the
/// transaction with the epoch bumped (PrepareEpochFence → PrepareAbort), so the markers fence the
/// old instance and its next request gets PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before KIP-588).
///
/// Not here: authorisation, topic checks (the handler answers unknown topics before calling, with
/// OPERATION_NOT_ATTEMPTED for the rest), AddPartitionsToTxn v4+ (broker-to-broker batches and
/// verifyOnly, KIP-890), transactions version 2 (an epoch bump on every EndTxn), DescribeProducers.
struct TransactionCoordinator<ProducerIds: ProducerIdSource> {
    let config: TransactionCoordinatorConfig
    private(set) var transactions: [String: TransactionMetadata] = [:]
    /// Readable so the driver can persist its counter.
    private(set) var producerIds: ProducerIds

    init(config: TransactionCoordinatorConfig = TransactionCoordinatorConfig(), producerIds: ProducerIds) {
        precondition(config.maxTimeoutMs > 0 && config.transactionalIdExpirationMs > 0)
        precondition(config.abortTimedOutCheckIntervalMs > 0 && config.removeExpiredCheckIntervalMs > 0)
        self.config = config
        self.producerIds = producerIds
    }

    /// When `tick` next has work: the first timed-out transaction or expired id, rounded up to the
    /// period of Kafka's check. nil when nothing waits. After `tick(now:)` it is later than `now`;
    /// after `load` it may have passed already (then tick at once).
    var nextDeadline: Int64? {
        transactions.values.flatMap { md in
            [
                md.abortDeadline.map { roundUp($0, to: config.abortTimedOutCheckIntervalMs) },
                md.expiryDeadline(expirationMs: config.transactionalIdExpirationMs)
                    .map { roundUp($0, to: config.removeExpiredCheckIntervalMs) },
            ].compactMap { $0 }
        }.min()
    }

    // MARK: Events

    /// InitProducerId v0-5. `producerId`/`producerEpoch` are -1/-1 unless the client is bumping its
    /// epoch after an error (KIP-360, v3+). No transactional id: a fresh producer id at epoch 0 for
    /// an idempotent producer.
    mutating func initProducerId(
        transactionalId: String?, timeoutMs: Int32, producerId: Int64, producerEpoch: Int16,
        requestVersion: Int16, now: Int64, token: RequestToken
    ) -> [TxnAction] {
        func answer(_ error: ErrorCode, _ md: TransactionMetadata? = nil) -> TxnAction {
            .respondInitProducerId(
                token, TxnApi.initProducerId.answer(error, version: requestVersion),
                producerId: md?.producerId ?? -1, producerEpoch: md?.producerEpoch ?? -1)
        }
        let expected: (producerId: Int64, epoch: Int16)?
        switch (producerId, producerEpoch) {
        case (-1, -1): expected = nil
        case (-1, _), (_, -1): return [answer(.invalidRequest)]
        default: expected = (producerId, producerEpoch)
        }
        // No producer id to be had: COORDINATOR_NOT_AVAILABLE, which clients retry.
        let noProducerId = answer(.coordinatorNotAvailable)
        guard let transactionalId else {
            guard let fresh = producerIds.nextProducerId() else { return [noProducerId] }
            return [.respondInitProducerId(token, .none, producerId: fresh, producerEpoch: 0)]
        }
        guard !transactionalId.isEmpty else { return [answer(.invalidRequest)] }
        guard timeoutMs > 0 && timeoutMs <= config.maxTimeoutMs else { return [answer(.invalidTransactionTimeout)] }

        var md: TransactionMetadata
        if let known = transactions[transactionalId] {
            md = known
        } else {
            guard let fresh = producerIds.nextProducerId() else { return [noProducerId] }
            md = TransactionMetadata(transactionalId: transactionalId, producerId: fresh, timeoutMs: timeoutMs, now: now)
        }
        if let expected {
            // KIP-360: fence the client unless its producer id is the current one (the epoch is
            // checked below), the id is brand new, or it retries a rotation whose answer it lost.
            let known = md.producerEpoch == -1 || expected.producerId == md.producerId
                || (expected.producerId == md.previousProducerId && TransactionMetadata.isEpochExhausted(expected.epoch))
            guard known else { return [answer(.producerFenced)] }
        }
        switch md.state {
        case .prepareCommit, .prepareAbort:
            return [answer(.concurrentTransactions)]
        case .ongoing:
            // A new instance of the producer: abort its predecessor's transaction, fencing it with a
            // bumped epoch that is never handed out, and have the client retry. The retry bumps the
            // epoch again (or rotates the producer id if that used it up).
            md.fenceProducerEpoch(now: now)
            return end(&md, commit: false, now: now, answer: answer(.concurrentTransactions))
        case .empty, .completeCommit, .completeAbort:
            if md.isEpochExhausted && (expected == nil || expected!.epoch == md.producerEpoch) {
                guard let fresh = producerIds.nextProducerId() else { return [noProducerId] }
                md.rotateProducerId(to: fresh, timeoutMs: timeoutMs, recordLastEpoch: expected != nil, now: now)
            } else if let (epoch, lastEpoch) = md.epochAfterInit(expected: expected?.epoch) {
                md.initialise(epoch: epoch, lastEpoch: lastEpoch, timeoutMs: timeoutMs, now: now)
            } else {
                return [answer(.producerFenced)]
            }
            store(md)
            return [persist(md), answer(.none, md)]
        case .dead, .prepareEpochFence:
            preconditionFailure("\(transactionalId) at rest in \(md.state.name)")
        }
    }

    /// AddPartitionsToTxn v0-3. One error for the whole request, as Kafka's coordinator gives it;
    /// the handler repeats it for every partition (`errorResponseForTransaction`). On NONE the
    /// partitions are in the transaction once the actions (a persist, or nothing if they already
    /// were) are carried out.
    mutating func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: [TopicPartition],
        requestVersion: Int16, now: Int64
    ) -> (error: ErrorCode, actions: [TxnAction]) {
        let (error, actions) = add(Set(partitions), transactionalId, producerId, producerEpoch, now: now)
        return (TxnApi.addPartitionsToTxn.answer(error, version: requestVersion), actions)
    }

    /// AddOffsetsToTxn: the driver maps the group to its __consumer_offsets partition, which joins
    /// the transaction like any other; its marker settles the group's pending offsets.
    mutating func addOffsets(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, offsetsPartition: TopicPartition,
        requestVersion: Int16, now: Int64
    ) -> (error: ErrorCode, actions: [TxnAction]) {
        let (error, actions) = add([offsetsPartition], transactionalId, producerId, producerEpoch, now: now)
        return (TxnApi.addOffsetsToTxn.answer(error, version: requestVersion), actions)
    }

    /// EndTxn. A retry after the transaction completed the same way gets NONE; the other way,
    /// INVALID_TXN_STATE; while its markers are being written, CONCURRENT_TRANSACTIONS.
    mutating func endTxn(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, requestVersion: Int16,
        now: Int64, token: RequestToken
    ) -> [TxnAction] {
        func answer(_ error: ErrorCode) -> TxnAction {
            .respondEndTxn(token, TxnApi.endTxn.answer(error, version: requestVersion))
        }
        guard !transactionalId.isEmpty else { return [answer(.invalidRequest)] }
        guard var md = transactions[transactionalId], md.producerId == producerId else {
            return [answer(.invalidProducerIdMapping)]
        }
        guard md.producerEpoch == producerEpoch else { return [answer(.producerFenced)] }
        switch md.state {
        case .ongoing:
            return end(&md, commit: commit, now: now, answer: answer(.none))
        case .completeCommit, .completeAbort:
            return [answer((md.state == .completeCommit) == commit ? .none : .invalidTxnState)]
        case .prepareCommit, .prepareAbort:
            return [answer((md.state == .prepareCommit) == commit ? .concurrentTransactions : .invalidTxnState)]
        case .empty:
            return [answer(.invalidTxnState)]
        case .dead, .prepareEpochFence:
            preconditionFailure("\(transactionalId) at rest in \(md.state.name)")
        }
    }

    /// The driver wrote every marker of a `writeMarkers` for this id. Ignored unless the id is
    /// still waiting for them (a duplicate after the driver rebuilt the coordinator with `load`).
    mutating func markersWritten(transactionalId: String, now: Int64) -> [TxnAction] {
        guard var md = transactions[transactionalId], md.state.isPreparing else { return [] }
        md.complete(now: now)
        store(md)
        return [persist(md)]
    }

    /// Aborts the transactions that outlived their timeout, with the epoch bumped so their producer is
    /// fenced (Kafka's abortTimedOutTransactions), and forgets ids idle for
    /// transactional.id.expiration.ms (a tombstone each). In id order, aborts first.
    mutating func tick(now: Int64) -> [TxnAction] {
        var actions: [TxnAction] = []
        for id in transactions.keys.sorted() where (transactions[id]!.abortDeadline ?? .max) <= now {
            var md = transactions[id]!
            md.fenceProducerEpoch(now: now)
            actions += end(&md, commit: false, now: now, answer: nil)
        }
        let expirationMs = config.transactionalIdExpirationMs
        for id in transactions.keys.sorted() where (transactions[id]!.expiryDeadline(expirationMs: expirationMs) ?? .max) <= now {
            transactions[id]!.expire()
            transactions[id] = nil
            actions.append(.persist(transactionalId: id, key: TransactionLog.key(transactionalId: id), value: nil))
        }
        // Every timer left lies in the future, so a driver ticking at nextDeadline never spins.
        precondition((nextDeadline ?? .max) > now, "transaction timers still due after tick")
        return actions
    }

    // MARK: Queries

    /// The coordinator's checks of TxnOffsetCommit, before the driver stores the offsets as pending
    /// for the producer: the group's offsets partition must be in the producer's ongoing transaction
    /// (AddOffsetsToTxn came first), or its marker could never settle them. A stale epoch gets
    /// INVALID_PRODUCER_EPOCH, as Kafka's __consumer_offsets log answers it for every TxnOffsetCommit
    /// version; Prepare* gets CONCURRENT_TRANSACTIONS and any other state INVALID_TXN_STATE (Kafka's
    /// transaction verification, KIP-890, without TRANSACTION_ABORTABLE).
    func validateTxnOffsetCommit(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, offsetsPartition: TopicPartition
    ) -> ErrorCode {
        guard let md = transactions[transactionalId], md.producerId == producerId else { return .invalidProducerIdMapping }
        guard md.producerEpoch == producerEpoch else { return .invalidProducerEpoch }
        if md.state.isPreparing { return .concurrentTransactions }
        return md.state == .ongoing && md.partitions.contains(offsetsPartition) ? .none : .invalidTxnState
    }

    /// DescribeTransactions; nil for an unknown id (TRANSACTIONAL_ID_NOT_FOUND).
    func describe(transactionalId: String) -> TransactionDescription? { transactions[transactionalId]?.summary }

    /// ListTransactions, in id order; an empty filter matches everything.
    func list(states: Set<TransactionState> = [], producerIds: Set<Int64> = []) -> [TransactionDescription] {
        transactions.values
            .filter { states.isEmpty || states.contains($0.state) }
            .filter { producerIds.isEmpty || producerIds.contains($0.producerId) }
            .map(\.summary)
            .sorted { $0.transactionalId < $1.transactionalId }
    }

    // MARK: Recovery

    /// The __transaction_state record that holds `md` (see `TransactionLog` for the bytes).
    static func record(for md: TransactionMetadata) -> (key: [UInt8], value: [UInt8]?) {
        (TransactionLog.key(transactionalId: md.transactionalId), TransactionLog.value(md))
    }

    /// Replaces every id with what the log says, reading `records` in log order: the last record of
    /// an id wins, a tombstone removes it. Transactions found in PrepareCommit/PrepareAbort get their
    /// markers written again (actions, in id order); Ongoing ones run on against their timeout. On
    /// a record that cannot be read nothing changes.
    mutating func load(records: [(key: [UInt8], value: [UInt8]?)], now: Int64) throws(TransactionLogError) -> [TxnAction] {
        var loaded: [String: TransactionMetadata] = [:]
        for (index, record) in records.enumerated() {
            var transactionalId: String?
            do throws(TransactionLogError) {
                transactionalId = try TransactionLog.decodeKey(record.key)
                guard let id = transactionalId else { continue }
                if let value = record.value {
                    loaded[id] = try TransactionLog.decodeValue(value, transactionalId: id)
                } else {
                    loaded[id] = nil
                }
            } catch {
                var located = error
                located.recordIndex = index
                located.transactionalId = transactionalId
                throw located
            }
        }
        transactions = loaded
        var actions: [TxnAction] = []
        for id in transactions.keys.sorted() {
            transactions[id]!.checkInvariants()
            guard transactions[id]!.state.isPreparing else { continue }
            var md = transactions[id]!
            actions += sendMarkersOrComplete(&md, now: now)
        }
        return actions
    }

    // MARK: Plumbing

    private mutating func add(
        _ partitions: Set<TopicPartition>, _ transactionalId: String, _ producerId: Int64, _ producerEpoch: Int16, now: Int64
    ) -> (ErrorCode, [TxnAction]) {
        guard !transactionalId.isEmpty else { return (.invalidRequest, []) }
        guard var md = transactions[transactionalId], md.producerId == producerId else { return (.invalidProducerIdMapping, []) }
        // The last epoch is only ever reached by fencing and never handed out: whoever sends it
        // guessed, and a transaction at that epoch could not be fenced in turn.
        guard md.producerEpoch == producerEpoch, producerEpoch < Int16.max else { return (.producerFenced, []) }
        switch md.state {
        case .prepareCommit, .prepareAbort:
            return (.concurrentTransactions, [])
        case .ongoing where partitions.isSubset(of: md.partitions):
            return (.none, [])
        case .empty, .ongoing, .completeCommit, .completeAbort:
            md.addPartitions(partitions, now: now)
            store(md)
            return (.none, [persist(md)])
        case .dead, .prepareEpochFence:
            preconditionFailure("\(transactionalId) at rest in \(md.state.name)")
        }
    }

    /// Ends the transaction the way Kafka's endTransaction does: the decision is persisted, then the
    /// client is answered, then the markers go out.
    private mutating func end(_ md: inout TransactionMetadata, commit: Bool, now: Int64, answer: TxnAction?) -> [TxnAction] {
        md.prepareEnd(commit: commit, now: now)
        store(md)
        return [persist(md)] + (answer.map { [$0] } ?? []) + sendMarkersOrComplete(&md, now: now)
    }

    /// Markers for a Prepare* transaction; one with no partitions completes at once.
    private mutating func sendMarkersOrComplete(_ md: inout TransactionMetadata, now: Int64) -> [TxnAction] {
        precondition(md.state.isPreparing)
        guard md.partitions.isEmpty else {
            return [
                .writeMarkers(
                    TxnMarkers(
                        transactionalId: md.transactionalId, producerId: md.producerId, producerEpoch: md.producerEpoch,
                        commit: md.state == .prepareCommit, partitions: md.partitions.sorted(by: TopicPartition.inOrder)))
            ]
        }
        md.complete(now: now)
        store(md)
        return [persist(md)]
    }

    private mutating func store(_ md: TransactionMetadata) {
        md.checkInvariants()
        transactions[md.transactionalId] = md
    }

    private func persist(_ md: TransactionMetadata) -> TxnAction {
        let (key, value) = Self.record(for: md)
        return .persist(transactionalId: md.transactionalId, key: key, value: value)
    }

    /// The first multiple of `period` at or after `time` (Kafka's periodic checks run on such a grid).
    private func roundUp(_ time: Int64, to period: Int64) -> Int64 {
        let (quotient, remainder) = time.quotientAndRemainder(dividingBy: period)
        return remainder > 0 ? (quotient + 1) * period : quotient * period
    }
}

extension TransactionCoordinator: Sendable where ProducerIds: Sendable {}
