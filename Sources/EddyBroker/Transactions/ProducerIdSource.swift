import EddyCore
import EddyWire
/// Hands out fresh producer ids, for idempotent producers and for transactional ids (a new id, or
/// a rotation when the epoch of the old one is used up). Ids are never reused, across restarts too:
/// the production source persists a counter (Eddy's `ProducerIdAllocator` reserves blocks, as Kafka
/// does) and must start above every producer id found in __transaction_state. Injected, so tests
/// are deterministic; the production source may be a class shared with the broker.
protocol ProducerIdSource {
    /// nil when no id can be had (the next block could not be reserved): InitProducerId then fails
    /// with a retriable error and nothing changes.
    mutating func nextProducerId() -> Int64?
}

/// Test ids: `next`, `next + 1`, … .
struct SequentialProducerIds: ProducerIdSource, Sendable {
    var next: Int64

    init(startingAt next: Int64 = 1000) {
        precondition(next >= 0)
        self.next = next
    }

    mutating func nextProducerId() -> Int64? {
        defer { next += 1 }
        return next
    }
}
