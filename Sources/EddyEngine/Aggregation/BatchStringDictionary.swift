/// Dictionary-encodes a single UTF-8 key column, one batch at a time: each row gets a small code for
/// its string (or NULL), and each code carries its encoded group key and key hash. The operator then
/// resolves a group once per (window, code) instead of hashing and comparing a string key against the
/// state table per row — the fast path for a low-cardinality category column.
///
/// Rows are matched on the string's first 16 bytes as two words (`ShortBytes`), which for strings of
/// up to 16 bytes *are* the string: equal words and length mean equal strings, so the common case
/// never reads a string twice and takes no branch on its length. Longer strings are compared in full on a word match. The real key hash
/// is computed once per distinct value.
///
/// Gives up (returns false) as soon as the batch has more than `maxCodes` distinct values, having
/// spent at most that many inserts; the operator then uses the general path and skips the dictionary
/// for a while.
struct BatchStringDictionary: Sendable {
    static let maxCodes = 1024
    private static let tableBits = 11
    private static let tableCapacity = 1 << tableBits

    private struct Slot: Sendable {
        var first: UInt64
        var last: UInt64
        var length: Int32
        /// The code, or -1 for an empty slot.
        var code: Int32
        static let empty = Slot(first: 0, last: 0, length: 0, code: -1)
    }

    /// The code of every row of the last encoded batch.
    private(set) var codes: [Int32] = []
    /// Per code: the key hash (before `GroupKeyHasher.finalize`) and the encoded key, exactly as the
    /// general path computes them for a one-column UTF-8 key.
    private(set) var codeKeyHashes: [UInt64] = []
    private(set) var codeKeys = GroupKeyCodec.Buffer()
    /// Per code: where its first row's string starts in the column's bytes.
    private var codeStarts: [Int] = []
    private var table: [Slot] = Array(repeating: .empty, count: tableCapacity)
    private var usedPositions: [Int] = []

    var codeCount: Int { codeKeyHashes.count }

    /// Encodes `column` (UTF-8). False when it has more than `maxCodes` distinct values.
    mutating func encode(_ column: Column) -> Bool {
        for position in usedPositions { table[position] = .empty }
        usedPositions.removeAll(keepingCapacity: true)
        codeKeyHashes.removeAll(keepingCapacity: true)
        codeKeys.removeAll()
        codeStarts.removeAll(keepingCapacity: true)
        let rowCount = column.count
        codes.removeAll(keepingCapacity: true)
        codes.append(contentsOf: repeatElement(0, count: rowCount))

        let strings = column.utf8
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        var nullCode: Int32 = -1
        var codeArray = takeArray(&codes)
        var tableArray = takeArray(&table)
        defer {
            codes = codeArray
            table = tableArray
        }
        let offsets = strings.offsets.span
        let mask = Self.tableCapacity - 1
        let shift = UInt64(64 - Self.tableBits)
        return strings.bytes.withUnsafeBytes { bytes -> Bool in
            codeArray.withUnsafeMutableBufferPointer { out -> Bool in
                tableArray.withUnsafeMutableBufferPointer { slots -> Bool in
                    for row in 0..<rowCount {
                        if hasNulls && !ValidityBits.isSet(words, row) {
                            if nullCode < 0 {
                                guard codeStarts.count < Self.maxCodes else { return false }
                                nullCode = Int32(codeStarts.count)
                                codeStarts.append(0)
                                codeKeyHashes.append(GroupKeyHasher.combine(GroupKeyHasher.seed, GroupKeyHasher.nullValue))
                                GroupKeyCodec.appendUTF8Key(nil, to: &codeKeys.bytes)
                                codeKeys.offsets.append(codeKeys.bytes.count)
                            }
                            out[row] = nullCode
                            continue
                        }
                        let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
                        let value = bytes.baseAddress.map { $0 + start }
                        let (first, last) = ShortBytes.prefixWords(value, length, available: bytes.count - start)
                        // Multiplicative hashing: the top bits of the product index the table.
                        let mixed = (first ^ ((last << 29) | (last >> 35)) ^ UInt64(length) << 56) &* 0x9E37_79B9_7F4A_7C15
                        var probe = Int(truncatingIfNeeded: mixed >> shift) & mask
                        while true {
                            let slot = slots[probe]
                            if slot.code < 0 {
                                guard codeStarts.count < Self.maxCodes else { return false }
                                let code = Int32(codeStarts.count)
                                slots[probe] = Slot(first: first, last: last, length: Int32(length), code: code)
                                usedPositions.append(probe)
                                codeStarts.append(start)
                                let hash = GroupKeyHasher.hashBytes(value, length)
                                codeKeyHashes.append(GroupKeyHasher.combine(GroupKeyHasher.seed, hash))
                                GroupKeyCodec.appendUTF8Key(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]), to: &codeKeys.bytes)
                                codeKeys.offsets.append(codeKeys.bytes.count)
                                out[row] = code
                                break
                            }
                            if slot.first == first && slot.last == last && Int(slot.length) == length
                                && (length <= 16
                                    || GroupKeyCodec.bytesEqual(bytes.baseAddress! + codeStarts[Int(slot.code)], value!, length))
                            {
                                out[row] = slot.code
                                break
                            }
                            probe = (probe + 1) & mask
                        }
                    }
                    return true
                }
            }
        }
    }
}
