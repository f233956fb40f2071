/// `process`: assign rows to windows, resolve their groups, fold them into the accumulators, then the
/// bookkeeping (changed groups, metrics, the state limit).
extension WindowAggregateOperator {
    /// Drops the batch's late and NULL-time rows (listing them in `lateRows` / `nullTimeRows`) and folds
    /// the rest into the state. `watermarkMs` is the watermark the batch is judged against (normally the
    /// one computed after the previous batch).
    public mutating func process(_ batch: RecordBatch, watermarkMs: Int64) throws(EngineError) {
        if let failure { throw failure }
        try checkSchema(batch)
        self.watermarkMs = Swift.max(self.watermarkMs, watermarkMs)
        let lateBefore = mode == .complete ? Int64.min : self.watermarkMs
        let sequenceBase = Int64(numRowsTotal)
        numRowsTotal += batch.count

        var work = scratch
        scratch = AggregationScratch()
        defer { scratch = work }
        let times = timeIndex.map { batch.columns[$0] }
        try WindowAssigner.assign(
            window: window, times: times, rowCount: batch.count, watermark: lateBefore,
            pairRows: &work.pairRows, pairStarts: &work.pairStarts, lateRows: &work.lateRows,
            nullTimeRows: &work.nullTimeRows)
        lateRows = work.lateRows
        nullTimeRows = work.nullTimeRows
        numRowsDroppedByWatermark += work.lateRows.count
        numRowsWithNullTime += work.nullTimeRows.count

        let pairCount = work.pairRows.count
        work.pairSlots.removeAll(keepingCapacity: true)
        work.pairSlots.append(contentsOf: repeatElement(0, count: pairCount))
        if pairCount > 0 {
            if window.isSession {
                encodeKeys(batch, &work)
                try resolveSessions(&work)
            } else {
                resolveGroups(batch, &work)
            }
        }
        ensureSlotCapacity()

        let eventTimes = times?.int64s
        let pairRows = work.pairRows, pairSlots = work.pairSlots
        for index in states.indices {
            let column = inputIndices[index].map { batch.columns[$0] }
            let ok = states[index].accumulate(
                pairCount: pairCount, pairRows: pairRows, pairSlots: pairSlots, column: column,
                eventTimes: eventTimes, sequenceBase: sequenceBase)
            if !ok { throw fail(overflowError(index)) }
        }
        markTouched(&work)
        try checkStateLimit()
    }

    private func checkSchema(_ batch: RecordBatch) throws(EngineError) {
        guard batch.schema != inputSchema else { return }
        let used = [timeIndex].compactMap { $0 } + keyIndices + inputIndices.compactMap { $0 }
        for index in used {
            let expected = inputSchema.fields[index]
            guard index < batch.schema.count, batch.schema.fields[index].name == expected.name,
                batch.schema.fields[index].type == expected.type
            else {
                throw .execution("\(name): batch schema \(batch.schema) does not match the input schema \(inputSchema) at column \(index)")
            }
        }
    }

    private mutating func fail(_ error: EngineError) -> EngineError {
        failure = error
        return error
    }

    private func overflowError(_ index: Int) -> EngineError {
        let spec = aggregates[index]
        let type = inputIndices[index].map { inputSchema.fields[$0].type.description } ?? "BIGINT"
        return .execution("\(spec) overflowed \(type) in \(name); the sum does not fit 18 digits (use DOUBLE, or a smaller scale)")
    }

    mutating func ensureSlotCapacity() {
        let capacity = slotCapacity
        for index in states.indices { states[index].ensureCapacity(capacity) }
        if slotTouch.count < capacity {
            slotTouch.append(contentsOf: repeatElement(0, count: capacity - slotTouch.count))
            slotDirty.append(contentsOf: repeatElement(0, count: capacity - slotDirty.count))
        }
        if stateTTLMs != nil && slotUpdatedMs.count < capacity {
            slotUpdatedMs.append(contentsOf: repeatElement(.min, count: capacity - slotUpdatedMs.count))
        }
    }

    /// Encodes and hashes the key columns of every row of the batch into `work.keyBuffer` / `rowHashes`.
    private func encodeKeys(_ batch: RecordBatch, _ work: inout AggregationScratch) {
        let keyColumns = keyIndices.map { batch.columns[$0] }
        codec.encode(keyColumns, rowCount: batch.count, into: &work.keyBuffer)
        work.rowHashes.removeAll(keepingCapacity: true)
        work.rowHashes.append(contentsOf: repeatElement(GroupKeyHasher.seed, count: batch.count))
        for column in keyColumns { GroupKeyHasher.combineColumn(column, into: &work.rowHashes) }
    }

    // MARK: tumbling, hopping, none

    private mutating func resolveGroups(_ batch: RecordBatch, _ work: inout AggregationScratch) {
        work.created.removeAll(keepingCapacity: true)
        var resolved = false
        if usesDictionary {
            if dictionarySkipBatches > 0 {
                dictionarySkipBatches -= 1
            } else if work.dictionary.encode(batch.columns[keyIndices[0]]) {
                resolveWithDictionary(&work)
                resolved = true
            } else {
                dictionarySkipBatches = 16
            }
        }
        if !resolved {
            encodeKeys(batch, &work)
            keys.resolve(
                pairCount: work.pairRows.count, pairRows: work.pairRows, pairTags: work.pairStarts, tagStep: windowStep,
                rowHashes: work.rowHashes, keys: work.keyBuffer, slots: &work.pairSlots, created: &work.created,
                order: &work.order)
        }
    }

    /// Resolves pairs through the batch dictionary: one table lookup per (window, code) of the batch,
    /// then an array lookup per row.
    private mutating func resolveWithDictionary(_ work: inout AggregationScratch) {
        let pairCount = work.pairRows.count
        let codeCount = work.dictionary.codeCount
        var lowest = Int64.max, highest = Int64.min
        for start in work.pairStarts {
            lowest = Swift.min(lowest, start)
            highest = Swift.max(highest, start)
        }
        let (span, overflow) = highest.subtractingReportingOverflow(lowest)
        let windowCount = overflow ? Int64.max : span / windowStep + 1
        let cached = windowCount <= Int64(1 << 16 / Swift.max(1, codeCount))
        if cached {
            work.codeSlots.removeAll(keepingCapacity: true)
            work.codeSlots.append(contentsOf: repeatElement(-1, count: Int(windowCount) * codeCount))
        }
        let codes = work.dictionary.codes, rows = work.pairRows, starts = work.pairStarts
        var slots = takeArray(&work.pairSlots)
        var codeSlots = takeArray(&work.codeSlots)
        defer {
            work.pairSlots = slots
            work.codeSlots = codeSlots
        }
        var previousStart = Int64.min
        var windowBase = 0
        for pair in 0..<pairCount {
            let start = starts[pair]
            let code = Int(codes[Int(rows[pair])])
            if cached {
                if start != previousStart {
                    previousStart = start
                    windowBase = Int((start - lowest) / windowStep) * codeCount
                }
                var slot = codeSlots[windowBase + code]
                if slot < 0 {
                    slot = findOrInsert(code: code, start: start, &work)
                    codeSlots[windowBase + code] = slot
                }
                slots[pair] = slot
            } else {
                slots[pair] = findOrInsert(code: code, start: start, &work)
            }
        }
    }

    private mutating func findOrInsert(code: Int, start: Int64, _ work: inout AggregationScratch) -> Int32 {
        let hash = GroupKeyHasher.finalize(work.dictionary.codeKeyHashes[code], tag: start)
        let (slot, inserted) = work.dictionary.codeKeys.withKey(code) { keys.findOrInsert(hash: hash, tag: start, key: $0) }
        if inserted { work.created.append(slot) }
        return slot
    }

    // MARK: sessions

    /// Resolves each pair's key, then per key merges the batch's rows (in time order) with the key's
    /// open sessions: overlapping or touching intervals [t, t + gap) become one session; a row that
    /// bridges sessions merges them into the earliest (accumulators folded, the others freed).
    private mutating func resolveSessions(_ work: inout AggregationScratch) throws(EngineError) {
        let pairCount = work.pairRows.count
        work.created.removeAll(keepingCapacity: true)
        work.pairKeys.removeAll(keepingCapacity: true)
        work.pairKeys.append(contentsOf: repeatElement(0, count: pairCount))
        keys.resolve(
            pairCount: pairCount, pairRows: work.pairRows, pairTags: nil, tagStep: 1, rowHashes: work.rowHashes,
            keys: work.keyBuffer, slots: &work.pairKeys, created: &work.created, order: &work.order)
        sessions.ensureKeyCapacity(keys.entryCapacity)

        // Group pairs by key, keeping pair order within a key (counting sort).
        if work.keyLocal.count < keys.entryCapacity {
            work.keyLocal.append(contentsOf: repeatElement(-1, count: keys.entryCapacity - work.keyLocal.count))
        }
        work.batchKeys.removeAll(keepingCapacity: true)
        work.keyStarts.removeAll(keepingCapacity: true)
        for pair in 0..<pairCount {
            let key = Int(work.pairKeys[pair])
            if work.keyLocal[key] < 0 {
                work.keyLocal[key] = Int32(work.batchKeys.count)
                work.batchKeys.append(Int32(key))
                work.keyStarts.append(0)
            }
            work.keyStarts[Int(work.keyLocal[key])] += 1
        }
        var running = 0
        for local in work.keyStarts.indices {
            let count = work.keyStarts[local]
            work.keyStarts[local] = running
            running += count
        }
        work.keyStarts.append(running)
        work.order.removeAll(keepingCapacity: true)
        work.order.append(contentsOf: repeatElement(0, count: pairCount))
        var cursor = Array(work.keyStarts.dropLast())
        for pair in 0..<pairCount {
            let local = Int(work.keyLocal[Int(work.pairKeys[pair])])
            work.order[cursor[local]] = Int32(pair)
            cursor[local] += 1
        }
        for key in work.batchKeys { work.keyLocal[Int(key)] = -1 }

        for local in work.batchKeys.indices {
            let range = work.keyStarts[local]..<work.keyStarts[local + 1]
            sortByTime(range, &work)
            try mergeSessions(key: work.batchKeys[local], range, &work)
        }
    }

    /// Sorts `work.order[range]` by (time, pair): rows of a key usually arrive in time order already.
    private func sortByTime(_ range: Range<Int>, _ work: inout AggregationScratch) {
        var sorted = true
        var previous = Int64.min
        for position in range {
            let time = work.pairStarts[Int(work.order[position])]
            if time < previous {
                sorted = false
                break
            }
            previous = time
        }
        if sorted { return }
        work.timed.removeAll(keepingCapacity: true)
        for position in range {
            let pair = work.order[position]
            work.timed.append(AggregationScratch.TimedPair(time: work.pairStarts[Int(pair)], pair: pair))
        }
        work.timed.sort { $0.time < $1.time || ($0.time == $1.time && $0.pair < $1.pair) }
        for (offset, item) in work.timed.enumerated() { work.order[range.lowerBound + offset] = item.pair }
    }

    private mutating func mergeSessions(key: Int32, _ range: Range<Int>, _ work: inout AggregationScratch) throws(EngineError) {
        work.existing = sessions.sessions(ofKey: key)
        work.rebuilt.removeAll(keepingCapacity: true)
        let gap = sessionGap
        var sessionIndex = 0
        var position = range.lowerBound
        var active = false
        var clusterStart: Int64 = 0, clusterEnd: Int64 = 0
        var target: Int32 = -1
        var clusterPairs = position

        func close(_ work: inout AggregationScratch, upTo end: Int) {
            if target < 0 {
                target = sessions.allocate(key: key, start: clusterStart, maxTime: clusterEnd - gap)
            } else {
                sessions.update(target, start: clusterStart, maxTime: clusterEnd - gap)
            }
            for index in clusterPairs..<end { work.pairSlots[Int(work.order[index])] = target }
            work.rebuilt.append(target)
        }

        while sessionIndex < work.existing.count || position < range.upperBound {
            let takeSession: Bool
            if sessionIndex < work.existing.count {
                takeSession = position == range.upperBound
                    || sessions.start(work.existing[sessionIndex]) <= work.pairStarts[Int(work.order[position])]
            } else {
                takeSession = false
            }
            let itemStart: Int64, itemEnd: Int64
            if takeSession {
                let session = work.existing[sessionIndex]
                (itemStart, itemEnd) = (sessions.start(session), sessions.end(session))
            } else {
                let time = work.pairStarts[Int(work.order[position])]
                (itemStart, itemEnd) = (time, time + gap)
            }
            if active && itemStart <= clusterEnd {
                clusterEnd = Swift.max(clusterEnd, itemEnd)
                if takeSession {
                    let session = work.existing[sessionIndex]
                    if target < 0 {
                        target = session
                    } else {
                        try mergeSession(session, into: target)
                    }
                }
            } else {
                if active { close(&work, upTo: position) }
                active = true
                clusterStart = itemStart
                clusterEnd = itemEnd
                target = takeSession ? work.existing[sessionIndex] : -1
                clusterPairs = position
            }
            if takeSession { sessionIndex += 1 } else { position += 1 }
        }
        if active { close(&work, upTo: position) }
        sessions.setSessions(ofKey: key, work.rebuilt)
    }

    /// Folds session `source` into `target` (both of one key) and frees `source`.
    private mutating func mergeSession(_ source: Int32, into target: Int32) throws(EngineError) {
        for index in states.indices where !states[index].merge(Int(source), into: Int(target)) {
            throw fail(overflowError(index))
        }
        for index in states.indices { states[index].reset([source]) }
        sessions.free(source)
        slotDirty[Int(source)] = 0
    }

    // MARK: bookkeeping

    /// Counts the groups the batch changed, marks them changed for update mode, and pushes sessions'
    /// new ends on the close heap.
    private mutating func markTouched(_ work: inout AggregationScratch) {
        touchStamp &+= 1
        if touchStamp == 0 {
            for slot in slotTouch.indices { slotTouch[slot] = 0 }
            touchStamp = 1
        }
        work.touched.removeAll(keepingCapacity: true)
        let stamp = touchStamp
        let trackDirty = mode == .update
        for pair in 0..<work.pairRows.count {
            let slot = Int(work.pairSlots[pair])
            if slotTouch[slot] == stamp { continue }
            slotTouch[slot] = stamp
            work.touched.append(Int32(slot))
            if trackDirty && slotDirty[slot] == 0 {
                slotDirty[slot] = 1
                dirtyList.append(Int32(slot))
            }
        }
        numRowsUpdated += work.touched.count
        numRowsUpdatedLastBatch = work.touched.count
        if window.isSession {
            for slot in work.touched {
                sessions.pushEnd(slot)
                noteChanged(sessions.keyIds[Int(slot)])
            }
        } else {
            for slot in work.touched { noteChanged(slot) }
        }
        if stateTTLMs != nil {
            for slot in work.touched { slotUpdatedMs[Int(slot)] = currentTimeMs }
            oldestUpdateMs = Swift.min(oldestUpdateMs, currentTimeMs)
        }
    }

    /// Lists a group (sessions: a key) for the next checkpoint delta, once.
    mutating func noteChanged(_ id: Int32) {
        guard tracksChanges else { return }
        let index = Int(id)
        if index >= changedFlags.count {
            changedFlags.append(contentsOf: repeatElement(0, count: Swift.max(index + 1, 2 * changedFlags.count) - changedFlags.count))
        }
        if changedFlags[index] == 0 {
            changedFlags[index] = 1
            changedSinceCheckpoint.append(id)
        }
    }

    private mutating func checkStateLimit() throws(EngineError) {
        let bytes = stateBytes
        peakStateBytes = Swift.max(peakStateBytes, bytes)
        if let stateBytesLimit, bytes > stateBytesLimit {
            throw .limit(
                "state of \(name) holds \(bytes) bytes (\(stateRows) groups), past its limit of \(stateBytesLimit) (state.bytes.max); lower the key cardinality, shorten the windows or the watermark delay, or raise the limit")
        }
    }
}
