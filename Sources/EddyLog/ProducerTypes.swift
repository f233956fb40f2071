import EddyCore
import EddyWire
/// The small value types of a partition's producer state (`ProducerStateTable`). Distinct quantities
/// get distinct types, converted by name: a producer id, its epoch, a sequence number and the
/// transaction coordinator's epoch are all integers on the wire and must never be mixed up here.

/// A producer id, handed out by InitProducerId. Kafka writes -1 in batches from producers that are
/// neither idempotent nor transactional.
public struct ProducerId: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ value: Int64) { self.rawValue = value }
    public static let none = ProducerId(-1)
    /// Kafka's `RecordBatch.hasProducerId()`: any id above -1. Other batches are not tracked.
    public var isIdempotent: Bool { rawValue >= 0 }
    public static func < (a: ProducerId, b: ProducerId) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A producer's epoch: bumped by InitProducerId to fence older instances of the same producer.
public struct ProducerEpoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public init(_ value: Int16) { self.rawValue = value }
    public static func < (a: ProducerEpoch, b: ProducerEpoch) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// The epoch of the transaction coordinator that wrote a COMMIT/ABORT marker. A marker from an older
/// coordinator (one that lost its partition of `__transaction_state`) is a zombie and is refused.
public struct CoordinatorEpoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ value: Int32) { self.rawValue = value }
    /// What a producer has before any marker: lower than every real coordinator epoch.
    public static let none = CoordinatorEpoch(-1)
    public static func < (a: CoordinatorEpoch, b: CoordinatorEpoch) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// A record's sequence number within one producer epoch. Sequences are non-negative and wrap from
/// `Int32.max` to 0 (clients' `DefaultRecordBatch.incrementSequence`), so they are not Comparable.
public struct ProducerSequence: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ value: Int32) { self.rawValue = value }
    public static let zero = ProducerSequence(0)

    /// `self + delta` modulo 2^31, as Kafka computes a batch's last sequence from its base sequence
    /// and lastOffsetDelta.
    public func advanced(by delta: Int32) -> ProducerSequence {
        precondition(rawValue >= 0 && delta >= 0, "sequence \(rawValue) + \(delta): both must be non-negative")
        return ProducerSequence(Int32((Int64(rawValue) + Int64(delta)) % (Int64(Int32.max) + 1)))
    }

    /// Whether `next` is the sequence right after this one (Kafka's `inSequence`).
    public func isFollowed(by next: ProducerSequence) -> Bool { advanced(by: 1) == next }

    public var description: String { String(rawValue) }
}

/// What the table remembers of one appended batch: enough to answer a retry with the original
/// offsets and to check the next sequence.
public struct BatchMetadata: Hashable, Sendable {
    public var firstSeq: ProducerSequence
    public var lastSeq: ProducerSequence
    public var firstOffset: Offset
    public var lastOffset: Offset
    public var maxTimestamp: Timestamp

    public init(firstSeq: ProducerSequence, lastSeq: ProducerSequence, firstOffset: Offset, lastOffset: Offset,
                maxTimestamp: Timestamp) {
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.maxTimestamp = maxTimestamp
    }
}

/// The producer fields of a data batch's v2 header, as the broker sees them before appending.
public struct AppendingBatch: Hashable, Sendable {
    public var producerId: ProducerId
    public var producerEpoch: ProducerEpoch
    public var baseSequence: ProducerSequence
    /// The header's lastOffsetDelta: the batch holds `lastOffsetDelta + 1` offsets and sequences.
    public var lastOffsetDelta: Int32
    public var isTransactional: Bool
    /// The batch's max timestamp as stored (after LogAppendTime stamping). It becomes the producer's
    /// last timestamp, which expiry compares with the clock, as in Kafka.
    public var maxTimestamp: Timestamp

    public init(producerId: ProducerId, producerEpoch: ProducerEpoch, baseSequence: ProducerSequence,
                lastOffsetDelta: Int32, isTransactional: Bool = false, maxTimestamp: Timestamp) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.lastOffsetDelta = lastOffsetDelta
        self.isTransactional = isTransactional
        self.maxTimestamp = maxTimestamp
    }

    /// Whether the header fields can be checked at all; Kafka's LogValidator refuses a negative
    /// sequence from an idempotent producer with INVALID_RECORD before producer state is consulted.
    var isWellFormed: Bool { hasSequenceRange && producerEpoch.rawValue >= 0 }

    /// Whether `lastSequence` is defined.
    var hasSequenceRange: Bool { baseSequence.rawValue >= 0 && lastOffsetDelta >= 0 }

    /// The sequence of the batch's last record, wrapping past `Int32.max` to 0.
    public var lastSequence: ProducerSequence { baseSequence.advanced(by: lastOffsetDelta) }
}

/// The control record type of a transaction marker (Kafka's `ControlRecordType`, raw values as on disk).
public enum ControlType: Int16, Hashable, Sendable {
    case abort = 0
    case commit = 1
}

/// A COMMIT or ABORT control batch written by the transaction coordinator (WriteTxnMarkers).
public struct TransactionMarker: Hashable, Sendable {
    public var producerId: ProducerId
    public var producerEpoch: ProducerEpoch
    public var coordinatorEpoch: CoordinatorEpoch
    public var controlType: ControlType
    /// The marker record's timestamp; becomes the producer's last timestamp.
    public var timestamp: Timestamp

    public init(producerId: ProducerId, producerEpoch: ProducerEpoch, coordinatorEpoch: CoordinatorEpoch,
                controlType: ControlType, timestamp: Timestamp) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.coordinatorEpoch = coordinatorEpoch
        self.controlType = controlType
        self.timestamp = timestamp
    }
}

/// The table's answer to a batch or marker before it is appended.
public enum ProducerCheck: Hashable, Sendable {
    /// Append it, then call `recordAppend` / `recordMarker`.
    case accept
    /// A retry of a batch still remembered: append nothing and answer with the original offsets.
    case duplicate(BatchMetadata)
    /// Append nothing and answer with this error code (the message is for the log).
    case reject(ErrorCode, String)

    public var errorCode: ErrorCode? {
        if case .reject(let code, _) = self { return code }
        return nil
    }
}

/// A transaction that a marker ended; the log writes aborted ones to its transaction index.
public struct CompletedTransaction: Hashable, Sendable {
    public var producerId: ProducerId
    public var firstOffset: Offset
    /// The marker's offset.
    public var lastOffset: Offset
    public var isAborted: Bool

    public init(producerId: ProducerId, firstOffset: Offset, lastOffset: Offset, isAborted: Bool) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.isAborted = isAborted
    }
}

/// An aborted transaction as read_committed fetches need it: the consumer drops this producer's
/// batches from `firstOffset` until it meets the ABORT marker at `lastOffset`.
public struct AbortedTransaction: Hashable, Sendable {
    public var producerId: ProducerId
    public var firstOffset: Offset
    /// The ABORT marker's offset.
    public var lastOffset: Offset

    public init(producerId: ProducerId, firstOffset: Offset, lastOffset: Offset) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// What the table knows of one producer (Kafka's `ProducerStateEntry`).
public struct ProducerStateEntry: Hashable, Sendable {
    public internal(set) var epoch: ProducerEpoch
    public internal(set) var coordinatorEpoch: CoordinatorEpoch
    /// The last batch's max timestamp or the last marker's timestamp; expiry measures from it.
    public internal(set) var lastTimestamp: Timestamp
    /// The first offset of the producer's ongoing transaction, if one is open on this partition.
    public internal(set) var ongoingTxnFirstOffset: Offset?
    /// The latest batches of the current epoch, oldest first, at most `maxBatchesPerProducer`.
    public internal(set) var batches: [BatchMetadata]

    init(epoch: ProducerEpoch, coordinatorEpoch: CoordinatorEpoch = .none, lastTimestamp: Timestamp = .none,
         ongoingTxnFirstOffset: Offset? = nil, batches: [BatchMetadata] = []) {
        self.epoch = epoch
        self.coordinatorEpoch = coordinatorEpoch
        self.lastTimestamp = lastTimestamp
        self.ongoingTxnFirstOffset = ongoingTxnFirstOffset
        self.batches = batches
    }

    /// The last sequence appended in the current epoch; nil when only markers were seen since the
    /// epoch began, in which case the next batch must start at sequence 0.
    public var lastSequence: ProducerSequence? { batches.last?.lastSeq }

    /// The remembered batch that `batch` retries: same epoch and the same sequence range.
    func duplicate(of batch: AppendingBatch) -> BatchMetadata? {
        guard batch.producerEpoch == epoch else { return nil }
        let last = batch.lastSequence
        return batches.first { $0.firstSeq == batch.baseSequence && $0.lastSeq == last }
    }

    /// A new epoch forgets the old epoch's batches: their sequences mean nothing any more.
    mutating func adopt(epoch newEpoch: ProducerEpoch) {
        if newEpoch != epoch {
            batches.removeAll()
            epoch = newEpoch
        }
    }

    mutating func add(_ batch: BatchMetadata, epoch newEpoch: ProducerEpoch) {
        adopt(epoch: newEpoch)
        if batches.count == ProducerStateTable.maxBatchesPerProducer { batches.removeFirst() }
        batches.append(batch)
        lastTimestamp = batch.maxTimestamp
    }
}
