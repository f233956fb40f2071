/// Writes the fixed-width little-endian fields of an aggregation snapshot (the format is specified on
/// `WindowAggregateOperator+Snapshot.swift`).
struct AggregateSnapshotWriter: Sendable {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    mutating func f64(_ value: Double) { u64(value.bitPattern) }

    /// Two's complement, low 64 bits first.
    mutating func i128(_ value: Int128) {
        u64(UInt64(truncatingIfNeeded: value))
        i64(Int64(truncatingIfNeeded: value >> 64))
    }

    /// A u32 length, then the bytes.
    mutating func lengthPrefixed(_ value: UnsafeRawBufferPointer) {
        precondition(value.count <= Int(UInt32.max), "snapshot field longer than 4 GiB")
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// Overwrites 8 bytes at `offset` (the payload length, known only at the end).
    mutating func patchU64(at offset: Int, _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { source in
            for index in 0..<8 { bytes[offset + index] = source[index] }
        }
    }

    var count: Int { bytes.count }
}
