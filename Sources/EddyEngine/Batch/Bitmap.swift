/// A fixed-length bit set, used for validity (bit set = value present) and for selection masks.
/// Bits past `count` in the last word are always zero.
public struct Bitmap: Sendable, Hashable {
    @usableFromInline var storage: [UInt64]
    public var words: [UInt64] { storage }
    public let count: Int

    /// `count` bits, all set to `value`.
    public init(count: Int, value: Bool) {
        self.count = count
        let wordCount = (count + 63) >> 6
        storage = Array(repeating: value ? ~0 : 0, count: wordCount)
        if value { clearTail() }
    }

    public init(_ bits: [Bool]) {
        self.init(count: bits.count, value: false)
        for (index, bit) in bits.enumerated() where bit { set(index) }
    }

    init(words: [UInt64], count: Int) {
        precondition(words.count == (count + 63) >> 6, "bitmap word count")
        self.storage = words
        self.count = count
        clearTail()
    }

    @inlinable
    public subscript(index: Int) -> Bool {
        get { words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set { newValue ? set(index) : clear(index) }
    }

    @inlinable
    public mutating func set(_ index: Int) {
        storage[index >> 6] |= 1 << UInt64(index & 63)
    }

    @inlinable
    public mutating func clear(_ index: Int) {
        storage[index >> 6] &= ~(1 << UInt64(index & 63))
    }

    /// The number of set bits.
    public var setCount: Int {
        words.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public var allSet: Bool { setCount == count }

    /// Indices of the set bits, ascending.
    public var setIndices: [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(setCount)
        for (wordIndex, word) in words.enumerated() {
            var bits = word
            while bits != 0 {
                let bit = bits.trailingZeroBitCount
                result.append(Int32(wordIndex << 6 + bit))
                bits &= bits - 1
            }
        }
        return result
    }

    public static func & (a: Bitmap, b: Bitmap) -> Bitmap {
        precondition(a.count == b.count, "bitmap lengths differ")
        return Bitmap(words: zip(a.words, b.words).map { $0 & $1 }, count: a.count)
    }

    public static func | (a: Bitmap, b: Bitmap) -> Bitmap {
        precondition(a.count == b.count, "bitmap lengths differ")
        return Bitmap(words: zip(a.words, b.words).map { $0 | $1 }, count: a.count)
    }

    public static prefix func ~ (a: Bitmap) -> Bitmap {
        Bitmap(words: a.words.map { ~$0 }, count: a.count)
    }

    private mutating func clearTail() {
        let tail = count & 63
        if tail != 0 { storage[storage.count - 1] &= (1 << UInt64(tail)) - 1 }
    }
}
