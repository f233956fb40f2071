/// A set of byte strings probed with raw UTF-8 from a column, for `IN ('DE', 'FR', …)` on TEXT. Built once
/// at bind time. Small sets of short strings (the common case: country codes, statuses) are stored as
/// packed 8-byte keys and probed with one unaligned load and a few integer compares per row, branch-free;
/// larger sets use an open-addressing table over FNV-1a hashes of the bytes. Neither path creates a
/// `String`.
struct ByteStringSet: Sendable, Hashable {
    private let members: [[UInt8]]
    /// Short mode: every member fits in 8 bytes and there are at most `shortMembersMax`.
    private let shortKeys: [UInt64]
    private let shortLengths: [Int]
    /// Bit `n` set when some member is `n` bytes long (short mode).
    private let shortLengthMask: UInt16
    private let isShort: Bool
    /// Hash mode: slot → member index + 1, 0 = empty; power-of-two size.
    private let slots: [Int32]

    static let shortMembersMax = 8

    init(_ strings: [[UInt8]]) {
        var unique: [[UInt8]] = []
        for string in strings where !unique.contains(string) { unique.append(string) }
        members = unique
        isShort = unique.count <= Self.shortMembersMax && unique.allSatisfy { $0.count <= 8 }
        if isShort {
            shortKeys = unique.map { bytes in
                var key: UInt64 = 0
                for (index, byte) in bytes.enumerated() { key |= UInt64(byte) << UInt64(8 * index) }
                return key
            }
            shortLengths = unique.map(\.count)
            var lengthMask: UInt16 = 0
            for member in unique { lengthMask |= 1 << UInt16(member.count) }
            shortLengthMask = lengthMask
            slots = []
        } else {
            shortKeys = []
            shortLengths = []
            shortLengthMask = 0
            var size = 8
            while size < unique.count * 2 { size <<= 1 }
            var table = [Int32](repeating: 0, count: size)
            for (index, member) in unique.enumerated() {
                let hash = member.withUnsafeBufferPointer { Self.hash($0.baseAddress ?? Utf8Values.emptyBytes, $0.count) }
                var slot = Int(truncatingIfNeeded: hash) & (size - 1)
                while table[slot] != 0 { slot = (slot + 1) & (size - 1) }
                table[slot] = Int32(index + 1)
            }
            slots = table
        }
    }

    var count: Int { members.count }

    /// FNV-1a, 64-bit: short keys make a fancier hash pointless.
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in 0..<length {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// Bits of the rows of `values` that are members (NULL rows unspecified; the caller masks them).
    func contains(_ values: Utf8Values, count: Int) -> [UInt64] {
        values.withUnsafeAccess { bytes, offsets in
            if isShort {
                return shortKeys.withUnsafeBufferPointer { keys in
                    shortLengths.withUnsafeBufferPointer { lengths in
                        BitWords.pack(count, ShortProbe(
                            bytes: bytes, offsets: offsets.baseAddress!, byteCount: Int(offsets[count]),
                            keys: keys, lengths: lengths, lengthMask: shortLengthMask))
                    }
                }
            }
            return slots.withUnsafeBufferPointer { slots in
                BitWords.pack(count, HashProbe(bytes: bytes, offsets: offsets.baseAddress!, slots: slots, members: members))
            }
        }
    }

    /// Short mode: one load, a length test and ≤ 8 integer compares per row.
    private struct ShortProbe: RowPredicate {
        let bytes: UnsafePointer<UInt8>
        let offsets: UnsafePointer<Int32>
        let byteCount: Int
        let keys: UnsafeBufferPointer<UInt64>
        let lengths: UnsafeBufferPointer<Int>
        let lengthMask: UInt16

        @inline(__always)
        func test(_ row: Int) -> Bool { bit(row) != 0 }

        /// Branch-free over the members: which one matches is data-dependent and would mispredict.
        @inline(__always)
        func bit(_ row: Int) -> UInt64 {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            guard length <= 8, lengthMask & (1 << UInt16(truncatingIfNeeded: length)) != 0 else { return 0 }
            let key = ByteStringSet.load(bytes + start, length, canOverread: start + 8 <= byteCount)
            var found: UInt64 = 0
            for index in 0..<keys.count {
                let keyMatches: UInt64 = keys[index] == key ? 1 : 0
                let lengthMatches: UInt64 = lengths[index] == length ? 1 : 0
                found |= keyMatches & lengthMatches
            }
            return found
        }
    }

    /// Hash mode: FNV-1a of the row's bytes, then linear probing.
    private struct HashProbe: RowPredicate {
        let bytes: UnsafePointer<UInt8>
        let offsets: UnsafePointer<Int32>
        let slots: UnsafeBufferPointer<Int32>
        let members: [[UInt8]]

        @inline(__always)
        func test(_ row: Int) -> Bool {
            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: ByteStringSet.hash(bytes + start, length)) & mask
            while slots[slot] != 0 {
                let member = members[Int(slots[slot]) - 1]
                let equal = member.withUnsafeBufferPointer {
                    ByteStrings.equal(bytes + start, length, $0.baseAddress ?? Utf8Values.emptyBytes, $0.count)
                }
                if equal { return true }
                slot = (slot + 1) & mask
            }
            return false
        }
    }

    /// Up to 8 bytes as a little-endian key, zero-padded. With room to read 8 bytes, one unaligned load.
    @inline(__always)
    fileprivate static func load(_ bytes: UnsafePointer<UInt8>, _ length: Int, canOverread: Bool) -> UInt64 {
        if length == 0 { return 0 }
        if canOverread {
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes).loadUnaligned(as: UInt64.self))
            return length == 8 ? word : word & ((1 << UInt64(8 * length)) - 1)
        }
        var key: UInt64 = 0
        for index in 0..<length { key |= UInt64(bytes[index]) << UInt64(8 * index) }
        return key
    }
}
