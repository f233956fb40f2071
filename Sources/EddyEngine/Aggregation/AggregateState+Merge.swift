/// Folding one group's accumulators into another's: sessions that a row bridges become one session,
/// and their accumulators must combine exactly as if all rows had gone into one group.
extension AggregateState {
    /// Folds slot `source` into slot `target`; the caller resets `source` afterwards. Returns false when
    /// an exact sum overflowed.
    mutating func merge(_ source: Int, into target: Int) -> Bool {
        switch kind {
        case .countRows, .countValues:
            counts[target] &+= counts[source]
        case .countDistinct:
            counts[target] &+= Int64(distinct!.moveGroup(Int32(source), into: Int32(target)))
            counts[source] = 0
        case .sumInt:
            let (sum, overflow) = ints[target].addingReportingOverflow(ints[source])
            ints[target] = sum
            counts[target] &+= counts[source]
            if overflow { return false }
        case .sumFloat, .avgFloat:
            doubles[target] += doubles[source]
            counts[target] &+= counts[source]
        case .avgInt:
            wides[target] &+= wides[source]
            counts[target] &+= counts[source]
        case .min(let storage):
            mergeExtreme(source, into: target, storage, isMax: false)
        case .max(let storage):
            mergeExtreme(source, into: target, storage, isMax: true)
        case .first(let storage):
            mergePick(source, into: target, storage, isLast: false)
        case .last(let storage):
            mergePick(source, into: target, storage, isLast: true)
        }
        return true
    }

    private mutating func mergeExtreme(_ source: Int, into target: Int, _ storage: ValueStorage, isMax: Bool) {
        guard flags[source] != 0 else { return }
        if storage == .bool {
            let value = flags[source]
            if flags[target] == 0 || (isMax ? value > flags[target] : value < flags[target]) { flags[target] = value }
            return
        }
        var replaces = flags[target] == 0
        if !replaces {
            switch storage {
            case .int64:
                replaces = isMax ? ints[source] > ints[target] : ints[source] < ints[target]
            case .float64:
                replaces = isMax ? Self.floatLess(doubles[target], doubles[source]) : Self.floatLess(doubles[source], doubles[target])
            case .utf8:
                let order = strings.withValue(source) { strings.compare(target, $0) }
                replaces = isMax ? order < 0 : order > 0
            case .bool:
                break
            }
        }
        if replaces { copyValue(source, to: target, storage) }
    }

    private mutating func mergePick(_ source: Int, into target: Int, _ storage: ValueStorage, isLast: Bool) {
        guard flags[source] != 0 else { return }
        if flags[target] != 0 {
            let (time, sequence) = (times[source], seqs[source])
            let replaces = isLast
                ? (time > times[target] || (time == times[target] && sequence > seqs[target]))
                : (time < times[target] || (time == times[target] && sequence < seqs[target]))
            if !replaces { return }
        }
        times[target] = times[source]
        seqs[target] = seqs[source]
        copyValue(source, to: target, storage)
    }

    private mutating func copyValue(_ source: Int, to target: Int, _ storage: ValueStorage) {
        flags[target] = flags[source]
        switch storage {
        case .int64, .bool: ints[target] = ints[source]
        case .float64: doubles[target] = doubles[source]
        case .utf8: strings.copy(source, to: target)
        }
    }
}
