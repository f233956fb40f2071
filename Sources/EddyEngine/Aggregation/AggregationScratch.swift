/// Per-batch working buffers of `WindowAggregateOperator`, kept between batches so their capacity is
/// reused (no allocation per batch once warm). Not state: never snapshotted, not counted in
/// `stateBytes`.
struct AggregationScratch: Sendable {
    /// (row, window start) pairs of the batch, row order; sessions put the row's time in `pairStarts`.
    var pairRows: [Int32] = []
    var pairStarts: [Int64] = []
    /// The group slot (or session) of each pair.
    var pairSlots: [Int32] = []
    /// Sessions: the key id of each pair.
    var pairKeys: [Int32] = []
    /// Entries the key table created during the batch.
    var created: [Int32] = []
    var lateRows: [Int32] = []
    var nullTimeRows: [Int32] = []
    var keyBuffer = GroupKeyCodec.Buffer()
    var rowHashes: [UInt64] = []
    var dictionary = BatchStringDictionary()
    /// Dictionary path: group slot per (window of the batch, code), -1 unresolved.
    var codeSlots: [Int32] = []
    /// Slots touched by the batch, first touch order.
    var touched: [Int32] = []

    // Sessions: pairs grouped by key (counting sort), then merged per key.
    /// Key id → position in `batchKeys`, -1 when the key has no pair in this batch.
    var keyLocal: [Int32] = []
    var batchKeys: [Int32] = []
    var keyStarts: [Int] = []
    var order: [Int32] = []
    var existing: [Int32] = []
    var rebuilt: [Int32] = []
    var timed: [TimedPair] = []

    struct TimedPair: Sendable {
        var time: Int64
        var pair: Int32
    }
}
