/// Snapshots: the operator's whole state as bytes for a checkpoint, and an operator restored from them
/// that continues exactly as the original would (same future output, ordering and first/last picks).
///
/// Format, version 1. Integers are little-endian and fixed-width; i64 is two's complement; f64 is the
/// IEEE 754 bit pattern; "bytes" fields are a u32 length and that many bytes.
///
/// | offset  | size | field                                                        |
/// |---------|------|--------------------------------------------------------------|
/// | 0       | 4    | magic `EAGS` (45 41 47 53): Eddy AGgregation State           |
/// | 4       | 2    | format version, 1                                            |
/// | 6       | 2    | flags: bit 1 = groups carry their last update time (TTL)     |
/// | 8       | 8    | payload length P                                             |
/// | 16      | P    | payload                                                      |
/// | 16 + P  | 4    | CRC-32C (Castagnoli) of bytes [0, 16 + P)                     |
///
/// Payload, in order:
///
/// 1. Plan, which says what the state means (a restore with different parameters is refused; names of
///    columns and outputs are not part of it, so renaming is allowed):
///    - u8 window kind (0 none, 1 tumbling, 2 hopping, 3 session, 4 cumulating), i64 size (gap for
///      sessions, else 0), i64 offset (tumbling, normalised to [0, size)), slide (hopping) or step
///      (cumulating), else 0
///    - u8 output mode (0 append, 1 update, 2 complete)
///    - u8 time column (0 none, 1 TIMESTAMP, 2 BIGINT)
///    - u16 key column count K; K × (u8 type code, u8 decimal scale)
///    - u16 aggregate count A; A × (u8 function code, u8 input type code (0: count(*)), u8 decimal scale)
///    Type codes: 1 BOOLEAN, 2 BIGINT, 3 DOUBLE, 4 TEXT, 5 TIMESTAMP, 6 DECIMAL, 7 DATE. Function codes:
///    1 count, 2 count distinct, 3 sum, 4 avg, 5 min, 6 max, 7 first, 8 last.
/// 2. Counters: i64 watermark (Int64.min: none), i64 rows total (also the next arrival number),
///    i64 groups updated, i64 rows dropped by watermark, i64 rows with NULL time.
/// 3. Groups: u64 count G, then G records in output order (window end, window start, key), so equal
///    states give equal bytes:
///    - i64 window tag: its start (sessions: first event time; cumulating: its end; no window: 0)
///    - i64 last update time, processing time in ms (only with flag bit 1: a plain group-by with a
///      state TTL; Int64.min: unknown, the TTL counts from the next expiry check)
///    - i64 last event time (sessions only; the session ends at it + gap)
///    - u8 flags: bit 0 = changed since the last emit (update mode); other bits 0
///    - bytes: the group key (`GroupKeyCodec` encoding)
///    - A accumulator records, in aggregate order:
///
///      | aggregate                 | record                                                  |
///      |---------------------------|---------------------------------------------------------|
///      | count(*), count(col)      | i64 count                                               |
///      | count distinct            | u64 n, then n values ascending: u64 bits (int64 family, normalised float, bool 0/1) or bytes (TEXT, byte order) |
///      | sum BIGINT/DECIMAL        | i64 non-null count, i64 sum (0 when the count is 0)     |
///      | sum/avg DOUBLE            | i64 non-null count, f64 sum (+0.0 when the count is 0)  |
///      | avg BIGINT/DECIMAL        | i64 non-null count, i128 sum (u64 low, i64 high)        |
///      | min/max BOOLEAN           | u8 0 none, 1 false, 2 true                              |
///      | min/max other             | u8 has value; if 1: i64, f64 or bytes                   |
///      | first/last                | u8 has value; if 1: i64 event time, i64 arrival number, then the value: i64, f64, u8 bool, or bytes |
///
/// Restore checks the checksum first, then every field (lengths against what remains, flags, key
/// encodings, window alignment, session order, ascending distinct values, arrival numbers below the
/// row count); any violation is a checkpoint error, never a crash. Hashes, slot numbers, free lists,
/// heaps and per-window lists are rebuilt, not stored.
extension WindowAggregateOperator {
    static let snapshotMagic: [UInt8] = [0x45, 0x41, 0x47, 0x53]
    static let snapshotVersion: UInt16 = 1
    static let snapshotHeaderBytes = 16
    /// Counters in a snapshot are at most 2^62 (rows, groups).
    static let counterLimit: Int64 = 1 << 62

    /// The operator's state in the format above.
    public func snapshot() -> [UInt8] {
        var writer = beginFrame(magic: Self.snapshotMagic, flags: carriesUpdateTimes ? Self.updateTimesFlag : 0)
        let slots = sortedForOutput(allLiveSlots)
        writer.u64(UInt64(slots.count))
        for slot in slots {
            if window.isSession {
                writer.i64(sessions.start(slot))
                writer.i64(sessions.end(slot) - sessionGap)
                writeGroup(slot, key: sessions.keyIds[Int(slot)], to: &writer)
            } else {
                writer.i64(keys.tag(slot))
                if carriesUpdateTimes { writer.i64(slotUpdatedMs[Int(slot)]) }
                writeGroup(slot, key: slot, to: &writer)
            }
        }
        return endFrame(writer)
    }

    /// The frame's header, the plan and the counters (shared by snapshots and deltas).
    func beginFrame(magic: [UInt8], flags: UInt16) -> AggregateSnapshotWriter {
        var writer = AggregateSnapshotWriter()
        writer.raw(magic)
        writer.u16(Self.snapshotVersion)
        writer.u16(flags)
        writer.u64(0)
        writePlan(&writer)
        writer.i64(watermarkMs)
        writer.i64(Int64(numRowsTotal))
        writer.i64(Int64(numRowsUpdated))
        writer.i64(Int64(numRowsDroppedByWatermark))
        writer.i64(Int64(numRowsWithNullTime))
        return writer
    }

    /// The payload length and the checksum.
    func endFrame(_ frame: AggregateSnapshotWriter) -> [UInt8] {
        var writer = frame
        writer.patchU64(at: 8, UInt64(writer.count - Self.snapshotHeaderBytes))
        writer.u32(SnapshotChecksum.crc32c(writer.bytes, range: 0..<writer.count))
        return writer.bytes
    }

    /// A group's flags byte, its key and its accumulator records.
    func writeGroup(_ slot: Int32, key keyId: Int32, to writer: inout AggregateSnapshotWriter) {
        writer.u8(mode == .update && slotDirty[Int(slot)] != 0 ? 1 : 0)
        writeKey(keyId, to: &writer)
        for state in states { state.write(Int(slot), to: &writer) }
    }

    /// A group's flags byte and its accumulator records (the key written before).
    func writeAccumulators(_ slot: Int32, to writer: inout AggregateSnapshotWriter) {
        writer.u8(mode == .update && slotDirty[Int(slot)] != 0 ? 1 : 0)
        for state in states { state.write(Int(slot), to: &writer) }
    }

    func writeKey(_ keyId: Int32, to writer: inout AggregateSnapshotWriter) {
        let entry = keys.entries[Int(keyId)]
        keys.withArena {
            writer.lengthPrefixed(UnsafeRawBufferPointer(rebasing: $0[entry.keyOffset..<(entry.keyOffset + Int(entry.keyLength))]))
        }
    }

    /// An operator with the given parameters continuing from `bytes` (a `snapshot()`); a checkpoint
    /// error when the bytes are damaged or were written for a different aggregation.
    public init(
        restoring bytes: [UInt8], inputSchema: Schema, timeColumn: String?, keyColumns: [String],
        aggregates: [AggregateSpec], window: WindowSpec, mode: OutputMode, stateBytesLimit: Int?, stateTTLMs: Int64? = nil,
        name: String? = nil
    ) throws(EngineError) {
        try self.init(
            inputSchema: inputSchema, timeColumn: timeColumn, keyColumns: keyColumns, aggregates: aggregates,
            window: window, mode: mode, stateBytesLimit: stateBytesLimit, stateTTLMs: stateTTLMs, name: name)
        try restore(bytes)
    }

    private func writePlan(_ writer: inout AggregateSnapshotWriter) {
        switch window {
        case .none:
            writer.u8(0)
            writer.i64(0)
            writer.i64(0)
        case .tumbling(let size, let offset):
            writer.u8(1)
            writer.i64(size)
            writer.i64(WindowSpec.normalizedOffset(offset, size: size))
        case .hopping(let size, let slide):
            writer.u8(2)
            writer.i64(size)
            writer.i64(slide)
        case .session(let gap):
            writer.u8(3)
            writer.i64(gap)
            writer.i64(0)
        case .cumulating(let size, let step):
            writer.u8(4)
            writer.i64(size)
            writer.i64(step)
        }
        switch mode {
        case .append: writer.u8(0)
        case .update: writer.u8(1)
        case .complete: writer.u8(2)
        }
        switch timeIndex.map({ inputSchema.fields[$0].type }) {
        case .none: writer.u8(0)
        case .timestamp?: writer.u8(1)
        default: writer.u8(2)
        }
        func writeType(_ type: DataType?) {
            guard let type else {
                writer.u8(0)
                writer.u8(0)
                return
            }
            switch type {
            case .bool: writer.u8(1)
            case .int64: writer.u8(2)
            case .float64: writer.u8(3)
            case .utf8: writer.u8(4)
            case .timestamp: writer.u8(5)
            case .decimal: writer.u8(6)
            case .date: writer.u8(7)
            }
            if case .decimal(let scale) = type { writer.u8(UInt8(scale)) } else { writer.u8(0) }
        }
        writer.u16(UInt16(codec.types.count))
        for type in codec.types { writeType(type) }
        writer.u16(UInt16(aggregates.count))
        for (index, spec) in aggregates.enumerated() {
            let code: UInt8
            switch spec.function {
            case .count: code = 1
            case .countDistinct: code = 2
            case .sum: code = 3
            case .avg: code = 4
            case .min: code = 5
            case .max: code = 6
            case .first: code = 7
            case .last: code = 8
            }
            writer.u8(code)
            writeType(inputIndices[index].map { inputSchema.fields[$0].type })
        }
    }

    private mutating func restore(_ bytes: [UInt8]) throws(EngineError) {
        var (reader, flags) = try openFrame(bytes, magic: Self.snapshotMagic, what: "aggregation snapshot", allowedFlags: Self.updateTimesFlag)
        let hasTimes = flags & Self.updateTimesFlag != 0
        guard !hasTimes || window == .none else { throw .checkpoint("aggregation snapshot has update times, but its groups are windows") }
        let isSession = window.isSession
        let groupCount = try reader.count("group count", minimumItemBytes: (isSession ? 16 : 8) + 1 + 4)
        for index in states.indices { states[index].ensureCapacity(groupCount) }
        var keyBuffer = GroupKeyCodec.Buffer()
        var starts: [Int64] = [], lastTimes: [Int64] = [], changed: [Bool] = [], updated: [Int64] = []
        let sequenceLimit = Int64(numRowsTotal)
        for group in 0..<groupCount {
            let start = try reader.i64("window tag")
            let lastTime = isSession ? try reader.i64("session last time") : 0
            updated.append(hasTimes ? try reader.i64("last update time") : .min)
            let groupFlags = try reader.u8("group flags")
            guard groupFlags <= (mode == .update ? 1 : 0) else {
                throw .checkpoint("aggregation snapshot: group flags \(groupFlags) in \(mode) mode")
            }
            try checkWindow(start: start, lastTime: lastTime)
            let keyRange = try reader.lengthPrefixed("group key")
            guard reader.withBytes(keyRange, { codec.isWellFormed($0) }) else {
                throw .checkpoint("aggregation snapshot: group key \(group) is not a valid key for \(codec.types)")
            }
            reader.withBytes(keyRange) { keyBuffer.append($0) }
            starts.append(start)
            lastTimes.append(lastTime)
            changed.append(groupFlags == 1)
            for index in states.indices {
                try states[index].read(group, from: &reader, sequenceLimit: sequenceLimit)
            }
        }
        guard reader.remaining == 0 else {
            throw .checkpoint("aggregation snapshot has \(reader.remaining) bytes after its last group")
        }

        let keyHashes = codec.keyHashes(keyBuffer)
        for group in 0..<groupCount {
            let slot: Int32
            if isSession {
                let (keyId, _) = keyBuffer.withKey(group) {
                    keys.findOrInsert(hash: GroupKeyHasher.finalize(keyHashes[group], tag: 0), tag: 0, key: $0)
                }
                sessions.ensureKeyCapacity(keys.entryCapacity)
                slot = sessions.allocate(key: keyId, start: starts[group], maxTime: lastTimes[group])
            } else {
                let (id, inserted) = keyBuffer.withKey(group) {
                    keys.findOrInsert(hash: GroupKeyHasher.finalize(keyHashes[group], tag: starts[group]), tag: starts[group], key: $0)
                }
                guard inserted else { throw .checkpoint("aggregation snapshot lists group \(group) twice") }
                slot = id
            }
            precondition(slot == Int32(group), "restored slots are allocated in order")
        }
        if isSession { try chainRestoredSessions(groupCount) }
        ensureSlotCapacity()
        for group in 0..<groupCount where changed[group] {
            slotDirty[group] = 1
            dirtyList.append(Int32(group))
        }
        if stateTTLMs != nil {
            for group in 0..<groupCount { slotUpdatedMs[group] = updated[group] }
            oldestUpdateMs = .min
        }
        forgetChanges()
    }

    /// Frame flag bit 1: group records carry their last update time (a plain group-by with a TTL).
    static let updateTimesFlag: UInt16 = 2

    var carriesUpdateTimes: Bool { stateTTLMs != nil }

    /// Checks a frame (magic, version, flags, length, checksum, plan) and reads its counters into the
    /// operator; returns a reader at the first record and the frame's flags.
    mutating func openFrame(
        _ bytes: [UInt8], magic: [UInt8], what: String, allowedFlags: UInt16
    ) throws(EngineError) -> (AggregateSnapshotReader, UInt16) {
        let header = Self.snapshotHeaderBytes
        guard bytes.count >= header + 4 else {
            throw .checkpoint("\(what) is \(bytes.count) bytes, shorter than its header and checksum")
        }
        guard Array(bytes[0..<4]) == magic else {
            throw .checkpoint("not an \(what) (magic \(bytes[0..<4].map { String($0, radix: 16) }))")
        }
        var reader = AggregateSnapshotReader(bytes, from: 4)
        let version = try reader.u16("version")
        guard version == Self.snapshotVersion else {
            throw .checkpoint("\(what) version \(version) is not supported (this build reads \(Self.snapshotVersion))")
        }
        let flags = try reader.u16("flags")
        guard flags & ~allowedFlags == 0 else { throw .checkpoint("\(what) has unknown flags \(flags)") }
        let payloadLength = try reader.u64("payload length")
        guard payloadLength == UInt64(bytes.count - header - 4) else {
            throw .checkpoint("\(what) payload length \(payloadLength) does not match its \(bytes.count) bytes")
        }
        let end = bytes.count - 4
        var trailer = AggregateSnapshotReader(bytes, from: end)
        let stored = try trailer.u32("checksum")
        let computed = SnapshotChecksum.crc32c(bytes, range: 0..<end)
        guard stored == computed else {
            throw .checkpoint("\(what) checksum mismatch (stored \(stored), computed \(computed)): the file is damaged")
        }

        reader = AggregateSnapshotReader(bytes, from: header, end: end)
        var plan = AggregateSnapshotWriter()
        writePlan(&plan)
        guard reader.remaining >= plan.count, Array(bytes[header..<(header + plan.count)]) == plan.bytes else {
            throw .checkpoint("\(what) was written for a different aggregation (window, mode, key types or aggregates differ from \(name))")
        }
        reader = AggregateSnapshotReader(bytes, from: header + plan.count, end: end)

        watermarkMs = try reader.i64("watermark")
        func counter(_ field: String) throws(EngineError) -> Int {
            // Bounded so that counting on from a restored value can never overflow.
            let value = try reader.i64(field)
            guard value >= 0 && value <= Self.counterLimit else {
                throw .checkpoint("\(what): \(field) is \(value), outside 0...\(Self.counterLimit)")
            }
            return Int(value)
        }
        numRowsTotal = try counter("rows total")
        numRowsUpdated = try counter("groups updated")
        numRowsDroppedByWatermark = try counter("rows dropped by watermark")
        numRowsWithNullTime = try counter("rows with NULL time")
        return (reader, flags)
    }

    /// Window tags must be on the window's grid; sessions must not end before they start; every time
    /// must be in the range where window arithmetic cannot overflow.
    func checkWindow(start: Int64, lastTime: Int64) throws(EngineError) {
        let limit = WindowSpec.maxEventTimeMagnitudeMs
        let valid: Bool
        switch window {
        case .none:
            valid = start == 0
        case .tumbling(let size, let offset):
            valid = start >= -limit - size && start <= limit
                && WindowSpec.tumblingStart(start, size: size, offset: WindowSpec.normalizedOffset(offset, size: size)) == start
        case .hopping(let size, let slide):
            valid = start >= -limit - size && start <= limit && floorDivMod(start, slide).1 == 0
        case .cumulating(_, let step):
            // The tag is the window's end: after some event time, on the step grid.
            valid = start > -limit && start <= limit + step && floorDivMod(start, step).1 == 0
        case .session:
            valid = start >= -limit && lastTime <= limit && start <= lastTime
        }
        guard valid else {
            throw .checkpoint("aggregation snapshot: window [\(start), \(lastTime)] does not fit \(window)")
        }
    }

    /// Chains restored sessions per key in start order; sessions of a key must be disjoint and not
    /// touch (they would have merged).
    private mutating func chainRestoredSessions(_ count: Int) throws(EngineError) {
        var byKey: [Int32: [Int32]] = [:]
        for slot in 0..<Int32(count) { byKey[sessions.keyIds[Int(slot)], default: []].append(slot) }
        for (key, var slots) in byKey {
            slots.sort { sessions.start($0) < sessions.start($1) }
            for position in slots.indices.dropFirst() where sessions.start(slots[position]) <= sessions.end(slots[position - 1]) {
                throw .checkpoint("aggregation snapshot: two sessions of one key overlap")
            }
            sessions.setSessions(ofKey: key, slots)
        }
        for slot in 0..<Int32(count) { sessions.pushEnd(slot) }
    }
}
