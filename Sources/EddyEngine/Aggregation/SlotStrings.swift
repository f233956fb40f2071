/// One variable-length string per group slot (the current min, max, first or last of a utf8 column),
/// stored as (offset, length) into one byte buffer rather than a `String` or `[UInt8]` per group, so
/// state has no per-group heap objects. Replaced values become garbage; the buffer is compacted when
/// garbage passes half of it, so replacing is O(length) amortised.
///
/// Whether a slot holds a value at all is tracked by the owner (an empty string and "no value" both
/// have length 0 here).
struct SlotStrings: Sendable, Hashable {
    private(set) var offsets: [Int] = []
    private(set) var lengths: [Int32] = []
    private var bytes: [UInt8] = []
    private var garbage = 0

    var bytesHeld: Int {
        offsets.capacity * MemoryLayout<Int>.stride + lengths.capacity * MemoryLayout<Int32>.stride + bytes.capacity
    }

    /// Makes slots `0 ..< slots` addressable.
    mutating func ensureCapacity(_ slots: Int) {
        guard offsets.count < slots else { return }
        offsets.append(contentsOf: repeatElement(0, count: slots - offsets.count))
        lengths.append(contentsOf: repeatElement(0, count: slots - lengths.count))
    }

    func withValue<R>(_ slot: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let start = offsets[slot], length = Int(lengths[slot])
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
    }

    /// Orders the slot's value against `value` by bytes.
    func compare(_ slot: Int, _ value: UnsafeRawBufferPointer) -> Int {
        withValue(slot) { GroupKeyCodec.compareBytes($0, value) }
    }

    /// Replaces the slot's value. `value` must not point into this store (use `copy` for that).
    mutating func set(_ slot: Int, _ value: UnsafeRawBufferPointer) {
        release(slot)
        offsets[slot] = bytes.count
        lengths[slot] = Int32(value.count)
        bytes.append(contentsOf: value)
    }

    /// Replaces `target`'s value by `source`'s (merging sessions).
    mutating func copy(_ source: Int, to target: Int) {
        let value = withValue(source) { [UInt8]($0) }
        value.withUnsafeBytes { set(target, $0) }
    }

    mutating func clear(_ slot: Int) {
        release(slot)
    }

    /// Forgets every value, keeping capacity.
    mutating func removeAll() {
        for slot in offsets.indices {
            offsets[slot] = 0
            lengths[slot] = 0
        }
        bytes.removeAll(keepingCapacity: true)
        garbage = 0
    }

    private mutating func release(_ slot: Int) {
        garbage += Int(lengths[slot])
        lengths[slot] = 0
        offsets[slot] = 0
        if garbage > Swift.max(4096, bytes.count / 2) { compact() }
    }

    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(bytes.count - garbage + 1024)
        for slot in lengths.indices where lengths[slot] > 0 {
            let start = offsets[slot]
            offsets[slot] = fresh.count
            fresh.append(contentsOf: bytes[start..<(start + Int(lengths[slot]))])
        }
        bytes = fresh
        garbage = 0
    }
}
