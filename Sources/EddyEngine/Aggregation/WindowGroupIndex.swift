/// The groups of each open window (tumbling, hopping, or the single pseudo-window of a plain group-by),
/// by window start ascending. Eviction takes whole windows off the front, so closing a window costs
/// O(its groups), never a scan of all state. Windows of one operator have one size, so ascending start
/// is also ascending end.
struct WindowGroupIndex: Sendable {
    private(set) var starts: [Int64] = []
    private(set) var members: [[Int32]] = []
    /// The window the last `add` went to: new groups of a batch mostly share a window.
    private var lastPosition = 0

    var isEmpty: Bool { starts.isEmpty }

    var bytesHeld: Int {
        starts.capacity * 8 + members.capacity * MemoryLayout<[Int32]>.stride
            + members.reduce(0) { $0 + $1.capacity * 4 + 32 }
    }

    /// Records that group `slot` belongs to the window starting at `start`.
    mutating func add(_ slot: Int32, start: Int64) {
        if lastPosition < starts.count && starts[lastPosition] == start {
            members[lastPosition].append(slot)
            return
        }
        var low = 0, high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] < start { low = middle + 1 } else { high = middle }
        }
        if low == starts.count || starts[low] != start {
            starts.insert(start, at: low)
            members.insert([], at: low)
        }
        members[low].append(slot)
        lastPosition = low
    }

    /// The start of the earliest open window.
    var firstStart: Int64? { starts.first }

    /// Removes the earliest window and returns its groups.
    mutating func removeFirst() -> [Int32] {
        starts.removeFirst()
        lastPosition = 0
        return members.removeFirst()
    }

    /// Every group of every window, by window.
    var allMembers: [Int32] { members.flatMap { $0 } }

    mutating func removeAll() {
        starts.removeAll()
        members.removeAll()
        lastPosition = 0
    }
}
