#if canImport(Glibc)
import Glibc
#endif
import EddyEngine

/// Distinct values of a TEXT column in first-seen order, and each non-NULL row's index among them:
/// an open-addressing table of (start, length) into the column's bytes, hashed with FNV-1a, so no
/// string is copied per row. Gives up (nil) once the distinct values pass `bytesMax` bytes.
struct StringDictionary {
    /// Per distinct value: its range in the column's bytes.
    private(set) var entries: [Range<Int>] = []
    /// Per non-NULL row: its value's index in `entries`.
    private(set) var indices: [UInt32] = []
    /// Bytes of the distinct values plus 4 per value (their PLAIN size).
    private(set) var plainBytes = 0

    static func build(_ column: Column, bytesMax: Int) -> StringDictionary? {
        var dictionary = StringDictionary()
        let strings = column.utf8
        var capacity = 1024
        var slots = [Int32](repeating: -1, count: capacity)
        var hashes: [UInt64] = []
        dictionary.indices.reserveCapacity(column.count)
        let hasNulls = column.validity != nil
        let ok = strings.bytes.withUnsafeBufferPointer { bytes -> Bool in
            strings.offsets.withUnsafeBufferPointer { offsets -> Bool in
                for row in 0..<column.count {
                    if hasNulls && column.isNull(row) { continue }
                    let start = Int(offsets[row]), end = Int(offsets[row + 1])
                    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                    for index in start..<end { hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3 }
                    var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
                    while true {
                        let code = slots[slot]
                        if code < 0 {
                            dictionary.plainBytes += end - start + 4
                            if dictionary.plainBytes > bytesMax { return false }
                            slots[slot] = Int32(dictionary.entries.count)
                            dictionary.indices.append(UInt32(dictionary.entries.count))
                            dictionary.entries.append(start..<end)
                            hashes.append(hash)
                            break
                        }
                        let entry = dictionary.entries[Int(code)]
                        if hashes[Int(code)] == hash && entry.count == end - start
                            && memcmp(bytes.baseAddress! + entry.lowerBound, bytes.baseAddress! + start, end - start) == 0 {
                            dictionary.indices.append(UInt32(code))
                            break
                        }
                        slot = (slot + 1) & (capacity - 1)
                    }
                    if dictionary.entries.count * 2 > capacity {
                        // Grow and re-place every entry by its hash.
                        capacity *= 2
                        slots = [Int32](repeating: -1, count: capacity)
                        for (code, hash) in hashes.enumerated() {
                            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
                            while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
                            slots[slot] = Int32(code)
                        }
                    }
                }
                return true
            }
        }
        return ok ? dictionary : nil
    }
}
