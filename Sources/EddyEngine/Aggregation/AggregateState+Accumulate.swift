/// The per-batch update: one tight loop per aggregate over the batch's (row, slot) pairs, dispatched
/// once per batch on the accumulator kind and column storage. Loops run on spans of arrays moved out of
/// `self` (see `takeArray`), so there is no copy-on-write check, existential or closure per row.
extension AggregateState {
    /// Folds pair `p` (row `pairRows[p]` of `column`, into slot `pairSlots[p]`) for `p < pairCount`, in
    /// pair order. `eventTimes` are the rows' event times (first/last; nil: all equal) and
    /// `sequenceBase + row` is a row's arrival number (first/last ties). Returns false when an exact
    /// sum overflowed: the state is then unusable and the operator fails the query.
    mutating func accumulate(
        pairCount: Int, pairRows: [Int32], pairSlots: [Int32], column: Column?, eventTimes: [Int64]?,
        sequenceBase: Int64
    ) -> Bool {
        precondition(pairRows.count >= pairCount && pairSlots.count >= pairCount, "pair arrays too short")
        switch kind {
        case .countRows:
            countRows(pairCount, pairSlots)
        case .countValues:
            countValues(pairCount, pairRows, pairSlots, column!)
        case .countDistinct(let storage):
            insertDistinct(pairCount, pairRows, pairSlots, column!, storage)
        case .sumInt:
            return sumInts(pairCount, pairRows, pairSlots, column!)
        case .sumFloat, .avgFloat:
            sumDoubles(pairCount, pairRows, pairSlots, column!)
        case .avgInt:
            sumWide(pairCount, pairRows, pairSlots, column!)
        case .min(let storage):
            minMax(pairCount, pairRows, pairSlots, column!, storage, isMax: false)
        case .max(let storage):
            minMax(pairCount, pairRows, pairSlots, column!, storage, isMax: true)
        case .first(let storage):
            firstLast(pairCount, pairRows, pairSlots, column!, storage, eventTimes, sequenceBase, isLast: false)
        case .last(let storage):
            firstLast(pairCount, pairRows, pairSlots, column!, storage, eventTimes, sequenceBase, isLast: true)
        }
        return true
    }

    private mutating func countRows(_ count: Int, _ pairSlots: [Int32]) {
        var countArray = takeArray(&counts)
        defer { counts = countArray }
        var out = countArray.mutableSpan
        let slots = pairSlots.span
        for pair in 0..<count { out[Int(slots[pair])] &+= 1 }
    }

    private mutating func countValues(_ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column) {
        guard let validity = column.validity else { return countRows(count, pairSlots) }
        let words = validity.words
        var countArray = takeArray(&counts)
        defer { counts = countArray }
        var out = countArray.mutableSpan
        let slots = pairSlots.span, rows = pairRows.span
        for pair in 0..<count where ValidityBits.isSet(words, Int(rows[pair])) {
            out[Int(slots[pair])] &+= 1
        }
    }

    private mutating func sumInts(_ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column) -> Bool {
        let values = column.int64s
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        var countArray = takeArray(&counts), sumArray = takeArray(&ints)
        defer {
            counts = countArray
            ints = sumArray
        }
        var nonNull = countArray.mutableSpan, sums = sumArray.mutableSpan
        let slots = pairSlots.span, rows = pairRows.span, input = values.span
        var overflowed = false
        for pair in 0..<count {
            let row = Int(rows[pair])
            if hasNulls && !ValidityBits.isSet(words, row) { continue }
            let slot = Int(slots[pair])
            let (sum, overflow) = sums[slot].addingReportingOverflow(input[row])
            sums[slot] = sum
            nonNull[slot] &+= 1
            if overflow { overflowed = true }
        }
        return !overflowed
    }

    private mutating func sumWide(_ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column) {
        let values = column.int64s
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        var countArray = takeArray(&counts), sumArray = takeArray(&wides)
        defer {
            counts = countArray
            wides = sumArray
        }
        var nonNull = countArray.mutableSpan, sums = sumArray.mutableSpan
        let slots = pairSlots.span, rows = pairRows.span, input = values.span
        for pair in 0..<count {
            let row = Int(rows[pair])
            if hasNulls && !ValidityBits.isSet(words, row) { continue }
            let slot = Int(slots[pair])
            // Cannot overflow: it would take 2^64 rows of Int64.max.
            sums[slot] &+= Int128(input[row])
            nonNull[slot] &+= 1
        }
    }

    private mutating func sumDoubles(_ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column) {
        let values = column.float64s
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        var countArray = takeArray(&counts), sumArray = takeArray(&doubles)
        defer {
            counts = countArray
            doubles = sumArray
        }
        var nonNull = countArray.mutableSpan, sums = sumArray.mutableSpan
        let slots = pairSlots.span, rows = pairRows.span, input = values.span
        for pair in 0..<count {
            let row = Int(rows[pair])
            if hasNulls && !ValidityBits.isSet(words, row) { continue }
            let slot = Int(slots[pair])
            sums[slot] += input[row]
            nonNull[slot] &+= 1
        }
    }

    /// Output order for floats: NaN above every number.
    @inline(__always)
    static func floatLess(_ a: Double, _ b: Double) -> Bool {
        !a.isNaN && (b.isNaN || a < b)
    }

    private mutating func minMax(
        _ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column, _ storage: ValueStorage, isMax: Bool
    ) {
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        let slots = pairSlots.span, rows = pairRows.span
        var flagArray = takeArray(&flags)
        defer { flags = flagArray }
        var has = flagArray.mutableSpan
        switch storage {
        case .int64:
            let values = column.int64s
            let input = values.span
            var valueArray = takeArray(&ints)
            defer { ints = valueArray }
            var current = valueArray.mutableSpan
            for pair in 0..<count {
                let row = Int(rows[pair])
                if hasNulls && !ValidityBits.isSet(words, row) { continue }
                let slot = Int(slots[pair]), value = input[row]
                if has[slot] == 0 || (isMax ? value > current[slot] : value < current[slot]) {
                    current[slot] = value
                    has[slot] = 1
                }
            }
        case .float64:
            let values = column.float64s
            let input = values.span
            var valueArray = takeArray(&doubles)
            defer { doubles = valueArray }
            var current = valueArray.mutableSpan
            for pair in 0..<count {
                let row = Int(rows[pair])
                if hasNulls && !ValidityBits.isSet(words, row) { continue }
                let slot = Int(slots[pair]), value = input[row]
                let better = isMax ? Self.floatLess(current[slot], value) : Self.floatLess(value, current[slot])
                if has[slot] == 0 || better {
                    current[slot] = value
                    has[slot] = 1
                }
            }
        case .bool:
            let values = column.bools
            let input = values.span
            for pair in 0..<count {
                let row = Int(rows[pair])
                if hasNulls && !ValidityBits.isSet(words, row) { continue }
                let slot = Int(slots[pair])
                let value: UInt8 = input[row] ? 2 : 1
                if has[slot] == 0 || (isMax ? value > has[slot] : value < has[slot]) { has[slot] = value }
            }
        case .utf8:
            let strings = column.utf8
            let offsets = strings.offsets
            strings.bytes.withUnsafeBytes { bytes in
                for pair in 0..<count {
                    let row = Int(rows[pair])
                    if hasNulls && !ValidityBits.isSet(words, row) { continue }
                    let slot = Int(slots[pair])
                    let value = UnsafeRawBufferPointer(rebasing: bytes[Int(offsets[row])..<Int(offsets[row + 1])])
                    if has[slot] == 0 {
                        self.strings.set(slot, value)
                        has[slot] = 1
                    } else {
                        let order = self.strings.compare(slot, value)
                        if isMax ? order < 0 : order > 0 { self.strings.set(slot, value) }
                    }
                }
            }
        }
    }

    private mutating func firstLast(
        _ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column, _ storage: ValueStorage,
        _ eventTimes: [Int64]?, _ sequenceBase: Int64, isLast: Bool
    ) {
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        let slots = pairSlots.span, rows = pairRows.span
        let noTimes: [Int64] = []
        let timeValues = eventTimes ?? noTimes
        let hasTimes = eventTimes != nil
        var flagArray = takeArray(&flags), timeArray = takeArray(&times), seqArray = takeArray(&seqs)
        defer {
            flags = flagArray
            times = timeArray
            seqs = seqArray
        }
        var has = flagArray.mutableSpan, bestTimes = timeArray.mutableSpan, bestSeqs = seqArray.mutableSpan
        // Visits each (pair, slot) where the row replaces the slot's pick: for `first` an earlier time, or
        // the same time and an earlier arrival; for `last` the reverse.
        var intValues: [Int64] = []
        var doubleValues: [Double] = []
        var boolValues: [Bool] = []
        var utf8Values = Utf8Values()
        switch storage {
        case .int64: intValues = column.int64s
        case .float64: doubleValues = column.float64s
        case .bool: boolValues = column.bools
        case .utf8: utf8Values = column.utf8
        }
        var intArray = storage == .int64 || storage == .bool ? takeArray(&ints) : []
        var doubleArray = storage == .float64 ? takeArray(&doubles) : []
        defer {
            if storage == .int64 || storage == .bool { ints = intArray }
            if storage == .float64 { doubles = doubleArray }
        }
        for pair in 0..<count {
            let row = Int(rows[pair])
            if hasNulls && !ValidityBits.isSet(words, row) { continue }
            let slot = Int(slots[pair])
            let time = hasTimes ? timeValues[row] : 0
            let sequence = sequenceBase + Int64(row)
            if has[slot] != 0 {
                let replaces = isLast
                    ? (time > bestTimes[slot] || (time == bestTimes[slot] && sequence > bestSeqs[slot]))
                    : (time < bestTimes[slot] || (time == bestTimes[slot] && sequence < bestSeqs[slot]))
                if !replaces { continue }
            }
            has[slot] = 1
            bestTimes[slot] = time
            bestSeqs[slot] = sequence
            switch storage {
            case .int64: intArray[slot] = intValues[row]
            case .bool: intArray[slot] = boolValues[row] ? 1 : 0
            case .float64: doubleArray[slot] = doubleValues[row]
            case .utf8:
                let range = Int(utf8Values.offsets[row])..<Int(utf8Values.offsets[row + 1])
                utf8Values.bytes.withUnsafeBytes { strings.set(slot, UnsafeRawBufferPointer(rebasing: $0[range])) }
            }
        }
    }

    private mutating func insertDistinct(
        _ count: Int, _ pairRows: [Int32], _ pairSlots: [Int32], _ column: Column, _ storage: ValueStorage
    ) {
        let words = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        let slots = pairSlots.span, rows = pairRows.span
        var table = distinct!
        distinct = nil
        defer { distinct = table }
        var countArray = takeArray(&counts)
        defer { counts = countArray }
        switch storage {
        case .int64, .float64, .bool:
            let intValues = storage == .int64 ? column.int64s : []
            let doubleValues = storage == .float64 ? column.float64s : []
            let boolValues = storage == .bool ? column.bools : []
            for pair in 0..<count {
                let row = Int(rows[pair])
                if hasNulls && !ValidityBits.isSet(words, row) { continue }
                let bits: UInt64
                switch storage {
                case .int64: bits = UInt64(bitPattern: intValues[row])
                case .float64: bits = GroupKeyHasher.normalizedBits(doubleValues[row])
                default: bits = boolValues[row] ? 1 : 0
                }
                if table.insert(group: slots[pair], bits: bits) { countArray[Int(slots[pair])] &+= 1 }
            }
        case .utf8:
            let strings = column.utf8
            strings.bytes.withUnsafeBytes { bytes in
                for pair in 0..<count {
                    let row = Int(rows[pair])
                    if hasNulls && !ValidityBits.isSet(words, row) { continue }
                    let value = UnsafeRawBufferPointer(rebasing: bytes[Int(strings.offsets[row])..<Int(strings.offsets[row + 1])])
                    if table.insert(group: slots[pair], bytes: value) { countArray[Int(slots[pair])] &+= 1 }
                }
            }
        }
    }
}
