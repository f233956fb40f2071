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
        switch mode {
        case .append:
            let closed = takeClosed(atOrBefore: watermark)
            let output = buildOutput(sortedForOutput(closed))
            release(closed)
            return output
        case .update:
            var changed: [Int32] = []
            for slot in dirtyList where slotDirty[Int(slot)] != 0 {
                slotDirty[Int(slot)] = 0
                changed.append(slot)
            }
            dirtyList.removeAll(keepingCapacity: true)
            let output = buildOutput(sortedForOutput(changed))
            release(takeClosed(atOrBefore: watermark))
            return output
        case .complete:
            return buildOutput(sortedForOutput(allLiveSlots))
        }
    }

    /// Takes the groups of windows (sessions) whose end ≤ `watermark` out of the window index (heap);
    /// the caller releases them.
    private mutating func takeClosed(atOrBefore watermark: Int64) -> [Int32] {
        if window.isSession { return sessions.popClosed(atOrBefore: watermark) }
        var closed: [Int32] = []
        while let start = windows.firstStart, windowEnd(start) <= watermark {
            closed += windows.removeFirst()
        }
        return closed
    }

    /// Frees groups taken out of the window index or heap: keys, accumulators, flags.
    private mutating func release(_ slots: [Int32]) {
        guard !slots.isEmpty else { return }
        for slot in slots {
            if window.isSession {
                let key = sessions.keyIds[Int(slot)]
                if sessions.unchain(slot) { keys.remove(key) }
                sessions.free(slot)
            } else {
                keys.remove(slot)
            }
            slotDirty[Int(slot)] = 0
        }
        for index in states.indices { states[index].reset(slots) }
    }

    private mutating func evictEverything() {
        keys.removeAll()
        for index in states.indices { states[index].removeAll() }
        windows.removeAll()
        sessions.removeAll()
        for slot in slotDirty.indices { slotDirty[slot] = 0 }
        dirtyList.removeAll(keepingCapacity: true)
    }

    var allLiveSlots: [Int32] {
        window.isSession ? sessions.liveSlots : windows.allMembers
    }

    private struct OrderItem {
        var end: Int64
        var start: Int64
        var prefix: UInt64
        var keyId: Int32
        var slot: Int32
    }

    /// `slots` in output order: window end, window start, then the key (NULLs first, values ascending).
    /// A 64-bit order-preserving prefix of the first key column settles most comparisons without
    /// decoding keys.
    func sortedForOutput(_ slots: [Int32]) -> [Int32] {
        guard slots.count > 1 else { return slots }
        let entries = keys.entries
        let codec = self.codec
        return keys.withArena { arena -> [Int32] in
            func key(_ id: Int32) -> UnsafeRawBufferPointer {
                let entry = entries[Int(id)]
                return UnsafeRawBufferPointer(rebasing: arena[entry.keyOffset..<(entry.keyOffset + Int(entry.keyLength))])
            }
            var items = slots.map { slot -> OrderItem in
                let keyId = window.isSession ? sessions.keyIds[Int(slot)] : slot
                let start = window.isSession ? sessions.start(slot) : keys.tag(slot)
                let end = window.isSession ? sessions.end(slot) : windowEnd(start)
                return OrderItem(end: end, start: start, prefix: codec.sortPrefix(key(keyId)), keyId: keyId, slot: slot)
            }
            items.sort { a, b in
                if a.end != b.end { return a.end < b.end }
                if a.start != b.start { return a.start < b.start }
                if a.prefix != b.prefix { return a.prefix < b.prefix }
                return codec.compare(key(a.keyId), key(b.keyId)) < 0
            }
            return items.map(\.slot)
        }
    }

    /// The output batch for `slots` (already ordered).
    func buildOutput(_ slots: [Int32]) -> RecordBatch {
        var columns: [Column] = []
        columns.reserveCapacity(outputSchema.count)
        if window.isWindowed {
            var starts: [Int64] = [], ends: [Int64] = []
            starts.reserveCapacity(slots.count)
            ends.reserveCapacity(slots.count)
            for slot in slots {
                let start = window.isSession ? sessions.start(slot) : keys.tag(slot)
                starts.append(start)
                ends.append(window.isSession ? sessions.end(slot) : windowEnd(start))
            }
            columns.append(.timestamp(starts))
            columns.append(.timestamp(ends))
        }
        var builders = codec.types.map { ColumnBuilder($0, capacity: slots.count) }
        if !builders.isEmpty {
            let entries = keys.entries
            keys.withArena { arena in
                for slot in slots {
                    let entry = entries[Int(window.isSession ? sessions.keyIds[Int(slot)] : slot)]
                    codec.decode(
                        UnsafeRawBufferPointer(rebasing: arena[entry.keyOffset..<(entry.keyOffset + Int(entry.keyLength))]),
                        into: &builders)
                }
            }
        }
        for index in builders.indices { columns.append(builders[index].finish()) }
        for state in states { columns.append(state.outputColumn(slots)) }
        return RecordBatch(schema: outputSchema, columns: columns)
    }
}
