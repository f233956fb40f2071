/// How a column's values are held in accumulator arrays.
enum ValueStorage: UInt8, Sendable, Hashable {
    /// int64, timestamp, decimal (unscaled): `[Int64]`.
    case int64
    case float64
    /// `[Int64]` 0/1 for first/last; min/max keep bools in their flag byte.
    case bool
    case utf8

    init(_ type: DataType) {
        switch type {
        case .int64, .timestamp, .date, .decimal: self = .int64
        case .float64: self = .float64
        case .bool: self = .bool
        case .utf8: self = .utf8
        }
    }
}

/// What one aggregate accumulates per group, decided once from the function and the input type.
enum AccumulatorKind: Sendable, Hashable {
    case countRows
    case countValues
    case countDistinct(ValueStorage)
    /// int64 or decimal: exact Int64 sum, overflow is an error.
    case sumInt
    case sumFloat
    /// int64 or decimal: exact Int128 sum, divided at emit.
    case avgInt
    case avgFloat
    case min(ValueStorage)
    case max(ValueStorage)
    case first(ValueStorage)
    case last(ValueStorage)

    init(function: AggregateFunction, input: DataType?) {
        let storage = input.map(ValueStorage.init) ?? .int64
        switch function {
        case .count: self = input == nil ? .countRows : .countValues
        case .countDistinct: self = .countDistinct(storage)
        case .sum: self = storage == .float64 ? .sumFloat : .sumInt
        case .avg: self = storage == .float64 ? .avgFloat : .avgInt
        case .min: self = .min(storage)
        case .max: self = .max(storage)
        case .first: self = .first(storage)
        case .last: self = .last(storage)
        }
    }
}

/// The accumulators of one aggregate for every group, columnar by group slot: plain arrays of counts,
/// sums, values and flags rather than an object per group, so a batch updates them in a tight loop per
/// aggregate and a group costs a few words.
///
/// Which arrays a kind uses:
///
/// | kind            | counts          | ints       | wides  | doubles | flags            | times, seqs | strings | distinct |
/// |-----------------|-----------------|------------|--------|---------|------------------|-------------|---------|----------|
/// | count(*)/(col)  | count           |            |        |         |                  |             |         |          |
/// | count distinct  | distinct count  |            |        |         |                  |             |         | the sets |
/// | sum int/decimal | non-null count  | sum        |        |         |                  |             |         |          |
/// | sum float       | non-null count  |            |        | sum     |                  |             |         |          |
/// | avg int/decimal | non-null count  |            | sum    |         |                  |             |         |          |
/// | avg float       | non-null count  |            |        | sum     |                  |             |         |          |
/// | min/max         |                 | int value  |        | float   | has (bool: 0 none, 1 false, 2 true) |  | utf8    |          |
/// | first/last      |                 | int/bool   |        | float   | has              | time, arrival | utf8  |          |
///
/// Slots are handed out by the owning table; a freed slot is reset to zero here (`reset`) so a new
/// group starts from the all-zero state, which is every kind's empty accumulator.
struct AggregateState: Sendable {
    let kind: AccumulatorKind
    /// The output column's type.
    let outputType: DataType
    /// 10^scale of a decimal input (avg divides by it), 1 otherwise.
    let inputFactor: Int64

    var counts: [Int64] = []
    var ints: [Int64] = []
    var wides: [Int128] = []
    var doubles: [Double] = []
    var flags: [UInt8] = []
    var times: [Int64] = []
    var seqs: [Int64] = []
    var strings = SlotStrings()
    var distinct: DistinctValueTable?
    private(set) var capacity = 0

    init(kind: AccumulatorKind, outputType: DataType, inputFactor: Int64) {
        self.kind = kind
        self.outputType = outputType
        self.inputFactor = inputFactor
        if case .countDistinct(let storage) = kind { distinct = DistinctValueTable(storesBytes: storage == .utf8) }
    }

    private var usesCounts: Bool {
        switch kind {
        case .countRows, .countValues, .countDistinct, .sumInt, .sumFloat, .avgInt, .avgFloat: true
        default: false
        }
    }

    private var usesInts: Bool {
        switch kind {
        case .sumInt: true
        case .min(let s), .max(let s): s == .int64
        case .first(let s), .last(let s): s == .int64 || s == .bool
        default: false
        }
    }

    private var usesDoubles: Bool {
        switch kind {
        case .sumFloat, .avgFloat: true
        case .min(let s), .max(let s), .first(let s), .last(let s): s == .float64
        default: false
        }
    }

    private var usesFlags: Bool {
        switch kind {
        case .min, .max, .first, .last: true
        default: false
        }
    }

    private var usesTimes: Bool {
        switch kind {
        case .first, .last: true
        default: false
        }
    }

    private var usesStrings: Bool {
        switch kind {
        case .min(let s), .max(let s), .first(let s), .last(let s): s == .utf8
        default: false
        }
    }

    private var usesWides: Bool { kind == .avgInt }

    /// Makes slots `0 ..< slots` usable (new slots are zero: empty accumulators).
    mutating func ensureCapacity(_ slots: Int) {
        guard slots > capacity else { return }
        let added = slots - capacity
        if usesCounts { counts.append(contentsOf: repeatElement(0, count: added)) }
        if usesInts { ints.append(contentsOf: repeatElement(0, count: added)) }
        if usesWides { wides.append(contentsOf: repeatElement(0, count: added)) }
        if usesDoubles { doubles.append(contentsOf: repeatElement(0, count: added)) }
        if usesFlags { flags.append(contentsOf: repeatElement(0, count: added)) }
        if usesTimes {
            times.append(contentsOf: repeatElement(0, count: added))
            seqs.append(contentsOf: repeatElement(0, count: added))
        }
        if usesStrings { strings.ensureCapacity(slots) }
        distinct?.ensureGroups(slots)
        capacity = slots
    }

    /// Returns slots to the empty state (their group was evicted or merged away).
    mutating func reset(_ slots: [Int32]) {
        for slot32 in slots {
            let slot = Int(slot32)
            if usesCounts { counts[slot] = 0 }
            if usesInts { ints[slot] = 0 }
            if usesWides { wides[slot] = 0 }
            if usesDoubles { doubles[slot] = 0 }
            if usesFlags { flags[slot] = 0 }
            if usesTimes {
                times[slot] = 0
                seqs[slot] = 0
            }
            if usesStrings { strings.clear(slot) }
            distinct?.removeGroup(slot32)
        }
    }

    /// Returns every slot to the empty state, keeping capacity.
    mutating func removeAll() {
        for slot in 0..<capacity {
            if usesCounts { counts[slot] = 0 }
            if usesInts { ints[slot] = 0 }
            if usesWides { wides[slot] = 0 }
            if usesDoubles { doubles[slot] = 0 }
            if usesFlags { flags[slot] = 0 }
            if usesTimes {
                times[slot] = 0
                seqs[slot] = 0
            }
        }
        if usesStrings { strings.removeAll() }
        distinct?.removeAll()
    }

    /// Bytes held (array capacities, string and distinct storage).
    var bytesHeld: Int {
        counts.capacity * 8 + ints.capacity * 8 + wides.capacity * 16 + doubles.capacity * 8 + flags.capacity
            + times.capacity * 8 + seqs.capacity * 8 + (usesStrings ? strings.bytesHeld : 0) + (distinct?.bytesHeld ?? 0)
    }
}
