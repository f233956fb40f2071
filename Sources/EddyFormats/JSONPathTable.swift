import EddyEngine

/// The schema's field names as a tree of JSON object keys, and the key lookup of the decoder's inner
/// loop.
///
/// A field named `device.id` is key `id` inside the object under key `device`. Node 0 is the record's
/// own object. Each node's keys are entries of `(length, first 16 bytes as two words)`, so most
/// comparisons are two integer compares; longer keys compare their tail bytes. Nodes with few keys are
/// searched linearly starting at a per-node hint (the entry after the last hit: producers write keys in
/// a stable order, so the first compare usually hits); nodes with many keys use an open-addressing hash.
///
/// The decoder first tries `predict`: does the raw input at the key start equal the entry after the
/// last hit, followed by its closing quote? That recognises the usual key without scanning it at all.
///
/// A class so the decoder's hot loop reads the tables through plain pointers (no bounds checks,
/// reference counting or uniqueness checks); it is immutable after `init`, hence `@unchecked Sendable`.
final class JSONPathTable: @unchecked Sendable {
    /// Lookup result: a column (`>= 0`) or a nested object node (`-(node + 1)`).
    typealias Target = Int32

    struct Entry: Sendable {
        var length: Int
        var word0: UInt64
        var word1: UInt64
        var keyStart: Int
        var target: Target
        /// Masks selecting the key's bytes in `word0` / `word1`.
        var mask0: UInt64
        var mask1: UInt64
        /// The key can appear unescaped in JSON (no `"`, `\\` or control characters) and is at most
        /// 16 bytes, so `predict` may match it against raw input.
        var predictable: Bool
    }

    struct Node: Sendable {
        var entryStart: Int
        var entryCount: Int
        /// Hash slots (`hashSlots[hashStart...hashStart+hashMask]`), `hashMask == 0` when searched linearly.
        var hashStart: Int
        var hashMask: Int
        /// The columns of every field under this node (`leafColumns[leafStart..<leafStart+leafCount]`).
        var leafStart: Int
        var leafCount: Int
    }

    static let linearSearchLimit = 8
    /// The most segments a dotted field name may have.
    static let maxPathSegments = 32

    let entries: UnsafeMutableBufferPointer<Entry>
    let nodes: UnsafeMutableBufferPointer<Node>
    let keyBytes: UnsafeMutableBufferPointer<UInt8>
    let hashSlots: UnsafeMutableBufferPointer<Int32>
    let leafColumns: UnsafeMutableBufferPointer<Int32>
    /// The dotted path of each node, for messages ("" for the record).
    let nodePaths: [String]

    deinit {
        entries.deallocate()
        nodes.deallocate()
        keyBytes.deallocate()
        hashSlots.deallocate()
        leafColumns.deallocate()
    }

    init(schema: Schema) throws(EngineError) {
        var entries: [Entry] = []
        var nodes: [Node] = []
        var keyBytes: [UInt8] = []
        var hashSlots: [Int32] = []
        var leafColumns: [Int32] = []
        var nodePaths: [String] = []
        // Build the tree as nested dictionaries first (insertion-ordered via arrays), then flatten.
        final class Builder {
            var path: String
            var keys: [String] = []
            var children: [String: Builder] = [:]
            var columns: [String: Int] = [:]
            init(path: String) { self.path = path }
        }
        let root = Builder(path: "")
        var seenNames = Set<String>()
        for (column, field) in schema.fields.enumerated() {
            if case .decimal(let scale) = field.type, !(0...18).contains(scale) {
                throw .configuration("field \(field.name): decimal scale \(scale) is outside 0...18")
            }
            guard seenNames.insert(field.name).inserted else {
                throw .configuration("field name \(field.name) appears twice in the schema")
            }
            let segments = field.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if segments.contains(where: \.isEmpty) {
                throw .configuration("field name \"\(field.name)\" has an empty path segment")
            }
            // The decoder recurses once per path segment; this bounds its stack use.
            if segments.count > Self.maxPathSegments {
                throw .configuration("field name \(field.name) has more than \(Self.maxPathSegments) path segments")
            }
            var node = root
            for (depth, segment) in segments.enumerated() {
                let isLast = depth == segments.count - 1
                let prefix = segments[...depth].joined(separator: ".")
                if isLast {
                    if node.children[segment] != nil {
                        throw .configuration("field \(field.name) is both a value and an object holding other fields")
                    }
                    node.columns[segment] = column
                    node.keys.append(segment)
                } else {
                    if node.columns[segment] != nil {
                        throw .configuration("field \(prefix) is both a value and an object holding \(field.name)")
                    }
                    if let child = node.children[segment] {
                        node = child
                    } else {
                        let child = Builder(path: prefix)
                        node.children[segment] = child
                        node.keys.append(segment)
                        node = child
                    }
                }
            }
        }

        // Flatten breadth-first so node indices are assigned before entries point at them.
        var queue = [root]
        var nodeIndex: [ObjectIdentifier: Int] = [ObjectIdentifier(root): 0]
        var head = 0
        while head < queue.count {
            let builder = queue[head]
            head += 1
            for key in builder.keys {
                if let child = builder.children[key], nodeIndex[ObjectIdentifier(child)] == nil {
                    nodeIndex[ObjectIdentifier(child)] = queue.count
                    queue.append(child)
                }
            }
        }
        func leaves(_ builder: Builder) -> [Int32] {
            builder.keys.flatMap { key -> [Int32] in
                if let column = builder.columns[key] { return [Int32(column)] }
                return leaves(builder.children[key]!)
            }
        }
        for builder in queue {
            let entryStart = entries.count
            for key in builder.keys {
                let target: Target = if let column = builder.columns[key] {
                    Int32(column)
                } else {
                    -Int32(nodeIndex[ObjectIdentifier(builder.children[key]!)]!) - 1
                }
                let bytes = Array(key.utf8)
                let (word0, word1) = Self.words(bytes)
                let mask0: UInt64 = bytes.count >= 8 ? ~0 : (1 << UInt64(bytes.count * 8)) - 1
                let mask1: UInt64 = bytes.count >= 16 ? ~0 : bytes.count <= 8 ? 0 : (1 << UInt64((bytes.count - 8) * 8)) - 1
                let predictable = bytes.count <= 16
                    && !bytes.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
                entries.append(Entry(
                    length: bytes.count, word0: word0, word1: word1, keyStart: keyBytes.count, target: target,
                    mask0: mask0, mask1: mask1, predictable: predictable))
                keyBytes.append(contentsOf: bytes)
            }
            let leafList = leaves(builder)
            var node = Node(
                entryStart: entryStart, entryCount: builder.keys.count, hashStart: hashSlots.count, hashMask: 0,
                leafStart: leafColumns.count, leafCount: leafList.count
            )
            nodePaths.append(builder.path)
            leafColumns.append(contentsOf: leafList)
            if node.entryCount > Self.linearSearchLimit {
                var size = 1
                while size < node.entryCount * 2 { size <<= 1 }
                node.hashMask = size - 1
                var slots = [Int32](repeating: -1, count: size)
                for entryIndex in entryStart..<entries.count {
                    let entry = entries[entryIndex]
                    var slot = Self.hash(entry.word0, entry.length) & node.hashMask
                    while slots[slot] >= 0 { slot = (slot + 1) & node.hashMask }
                    slots[slot] = Int32(entryIndex)
                }
                hashSlots.append(contentsOf: slots)
            }
            nodes.append(node)
        }
        func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return buffer
        }
        self.entries = copy(entries)
        self.nodes = copy(nodes)
        self.keyBytes = copy(keyBytes)
        self.hashSlots = copy(hashSlots)
        self.leafColumns = copy(leafColumns)
        self.nodePaths = nodePaths
    }

    var nodeCount: Int { nodePaths.count }

    /// Whether the raw input at `key` (just after the opening quote) is, unescaped and followed by the
    /// closing quote, the key of the entry at `position` in `node` (positions wrap around). Returns the
    /// entry's target and leaves `key` after the closing quote when it is.
    @inline(__always)
    func predict(
        node nodeIndex: Int, position: Int, key: inout UnsafePointer<UInt8>, end: UnsafePointer<UInt8>
    ) -> Target? {
        let node = nodes[nodeIndex]
        guard node.entryCount > 0, end - key >= 17 else { return nil }
        let entry = entries[node.entryStart + (position < node.entryCount ? position : 0)]
        guard entry.predictable, SWAR.load(key) & entry.mask0 == entry.word0,
              entry.length <= 8 || SWAR.load(key + 8) & entry.mask1 == entry.word1,
              key[entry.length] == UInt8(ascii: "\"")
        else { return nil }
        key += entry.length + 1
        return entry.target
    }

    /// The position after a target's entry within its node (the next `predict` position), given the
    /// entry was found by `predict` at `position`.
    @inline(__always)
    func positionAfterPrediction(node nodeIndex: Int, position: Int) -> Int {
        (position < nodes[nodeIndex].entryCount ? position : 0) + 1
    }

    private static func words(_ bytes: [UInt8]) -> (UInt64, UInt64) {
        var word0: UInt64 = 0
        var word1: UInt64 = 0
        for (index, byte) in bytes.prefix(16).enumerated() {
            if index < 8 {
                word0 |= UInt64(byte) << UInt64(index * 8)
            } else {
                word1 |= UInt64(byte) << UInt64((index - 8) * 8)
            }
        }
        return (word0, word1)
    }

    @inline(__always)
    static func hash(_ word0: UInt64, _ length: Int) -> Int {
        Int(truncatingIfNeeded: ((word0 ^ UInt64(length)) &* 0x9E37_79B9_7F4A_7C15) >> 40)
    }

    /// Bytes `index*8 ..< index*8+8` of the key as a little-endian word, zero beyond `length`.
    /// `readableEnd` bounds how far past the key it is safe to load (the record's end).
    @inline(__always)
    static func keyWord(
        _ key: UnsafePointer<UInt8>, _ length: Int, word index: Int, readableEnd: UnsafePointer<UInt8>
    ) -> UInt64 {
        let start = key + index * 8
        let count = length - index * 8
        if count <= 0 { return 0 }
        if readableEnd - start >= 8 {
            let word = SWAR.load(start)
            return count >= 8 ? word : word & ((1 << UInt64(count * 8)) - 1)
        }
        var word: UInt64 = 0
        for offset in 0..<min(count, 8) { word |= UInt64(start[offset]) << UInt64(offset * 8) }
        return word
    }

    /// The target of `key` in `node`, or nil for a key the schema does not ask for.
    @inline(__always)
    func lookup(
        node nodeIndex: Int, key: UnsafePointer<UInt8>, length: Int, readableEnd: UnsafePointer<UInt8>,
        hint: inout Int
    ) -> Target? {
        let node = nodes[nodeIndex]
        if node.entryCount == 0 { return nil }
        let word0 = Self.keyWord(key, length, word: 0, readableEnd: readableEnd)
        if node.hashMask == 0 {
            let count = node.entryCount
            var position = hint
            for _ in 0..<count {
                if position >= count { position = 0 }
                let entry = entries[node.entryStart + position]
                position += 1
                if entry.length == length && entry.word0 == word0 && matchesTail(entry, key, readableEnd: readableEnd) {
                    hint = position
                    return entry.target
                }
            }
            return nil
        }
        var slot = Self.hash(word0, length) & node.hashMask
        while true {
            let entryIndex = hashSlots[node.hashStart + slot]
            if entryIndex < 0 { return nil }
            let entry = entries[Int(entryIndex)]
            if entry.length == length && entry.word0 == word0 && matchesTail(entry, key, readableEnd: readableEnd) {
                return entry.target
            }
            slot = (slot + 1) & node.hashMask
        }
    }

    @inline(__always)
    private func matchesTail(_ entry: Entry, _ key: UnsafePointer<UInt8>, readableEnd: UnsafePointer<UInt8>) -> Bool {
        if entry.length <= 8 { return true }
        if Self.keyWord(key, entry.length, word: 1, readableEnd: readableEnd) != entry.word1 { return false }
        if entry.length <= 16 { return true }
        for index in 16..<entry.length where keyBytes[entry.keyStart + index] != key[index] { return false }
        return true
    }
}
