/// The constant items of an IN list, converted at bind time to the probe's storage, so a row is tested with
/// a few compares (short lists) or a binary search / hash probe (long ones) instead of one comparison
/// kernel per item. Items that can never equal a value of the probe's type (1.5 against a BIGINT probe)
/// are dropped by the binder.
struct ConstantSet: Sendable, Hashable {
    enum Members: Sendable, Hashable {
        /// Sorted, unique Int64 storage (BIGINT, TIMESTAMP, DECIMAL at the probe's scale).
        case int64([Int64])
        /// Sorted, unique, NaN-free doubles; NaN separately (NaN equals NaN in our comparisons).
        case double([Double], containsNaN: Bool)
        case bytes(ByteStringSet)
        case bool(containsTrue: Bool, containsFalse: Bool)
    }

    let members: Members

    /// Lists up to this long are scanned; longer ones are binary-searched.
    static let linearScanMax = 16

    init(int64 values: [Int64]) {
        members = .int64(Array(Set(values)).sorted())
    }

    init(double values: [Double]) {
        members = .double(Array(Set(values.filter { !$0.isNaN })).sorted(), containsNaN: values.contains { $0.isNaN })
    }

    init(bytes values: [[UInt8]]) {
        members = .bytes(ByteStringSet(values))
    }

    init(bool values: [Bool]) {
        members = .bool(containsTrue: values.contains(true), containsFalse: values.contains(false))
    }

    /// The rows of `probe` (a column, or packed booleans) found in the set, NULLs not yet masked.
    func contains(_ probe: Datum, count: Int) -> [UInt64] {
        switch (members, probe) {
        case (.int64(let constants), .column(let column)):
            return column.int64s.withUnsafeBufferPointer { values in
                constants.withUnsafeBufferPointer { constants in
                    if constants.count <= Self.linearScanMax {
                        return BitWords.pack(count) { row in
                            let value = values[row]
                            var found = false
                            for constant in constants { found = found || constant == value }
                            return found
                        }
                    }
                    return BitWords.pack(count) { Self.binarySearch(constants, values[$0]) }
                }
            }
        case (.double(let constants, let containsNaN), .column(let column)):
            return column.float64s.withUnsafeBufferPointer { values in
                constants.withUnsafeBufferPointer { constants in
                    BitWords.pack(count) { row in
                        let value = values[row]
                        if value.isNaN { return containsNaN }
                        if constants.count <= Self.linearScanMax {
                            var found = false
                            for constant in constants { found = found || constant == value }
                            return found
                        }
                        return Self.binarySearch(constants, value)
                    }
                }
            }
        case (.bytes(let set), .column(let column)):
            return set.contains(column.utf8, count: count)
        case (.bool(let containsTrue, let containsFalse), .bits(let bits)):
            // NULL rows have clear value bits, so `~values` covers them; the caller masks them.
            let trueRows = containsTrue ? bits.values : BitWords.zeros(count)
            let falseRows = containsFalse ? BitWords.not(bits.values, count: count) : BitWords.zeros(count)
            return BitWords.or(trueRows, falseRows)
        default:
            preconditionFailure("IN probe \(probe) does not match constants \(members)")
        }
    }

    @inline(__always)
    private static func binarySearch<T: Comparable>(_ sorted: UnsafeBufferPointer<T>, _ value: T) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) >> 1
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == value
    }
}
