/// The value sets of count(DISTINCT col) for every group at once: one open-addressing table keyed by
/// (group, value) instead of a `Set` per group, so a group costs no heap object and a value costs one
/// 32-byte entry plus its index slot. Each group's entries are chained (`next`), so evicting or merging
/// a group is O(its values), never O(all values).
///
/// Fixed-width values are stored as 64-bit patterns (floats normalised: -0.0 as 0.0, one NaN); strings
/// in a byte arena compacted when half garbage. NULLs never reach the table.
struct DistinctValueTable: Sendable {
    struct Entry: Sendable {
        var hash: UInt64
        /// The value's bits, or for strings its arena offset.
        var value: UInt64
        /// The owning group, or -1 when the entry is free.
        var group: Int32
        /// The next entry of the same group, or -1.
        var next: Int32
        /// The string's byte length (strings only).
        var length: Int32
        static let free = Entry(hash: 0, value: 0, group: -1, next: -1, length: 0)
    }

    let storesBytes: Bool
    private var index: [HashIndexSlot] = Array(repeating: .empty, count: 64)
    private var entries: [Entry] = []
    private var freeIds: [Int32] = []
    private(set) var liveCount = 0
    /// First entry of each group's chain, indexed by group slot (-1: empty set).
    private var heads: [Int32] = []
    private var arena: [UInt8] = []
    private var arenaGarbage = 0

    init(storesBytes: Bool) {
        self.storesBytes = storesBytes
    }

    var bytesHeld: Int {
        index.capacity * MemoryLayout<HashIndexSlot>.stride + entries.capacity * MemoryLayout<Entry>.stride
            + freeIds.capacity * 4 + heads.capacity * 4 + arena.capacity
    }

    mutating func ensureGroups(_ groups: Int) {
        if heads.count < groups { heads.append(contentsOf: repeatElement(-1, count: groups - heads.count)) }
    }

    /// Adds a fixed-width value (bits) to `group`'s set; true when it was not there yet.
    mutating func insert(group: Int32, bits: UInt64) -> Bool {
        let hash = GroupKeyHasher.finalize(GroupKeyHasher.mix(bits), tag: Int64(group))
        let mask = index.count - 1
        var probe = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = index[probe]
            if slot.id < 0 { break }
            if slot.hash == hash {
                let entry = entries[Int(slot.id)]
                if entry.group == group && entry.value == bits { return false }
            }
            probe = (probe + 1) & mask
        }
        add(Entry(hash: hash, value: bits, group: group, next: heads[Int(group)], length: 0))
        return true
    }

    /// Adds a string value to `group`'s set; true when it was not there yet. `value` must not point into
    /// this table's arena.
    mutating func insert(group: Int32, bytes value: UnsafeRawBufferPointer) -> Bool {
        let hash = GroupKeyHasher.finalize(GroupKeyHasher.hashBytes(value.baseAddress, value.count), tag: Int64(group))
        let mask = index.count - 1
        var probe = Int(truncatingIfNeeded: hash) & mask
        let found = arena.withUnsafeBytes { arenaBytes -> Bool in
            while true {
                let slot = index[probe]
                if slot.id < 0 { return false }
                if slot.hash == hash {
                    let entry = entries[Int(slot.id)]
                    if entry.group == group && Int(entry.length) == value.count
                        && (value.count == 0
                            || GroupKeyCodec.bytesEqual(arenaBytes.baseAddress! + Int(entry.value), value.baseAddress!, value.count))
                    {
                        return true
                    }
                }
                probe = (probe + 1) & mask
            }
        }
        if found { return false }
        let offset = arena.count
        arena.append(contentsOf: value)
        add(Entry(hash: hash, value: UInt64(offset), group: group, next: heads[Int(group)], length: Int32(value.count)))
        return true
    }

    private mutating func add(_ entry: Entry) {
        if index.isFull(adding: liveCount) { rebuildIndex(capacity: index.count * 2) }
        let id: Int32
        if let reused = freeIds.popLast() {
            id = reused
            entries[Int(id)] = entry
        } else {
            precondition(entries.count < Int(Int32.max), "distinct table past Int32.max values")
            id = Int32(entries.count)
            entries.append(entry)
        }
        heads[Int(entry.group)] = id
        index.insertSlot(hash: entry.hash, id: id)
        liveCount += 1
    }

    /// Empties `group`'s set.
    mutating func removeGroup(_ group: Int32) {
        guard Int(group) < heads.count else { return }
        var id = heads[Int(group)]
        heads[Int(group)] = -1
        while id >= 0 {
            let entry = entries[Int(id)]
            index.removeSlot(hash: entry.hash, id: id)
            arenaGarbage += Int(entry.length)
            entries[Int(id)] = .free
            freeIds.append(id)
            liveCount -= 1
            id = entry.next
        }
        if storesBytes && arenaGarbage > Swift.max(4096, arena.count / 2) { compactArena() }
    }

    /// Adds every value of `source`'s set to `target`'s and empties `source`; returns how many values
    /// were new to `target` (merging sessions).
    mutating func moveGroup(_ source: Int32, into target: Int32) -> Int {
        var added = 0
        if storesBytes {
            for value in stringValues(of: source) where value.withUnsafeBytes({ insert(group: target, bytes: $0) }) {
                added += 1
            }
        } else {
            for bits in bitValues(of: source) where insert(group: target, bits: bits) { added += 1 }
        }
        removeGroup(source)
        return added
    }

    /// `group`'s fixed-width values, ascending (the snapshot's canonical order).
    func bitValues(of group: Int32) -> [UInt64] {
        var values: [UInt64] = []
        var id = Int(group) < heads.count ? heads[Int(group)] : -1
        while id >= 0 {
            values.append(entries[Int(id)].value)
            id = entries[Int(id)].next
        }
        return values.sorted()
    }

    /// `group`'s string values, in byte order.
    func stringValues(of group: Int32) -> [[UInt8]] {
        var values: [[UInt8]] = []
        var id = Int(group) < heads.count ? heads[Int(group)] : -1
        while id >= 0 {
            let entry = entries[Int(id)]
            values.append(Array(arena[Int(entry.value)..<(Int(entry.value) + Int(entry.length))]))
            id = entry.next
        }
        return values.sorted { a, b in
            a.withUnsafeBytes { x in b.withUnsafeBytes { y in GroupKeyCodec.compareBytes(x, y) < 0 } }
        }
    }

    /// Forgets every set, keeping capacity.
    mutating func removeAll() {
        for position in index.indices { index[position] = .empty }
        entries.removeAll(keepingCapacity: true)
        freeIds.removeAll(keepingCapacity: true)
        for group in heads.indices { heads[group] = -1 }
        arena.removeAll(keepingCapacity: true)
        arenaGarbage = 0
        liveCount = 0
    }

    private mutating func rebuildIndex(capacity: Int) {
        index = Array(repeating: .empty, count: capacity)
        for id in entries.indices where entries[id].group >= 0 {
            index.insertSlot(hash: entries[id].hash, id: Int32(id))
        }
    }

    private mutating func compactArena() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - arenaGarbage + 1024)
        for id in entries.indices where entries[id].group >= 0 {
            let start = Int(entries[id].value)
            entries[id].value = UInt64(fresh.count)
            fresh.append(contentsOf: arena[start..<(start + Int(entries[id].length))])
        }
        arena = fresh
        arenaGarbage = 0
    }
}
