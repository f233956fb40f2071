/// Maps (tag, encoded group key) to a dense entry id: an open-addressing hash table (linear probing,
/// power-of-two capacity, grows at load 0.7, deletion by backward shift so there are no tombstones)
/// over entries whose keys live in one byte arena.
///
/// The tag is the window start for tumbling and hopping windows (so an entry is one group: a window and
/// a key) and 0 for sessions and plain group-by. Ids are reused through a free list, so accumulator
/// arrays indexed by id stay dense however many windows have come and gone. The arena collects the
/// bytes of removed keys as garbage and is compacted when garbage passes half of it, which keeps
/// removal O(1) amortised.
///
/// Every array is pre-sized to its capacity and grown explicitly, so the batch loop (`resolve`) runs on
/// raw buffers and leaves the loop only when an insert would need more room.
struct GroupKeyTable: Sendable {
    struct Entry: Sendable {
        var tag: Int64
        /// The finalised table hash (`GroupKeyHasher.finalize(keyHash, tag:)`), kept for growth and removal.
        var hash: UInt64
        var keyOffset: Int
        /// The key's byte length, or -1 when the id is free.
        var keyLength: Int32
        static let free = Entry(tag: 0, hash: 0, keyOffset: 0, keyLength: -1)
    }

    private(set) var index: [HashIndexSlot]
    private(set) var liveCount = 0
    private(set) var entries: [Entry]
    /// Ids below this have been handed out at least once.
    private(set) var highWater = 0
    private var freeIds: [Int32] = []
    private var arena: [UInt8]
    private var arenaUsed = 0
    private var arenaGarbage = 0

    static let initialIndexCapacity = 64
    static let initialEntryCapacity = 32
    static let initialArenaCapacity = 1024
    /// The most entries one table holds (ids are Int32).
    static let maxEntries = Int(Int32.max) / 2

    init() {
        index = Array(repeating: .empty, count: Self.initialIndexCapacity)
        entries = Array(repeating: .free, count: Self.initialEntryCapacity)
        arena = Array(repeating: 0, count: Self.initialArenaCapacity)
    }

    var entryCapacity: Int { entries.count }

    /// Bytes held by the table's storage (capacities, not just live entries: that is what memory holds).
    var bytesHeld: Int {
        index.capacity * MemoryLayout<HashIndexSlot>.stride + entries.capacity * MemoryLayout<Entry>.stride
            + arena.capacity + freeIds.capacity * MemoryLayout<Int32>.stride
    }

    func isLive(_ id: Int32) -> Bool { entries[Int(id)].keyLength >= 0 }

    func tag(_ id: Int32) -> Int64 { entries[Int(id)].tag }

    /// Calls `body` with the key bytes of entry `id`.
    func withKey<R>(_ id: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let entry = entries[Int(id)]
        precondition(entry.keyLength >= 0, "reading the key of a free group entry")
        return arena.withUnsafeBytes {
            body(UnsafeRawBufferPointer(rebasing: $0[entry.keyOffset..<(entry.keyOffset + Int(entry.keyLength))]))
        }
    }

    /// Calls `body` with the whole arena; entry keys are at `entries[id].keyOffset`. For sorting, where
    /// fetching each key through a closure would cost more than the compare.
    func withArena<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        arena.withUnsafeBytes(body)
    }

    /// Finds or inserts the entry of each pair: pair `p` has the key of row `pairRows[p]` (key bytes in
    /// `keys`, key hash in `rowHashes`) and tag `pairTags[p]` (0 when nil). Writes the entry ids to
    /// `slots[0 ..< pairCount]` and appends ids created here to `created`, in creation order.
    mutating func resolve(
        pairCount: Int, pairRows: [Int32], pairTags: [Int64]?, rowHashes: [UInt64], keys: GroupKeyCodec.Buffer,
        slots: inout [Int32], created: inout [Int32]
    ) {
        precondition(slots.count >= pairCount && pairRows.count >= pairCount, "pair arrays too short")
        precondition(pairTags.map { $0.count >= pairCount } ?? true, "pair tags too short")
        var next = 0
        while next < pairCount {
            next = resolveRun(
                from: next, pairCount: pairCount, pairRows: pairRows, pairTags: pairTags, rowHashes: rowHashes,
                keys: keys, slots: &slots, created: &created)
            if next < pairCount {
                let row = Int(pairRows[next])
                reserveForOneMore(keyLength: keys.offsets[row + 1] - keys.offsets[row])
            }
        }
    }

    /// The batch loop on raw buffers; returns where it stopped (an insert that needs room, or the end).
    private mutating func resolveRun(
        from start: Int, pairCount: Int, pairRows: [Int32], pairTags: [Int64]?, rowHashes: [UInt64],
        keys: GroupKeyCodec.Buffer, slots: inout [Int32], created: inout [Int32]
    ) -> Int {
        var indexLocal = takeArray(&index)
        var entriesLocal = takeArray(&entries)
        var arenaLocal = takeArray(&arena)
        defer {
            index = indexLocal
            entries = entriesLocal
            arena = arenaLocal
        }
        let mask = indexLocal.count - 1
        let maxLive = indexLocal.count / 10 * 7
        let rowOffsets = keys.offsets.span
        let rows = pairRows.span
        let hashes = rowHashes.span
        var position = start
        indexLocal.withUnsafeMutableBufferPointer { slotsIndex in
            entriesLocal.withUnsafeMutableBufferPointer { entryBuffer in
                arenaLocal.withUnsafeMutableBytes { arenaBytes in
                    keys.bytes.withUnsafeBytes { keyBytes in
                        slots.withUnsafeMutableBufferPointer { out in
                            while position < pairCount {
                                let row = Int(rows[position])
                                let tag = pairTags?[position] ?? 0
                                let hash = GroupKeyHasher.finalize(hashes[row], tag: tag)
                                let keyStart = rowOffsets[row]
                                let keyLength = rowOffsets[row + 1] - keyStart
                                let key = keyBytes.baseAddress.map { $0 + keyStart }
                                var probe = Int(truncatingIfNeeded: hash) & mask
                                var found: Int32 = -1
                                while true {
                                    let slot = slotsIndex[probe]
                                    if slot.id < 0 { break }
                                    if slot.hash == hash {
                                        let entry = entryBuffer[Int(slot.id)]
                                        if entry.tag == tag && Int(entry.keyLength) == keyLength
                                            && (keyLength == 0
                                                || GroupKeyCodec.bytesEqual(arenaBytes.baseAddress! + entry.keyOffset, key!, keyLength))
                                        {
                                            found = slot.id
                                            break
                                        }
                                    }
                                    probe = (probe + 1) & mask
                                }
                                if found < 0 {
                                    // Insert, if every array has room; otherwise leave for the caller to grow.
                                    guard liveCount < maxLive, arenaUsed + keyLength <= arenaBytes.count,
                                        !freeIds.isEmpty || highWater < entryBuffer.count
                                    else { return }
                                    let id: Int32
                                    if let reused = freeIds.popLast() {
                                        id = reused
                                    } else {
                                        id = Int32(highWater)
                                        highWater += 1
                                    }
                                    if keyLength > 0 {
                                        (arenaBytes.baseAddress! + arenaUsed).copyMemory(from: key!, byteCount: keyLength)
                                    }
                                    entryBuffer[Int(id)] = Entry(tag: tag, hash: hash, keyOffset: arenaUsed, keyLength: Int32(keyLength))
                                    arenaUsed += keyLength
                                    slotsIndex[probe] = HashIndexSlot(hash: hash, id: id)
                                    liveCount += 1
                                    created.append(id)
                                    found = id
                                }
                                out[position] = found
                                position += 1
                            }
                        }
                    }
                }
            }
        }
        return position
    }

    /// Finds or inserts one key (with its finalised hash). For callers that resolve few distinct keys
    /// per batch (the dictionary path, sessions' restore), where the batch loop's setup would dominate.
    mutating func findOrInsert(hash: UInt64, tag: Int64, key: UnsafeRawBufferPointer) -> (id: Int32, inserted: Bool) {
        if let id = find(hash: hash, tag: tag, key: key) { return (id, false) }
        reserveForOneMore(keyLength: key.count)
        let id: Int32
        if let reused = freeIds.popLast() {
            id = reused
        } else {
            id = Int32(highWater)
            highWater += 1
        }
        if key.count > 0 {
            arena.withUnsafeMutableBytes { ($0.baseAddress! + arenaUsed).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        }
        entries[Int(id)] = Entry(tag: tag, hash: hash, keyOffset: arenaUsed, keyLength: Int32(key.count))
        arenaUsed += key.count
        index.insertSlot(hash: hash, id: id)
        liveCount += 1
        return (id, true)
    }

    func find(hash: UInt64, tag: Int64, key: UnsafeRawBufferPointer) -> Int32? {
        let mask = index.count - 1
        var probe = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBytes { arenaBytes -> Int32? in
            while true {
                let slot = index[probe]
                if slot.id < 0 { return nil }
                if slot.hash == hash {
                    let entry = entries[Int(slot.id)]
                    if entry.tag == tag && Int(entry.keyLength) == key.count
                        && (key.count == 0 || GroupKeyCodec.bytesEqual(arenaBytes.baseAddress! + entry.keyOffset, key.baseAddress!, key.count))
                    {
                        return slot.id
                    }
                }
                probe = (probe + 1) & mask
            }
        }
    }

    /// Removes entry `id`; its id goes to the free list and its key bytes become arena garbage.
    mutating func remove(_ id: Int32) {
        let entry = entries[Int(id)]
        precondition(entry.keyLength >= 0, "removing a free group entry")
        index.removeSlot(hash: entry.hash, id: id)
        liveCount -= 1
        arenaGarbage += Int(entry.keyLength)
        entries[Int(id)] = .free
        freeIds.append(id)
        if arenaGarbage > Swift.max(4096, arenaUsed / 2) { compactArena(minimumFree: 0) }
    }

    /// Forgets every entry, keeping capacity (end of input).
    mutating func removeAll() {
        for position in index.indices { index[position] = .empty }
        for id in 0..<highWater { entries[id] = .free }
        liveCount = 0
        highWater = 0
        freeIds.removeAll(keepingCapacity: true)
        arenaUsed = 0
        arenaGarbage = 0
    }

    /// Makes sure one more key of `keyLength` bytes can be inserted without growing anything.
    mutating func reserveForOneMore(keyLength: Int) {
        if index.isFull(adding: liveCount) { rebuildIndex(capacity: index.count * 2) }
        if freeIds.isEmpty && highWater == entries.count {
            precondition(entries.count < Self.maxEntries, "group table past \(Self.maxEntries) entries")
            entries.append(contentsOf: repeatElement(.free, count: entries.count))
        }
        if arenaUsed + keyLength > arena.count { compactArena(minimumFree: keyLength) }
    }

    private mutating func rebuildIndex(capacity: Int) {
        index = Array(repeating: .empty, count: capacity)
        for id in 0..<highWater where entries[id].keyLength >= 0 {
            index.insertSlot(hash: entries[id].hash, id: Int32(id))
        }
    }

    /// Copies live keys into a fresh arena with at least `minimumFree` bytes free (growing by doubling,
    /// shrinking by half when mostly empty).
    private mutating func compactArena(minimumFree: Int) {
        let live = arenaUsed - arenaGarbage
        var capacity = arena.count
        while capacity < live + minimumFree { capacity *= 2 }
        while capacity > Self.initialArenaCapacity && (live + minimumFree) * 4 < capacity { capacity /= 2 }
        var fresh = [UInt8](repeating: 0, count: capacity)
        var used = 0
        fresh.withUnsafeMutableBytes { target in
            arena.withUnsafeBytes { source in
                for id in 0..<highWater where entries[id].keyLength > 0 {
                    let length = Int(entries[id].keyLength)
                    (target.baseAddress! + used).copyMemory(from: source.baseAddress! + entries[id].keyOffset, byteCount: length)
                    entries[id].keyOffset = used
                    used += length
                }
            }
        }
        arena = fresh
        arenaUsed = used
        arenaGarbage = 0
    }
}
