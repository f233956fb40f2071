/// Reads the fields `AggregateSnapshotWriter` wrote. Every read checks what remains and throws a
/// checkpoint error instead of trapping, so truncated or corrupt snapshots fail the restore cleanly.
struct AggregateSnapshotReader: Sendable {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(_ bytes: [UInt8], from position: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.position = position
        self.end = end ?? bytes.count
    }

    var remaining: Int { end - position }

    private mutating func advance(_ count: Int, _ what: String) throws(EngineError) -> Int {
        guard count >= 0, remaining >= count else {
            throw .checkpoint("aggregation snapshot is truncated: \(what) needs \(count) bytes at offset \(position), \(remaining) left")
        }
        let start = position
        position += count
        return start
    }

    mutating func u8(_ what: String) throws(EngineError) -> UInt8 {
        bytes[try advance(1, what)]
    }

    mutating func u16(_ what: String) throws(EngineError) -> UInt16 {
        let start = try advance(2, what)
        return UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8
    }

    mutating func u32(_ what: String) throws(EngineError) -> UInt32 {
        let start = try advance(4, what)
        var value: UInt32 = 0
        for index in (0..<4).reversed() { value = value << 8 | UInt32(bytes[start + index]) }
        return value
    }

    mutating func u64(_ what: String) throws(EngineError) -> UInt64 {
        let start = try advance(8, what)
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[start + index]) }
        return value
    }

    mutating func i64(_ what: String) throws(EngineError) -> Int64 { Int64(bitPattern: try u64(what)) }

    mutating func f64(_ what: String) throws(EngineError) -> Double { Double(bitPattern: try u64(what)) }

    mutating func i128(_ what: String) throws(EngineError) -> Int128 {
        let low = try u64(what)
        let high = try i64(what)
        return Int128(high) << 64 | Int128(low)
    }

    /// A boolean byte that must be 0 or 1.
    mutating func flag(_ what: String) throws(EngineError) -> Bool {
        let value = try u8(what)
        guard value <= 1 else { throw .checkpoint("aggregation snapshot: \(what) is \(value), not 0 or 1") }
        return value == 1
    }

    /// A u32 length and that many bytes; returns their range in `bytes`.
    mutating func lengthPrefixed(_ what: String) throws(EngineError) -> Range<Int> {
        let length = Int(try u32(what))
        let start = try advance(length, what)
        return start..<(start + length)
    }

    /// A count of items that each take at least `minimumItemBytes`, checked against what remains (so a
    /// corrupt count cannot make the reader reserve absurd memory).
    mutating func count(_ what: String, minimumItemBytes: Int) throws(EngineError) -> Int {
        let value = try u64(what)
        guard value <= UInt64(remaining / Swift.max(1, minimumItemBytes)) else {
            throw .checkpoint("aggregation snapshot: \(what) of \(value) does not fit the \(remaining) bytes left")
        }
        return Int(value)
    }

    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}
