/// Incremental checkpoints: what changed since the previous checkpoint, as a delta a restored
/// operator applies to come to exactly the state the original had (the changelog half of Spark's
/// changelog checkpointing and of Flink's changelog state backend; snapshots are the other half).
///
/// Format, version 1: the snapshot's frame (see `WindowAggregateOperator+Snapshot.swift`) with magic
/// `EAGD` (45 41 47 44) and flag bit 0 = "a flush dropped every group before these records", the same
/// plan and counters (their values after the batch), i64 the rows total of the state the delta applies
/// to (checked: a delta applies only to the state it was taken from), i64 the largest watermark
/// windows were closed at since the previous checkpoint (Int64.min: none), i64 the largest state-TTL
/// cutoff applied since then (groups last updated before it were dropped; Int64.min: none), then:
///
/// - tumbling, hopping, cumulating, no window: u64 count G, then G group records exactly as in a
///   snapshot (i64 window tag, i64 last update time with flag bit 1, u8 flags, bytes key,
///   accumulators): each replaces the group with that window and key, or adds it.
/// - session: u64 count K, then K keys: bytes key, u32 session count S ≥ 1, then S × (i64 start,
///   i64 last event time, u8 flags, accumulators) in start order: together they replace every session
///   of that key (sessions merge, so a key's sessions change together).
///
/// Groups that closed are not listed: closing is a function of the watermark, so applying a delta
/// starts as the operator's last `emit` did, by evicting every group closed at that watermark (complete
/// mode closes nothing), after dropping everything if the operator was flushed. Records list only groups the batches touched that are still held, so a delta's size
/// follows the groups that changed, not the state's.
extension WindowAggregateOperator {
    static let deltaMagic: [UInt8] = [0x45, 0x41, 0x47, 0x44]
    static let deltaFlushedFlag: UInt16 = 1

    /// The changes since the last `checkpointDelta()` or `forgetChanges()` (or since the operator was
    /// created or restored), in the format above; starts a new interval.
    public mutating func checkpointDelta() -> [UInt8] {
        precondition(tracksChanges, "a delta needs change tracking")
        var writer = beginFrame(magic: Self.deltaMagic, flags: (flushedSinceCheckpoint ? Self.deltaFlushedFlag : 0) | (carriesUpdateTimes ? Self.updateTimesFlag : 0))
        writer.i64(Int64(rowsTotalAtCheckpoint))
        writer.i64(evictedThroughMs)
        writer.i64(expiredBeforeMs)
        let changed = changedSinceCheckpoint.filter { Int($0) < keys.entryCapacity && keys.isLive($0) }
        writer.u64(UInt64(changed.count))
        for id in changed {
            if window.isSession {
                writeKey(id, to: &writer)
                let slots = sessions.sessions(ofKey: id)
                writer.u32(UInt32(slots.count))
                for slot in slots {
                    writer.i64(sessions.start(slot))
                    writer.i64(sessions.end(slot) - sessionGap)
                    writeAccumulators(slot, to: &writer)
                }
            } else {
                writer.i64(keys.tag(id))
                if carriesUpdateTimes { writer.i64(slotUpdatedMs[Int(id)]) }
                writeGroup(id, key: id, to: &writer)
            }
        }
        forgetChanges()
        return endFrame(writer)
    }

    /// Starts a new change interval without writing a delta (a whole snapshot was checkpointed).
    public mutating func forgetChanges() {
        for id in changedSinceCheckpoint { changedFlags[Int(id)] = 0 }
        changedSinceCheckpoint.removeAll(keepingCapacity: true)
        flushedSinceCheckpoint = false
        evictedThroughMs = .min
        expiredBeforeMs = .min
        rowsTotalAtCheckpoint = numRowsTotal
    }

    /// Applies a `checkpointDelta()` taken from an operator in the state this one is in; a checkpoint
    /// error when the bytes are damaged, were written for another aggregation or contradict the state.
    public mutating func applyDelta(_ bytes: [UInt8]) throws(EngineError) {
        if let failure { throw failure }
        let rowsBefore = numRowsTotal
        var (reader, flags) = try openFrame(
            bytes, magic: Self.deltaMagic, what: "aggregation state delta", allowedFlags: Self.deltaFlushedFlag | Self.updateTimesFlag)
        let hasTimes = flags & Self.updateTimesFlag != 0
        guard !hasTimes || window == .none else { throw .checkpoint("aggregation state delta has update times, but its groups are windows") }
        let base = try reader.i64("base rows total")
        guard base == Int64(rowsBefore), base <= Int64(numRowsTotal) else {
            throw .checkpoint("aggregation state delta was taken from a state that had seen \(base) rows, not \(rowsBefore): it does not follow the state before it")
        }
        let evictedThrough = try reader.i64("eviction watermark")
        guard evictedThrough <= watermarkMs else {
            throw .checkpoint("aggregation state delta: windows closed at \(evictedThrough), past the watermark \(watermarkMs)")
        }
        // What the interval dropped goes first: a flush, then the groups closed at the last emit's
        // watermark. Records are groups held at the end, so none of them is closed at it (after a
        // flush, a plain group-by may hold groups again).
        if flags & Self.deltaFlushedFlag != 0 { evictEverything() }
        if mode != .complete {
            let (closed, windowCount) = closedGroups(atOrBefore: evictedThrough)
            evict(closed, windowCount: windowCount)
        }
        let expiredBefore = try reader.i64("expiry cutoff")
        if expiredBefore != .min && stateTTLMs != nil { _ = removeUpdated(before: expiredBefore) }
        let sequenceLimit = Int64(numRowsTotal)
        if window.isSession {
            let keyCount = try reader.count("key count", minimumItemBytes: 4 + 4)
            for _ in 0..<keyCount { try applySessions(&reader, sequenceLimit: sequenceLimit) }
        } else {
            let groupCount = try reader.count("group count", minimumItemBytes: 8 + 1 + 4)
            for _ in 0..<groupCount { try applyGroup(&reader, sequenceLimit: sequenceLimit, hasTimes: hasTimes) }
        }
        guard reader.remaining == 0 else {
            throw .checkpoint("aggregation state delta has \(reader.remaining) bytes after its last record")
        }
        forgetChanges()
    }

    private mutating func applyGroup(_ reader: inout AggregateSnapshotReader, sequenceLimit: Int64, hasTimes: Bool) throws(EngineError) {
        let tag = try reader.i64("window tag")
        try checkWindow(start: tag, lastTime: 0)
        let updated = hasTimes ? try reader.i64("last update time") : .min
        let changed = try groupFlag(&reader)
        let keyRange = try keyBytes(&reader)
        let hash = reader.withBytes(keyRange) { keyHash($0) }
        let (slot, inserted) = reader.withBytes(keyRange) {
            keys.findOrInsert(hash: GroupKeyHasher.finalize(hash, tag: tag), tag: tag, key: $0)
        }
        ensureSlotCapacity()
        if !inserted { for index in states.indices { states[index].reset([slot]) } }
        for index in states.indices { try states[index].read(Int(slot), from: &reader, sequenceLimit: sequenceLimit) }
        setChanged(slot, changed)
        if stateTTLMs != nil {
            slotUpdatedMs[Int(slot)] = updated
            oldestUpdateMs = .min
        }
    }

    private mutating func applySessions(_ reader: inout AggregateSnapshotReader, sequenceLimit: Int64) throws(EngineError) {
        let keyRange = try keyBytes(&reader)
        let hash = reader.withBytes(keyRange) { keyHash($0) }
        let (key, _) = reader.withBytes(keyRange) {
            keys.findOrInsert(hash: GroupKeyHasher.finalize(hash, tag: 0), tag: 0, key: $0)
        }
        sessions.ensureKeyCapacity(keys.entryCapacity)
        for old in sessions.sessions(ofKey: key) {
            for index in states.indices { states[index].reset([old]) }
            slotDirty[Int(old)] = 0
            sessions.free(old)
        }
        let count = Int(try reader.u32("session count"))
        guard count >= 1, count <= reader.remaining / (8 + 8 + 1) else {
            throw .checkpoint("aggregation state delta: a key with \(count) sessions does not fit the \(reader.remaining) bytes left")
        }
        var slots: [Int32] = []
        slots.reserveCapacity(count)
        for _ in 0..<count {
            let start = try reader.i64("session start")
            let lastTime = try reader.i64("session last time")
            try checkWindow(start: start, lastTime: lastTime)
            if let previous = slots.last, start <= sessions.end(previous) {
                throw .checkpoint("aggregation state delta: two sessions of one key overlap")
            }
            let changed = try groupFlag(&reader)
            let slot = sessions.allocate(key: key, start: start, maxTime: lastTime)
            ensureSlotCapacity()
            for index in states.indices { try states[index].read(Int(slot), from: &reader, sequenceLimit: sequenceLimit) }
            setChanged(slot, changed)
            slots.append(slot)
        }
        sessions.setSessions(ofKey: key, slots)
        for slot in slots { sessions.pushEnd(slot) }
    }

    private func groupFlag(_ reader: inout AggregateSnapshotReader) throws(EngineError) -> Bool {
        let flag = try reader.u8("group flags")
        guard flag <= (mode == .update ? 1 : 0) else {
            throw .checkpoint("aggregation state delta: group flags \(flag) in \(mode) mode")
        }
        return flag == 1
    }

    private func keyBytes(_ reader: inout AggregateSnapshotReader) throws(EngineError) -> Range<Int> {
        let range = try reader.lengthPrefixed("group key")
        guard reader.withBytes(range, { codec.isWellFormed($0) }) else {
            throw .checkpoint("aggregation state delta: a group key is not a valid key for \(codec.types)")
        }
        return range
    }

    private func keyHash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var buffer = GroupKeyCodec.Buffer()
        buffer.append(key)
        return codec.keyHashes(buffer)[0]
    }

    /// Sets a restored group's "changed since the last emit" flag (update mode).
    private mutating func setChanged(_ slot: Int32, _ changed: Bool) {
        if changed && slotDirty[Int(slot)] == 0 { dirtyList.append(slot) }
        slotDirty[Int(slot)] = changed ? 1 : 0
    }
}
