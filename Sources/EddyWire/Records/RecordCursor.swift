/// A read position in raw bytes, for decoding records.
///
/// Why not `WireReader`: every `ByteBuffer.readInteger` pays a dynamic exclusivity check on the
/// buffer's storage (swift_beginAccess), which profiling showed to be a third of the instructions of
/// record decoding; scanning one `withUnsafeReadableBytes` region per batch pays it once. The
/// varints here have exactly `WireReader`'s semantics (same limits, same errors).
@usableFromInline
struct RecordCursor {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var position: Int

    @inlinable init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    @inlinable var remaining: Int { bytes.count &- position }

    @inlinable @inline(__always)
    mutating func int8() throws -> Int8 {
        guard position < bytes.count else { throw WireError(.truncated, "needs 1 byte, 0 remain") }
        defer { position &+= 1 }
        return Int8(bitPattern: bytes[position])
    }

    @inlinable @inline(__always)
    mutating func uvarint() throws -> UInt32 {
        if position < bytes.count {
            let first = bytes[position]
            if first < 0x80 {  // one byte: deltas below 64
                position &+= 1
                return UInt32(first)
            }
            if position &+ 1 < bytes.count {
                let second = bytes[position &+ 1]
                if second < 0x80 {  // two bytes: lengths and deltas below 8192
                    position &+= 2
                    return UInt32(first & 0x7F) | UInt32(second) << 7
                }
            }
        }
        return try uvarintSlow()
    }

    @inlinable
    mutating func uvarintSlow() throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard position < bytes.count else { throw WireError(.truncated, "varint runs past the end") }
            let byte = bytes[position]
            position &+= 1
            if shift == 28 && byte > 0x0F { throw WireError(.invalidVarint, "unsigned varint wider than 32 bits") }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inlinable
    mutating func uvarlong() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw WireError(.truncated, "varlong runs past the end") }
            let byte = bytes[position]
            position &+= 1
            if shift == 63 && byte > 0x01 { throw WireError(.invalidVarint, "unsigned varint wider than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inlinable @inline(__always)
    mutating func varint() throws -> Int32 {
        let u = try uvarint()
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable @inline(__always)
    mutating func varlong() throws -> Int64 {
        let u = try uvarlong()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }
}
