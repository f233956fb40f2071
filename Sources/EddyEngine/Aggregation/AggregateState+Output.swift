/// Turning accumulators into an output column for the emitted groups, in emission order. One loop per
/// column over spans; validity is built as words directly (emission is per group, and high-cardinality
/// windows emit as many groups as they had rows).
extension AggregateState {
    /// The aggregate's values for `slots`, in that order, as a column of `outputType`.
    func outputColumn(_ slots: [Int32]) -> Column {
        let order = slots.span
        let count = slots.count
        switch kind {
        case .countRows, .countValues, .countDistinct:
            return Column(type: .int64, values: .int64(Self.gather(counts, order)))
        case .sumInt:
            return Column(type: outputType, values: .int64(Self.gather(ints, order)), validity: presence(order, counts))
        case .sumFloat:
            return Column(type: .float64, values: .float64(Self.gather(doubles, order)), validity: presence(order, counts))
        case .avgFloat:
            var values = [Double](repeating: 0, count: count)
            let source = doubles.span, sizes = counts.span
            for index in 0..<count {
                let slot = Int(order[index])
                if sizes[slot] > 0 { values[index] = source[slot] / Double(sizes[slot]) }
            }
            return Column(type: .float64, values: .float64(values), validity: presence(order, counts))
        case .avgInt:
            var values = [Double](repeating: 0, count: count)
            let factor = Double(inputFactor)
            let source = wides.span, sizes = counts.span
            for index in 0..<count {
                let slot = Int(order[index])
                if sizes[slot] > 0 { values[index] = Self.double(source[slot]) / Double(sizes[slot]) / factor }
            }
            return Column(type: .float64, values: .float64(values), validity: presence(order, counts))
        case .min(let storage), .max(let storage), .first(let storage), .last(let storage):
            return valueColumn(order, count, storage)
        }
    }

    private static func gather<T>(_ source: [T], _ order: Span<Int32>) -> [T] {
        let values = source.span
        var result: [T] = []
        result.reserveCapacity(order.count)
        for index in 0..<order.count { result.append(values[Int(order[index])]) }
        return result
    }

    /// Validity from non-null counts (sum, avg), or nil when every group has a value.
    private func presence(_ order: Span<Int32>, _ sizes: [Int64]) -> Bitmap? {
        let span = sizes.span
        var words = [UInt64](repeating: 0, count: (order.count + 63) >> 6)
        var present = 0
        for index in 0..<order.count where span[Int(order[index])] > 0 {
            words[index >> 6] |= 1 << UInt64(index & 63)
            present += 1
        }
        return present == order.count ? nil : Bitmap(words: words, count: order.count)
    }

    /// Validity from has-value flags (min, max, first, last).
    private func flagged(_ order: Span<Int32>) -> Bitmap? {
        let span = flags.span
        var words = [UInt64](repeating: 0, count: (order.count + 63) >> 6)
        var present = 0
        for index in 0..<order.count where span[Int(order[index])] != 0 {
            words[index >> 6] |= 1 << UInt64(index & 63)
            present += 1
        }
        return present == order.count ? nil : Bitmap(words: words, count: order.count)
    }

    /// An exact 128-bit sum as the nearest Double when it fits 64 bits (always, in practice), otherwise
    /// within one extra rounding. Avoids the generic `Double(some BinaryInteger)` path, which is an
    /// order of magnitude slower than the division it feeds.
    @inline(__always)
    static func double(_ value: Int128) -> Double {
        let low = Int64(truncatingIfNeeded: value)
        let high = Int64(truncatingIfNeeded: value >> 64)
        if high == low >> 63 { return Double(low) }
        return Double(high) * 18_446_744_073_709_551_616.0 + Double(UInt64(bitPattern: low))
    }

    /// Picked values (min, max, first, last): present when the flag is set.
    private func valueColumn(_ order: Span<Int32>, _ count: Int, _ storage: ValueStorage) -> Column {
        let validity = flagged(order)
        switch storage {
        case .int64:
            return Column(type: outputType, values: .int64(Self.gather(ints, order)), validity: validity)
        case .float64:
            return Column(type: .float64, values: .float64(Self.gather(doubles, order)), validity: validity)
        case .bool:
            // min/max keep bools in the flag (1 false, 2 true); first/last as 0/1 in `ints`.
            var values = [Bool](repeating: false, count: count)
            switch kind {
            case .min, .max:
                for index in 0..<count { values[index] = flags[Int(order[index])] == 2 }
            default:
                for index in 0..<count { values[index] = ints[Int(order[index])] != 0 }
            }
            return Column(type: .bool, values: .bool(values), validity: validity)
        case .utf8:
            var builder = ColumnBuilder(.utf8, capacity: count)
            for index in 0..<count {
                let slot = Int(order[index])
                if flags[slot] != 0 {
                    strings.withValue(slot) { builder.appendUTF8($0) }
                } else {
                    builder.appendNull()
                }
            }
            return builder.finish()
        }
    }
}
