/// Turning accumulators into an output column for the emitted groups, in emission order.
extension AggregateState {
    /// The aggregate's values for `slots`, in that order, as a column of `outputType`.
    func outputColumn(_ slots: [Int32]) -> Column {
        switch kind {
        case .countRows, .countValues, .countDistinct:
            return Column(type: .int64, values: .int64(slots.map { counts[Int($0)] }))
        case .sumInt:
            return Column(
                type: outputType, values: .int64(slots.map { ints[Int($0)] }),
                validity: ValidityBits.bitmap(slots.map { counts[Int($0)] > 0 }))
        case .sumFloat:
            return Column(
                type: .float64, values: .float64(slots.map { doubles[Int($0)] }),
                validity: ValidityBits.bitmap(slots.map { counts[Int($0)] > 0 }))
        case .avgFloat:
            return Column(
                type: .float64,
                values: .float64(slots.map { counts[Int($0)] > 0 ? doubles[Int($0)] / Double(counts[Int($0)]) : 0 }),
                validity: ValidityBits.bitmap(slots.map { counts[Int($0)] > 0 }))
        case .avgInt:
            let factor = Double(inputFactor)
            return Column(
                type: .float64,
                values: .float64(slots.map { slot in
                    let count = counts[Int(slot)]
                    return count > 0 ? Double(wides[Int(slot)]) / Double(count) / factor : 0
                }),
                validity: ValidityBits.bitmap(slots.map { counts[Int($0)] > 0 }))
        case .min(let storage), .max(let storage), .first(let storage), .last(let storage):
            return valueColumn(slots, storage)
        }
    }

    /// Picked values (min, max, first, last): present when the flag is set.
    private func valueColumn(_ slots: [Int32], _ storage: ValueStorage) -> Column {
        let isExtreme: Bool
        switch kind {
        case .min, .max: isExtreme = true
        default: isExtreme = false
        }
        let present = slots.map { flags[Int($0)] != 0 }
        let validity = ValidityBits.bitmap(present)
        switch storage {
        case .int64:
            return Column(type: outputType, values: .int64(slots.map { ints[Int($0)] }), validity: validity)
        case .float64:
            return Column(type: .float64, values: .float64(slots.map { doubles[Int($0)] }), validity: validity)
        case .bool:
            // min/max keep bools in the flag (1 false, 2 true); first/last as 0/1 in `ints`.
            let values = isExtreme ? slots.map { flags[Int($0)] == 2 } : slots.map { ints[Int($0)] != 0 }
            return Column(type: .bool, values: .bool(values), validity: validity)
        case .utf8:
            var builder = ColumnBuilder(.utf8, capacity: slots.count)
            for slot in slots {
                if flags[Int(slot)] != 0 {
                    strings.withValue(Int(slot)) { builder.appendUTF8($0) }
                } else {
                    builder.appendNull()
                }
            }
            return builder.finish()
        }
    }
}
