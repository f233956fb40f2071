/// The open sessions of a session-window aggregation. A session is a group slot with its own
/// accumulators; each key (an entry of the operator's key table) chains its sessions in start order,
/// disjoint and not touching, so the sessions a new row may merge are found by walking a short list.
///
/// Closing is driven by a min-heap of (end, session, generation): a session pushes its end when it is
/// created or extended; entries whose session has since grown, merged away or closed are stale and
/// skipped when they surface (the generation changes whenever a slot is freed). So closing costs
/// O(closed sessions · log), never a scan of all sessions; the heap is rebuilt when stale entries
/// outnumber live sessions.
struct SessionTable: Sendable {
    struct HeapEntry: Sendable {
        var end: Int64
        var slot: Int32
        var generation: UInt32
    }

    let gap: Int64
    private(set) var starts: [Int64] = []
    /// Largest event time in the session; its end is this plus the gap.
    private(set) var maxTimes: [Int64] = []
    /// The session's key id, or -1 when the slot is free.
    private(set) var keyIds: [Int32] = []
    private var next: [Int32] = []
    private var generations: [UInt32] = []
    /// The end last pushed on the heap for the slot (Int64.min: none).
    private var pushedEnds: [Int64] = []
    private var freeIds: [Int32] = []
    private(set) var highWater = 0
    private(set) var liveCount = 0
    /// First session of each key, indexed by key id (-1: none).
    private var heads: [Int32] = []
    private var heap: [HeapEntry] = []

    init(gap: Int64) {
        self.gap = gap
    }

    var capacity: Int { starts.count }

    var bytesHeld: Int {
        starts.capacity * 8 + maxTimes.capacity * 8 + keyIds.capacity * 4 + next.capacity * 4 + generations.capacity * 4
            + pushedEnds.capacity * 8 + freeIds.capacity * 4 + heads.capacity * 4
            + heap.capacity * MemoryLayout<HeapEntry>.stride
    }

    func end(_ slot: Int32) -> Int64 { maxTimes[Int(slot)] + gap }

    func start(_ slot: Int32) -> Int64 { starts[Int(slot)] }

    func isLive(_ slot: Int32) -> Bool { keyIds[Int(slot)] >= 0 }

    mutating func ensureKeyCapacity(_ keys: Int) {
        if heads.count < keys { heads.append(contentsOf: repeatElement(-1, count: keys - heads.count)) }
    }

    /// A new session slot for `key` (not yet chained: see `setSessions`).
    mutating func allocate(key: Int32, start: Int64, maxTime: Int64) -> Int32 {
        let slot: Int32
        if let reused = freeIds.popLast() {
            slot = reused
        } else {
            if highWater == capacity {
                let added = Swift.max(16, capacity)
                starts.append(contentsOf: repeatElement(0, count: added))
                maxTimes.append(contentsOf: repeatElement(0, count: added))
                keyIds.append(contentsOf: repeatElement(-1, count: added))
                next.append(contentsOf: repeatElement(-1, count: added))
                generations.append(contentsOf: repeatElement(0, count: added))
                pushedEnds.append(contentsOf: repeatElement(.min, count: added))
            }
            slot = Int32(highWater)
            highWater += 1
        }
        let index = Int(slot)
        starts[index] = start
        maxTimes[index] = maxTime
        keyIds[index] = key
        next[index] = -1
        pushedEnds[index] = .min
        liveCount += 1
        return slot
    }

    mutating func update(_ slot: Int32, start: Int64, maxTime: Int64) {
        starts[Int(slot)] = start
        maxTimes[Int(slot)] = maxTime
    }

    /// Frees a slot that is no longer chained (merged away, or closed and unchained by `unchain`).
    mutating func free(_ slot: Int32) {
        let index = Int(slot)
        precondition(keyIds[index] >= 0, "freeing a free session")
        keyIds[index] = -1
        next[index] = -1
        generations[index] &+= 1
        freeIds.append(slot)
        liveCount -= 1
    }

    /// `key`'s sessions in start order.
    func sessions(ofKey key: Int32) -> [Int32] {
        var result: [Int32] = []
        var slot = heads[Int(key)]
        while slot >= 0 {
            result.append(slot)
            slot = next[Int(slot)]
        }
        return result
    }

    /// Replaces `key`'s chain by `slots` (start order).
    mutating func setSessions(ofKey key: Int32, _ slots: [Int32]) {
        heads[Int(key)] = slots.first ?? -1
        for (position, slot) in slots.enumerated() {
            next[Int(slot)] = position + 1 < slots.count ? slots[position + 1] : -1
        }
    }

    /// Takes `slot` out of its key's chain; returns whether the key has no sessions left.
    mutating func unchain(_ slot: Int32) -> Bool {
        let key = Int(keyIds[Int(slot)])
        if heads[key] == slot {
            heads[key] = next[Int(slot)]
        } else {
            var previous = heads[key]
            while next[Int(previous)] != slot { previous = next[Int(previous)] }
            next[Int(previous)] = next[Int(slot)]
        }
        next[Int(slot)] = -1
        return heads[key] < 0
    }

    /// Puts the session's current end on the heap unless it is there already.
    mutating func pushEnd(_ slot: Int32) {
        let end = self.end(slot)
        guard pushedEnds[Int(slot)] != end else { return }
        pushedEnds[Int(slot)] = end
        heap.append(HeapEntry(end: end, slot: slot, generation: generations[Int(slot)]))
        siftUp(heap.count - 1)
        if heap.count > 2 * liveCount + 64 { rebuildHeap() }
    }

    /// Removes and returns the live sessions whose end ≤ `watermark` from the heap (each once); the
    /// caller unchains and frees them.
    mutating func popClosed(atOrBefore watermark: Int64) -> [Int32] {
        var closed: [Int32] = []
        while let top = heap.first, top.end <= watermark {
            popTop()
            let index = Int(top.slot)
            if keyIds[index] >= 0 && generations[index] == top.generation && end(top.slot) == top.end {
                closed.append(top.slot)
                pushedEnds[index] = .min
            }
        }
        return closed
    }

    /// Every live session.
    var liveSlots: [Int32] {
        (0..<highWater).compactMap { keyIds[$0] >= 0 ? Int32($0) : nil }
    }

    mutating func removeAll() {
        for slot in 0..<highWater where keyIds[slot] >= 0 {
            keyIds[slot] = -1
            next[slot] = -1
            generations[slot] &+= 1
            pushedEnds[slot] = .min
        }
        for key in heads.indices { heads[key] = -1 }
        freeIds.removeAll(keepingCapacity: true)
        freeIds.append(contentsOf: (0..<Int32(highWater)).reversed())
        liveCount = 0
        heap.removeAll(keepingCapacity: true)
    }

    private mutating func rebuildHeap() {
        heap.removeAll(keepingCapacity: true)
        for slot in 0..<highWater where keyIds[slot] >= 0 {
            let end = self.end(Int32(slot))
            pushedEnds[slot] = end
            heap.append(HeapEntry(end: end, slot: Int32(slot), generation: generations[slot]))
        }
        for position in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(position) }
    }

    @inline(__always)
    private func less(_ a: HeapEntry, _ b: HeapEntry) -> Bool {
        a.end < b.end || (a.end == b.end && a.slot < b.slot)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && less(heap[left + 1], heap[left]) { smallest = left + 1 }
            guard less(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
    }
}
