/// Word-at-a-time operations on bit sets stored as `[UInt64]` (bit `i` of the set is bit `i & 63` of word
/// `i >> 6`), shared by validity bitmaps and the packed booleans of `BoolVector`. Working on words rather
/// than `Bitmap` values lets kernels combine 64 rows per instruction without intermediate copies. Every
/// result keeps the bits past `count` clear, as `Bitmap` requires.
enum BitWords {
    @inline(__always)
    static func wordCount(_ count: Int) -> Int { (count + 63) >> 6 }

    /// The mask of valid bits in the last word (all ones when `count` is a multiple of 64).
    @inline(__always)
    static func tailMask(_ count: Int) -> UInt64 {
        let tail = count & 63
        return tail == 0 ? ~0 : (1 << UInt64(tail)) - 1
    }

    /// `count` set bits.
    static func ones(_ count: Int) -> [UInt64] {
        var words = [UInt64](repeating: ~0, count: wordCount(count))
        if !words.isEmpty { words[words.count - 1] = tailMask(count) }
        return words
    }

    static func zeros(_ count: Int) -> [UInt64] {
        [UInt64](repeating: 0, count: wordCount(count))
    }

    @inline(__always)
    static func map(_ a: [UInt64], _ transform: (UInt64) -> UInt64) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                for index in 0..<a.count { out[index] = transform(a[index]) }
            }
            initialized = a.count
        }
    }

    @inline(__always)
    static func zip(_ a: [UInt64], _ b: [UInt64], _ combine: (UInt64, UInt64) -> UInt64) -> [UInt64] {
        precondition(a.count == b.count, "bit sets of different lengths")
        return [UInt64](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for index in 0..<a.count { out[index] = combine(a[index], b[index]) }
                }
            }
            initialized = a.count
        }
    }

    static func and(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b) { $0 & $1 } }
    static func or(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b) { $0 | $1 } }
    static func andNot(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b) { $0 & ~$1 } }

    /// The complement within `count` bits.
    static func not(_ a: [UInt64], count: Int) -> [UInt64] {
        var result = map(a) { ~$0 }
        if !result.isEmpty { result[result.count - 1] &= tailMask(count) }
        return result
    }

    /// `a & b` where `nil` stands for "all set" (a column without nulls).
    static func and(_ a: [UInt64]?, _ b: [UInt64]?) -> [UInt64]? {
        switch (a, b) {
        case (nil, nil): nil
        case (let a?, nil): a
        case (nil, let b?): b
        case (let a?, let b?): and(a, b)
        }
    }

    /// Combined validity of two columns: a row is valid when it is valid in both.
    static func and(_ a: Bitmap?, _ b: Bitmap?) -> Bitmap? {
        switch (a, b) {
        case (nil, nil): nil
        case (let a?, nil): a
        case (nil, let b?): b
        case (let a?, let b?): a & b
        }
    }

    static func popCount(_ a: [UInt64]) -> Int {
        a.withUnsafeBufferPointer { a in
            var total = 0
            for word in a { total &+= word.nonzeroBitCount }
            return total
        }
    }

    static func isZero(_ a: [UInt64]) -> Bool {
        a.withUnsafeBufferPointer { a in
            var any: UInt64 = 0
            for word in a { any |= word }
            return any == 0
        }
    }

    /// Whether all `count` bits are set.
    static func isAllOnes(_ a: [UInt64], count: Int) -> Bool {
        popCount(a) == count
    }

    /// Indices of the set bits, ascending (a selection vector for gathers).
    static func setIndices(_ a: [UInt64]) -> [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(popCount(a))
        a.withUnsafeBufferPointer { a in
            for (wordIndex, word) in a.enumerated() {
                var bits = word
                while bits != 0 {
                    result.append(Int32(truncatingIfNeeded: wordIndex << 6 | bits.trailingZeroBitCount))
                    bits &= bits &- 1
                }
            }
        }
        return result
    }

    /// Packs one bit per row computed by `bit`. The fixed 64-iteration inner loop lets the compiler unroll
    /// and vectorise the comparison kernels that call this; `bit` is always inlined, never called.
    @inline(__always)
    static func pack(_ count: Int, _ bit: (Int) -> Bool) -> [UInt64] {
        let wordCount = wordCount(count)
        return [UInt64](unsafeUninitializedCapacity: wordCount) { out, initialized in
            let fullWords = count >> 6
            for wordIndex in 0..<fullWords {
                let base = wordIndex << 6
                var word: UInt64 = 0
                for offset in 0..<64 {
                    word |= (bit(base &+ offset) ? 1 : 0) << UInt64(offset)
                }
                out[wordIndex] = word
            }
            if fullWords < wordCount {
                let base = fullWords << 6
                var word: UInt64 = 0
                for offset in 0..<(count - base) {
                    word |= (bit(base &+ offset) ? 1 : 0) << UInt64(offset)
                }
                out[fullWords] = word
            }
            initialized = wordCount
        }
    }

    /// Packs one bit per row tested by a `RowPredicate`. Kernels whose per-row test sits inside several
    /// nested buffer closures use this instead of the closure form: a generic struct parameter is always
    /// specialised, whereas a deeply nested closure may end up called through a thunk per row.
    /// The predicate yields its bit as an integer, so a data-dependent test (string membership) stays
    /// branch-free all the way into the word.
    @inline(__always)
    static func pack<P: RowPredicate>(_ count: Int, _ predicate: P) -> [UInt64] {
        let wordCount = wordCount(count)
        return [UInt64](unsafeUninitializedCapacity: wordCount) { out, initialized in
            for wordIndex in 0..<wordCount {
                let base = wordIndex << 6
                var word: UInt64 = 0
                for offset in 0..<min(64, count - base) {
                    word |= predicate.bit(base &+ offset) << UInt64(offset)
                }
                out[wordIndex] = word
            }
            initialized = wordCount
        }
    }

    /// Packs a `[Bool]` column into words.
    static func pack(_ bools: [Bool]) -> [UInt64] {
        bools.withUnsafeBufferPointer { values in pack(values.count) { values[$0] } }
    }

    /// Unpacks `count` bits into `[Bool]`.
    static func unpack(_ words: [UInt64], count: Int) -> [Bool] {
        [Bool](unsafeUninitializedCapacity: count) { out, initialized in
            words.withUnsafeBufferPointer { words in
                for row in 0..<count { out[row] = words[row >> 6] & (1 << UInt64(row & 63)) != 0 }
            }
            initialized = count
        }
    }

    @inline(__always)
    static func test(_ words: UnsafeBufferPointer<UInt64>, _ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    @inline(__always)
    static func test(_ words: [UInt64], _ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    @inline(__always)
    static func set(_ words: inout [UInt64], _ index: Int) {
        words[index >> 6] |= 1 << UInt64(index & 63)
    }

    /// Bits of `source` (one per set bit of `rows`, in order) moved to the positions of `rows`'s set bits:
    /// the inverse of a gather, for results computed on a subset of the rows.
    static func scatter(_ source: [UInt64], into rows: [UInt64]) -> [UInt64] {
        var result = [UInt64](repeating: 0, count: rows.count)
        var cursor = 0
        source.withUnsafeBufferPointer { source in
            for (wordIndex, word) in rows.enumerated() {
                var bits = word
                var out: UInt64 = 0
                while bits != 0 {
                    let bit = bits.trailingZeroBitCount
                    if test(source, cursor) { out |= 1 << UInt64(bit) }
                    cursor += 1
                    bits &= bits &- 1
                }
                result[wordIndex] = out
            }
        }
        return result
    }
}

/// A per-row test over raw buffers, for `BitWords.pack(_:_:)`.
protocol RowPredicate {
    func test(_ row: Int) -> Bool
    /// The test as 0 or 1.
    func bit(_ row: Int) -> UInt64
}

extension RowPredicate {
    @inline(__always)
    func bit(_ row: Int) -> UInt64 { test(row) ? 1 : 0 }
}
