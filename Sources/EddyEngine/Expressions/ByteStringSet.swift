/// A set of byte strings probed with raw UTF-8 from a column, for `IN ('DE', 'FR', …)` on TEXT. Built once
/// at bind time. Small sets of short strings (the common case: country codes, statuses) are stored as
/// packed 8-byte keys and probed with one unaligned load and a few integer compares per row; larger sets
/// use an open-addressing table over FNV-1a hashes of the bytes. Neither path creates a `String`.
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
                bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
            }
            shortLengths = unique.map(\.count)
            shortLengthMask = unique.reduce(UInt16(0)) { $0 | 1 << UInt16($1.count) }
            slots = []
        } else {
            shortKeys = []
            shortLengths = []
            shortLengthMask = 0
            var size = 8
            while size < unique.count * 2 { size <<= 1 }
            var table = [Int32](repeating: 0, count: size)
            for (index, member) in unique.enumerated() {
                var slot = Int(truncatingIfNeeded: member.withUnsafeBufferPointer { Self.hash($0.baseAddress ?? Utf8Values.emptyBytes, $0.count) }) & (size - 1)
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
            let byteCount = Int(offsets[count])
            if isShort {
                return shortKeys.withUnsafeBufferPointer { keys in
                    shortLengths.withUnsafeBufferPointer { lengths in
                        BitWords.pack(count) { row in
                            let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
                            guard length <= 8, shortLengthMask & (1 << UInt16(length)) != 0 else { return false }
                            let key = Self.load(bytes + start, length, canOverread: start + 8 <= byteCount)
                            var found = false
                            for index in 0..<keys.count { found = found || (keys[index] == key && lengths[index] == length) }
                            return found
                        }
                    }
                }
            }
            return slots.withUnsafeBufferPointer { slots in
                BitWords.pack(count) { row in
                    let start = Int(offsets[row]), length = Int(offsets[row + 1]) - start
                    var slot = Int(truncatingIfNeeded: Self.hash(bytes + start, length)) & (slots.count - 1)
                    while slots[slot] != 0 {
                        let member = members[Int(slots[slot]) - 1]
                        let equal = member.withUnsafeBufferPointer {
                            ByteStrings.equal(bytes + start, length, $0.baseAddress ?? Utf8Values.emptyBytes, $0.count)
                        }
                        if equal { return true }
                        slot = (slot + 1) & (slots.count - 1)
                    }
                    return false
                }
            }
        }
    }

    /// Up to 8 bytes as a little-endian key, zero-padded. With room to read 8 bytes, one unaligned load.
    @inline(__always)
    private static func load(_ bytes: UnsafePointer<UInt8>, _ length: Int, canOverread: Bool) -> UInt64 {
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
