/// Stable LSD radix sort of row indices by several 64-bit keys (most significant key first), one byte
/// per pass, skipping bytes (and whole keys) that are the same in every row. Orders emitted groups:
/// high-cardinality windows emit as many groups as rows, and a comparison sort with a closure per
/// compare would cost more than aggregating them did.
enum RadixPermutation {
    /// Below this many rows a comparison sort is cheaper than histograms.
    static let comparisonSortBelow = 64

    /// The indices `0 ..< count` ordered by (`keys[0][i]`, `keys[1][i]`, …) ascending; ties keep index
    /// order.
    static func sort(_ keys: [[UInt64]], count: Int) -> [Int32] {
        var order = (0..<Int32(count)).map { $0 }
        guard count > 1 else { return order }
        if count < comparisonSortBelow {
            order.sort { a, b in
                for key in keys where key[Int(a)] != key[Int(b)] { return key[Int(a)] < key[Int(b)] }
                return a < b
            }
            return order
        }
        var buffer = order
        var histogram = [Int](repeating: 0, count: 256)
        for key in keys.reversed() {
            let values = key.span
            // Bits that differ from the first value somewhere: bytes without any are skipped.
            let first = values[0]
            var differing: UInt64 = 0
            for index in 1..<count { differing |= values[index] ^ first }
            for byte in 0..<8 where (differing >> UInt64(byte << 3)) & 0xFF != 0 {
                let shift = UInt64(byte << 3)
                for digit in 0..<256 { histogram[digit] = 0 }
                for index in 0..<count { histogram[Int((values[index] >> shift) & 0xFF)] += 1 }
                var running = 0
                for digit in 0..<256 {
                    let size = histogram[digit]
                    histogram[digit] = running
                    running += size
                }
                histogram.withUnsafeMutableBufferPointer { offsets in
                    order.withUnsafeBufferPointer { source in
                        buffer.withUnsafeMutableBufferPointer { target in
                            for position in 0..<count {
                                let index = source[position]
                                let digit = Int((values[Int(index)] >> shift) & 0xFF)
                                target[offsets[digit]] = index
                                offsets[digit] += 1
                            }
                        }
                    }
                }
                swap(&order, &buffer)
            }
        }
        return order
    }

    /// A signed value as an unsigned one with the same order.
    @inline(__always)
    static func orderBits(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: value) ^ (1 << 63)
    }
}
