/// Maps (tag, encoded group key) to a dense entry id. The tag is the window start for tumbling and
/// hopping windows and 0 for sessions and plain group-by.
///
/// State is partitioned by tag: each tag (window) has its own open-addressing index (linear probing,
/// power-of-two capacity, grows at load 0.7) and member list, while entries (tag, hash, key location)
/// and key bytes live in shared arrays: an arena for keys and a free list for ids, so accumulator
/// arrays indexed by id stay dense however many windows come and go. Closing a window drops its whole
/// partition: its index array is recycled for a later window and its ids go back to the free list, in
/// O(its groups) with no probing, never a scan of other windows' state. Single entries can also be
/// removed (sessions' keys), by backward shift so indexes have no tombstones. The arena collects the
/// bytes of removed keys as garbage and is compacted when garbage passes half of it.
///
/// Every array is pre-sized and grown explicitly, so the batch loop (`resolve`) runs on raw buffers and
/// leaves the loop only when an insert needs more room.
struct GroupKeyTable: Sendable {
    struct Entry: Sendable {
        /// The finalised table hash (`GroupKeyHasher.finalize(keyHash, tag:)`), kept for growth and removal.
        var hash: UInt64
        var tag: Int64
        /// The key's first 16 bytes (`ShortBytes`): probes compare these, and go to the arena only for
        /// longer keys.
        var word0: UInt64
        var word1: UInt64
        var keyOffset: Int
        /// The key's byte length, or -1 when the id is free.
        var keyLength: Int32
        static let free = Entry(hash: 0, tag: 0, word0: 0, word1: 0, keyOffset: 0, keyLength: -1)
    }

    struct Partition: Sendable {
        var tag: Int64
        var index: [HashIndexSlot]
        var liveCount = 0
        /// Entry ids of the partition in creation order (when the table tracks members).
        var members: [Int32] = []
    }

    /// Whether partitions list their members (windows: evicted whole). Session keys are removed one by
    /// one instead and are not listed.
    let tracksMembers: Bool
    /// Ascending by tag.
    private(set) var partitions: [Partition] = []
    private var lastPartition = 0
    /// Index arrays of dropped partitions, cleared and reused by new ones (a new window is usually as
    /// big as the one that just closed).
    private var spareIndexes: [[HashIndexSlot]] = []
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
    static let maxSpareIndexes = 2
    /// The most entries one table holds (ids are Int32).
    static let maxEntries = Int(Int32.max) / 2

    init(tracksMembers: Bool) {
        self.tracksMembers = tracksMembers
        entries = Array(repeating: .free, count: Self.initialEntryCapacity)
        arena = Array(repeating: 0, count: Self.initialArenaCapacity)
    }

    var entryCapacity: Int { entries.count }

    /// The smallest tag with entries (the earliest open window).
    var firstTag: Int64? { partitions.first?.tag }

    /// Bytes held by the table's storage (capacities, not just live entries: that is what memory holds).
    var bytesHeld: Int {
        var bytes = entries.capacity * MemoryLayout<Entry>.stride + arena.capacity + freeIds.capacity * 4
            + partitions.capacity * MemoryLayout<Partition>.stride
        for partition in partitions {
            bytes += partition.index.capacity * MemoryLayout<HashIndexSlot>.stride + partition.members.capacity * 4
        }
        for spare in spareIndexes { bytes += spare.capacity * MemoryLayout<HashIndexSlot>.stride }
        return bytes
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

    /// Calls `body` with the whole arena; entry keys are at `entries[id].keyOffset`. For sorting and
    /// output, where fetching each key through a closure would cost more than using it.
    func withArena<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        arena.withUnsafeBytes(body)
    }

    /// Every member of every partition, by partition (windows in order).
    var allMembers: [Int32] { partitions.flatMap(\.members) }

    // MARK: partitions

    /// The position of the partition for `tag`, created if needed.
    private mutating func partitionPosition(_ tag: Int64) -> Int {
        if lastPartition < partitions.count && partitions[lastPartition].tag == tag { return lastPartition }
        var low = 0, high = partitions.count
        while low < high {
            let middle = (low + high) / 2
            if partitions[middle].tag < tag { low = middle + 1 } else { high = middle }
        }
        if low == partitions.count || partitions[low].tag != tag {
            var index = spareIndexes.popLast() ?? Array(repeating: .empty, count: Self.initialIndexCapacity)
            for position in index.indices { index[position] = .empty }
            partitions.insert(Partition(tag: tag, index: index), at: low)
        }
        lastPartition = low
        return low
    }

    private func existingPartition(_ tag: Int64) -> Int? {
        var low = 0, high = partitions.count
        while low < high {
            let middle = (low + high) / 2
            if partitions[middle].tag < tag { low = middle + 1 } else { high = middle }
        }
        return low < partitions.count && partitions[low].tag == tag ? low : nil
    }

    /// Drops the partition with the smallest tag and frees its entries; returns their ids. The keys'
    /// bytes stay readable until the next insert.
    mutating func removeFirstPartition() -> [Int32] {
        precondition(tracksMembers, "partitions are dropped whole only when they list their members")
        let partition = partitions.removeFirst()
        lastPartition = 0
        for id in partition.members {
            arenaGarbage += Int(entries[Int(id)].keyLength)
            entries[Int(id)] = .free
        }
        freeIds.append(contentsOf: partition.members.reversed())
        liveCount -= partition.liveCount
        if spareIndexes.count < Self.maxSpareIndexes { spareIndexes.append(partition.index) }
        return partition.members
    }

    /// Frees the members of the partition tagged `tag` for which `expired` is true (state TTL in a
    /// plain group-by); returns their ids. O(the partition's members).
    mutating func removeMembers(ofPartition tag: Int64, where expired: (Int32) -> Bool) -> [Int32] {
        precondition(tracksMembers, "members are removed from tables that list them")
        guard let position = existingPartition(tag) else { return [] }
        var removed: [Int32] = []
        var kept: [Int32] = []
        kept.reserveCapacity(partitions[position].members.count)
        for id in partitions[position].members {
            guard expired(id) else {
                kept.append(id)
                continue
            }
            let entry = entries[Int(id)]
            partitions[position].index.removeSlot(hash: entry.hash, id: id)
            arenaGarbage += Int(entry.keyLength)
            entries[Int(id)] = .free
            freeIds.append(id)
            removed.append(id)
        }
        partitions[position].members = kept
        partitions[position].liveCount -= removed.count
        liveCount -= removed.count
        return removed
    }

    // MARK: lookups

    /// Finds or inserts the entry of each pair: pair `p` has the key of row `pairRows[p]` (key bytes in
    /// `keys`, key hash in `rowHashes`) and tag `pairTags[p]` (0 when nil). Writes the entry ids to
    /// `slots[0 ..< pairCount]` and appends ids created here to `created`. `tagStep` is the distance
    /// between tags (window starts), used to bucket pairs by tag; `order` is a scratch buffer.
    mutating func resolve(
        pairCount: Int, pairRows: [Int32], pairTags: [Int64]?, tagStep: Int64, rowHashes: [UInt64],
        keys: GroupKeyCodec.Buffer, slots: inout [Int32], created: inout [Int32], order: inout [Int32]
    ) {
        precondition(slots.count >= pairCount && pairRows.count >= pairCount, "pair arrays too short")
        precondition(pairTags.map { $0.count >= pairCount } ?? true, "pair tags too short")
        guard pairCount > 0 else { return }
        // Group pairs by tag (a stable counting sort by (tag - lowest) / step), so each partition's
        // index is borrowed once per batch rather than once per pair.
        var lowest = Int64.max, highest = Int64.min
        if let pairTags {
            for pair in 0..<pairCount {
                lowest = Swift.min(lowest, pairTags[pair])
                highest = Swift.max(highest, pairTags[pair])
            }
        } else {
            (lowest, highest) = (0, 0)
        }
        order.removeAll(keepingCapacity: true)
        var runs: [(tag: Int64, range: Range<Int>)] = []
        let (span, overflow) = highest.subtractingReportingOverflow(lowest)
        if lowest == highest {
            order.append(contentsOf: (0..<Int32(pairCount)))
            runs.append((lowest, 0..<pairCount))
        } else if !overflow && span / tagStep < 1 << 16 {
            let bucketCount = Int(span / tagStep) + 1
            var starts = [Int](repeating: 0, count: bucketCount + 1)
            let tags = pairTags!
            for pair in 0..<pairCount { starts[Int((tags[pair] - lowest) / tagStep) + 1] += 1 }
            for bucket in 0..<bucketCount { starts[bucket + 1] += starts[bucket] }
            order.append(contentsOf: repeatElement(0, count: pairCount))
            var cursors = starts
            for pair in 0..<pairCount {
                let bucket = Int((tags[pair] - lowest) / tagStep)
                order[cursors[bucket]] = Int32(pair)
                cursors[bucket] += 1
            }
            for bucket in 0..<bucketCount where starts[bucket + 1] > starts[bucket] {
                runs.append((lowest + Int64(bucket) * tagStep, starts[bucket]..<starts[bucket + 1]))
            }
        } else {
            let tags = pairTags!
            order.append(contentsOf: (0..<Int32(pairCount)))
            order.sort { tags[Int($0)] < tags[Int($1)] || (tags[Int($0)] == tags[Int($1)] && $0 < $1) }
            var start = 0
            while start < pairCount {
                var end = start + 1
                while end < pairCount && tags[Int(order[end])] == tags[Int(order[start])] { end += 1 }
                runs.append((tags[Int(order[start])], start..<end))
                start = end
            }
        }
        for run in runs {
            var next = run.range.lowerBound
            while next < run.range.upperBound {
                let position = partitionPosition(run.tag)
                next = resolveRun(
                    partition: position, tag: run.tag, from: next, to: run.range.upperBound, order: order,
                    pairRows: pairRows, rowHashes: rowHashes, keys: keys, slots: &slots, created: &created)
                if next < run.range.upperBound {
                    let row = Int(pairRows[Int(order[next])])
                    reserveForOneMore(partition: position, keyLength: keys.offsets[row + 1] - keys.offsets[row])
                }
            }
        }
    }

    /// The batch loop for one partition on raw buffers; returns where it stopped (an insert that needs
    /// room, or the end of the run).
    private mutating func resolveRun(
        partition: Int, tag: Int64, from start: Int, to end: Int, order: [Int32], pairRows: [Int32],
        rowHashes: [UInt64], keys: GroupKeyCodec.Buffer, slots: inout [Int32], created: inout [Int32]
    ) -> Int {
        var indexLocal = takeArray(&partitions[partition].index)
        var membersLocal = takeArray(&partitions[partition].members)
        var partitionLive = partitions[partition].liveCount
        var entriesLocal = takeArray(&entries)
        var arenaLocal = takeArray(&arena)
        defer {
            partitions[partition].index = indexLocal
            partitions[partition].members = membersLocal
            partitions[partition].liveCount = partitionLive
            entries = entriesLocal
            arena = arenaLocal
        }
        let mask = indexLocal.count - 1
        let maxLive = indexLocal.count / 10 * 7
        let rowOffsets = keys.offsets.span
        let rows = pairRows.span
        let hashes = rowHashes.span
        let pairs = order.span
        let tracks = tracksMembers
        var position = start
        // Probing a large index misses the cache on nearly every row. Touching the index slot of the row
        // `lookahead` rows ahead lets the CPU overlap those misses with the current row's work.
        let lookahead = 4
        var touched: UInt64 = 0
        indexLocal.withUnsafeMutableBufferPointer { index in
            entriesLocal.withUnsafeMutableBufferPointer { entryBuffer in
                arenaLocal.withUnsafeMutableBytes { arenaBytes in
                    keys.bytes.withUnsafeBytes { keyBytes in
                        slots.withUnsafeMutableBufferPointer { out in
                            while position < end {
                                if position + lookahead < end {
                                    let ahead = GroupKeyHasher.finalize(hashes[Int(rows[Int(pairs[position + lookahead])])], tag: tag)
                                    touched &+= index[Int(truncatingIfNeeded: ahead) & mask].hash
                                }
                                let pair = Int(pairs[position])
                                let row = Int(rows[pair])
                                let hash = GroupKeyHasher.finalize(hashes[row], tag: tag)
                                let keyStart = rowOffsets[row]
                                let keyLength = rowOffsets[row + 1] - keyStart
                                let key = keyBytes.baseAddress.map { $0 + keyStart }
                                let (word0, word1) = ShortBytes.prefixWords(key, keyLength, available: keyBytes.count - keyStart)
                                var probe = Int(truncatingIfNeeded: hash) & mask
                                var found: Int32 = -1
                                while true {
                                    let slot = index[probe]
                                    if slot.id < 0 { break }
                                    if slot.hash == hash {
                                        let entry = entryBuffer[Int(slot.id)]
                                        if Int(entry.keyLength) == keyLength && entry.word0 == word0 && entry.word1 == word1
                                            && (keyLength <= 16
                                                || GroupKeyCodec.bytesEqual(arenaBytes.baseAddress! + entry.keyOffset + 16, key! + 16, keyLength - 16))
                                        {
                                            found = slot.id
                                            break
                                        }
                                    }
                                    probe = (probe + 1) & mask
                                }
                                if found < 0 {
                                    // Insert, if every array has room; otherwise leave for the caller to grow.
                                    guard partitionLive < maxLive, arenaUsed + keyLength <= arenaBytes.count,
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
                                    entryBuffer[Int(id)] = Entry(
                                        hash: hash, tag: tag, word0: word0, word1: word1, keyOffset: arenaUsed, keyLength: Int32(keyLength))
                                    arenaUsed += keyLength
                                    index[probe] = HashIndexSlot(hash: hash, id: id)
                                    partitionLive += 1
                                    liveCount += 1
                                    if tracks { membersLocal.append(id) }
                                    created.append(id)
                                    found = id
                                }
                                out[pair] = found
                                position += 1
                            }
                        }
                    }
                }
            }
        }
        touchSink = touched
        return position
    }

    /// Keeps the look-ahead loads of `resolveRun` from being optimised away.
    private var touchSink: UInt64 = 0

    /// Finds or inserts one key (with its finalised hash). For callers that resolve few distinct keys
    /// per batch (the dictionary path, restore), where the batch loop's setup would dominate.
    mutating func findOrInsert(hash: UInt64, tag: Int64, key: UnsafeRawBufferPointer) -> (id: Int32, inserted: Bool) {
        let position = partitionPosition(tag)
        if let id = find(partition: position, hash: hash, key: key) { return (id, false) }
        reserveForOneMore(partition: position, keyLength: key.count)
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
        let (word0, word1) = ShortBytes.prefixWords(key.baseAddress, key.count, available: key.count)
        entries[Int(id)] = Entry(hash: hash, tag: tag, word0: word0, word1: word1, keyOffset: arenaUsed, keyLength: Int32(key.count))
        arenaUsed += key.count
        partitions[position].index.insertSlot(hash: hash, id: id)
        partitions[position].liveCount += 1
        if tracksMembers { partitions[position].members.append(id) }
        liveCount += 1
        return (id, true)
    }

    private func find(partition: Int, hash: UInt64, key: UnsafeRawBufferPointer) -> Int32? {
        let index = partitions[partition].index
        let mask = index.count - 1
        var probe = Int(truncatingIfNeeded: hash) & mask
        let (word0, word1) = ShortBytes.prefixWords(key.baseAddress, key.count, available: key.count)
        return arena.withUnsafeBytes { arenaBytes -> Int32? in
            while true {
                let slot = index[probe]
                if slot.id < 0 { return nil }
                if slot.hash == hash {
                    let entry = entries[Int(slot.id)]
                    if Int(entry.keyLength) == key.count && entry.word0 == word0 && entry.word1 == word1
                        && (key.count <= 16
                            || GroupKeyCodec.bytesEqual(arenaBytes.baseAddress! + entry.keyOffset + 16, key.baseAddress! + 16, key.count - 16))
                    {
                        return slot.id
                    }
                }
                probe = (probe + 1) & mask
            }
        }
    }

    /// Removes entry `id` (tables that do not track members: sessions' keys); its id goes to the free
    /// list and its key bytes become arena garbage.
    mutating func remove(_ id: Int32) {
        precondition(!tracksMembers, "listed members are removed with their partition")
        let entry = entries[Int(id)]
        precondition(entry.keyLength >= 0, "removing a free group entry")
        guard let position = existingPartition(entry.tag) else { preconditionFailure("group entry without a partition") }
        partitions[position].index.removeSlot(hash: entry.hash, id: id)
        partitions[position].liveCount -= 1
        liveCount -= 1
        arenaGarbage += Int(entry.keyLength)
        entries[Int(id)] = .free
        freeIds.append(id)
    }

    /// Forgets every entry, keeping the entry and arena capacity (end of input).
    mutating func removeAll() {
        for partition in partitions.prefix(Self.maxSpareIndexes - spareIndexes.count) { spareIndexes.append(partition.index) }
        partitions.removeAll()
        lastPartition = 0
        for id in 0..<highWater { entries[id] = .free }
        liveCount = 0
        highWater = 0
        freeIds.removeAll(keepingCapacity: true)
        arenaUsed = 0
        arenaGarbage = 0
    }

    /// Makes sure one more key of `keyLength` bytes can go into partition `position` without growing.
    private mutating func reserveForOneMore(partition position: Int, keyLength: Int) {
        if partitions[position].index.isFull(adding: partitions[position].liveCount) {
            rebuildIndex(partition: position, capacity: partitions[position].index.count * 2)
        }
        if freeIds.isEmpty && highWater == entries.count {
            precondition(entries.count < Self.maxEntries, "group table past \(Self.maxEntries) entries")
            entries.append(contentsOf: repeatElement(.free, count: entries.count))
        }
        if arenaUsed + keyLength > arena.count || arenaGarbage > Swift.max(4096, arenaUsed / 2) {
            compactArena(minimumFree: keyLength)
        }
    }

    private mutating func rebuildIndex(partition position: Int, capacity: Int) {
        var index = [HashIndexSlot](repeating: .empty, count: capacity)
        let tag = partitions[position].tag
        if tracksMembers {
            for id in partitions[position].members { index.insertSlot(hash: entries[Int(id)].hash, id: id) }
        } else {
            for id in 0..<highWater where entries[id].keyLength >= 0 && entries[id].tag == tag {
                index.insertSlot(hash: entries[id].hash, id: Int32(id))
            }
        }
        partitions[position].index = index
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
