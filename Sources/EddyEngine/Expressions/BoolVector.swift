/// A column of three-valued booleans packed 64 rows to a word, the form every boolean-typed expression
/// evaluates to. Packing makes AND, OR and NOT word-wise (64 rows per instruction) and turns a predicate
/// into a filter mask with no conversion.
///
/// Invariant: a bit of `values` is set only where the row is TRUE, so it is clear for NULL rows; then
/// TRUE = `values`, FALSE = `validity & ~values`, NULL = `~validity`, and SQL's three-valued logic is
///
///     AND: T = Ta & Tb, F = Fa | Fb        OR: T = Ta | Tb, F = Fa & Fb        NOT: swap T and F.
struct BoolVector: Sendable, Hashable {
    /// TRUE rows.
    private(set) var values: [UInt64]
    /// Rows that are not NULL; `nil` when none is.
    private(set) var validity: [UInt64]?
    let count: Int

    /// Canonicalises `values` (clears it where `validity` is clear).
    init(values: [UInt64], validity: [UInt64]?, count: Int) {
        precondition(values.count == BitWords.wordCount(count), "bool vector word count")
        if let validity {
            precondition(validity.count == values.count, "bool vector validity word count")
            self.values = BitWords.and(values, validity)
        } else {
            self.values = values
        }
        self.validity = validity
        self.count = count
    }

    /// Already canonical words (kernels that produced `values` under `validity` themselves).
    init(canonicalValues values: [UInt64], validity: [UInt64]?, count: Int) {
        self.values = values
        self.validity = validity
        self.count = count
    }

    /// Every row TRUE, FALSE or (for `nil`) NULL.
    static func constant(_ value: Bool?, count: Int) -> BoolVector {
        switch value {
        case true?: BoolVector(canonicalValues: BitWords.ones(count), validity: nil, count: count)
        case false?: BoolVector(canonicalValues: BitWords.zeros(count), validity: nil, count: count)
        case nil: BoolVector(canonicalValues: BitWords.zeros(count), validity: BitWords.zeros(count), count: count)
        }
    }

    /// A BOOLEAN column packed.
    init(_ column: Column) {
        self.init(values: BitWords.pack(column.bools), validity: column.validity?.words, count: column.count)
    }

    /// FALSE rows.
    var falseWords: [UInt64] {
        if let validity { return BitWords.andNot(validity, values) }
        return BitWords.not(values, count: count)
    }

    /// TRUE rows as a filter mask (FALSE and NULL clear).
    var trueBitmap: Bitmap { Bitmap(words: values, count: count) }

    /// Whether every row is FALSE (so AND need not look at its other side).
    var isAllFalse: Bool {
        guard BitWords.isZero(values) else { return false }
        return validity.map { BitWords.isAllOnes($0, count: count) } ?? true
    }

    /// Whether every row is TRUE (so OR need not look at its other side).
    var isAllTrue: Bool { BitWords.isAllOnes(values, count: count) }

    func and(_ other: BoolVector) -> BoolVector {
        precondition(count == other.count, "AND of different lengths")
        if validity == nil && other.validity == nil {
            return BoolVector(canonicalValues: BitWords.and(values, other.values), validity: nil, count: count)
        }
        let trueRows = BitWords.and(values, other.values)
        let falseRows = BitWords.or(falseWords, other.falseWords)
        return BoolVector(canonicalValues: trueRows, validity: BitWords.or(trueRows, falseRows), count: count)
    }

    func or(_ other: BoolVector) -> BoolVector {
        precondition(count == other.count, "OR of different lengths")
        if validity == nil && other.validity == nil {
            return BoolVector(canonicalValues: BitWords.or(values, other.values), validity: nil, count: count)
        }
        let trueRows = BitWords.or(values, other.values)
        let falseRows = BitWords.and(falseWords, other.falseWords)
        return BoolVector(canonicalValues: trueRows, validity: BitWords.or(trueRows, falseRows), count: count)
    }

    func not() -> BoolVector {
        BoolVector(canonicalValues: falseWords, validity: validity, count: count)
    }

    /// The same truth values with extra NULLs where `mask` is clear (a NULL input to a kernel).
    func masked(by mask: [UInt64]?) -> BoolVector {
        guard let mask else { return self }
        return BoolVector(values: values, validity: BitWords.and(validity, mask), count: count)
    }

    /// The value of one row (slow path: constant folding and tests).
    func value(at row: Int) -> Value {
        if let validity, !BitWords.test(validity, row) { return .null }
        return .bool(BitWords.test(values, row))
    }

    /// A BOOLEAN column.
    func column() -> Column {
        Column(
            type: .bool, values: .bool(BitWords.unpack(values, count: count)),
            validity: validity.map { Bitmap(words: $0, count: count) })
    }
}
