import EddyCore
import EddyWire
// Configuration, states, actions and read-only views of the transaction coordinator. These are the
// coordinator's own plain values, not wire messages: a handler converts the decoded request into an
// event and the actions back into responses and appends.

/// Broker configuration of the transaction coordinator (Kafka's property names in the comments).
struct TransactionCoordinatorConfig: Sendable, Equatable {
    /// `transaction.max.timeout.ms`: InitProducerId asking for more gets INVALID_TRANSACTION_TIMEOUT.
    var maxTimeoutMs: Int32 = 900_000
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: Kafka looks for timed-out
    /// transactions on this period, so `nextDeadline` rounds abort times up to multiples of it
    /// (several timeouts then share one tick). 1 aborts at the first millisecond past the timeout.
    var abortTimedOutCheckIntervalMs: Int64 = 10_000
    /// `transactional.id.expiration.ms`: an id with no transaction in progress (Empty, Complete*)
    /// that saw no update for this long is forgotten (a tombstone goes to the log).
    var transactionalIdExpirationMs: Int64 = 604_800_000
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`: the period of that check.
    var removeExpiredCheckIntervalMs: Int64 = 3_600_000
}

/// Kafka's transaction states, with the ids of the log record and the names DescribeTransactions
/// and ListTransactions show.
enum TransactionState: Int8, Sendable, CaseIterable {
    /// Initialised by InitProducerId; no transaction in progress.
    case empty = 0
    /// Partitions (or a group's offsets) were added; EndTxn or the timeout ends it.
    case ongoing = 1
    /// The decision is in the log; markers are being written.
    case prepareCommit = 2
    case prepareAbort = 3
    /// Every marker is written.
    case completeCommit = 4
    case completeAbort = 5
    /// Being expired. Never at rest: the id is dropped in the same event.
    case dead = 6
    /// Fencing the producer before an abort. Never at rest: PrepareAbort follows in the same event.
    case prepareEpochFence = 7

    var name: String {
        switch self {
        case .empty: "Empty"
        case .ongoing: "Ongoing"
        case .prepareCommit: "PrepareCommit"
        case .prepareAbort: "PrepareAbort"
        case .completeCommit: "CompleteCommit"
        case .completeAbort: "CompleteAbort"
        case .dead: "Dead"
        case .prepareEpochFence: "PrepareEpochFence"
        }
    }

    /// Kafka's `validPreviousStates`: the only ways into each state.
    var validPreviousStates: Set<TransactionState> {
        switch self {
        case .empty: [.empty, .completeCommit, .completeAbort]
        case .ongoing: [.ongoing, .empty, .completeCommit, .completeAbort]
        case .prepareCommit: [.ongoing]
        case .prepareAbort: [.ongoing, .prepareEpochFence]
        case .completeCommit: [.prepareCommit]
        case .completeAbort: [.prepareAbort]
        case .dead: [.empty, .completeCommit, .completeAbort]
        case .prepareEpochFence: [.ongoing]
        }
    }

    /// No transaction in progress: the id may expire.
    var isExpirationAllowed: Bool { self == .empty || self == .completeCommit || self == .completeAbort }

    /// The decision is taken and markers are due.
    var isPreparing: Bool { self == .prepareCommit || self == .prepareAbort }
}

/// What the driver must do, in the order given.
///
/// Persistence is synchronous write-ahead: the driver appends a `persist` (acks=all) before it carries
/// out any later action of the same list. The coordinator has already moved to the new state; if an
/// append fails, the driver skips the rest of the list, answers the tokens in it with
/// COORDINATOR_NOT_AVAILABLE (and an AddPartitionsToTxn/AddOffsetsToTxn result likewise), and
/// rebuilds the coordinator with `load` from what the log holds. Every token is answered within the
/// actions of the call that carried it.
enum TxnAction: Equatable, Sendable {
    /// Append this record to __transaction_state. `value` nil is a tombstone.
    case persist(transactionalId: String, key: [UInt8], value: [UInt8]?)
    /// Write a COMMIT or ABORT control batch to every partition, then call `markersWritten`.
    case writeMarkers(TxnMarkers)
    /// producerId and producerEpoch are -1 in error answers.
    case respondInitProducerId(RequestToken, ErrorCode, producerId: Int64, producerEpoch: Int16)
    case respondEndTxn(RequestToken, ErrorCode)
}

/// The control batches that end one transaction. A marker on a __consumer_offsets partition also
/// settles the producer's pending transactional offsets there (materialised on commit, dropped on
/// abort), as Kafka's group coordinator does when it sees the marker: the offsets partitions of the
/// transaction are exactly those added by AddOffsetsToTxn, and survive a restart in the log record,
/// which group ids would not.
struct TxnMarkers: Equatable, Sendable {
    var transactionalId: String
    var producerId: Int64
    /// The epoch the markers carry: after a timeout or a fencing InitProducerId it is the bumped
    /// one, so the partitions refuse the old producer's later writes.
    var producerEpoch: Int16
    var commit: Bool
    /// Sorted by topic, then partition.
    var partitions: [TopicPartition]
}

/// One transactional id as DescribeTransactions, ListTransactions and the dashboard show it: the
/// fields of its __transaction_state record.
struct TransactionDescription: Equatable, Sendable {
    var transactionalId: String
    var state: TransactionState
    var producerId: Int64
    var producerEpoch: Int16
    var timeoutMs: Int32
    /// When the first partition was added; -1 when no transaction has started since InitProducerId.
    var startTimestamp: Int64
    var lastUpdateTimestamp: Int64
    /// Sorted by topic, then partition.
    var partitions: [TopicPartition]
}

/// The transaction APIs, for the one place where request versions change an answer: KIP-588
/// replaced INVALID_PRODUCER_EPOCH (47) by PRODUCER_FENCED (90) from InitProducerId v4 and
/// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2; older clients only know the former.
enum TxnApi: Sendable {
    case initProducerId, addPartitionsToTxn, addOffsetsToTxn, endTxn

    var firstVersionWithProducerFenced: Int16 {
        switch self {
        case .initProducerId: 4
        case .addPartitionsToTxn, .addOffsetsToTxn, .endTxn: 2
        }
    }

    /// The error as a request of this version must carry it.
    func answer(_ error: ErrorCode, version: Int16) -> ErrorCode {
        error == .producerFenced && version < firstVersionWithProducerFenced ? .invalidProducerEpoch : error
    }
}

extension TopicPartition {
    /// The order of markers, descriptions and log records.
    static func inOrder(_ a: TopicPartition, _ b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }
}
