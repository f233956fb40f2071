import EddyCore
import EddyWire
/// One transactional id: its producer id and epoch, and the transaction in progress. Mirrors Kafka's
/// TransactionMetadata (3.x, transactions version 1: the epoch moves only on InitProducerId and on
/// fencing). Every transition checks Kafka's table of valid previous states with `precondition` and
/// stamps `lastUpdateTimestamp`; the coordinator decides which transition to make.
///
/// Kafka prepares a transition, appends it and only then applies it (`pendingState`). Here the
/// driver persists synchronously before anything else happens (see `TxnAction`), so a transition is
/// applied at once and there is never a pending one.
struct TransactionMetadata: Equatable, Sendable {
    let transactionalId: String
    private(set) var producerId: Int64
    /// The producer id before the last InitProducerId, so a retry that spans a rotation is
    /// recognised (KIP-360). Not in the log record: -1 after `load`, as in Kafka.
    private(set) var previousProducerId: Int64 = -1
    /// -1 only for an id being created, before its first InitProducerId completes.
    private(set) var producerEpoch: Int16
    /// The epoch before the last bump that a client asked for by giving its epoch (KIP-360): a
    /// retry of that bump gets the current epoch again. Not in the log record: -1 after `load`.
    private(set) var lastProducerEpoch: Int16 = -1
    private(set) var timeoutMs: Int32
    private(set) var state: TransactionState
    private(set) var partitions: Set<TopicPartition>
    /// When the first partition of the transaction was added; -1 after InitProducerId.
    private(set) var startTimestamp: Int64
    private(set) var lastUpdateTimestamp: Int64

    /// Kafka keeps one epoch in reserve so a producer at the last usable epoch can still be fenced.
    static func isEpochExhausted(_ epoch: Int16) -> Bool { epoch >= Int16.max - 1 }

    /// An id seen for the first time, before its first InitProducerId bumps the epoch to 0.
    init(transactionalId: String, producerId: Int64, timeoutMs: Int32, now: Int64) {
        self.init(
            transactionalId: transactionalId, producerId: producerId, producerEpoch: -1, timeoutMs: timeoutMs,
            state: .empty, partitions: [], startTimestamp: -1, lastUpdateTimestamp: now)
    }

    /// A record read back from the log (`TransactionLog`); the fields no record holds start unset.
    init(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, timeoutMs: Int32, state: TransactionState,
        partitions: Set<TopicPartition>, startTimestamp: Int64, lastUpdateTimestamp: Int64
    ) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = state == .empty ? [] : partitions
        self.startTimestamp = startTimestamp
        self.lastUpdateTimestamp = lastUpdateTimestamp
    }

    var isEpochExhausted: Bool { Self.isEpochExhausted(producerEpoch) }

    var summary: TransactionDescription {
        TransactionDescription(
            transactionalId: transactionalId, state: state, producerId: producerId, producerEpoch: producerEpoch,
            timeoutMs: timeoutMs, startTimestamp: startTimestamp, lastUpdateTimestamp: lastUpdateTimestamp,
            partitions: partitions.sorted(by: TopicPartition.inOrder))
    }

    // MARK: Deadlines

    /// The first moment the transaction counts as timed out (Kafka: start + timeout < now).
    var abortDeadline: Int64? { state == .ongoing ? startTimestamp + Int64(timeoutMs) + 1 : nil }

    /// The first moment the id may be expired (Kafka: lastUpdate <= now - expiration).
    func expiryDeadline(expirationMs: Int64) -> Int64? {
        state.isExpirationAllowed ? lastUpdateTimestamp + expirationMs : nil
    }

    // MARK: InitProducerId

    /// The epoch an InitProducerId leads to (Kafka's `prepareIncrementProducerEpoch`), or nil when
    /// the client's epoch (`expected`, KIP-360) is neither the current one nor the one before the last
    /// bump: that producer is fenced. Returns (epoch, lastEpoch).
    func epochAfterInit(expected: Int16?) -> (epoch: Int16, lastEpoch: Int16)? {
        if expected == nil || producerEpoch == -1 || expected == producerEpoch {
            // The caller rotates the producer id instead of bumping an exhausted epoch.
            precondition(!isEpochExhausted, "bumping exhausted epoch of \(transactionalId)")
            return (producerEpoch + 1, expected == nil ? -1 : producerEpoch)
        }
        // A retry of a bump whose answer was lost: the same answer again. (Kafka reaches this test
        // only for an epoch that is not exhausted and throws otherwise; answering is kinder.)
        if expected == lastProducerEpoch { return (producerEpoch, lastProducerEpoch) }
        return nil
    }

    /// InitProducerId completes: no transaction, a new timeout, the epoch from `epochAfterInit`.
    mutating func initialise(epoch: Int16, lastEpoch: Int16, timeoutMs: Int32, now: Int64) {
        precondition(epoch == producerEpoch || epoch == producerEpoch + 1, "epoch of \(transactionalId) jumped")
        transition(to: .empty, now: now)
        previousProducerId = producerId
        producerEpoch = epoch
        lastProducerEpoch = lastEpoch
        self.timeoutMs = timeoutMs
        startTimestamp = -1
    }

    /// InitProducerId when the epoch is used up: a new producer id at epoch 0. With
    /// `recordLastEpoch` (the client gave its epoch) a retry of this very request is recognised.
    mutating func rotateProducerId(to newProducerId: Int64, timeoutMs: Int32, recordLastEpoch: Bool, now: Int64) {
        precondition(newProducerId != producerId, "producer id of \(transactionalId) rotated to itself")
        transition(to: .empty, now: now)
        lastProducerEpoch = recordLastEpoch ? producerEpoch : -1
        previousProducerId = producerId
        producerId = newProducerId
        producerEpoch = 0
        self.timeoutMs = timeoutMs
        startTimestamp = -1
    }

    // MARK: The transaction

    /// AddPartitionsToTxn / AddOffsetsToTxn: the first addition starts the transaction (and its timer).
    mutating func addPartitions(_ added: Set<TopicPartition>, now: Int64) {
        if state != .ongoing { startTimestamp = now }
        transition(to: .ongoing, now: now)
        partitions.formUnion(added)
    }

    /// The first half of aborting someone else's transaction (a timeout, or a new producer's
    /// InitProducerId): the epoch goes up so the markers fence the old producer. PrepareAbort must
    /// follow in the same event.
    mutating func fenceProducerEpoch(now: Int64) {
        precondition(producerEpoch < Int16.max, "fencing would overflow the epoch of \(transactionalId)")
        transition(to: .prepareEpochFence, now: now)
        producerEpoch += 1
        lastProducerEpoch = -1
    }

    /// EndTxn (or an abort by the coordinator): the decision, persisted before any marker is written.
    mutating func prepareEnd(commit: Bool, now: Int64) {
        transition(to: commit ? .prepareCommit : .prepareAbort, now: now)
    }

    /// Every marker is written.
    mutating func complete(now: Int64) {
        precondition(state.isPreparing, "completing \(transactionalId) in \(state.name)")
        transition(to: state == .prepareCommit ? .completeCommit : .completeAbort, now: now)
        partitions = []
    }

    /// transactional.id.expiration.ms has passed: the id is about to be dropped.
    mutating func expire() { transition(to: .dead, now: lastUpdateTimestamp) }

    private mutating func transition(to target: TransactionState, now: Int64) {
        precondition(
            target.validPreviousStates.contains(state),
            "transactional id \(transactionalId): \(state.name) → \(target.name) is not a valid transition")
        state = target
        lastUpdateTimestamp = now
    }

    /// The invariants of an id at rest, between events.
    func checkInvariants() {
        let id = transactionalId
        precondition(state != .dead && state != .prepareEpochFence, "\(id) left in \(state.name)")
        precondition(producerId >= 0 && producerEpoch >= 0, "\(id) has no producer id and epoch")
        precondition(timeoutMs > 0, "\(id) has timeout \(timeoutMs)")
        switch state {
        case .empty:
            precondition(partitions.isEmpty && startTimestamp == -1, "\(id) is Empty with a transaction")
        case .ongoing, .prepareCommit, .prepareAbort:
            precondition(startTimestamp >= 0, "\(id) is \(state.name) with no start time")
        case .completeCommit, .completeAbort:
            precondition(partitions.isEmpty, "\(id) is \(state.name) with partitions")
        case .dead, .prepareEpochFence:
            break
        }
    }
}
