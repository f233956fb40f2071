/// `emit` and `flushAll`: choose the groups to output for the mode, order them deterministically,
/// build the output batch, and evict closed windows.
extension WindowAggregateOperator {
    /// The rows due at `watermarkMs` for the output mode (see the type's comment), then evicts windows
    /// that closed (append, update). Rows are ordered by window_end, window_start, key.
    public mutating func emit(watermarkMs: Int64) throws(EngineError) -> RecordBatch {
        if let failure { throw failure }
        self.watermarkMs = Swift.max(self.watermarkMs, watermarkMs)
        return emitAndEvict(closingAt: self.watermarkMs)
    }

    /// End of a bounded input: emits what `emit(watermarkMs: Int64.max)` would (append: every window;
    /// update: every group changed since the last emit; complete: every group), then evicts everything.
    /// Later rows are late. Returns an empty batch if the operator has failed.
    public mutating func flushAll() -> RecordBatch {
        if failure != nil { return .empty(outputSchema) }
        watermarkMs = .max
        let output = emitAndEvict(closingAt: .max)
        evictEverything()
        return output
    }

    private mutating func emitAndEvict(closingAt watermark: Int64) -> RecordBatch {
        if mode != .complete { evictedThroughMs = Swift.max(evictedThroughMs, watermark) }
        switch mode {
        case .append:
            let (closed, windowCount) = closedGroups(atOrBefore: watermark)
            let output = buildOutput(closed)
            evict(closed, windowCount: windowCount)
            return output
        case .update:
            var changed: [Int32] = []
            for slot in dirtyList where slotDirty[Int(slot)] != 0 {
                slotDirty[Int(slot)] = 0
                changed.append(slot)
                // Its flag changed: the next checkpoint delta carries it.
                noteChanged(window.isSession ? sessions.keyIds[Int(slot)] : slot)
            }
            dirtyList.removeAll(keepingCapacity: true)
            let output = buildOutput(changed)
            let (closed, windowCount) = closedGroups(atOrBefore: watermark)
            evict(closed, windowCount: windowCount)
            return output
        case .complete:
            return buildOutput(allLiveSlots)
        }
    }

    /// The groups of windows (sessions) whose end ≤ `watermark`, and for the other windows how many
    /// windows that is (they are the first ones). Sessions leave the close heap here.
    mutating func closedGroups(atOrBefore watermark: Int64) -> (slots: [Int32], windowCount: Int) {
        if window.isSession { return (sessions.popClosed(atOrBefore: watermark), 0) }
        var closed: [Int32] = []
        var windowCount = 0
        for partition in keys.partitions {
            guard windowBounds(tag: partition.tag).end <= watermark else { break }
            closed += partition.members
            windowCount += 1
        }
        return (closed, windowCount)
    }

    /// Frees closed groups: their windows' partitions (or the sessions, and keys left without one),
    /// accumulators and flags.
    mutating func evict(_ slots: [Int32], windowCount: Int) {
        guard !slots.isEmpty else { return }
        if window.isSession {
            for slot in slots {
                let key = sessions.keyIds[Int(slot)]
                if sessions.unchain(slot) { keys.remove(key) }
                sessions.free(slot)
            }
        } else {
            for _ in 0..<windowCount { _ = keys.removeFirstPartition() }
        }
        for slot in slots { slotDirty[Int(slot)] = 0 }
        for index in states.indices { states[index].reset(slots) }
    }

    mutating func evictEverything() {
        flushedSinceCheckpoint = true
        keys.removeAll()
        for index in states.indices { states[index].removeAll() }
        sessions.removeAll()
        for slot in slotDirty.indices { slotDirty[slot] = 0 }
        dirtyList.removeAll(keepingCapacity: true)
    }

    var allLiveSlots: [Int32] {
        window.isSession ? sessions.liveSlots : keys.allMembers
    }

    /// `slots` in output order: window end, window start, then the key (NULLs first, values ascending).
    func sortedForOutput(_ slots: [Int32]) -> [Int32] {
        outputOrder(slots).map { slots[Int($0)] }
    }

    /// The permutation of `slots` (positions) that puts them in output order. Radix-sorted on (end,
    /// start, a 64-bit order-preserving prefix of the first key column); groups whose three sort words
    /// tie (keys equal in their first 8 bytes) are then ordered by full key.
    func outputOrder(_ slots: [Int32]) -> [Int32] {
        guard slots.count > 1 else { return slots.isEmpty ? [] : [0] }
        let count = slots.count
        let entries = keys.entries
        let codec = self.codec
        return keys.withArena { arena -> [Int32] in
            func key(_ slot: Int32) -> UnsafeRawBufferPointer {
                let entry = entries[Int(window.isSession ? sessions.keyIds[Int(slot)] : slot)]
                return UnsafeRawBufferPointer(rebasing: arena[entry.keyOffset..<(entry.keyOffset + Int(entry.keyLength))])
            }
            var ends = [UInt64](repeating: 0, count: count)
            var starts = [UInt64](repeating: 0, count: count)
            var prefixes = [UInt64](repeating: 0, count: count)
            for index in 0..<count {
                let slot = slots[index]
                let (start, end) = window.isSession ? (sessions.start(slot), sessions.end(slot)) : windowBounds(tag: keys.tag(slot))
                ends[index] = RadixPermutation.orderBits(end)
                starts[index] = RadixPermutation.orderBits(start)
                prefixes[index] = codec.sortPrefix(key(slot))
            }
            var order = RadixPermutation.sort([ends, starts, prefixes], count: count)
            var runStart = 0
            while runStart < count {
                let first = Int(order[runStart])
                var runEnd = runStart + 1
                while runEnd < count {
                    let other = Int(order[runEnd])
                    guard ends[other] == ends[first] && starts[other] == starts[first] && prefixes[other] == prefixes[first] else { break }
                    runEnd += 1
                }
                if runEnd - runStart > 1 {
                    order[runStart..<runEnd].sort { a, b in
                        let order = codec.compare(key(slots[Int(a)]), key(slots[Int(b)]))
                        return order != 0 ? order < 0 : a < b
                    }
                }
                runStart = runEnd
            }
            return order
        }
    }

    /// The output batch for `slots`, in output order. Values are gathered in the order given (window
    /// members in creation order, whose slot ids are mostly ascending, so state is read sequentially)
    /// and then permuted into output order on the compact output columns, rather than gathered in key
    /// order from all over the state.
    func buildOutput(_ slots: [Int32]) -> RecordBatch {
        let order = outputOrder(slots)
        var columns: [Column] = []
        columns.reserveCapacity(outputSchema.count)
        if window.isWindowed {
            var starts = [Int64](repeating: 0, count: slots.count), ends = [Int64](repeating: 0, count: slots.count)
            let entries = keys.entries.span
            for (index, slot) in slots.enumerated() {
                (starts[index], ends[index]) = window.isSession
                    ? (sessions.start(slot), sessions.end(slot)) : windowBounds(tag: entries[Int(slot)].tag)
            }
            columns.append(.timestamp(starts))
            columns.append(.timestamp(ends))
        }
        if !codec.types.isEmpty {
            let entries = keys.entries
            let offsets = slots.map { entries[Int(window.isSession ? sessions.keyIds[Int($0)] : $0)].keyOffset }
            columns += keys.withArena { codec.decodeColumns($0, offsets: offsets, count: slots.count) }
        }
        for state in states { columns.append(state.outputColumn(slots)) }
        if !Self.isIdentity(order) { columns = columns.map { $0.take(order) } }
        return RecordBatch(schema: outputSchema, columns: columns)
    }

    private static func isIdentity(_ order: [Int32]) -> Bool {
        for (position, index) in order.enumerated() where Int(index) != position { return false }
        return true
    }
}
