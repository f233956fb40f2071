/// A compiled LIKE pattern, matched against raw UTF-8.
///
/// Compilation (once at bind time for a constant pattern) resolves the escape character and classifies
/// the pattern: exact text, `abc%`, `%abc`, `%abc%` and `%` get dedicated byte loops; anything else uses a
/// backtracking matcher over tokens. `_` matches one Unicode scalar (one to four bytes), never half of
/// one. Literal runs compare bytewise, which is exact for valid UTF-8 because a lead byte never equals a
/// continuation byte, so a literal can only match at a character boundary.
struct LikePattern: Sendable, Hashable {
    enum Shape: Sendable, Hashable {
        case exact([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case contains([UInt8])
        /// `%`: every non-NULL value matches.
        case any
        /// Anything else: `tokens`.
        case general
    }

    /// A literal byte (0...255), `_` or `%`.
    static let anyCharacter: Int16 = -1
    static let anyString: Int16 = -2

    let shape: Shape
    let tokens: [Int16]

    enum CompileError: Error, Equatable {
        case trailingEscape
    }

    /// Compiles `pattern`; `escape` is the UTF-8 of the escape character, if any.
    init(_ pattern: [UInt8], escape: [UInt8]?) throws(CompileError) {
        var tokens: [Int16] = []
        try pattern.withUnsafeBufferPointer { (pattern) throws(CompileError) in
            try LikePattern.tokenize(pattern.baseAddress ?? Utf8Values.emptyBytes, pattern.count, escape: escape, into: &tokens)
        }
        self.tokens = tokens
        shape = LikePattern.classify(tokens)
    }

    /// Splits a pattern into tokens, collapsing runs of `%` (they mean the same as one).
    static func tokenize(
        _ pattern: UnsafePointer<UInt8>, _ length: Int, escape: [UInt8]?, into tokens: inout [Int16]
    ) throws(CompileError) {
        tokens.removeAll(keepingCapacity: true)
        var index = 0
        while index < length {
            if let escape, !escape.isEmpty, index + escape.count <= length,
               escape.withUnsafeBufferPointer({ ByteStrings.prefixEqual(pattern + index, $0.baseAddress!, escape.count) })
            {
                index += escape.count
                guard index < length else { throw .trailingEscape }
                // The escaped character, whole, is literal.
                let characterLength = min(utf8Length(lead: pattern[index]), length - index)
                for offset in 0..<characterLength { tokens.append(Int16(pattern[index + offset])) }
                index += characterLength
                continue
            }
            switch pattern[index] {
            case UInt8(ascii: "%"):
                if tokens.last != anyString { tokens.append(anyString) }
            case UInt8(ascii: "_"):
                tokens.append(anyCharacter)
            default:
                tokens.append(Int16(pattern[index]))
            }
            index += 1
        }
    }

    private static func classify(_ tokens: [Int16]) -> Shape {
        if tokens.contains(anyCharacter) { return .general }
        let literalRuns = tokens.split(separator: anyString, omittingEmptySubsequences: false)
        let leadingPercent = tokens.first == anyString, trailingPercent = tokens.last == anyString
        let literals = literalRuns.filter { !$0.isEmpty }.map { $0.map { UInt8($0) } }
        switch (literals.count, leadingPercent, trailingPercent) {
        case (0, _, _): return tokens.isEmpty ? .exact([]) : .any
        case (1, false, false): return .exact(literals[0])
        case (1, false, true): return .prefix(literals[0])
        case (1, true, false): return .suffix(literals[0])
        case (1, true, true): return .contains(literals[0])
        default: return .general
        }
    }

    /// Bytes in the UTF-8 sequence a lead byte starts (1 for ASCII and, defensively, stray bytes).
    @inline(__always)
    static func utf8Length(lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : (lead < 0xE0 ? 2 : (lead < 0xF0 ? 3 : 4))
    }

    /// Matches every row of `values`; NULL rows are left for the caller to mask.
    func matches(_ values: Utf8Values, count: Int) -> [UInt64] {
        values.withUnsafeAccess { bytes, offsets in
            let offsets = offsets.baseAddress!
            switch shape {
            case .exact(let literal):
                return literal.withUnsafeBufferPointer { BitWords.pack(count, ExactMatch(bytes: bytes, offsets: offsets, literal: $0)) }
            case .prefix(let literal):
                return literal.withUnsafeBufferPointer { BitWords.pack(count, PrefixMatch(bytes: bytes, offsets: offsets, literal: $0)) }
            case .suffix(let literal):
                return literal.withUnsafeBufferPointer { BitWords.pack(count, SuffixMatch(bytes: bytes, offsets: offsets, literal: $0)) }
            case .contains(let literal):
                return literal.withUnsafeBufferPointer { BitWords.pack(count, ContainsMatch(bytes: bytes, offsets: offsets, literal: $0)) }
            case .any:
                return BitWords.ones(count)
            case .general:
                return tokens.withUnsafeBufferPointer { BitWords.pack(count, TokenMatch(bytes: bytes, offsets: offsets, tokens: $0)) }
            }
        }
    }

    // One predicate type per shape, so each loop is specialised for its test.

    private struct ExactMatch: RowPredicate {
        let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>, literal: UnsafeBufferPointer<UInt8>
        @inline(__always) func test(_ row: Int) -> Bool {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            return ByteStrings.equal(bytes + start, length, literal.baseAddress ?? Utf8Values.emptyBytes, literal.count)
        }
    }

    private struct PrefixMatch: RowPredicate {
        let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>, literal: UnsafeBufferPointer<UInt8>
        @inline(__always) func test(_ row: Int) -> Bool {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            return length >= literal.count && ByteStrings.prefixEqual(bytes + start, literal.baseAddress!, literal.count)
        }
    }

    private struct SuffixMatch: RowPredicate {
        let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>, literal: UnsafeBufferPointer<UInt8>
        @inline(__always) func test(_ row: Int) -> Bool {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            return length >= literal.count && ByteStrings.prefixEqual(bytes + start + length - literal.count, literal.baseAddress!, literal.count)
        }
    }

    private struct ContainsMatch: RowPredicate {
        let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>, literal: UnsafeBufferPointer<UInt8>
        @inline(__always) func test(_ row: Int) -> Bool {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            return ByteStrings.firstIndex(of: literal.baseAddress!, literal.count, in: bytes + start, length) != nil
        }
    }

    private struct TokenMatch: RowPredicate {
        let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>, tokens: UnsafeBufferPointer<Int16>
        @inline(__always) func test(_ row: Int) -> Bool {
            let start = Int(offsets[row])
            return LikePattern.matchTokens(tokens, bytes + start, Int(offsets[row + 1]) - start)
        }
    }

    /// The classic wildcard matcher: advance through text and tokens, remember the last `%`, and on a
    /// mismatch let that `%` swallow one more character. Positions only ever move by whole characters, so
    /// `_` stays aligned. Worst case O(text × pattern), no allocation.
    static func matchTokens(_ tokens: UnsafeBufferPointer<Int16>, _ text: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        var textIndex = 0, tokenIndex = 0
        var starToken = -1, starText = 0
        while textIndex < length {
            if tokenIndex < tokens.count {
                let token = tokens[tokenIndex]
                if token >= 0 {
                    if UInt8(truncatingIfNeeded: token) == text[textIndex] {
                        textIndex += 1
                        tokenIndex += 1
                        continue
                    }
                } else if token == anyCharacter {
                    textIndex += min(utf8Length(lead: text[textIndex]), length - textIndex)
                    tokenIndex += 1
                    continue
                } else {
                    starToken = tokenIndex
                    starText = textIndex
                    tokenIndex += 1
                    continue
                }
            }
            guard starToken >= 0 else { return false }
            starText += min(utf8Length(lead: text[starText]), length - starText)
            textIndex = starText
            tokenIndex = starToken + 1
        }
        while tokenIndex < tokens.count && tokens[tokenIndex] == anyString { tokenIndex += 1 }
        return tokenIndex == tokens.count
    }
}

extension LikePattern {
    /// LIKE with a pattern per row: each pattern is tokenised into one reused buffer, so only the token
    /// buffer is allocated, once per batch.
    static func matchRows(
        _ values: Datum, patterns: Datum, escape: [UInt8]?, count: Int, text: String
    ) throws(EngineError) -> BoolVector {
        if case .scalar(.null) = values { return .constant(nil, count: count) }
        if case .scalar(.null) = patterns { return .constant(nil, count: count) }
        func utf8(_ datum: Datum) -> Utf8Values {
            switch datum {
            case .column(let column): column.utf8
            case .scalar(let value): Datum.broadcast(value, type: .utf8, count: count).utf8
            case .bits: preconditionFailure("LIKE on a boolean")
            }
        }
        let subjects = utf8(values), patternValues = utf8(patterns)
        let validity = BitWords.and(values.validityWords(count: count), patterns.validityWords(count: count))
        var bits = BitWords.zeros(count)
        var tokens: [Int16] = []
        var badPattern: Int?
        subjects.withUnsafeAccess { bytes, offsets in
            patternValues.withUnsafeAccess { patternBytes, patternOffsets in
                for row in 0..<count {
                    if let validity, !BitWords.test(validity, row) { continue }
                    let patternStart = Int(patternOffsets[row])
                    do {
                        try tokenize(patternBytes + patternStart, Int(patternOffsets[row + 1]) - patternStart, escape: escape, into: &tokens)
                    } catch {
                        if badPattern == nil { badPattern = row }
                        continue
                    }
                    let start = Int(offsets[row])
                    let matched = tokens.withUnsafeBufferPointer { matchTokens($0, bytes + start, Int(offsets[row + 1]) - start) }
                    if matched { BitWords.set(&bits, row) }
                }
            }
        }
        if let badPattern {
            throw .execution("LIKE pattern \(Expr.quoteString(patternValues.string(badPattern))) ends with its escape character in \(text)")
        }
        return BoolVector(values: bits, validity: validity, count: count)
    }
}
