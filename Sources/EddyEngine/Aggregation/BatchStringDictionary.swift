/// Dictionary-encodes a single UTF-8 key column, one batch at a time: each row gets a small code for
/// its string (or NULL), and each code carries its encoded group key and key hash. The operator then
/// resolves a group once per (window, code) instead of hashing and comparing a string key against the
/// state table per row — the fast path for a low-cardinality category column.
///
/// Gives up (returns false) as soon as the batch has more than `maxCodes` distinct values, having
/// spent at most that many inserts; the operator then uses the general path and skips the dictionary
/// for a while.
struct BatchStringDictionary: Sendable {
    static let maxCodes = 1024
    private static let tableCapacity = 2048

    /// The code of every row of the last encoded batch.
    private(set) var codes: [Int32] = []
    /// Per code: the key hash (before `GroupKeyHasher.finalize`) and the encoded key, exactly as the
    /// general path computes them for a one-column UTF-8 key.
    private(set) var codeKeyHashes: [UInt64] = []
    private(set) var codeKeys = GroupKeyCodec.Buffer()
    private var codeRows: [Int32] = []
    private var table: [HashIndexSlot] = Array(repeating: .empty, count: tableCapacity)
    private var usedPositions: [Int] = []

    var codeCount: Int { codeKeyHashes.count }

    /// Encodes `column` (UTF-8). False when it has more than `maxCodes` distinct values.
    mutating func encode(_ column: Column) -> Bool {
        for position in usedPositions { table[position] = .empty }
        usedPositions.removeAll(keepingCapacity: true)
        codeKeyHashes.removeAll(keepingCapacity: true)
        codeKeys.removeAll()
        codeRows.removeAll(keepingCapacity: true)
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
        var out = codeArray.mutableSpan
        let offsets = strings.offsets.span
        let mask = Self.tableCapacity - 1
        return strings.bytes.withUnsafeBytes { bytes -> Bool in
            for row in 0..<rowCount {
                if hasNulls && !ValidityBits.isSet(words, row) {
                    if nullCode < 0 {
                        guard codeRows.count < Self.maxCodes else { return false }
                        nullCode = Int32(codeRows.count)
                        codeRows.append(Int32(row))
                        codeKeyHashes.append(GroupKeyHasher.combine(GroupKeyHasher.seed, GroupKeyHasher.nullValue))
                        GroupKeyCodec.appendUTF8Key(nil, to: &codeKeys.bytes)
                        codeKeys.offsets.append(codeKeys.bytes.count)
                    }
                    out[row] = nullCode
                    continue
                }
                let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
                let value = bytes.baseAddress.map { $0 + start }
                let hash = GroupKeyHasher.hashBytes(value, length)
                var probe = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let slot = tableArray[probe]
                    if slot.id < 0 {
                        guard codeRows.count < Self.maxCodes else { return false }
                        let code = Int32(codeRows.count)
                        tableArray[probe] = HashIndexSlot(hash: hash, id: code)
                        usedPositions.append(probe)
                        codeRows.append(Int32(row))
                        codeKeyHashes.append(GroupKeyHasher.combine(GroupKeyHasher.seed, hash))
                        GroupKeyCodec.appendUTF8Key(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]), to: &codeKeys.bytes)
                        codeKeys.offsets.append(codeKeys.bytes.count)
                        out[row] = code
                        break
                    }
                    if slot.hash == hash {
                        let other = Int(codeRows[Int(slot.id)])
                        let otherStart = Int(offsets[other])
                        if Int(offsets[other + 1]) - otherStart == length
                            && (length == 0 || GroupKeyCodec.bytesEqual(bytes.baseAddress! + otherStart, value!, length))
                        {
                            out[row] = slot.id
                            break
                        }
                    }
                    probe = (probe + 1) & mask
                }
            }
            return true
        }
    }
}
