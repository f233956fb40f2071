/// The first 16 bytes of a byte string as two words, zero-padded: for strings of up to 16 bytes the
/// words and the length *are* the string, so hash tables compare short keys with two integer compares
/// held in their entries, without following a pointer to the bytes (a cache miss per probe on large
/// tables).
enum ShortBytes {
    /// Words of `base[0 ..< min(count, 16)]`. `available` is how many bytes may be read from `base`;
    /// with 16 or more the loads are unconditional and masked (no branch on the length).
    @inline(__always)
    static func prefixWords(_ base: UnsafeRawPointer?, _ count: Int, available: Int) -> (UInt64, UInt64) {
        guard count > 0, let base else { return (0, 0) }
        let firstLength = Swift.min(count, 8), secondLength = Swift.min(Swift.max(count - 8, 0), 8)
        let firstMask = (UInt64(1) << UInt64(firstLength * 8)) &- 1
        let secondMask = (UInt64(1) << UInt64(secondLength * 8)) &- 1
        if available >= 16 {
            return (base.loadUnaligned(as: UInt64.self) & firstMask,
                base.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & secondMask)
        }
        var padded: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &padded) { $0.baseAddress!.copyMemory(from: base, byteCount: Swift.min(count, 16)) }
        return (padded.0 & firstMask, padded.1 & secondMask)
    }
}
