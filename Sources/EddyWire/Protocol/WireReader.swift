import NIOCore

/// Reads Kafka protocol primitives from a `ByteBuffer`. Every length and count is checked against
/// the bytes that remain before anything is allocated, so hostile input costs at most its own size.
public struct WireReader {
    public var buffer: ByteBuffer

    @inlinable public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    @inlinable public var remaining: Int { buffer.readableBytes }

    @inlinable @inline(__always)
    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        guard let v = buffer.readInteger(endianness: .big, as: T.self) else {
            throw WireError(.truncated, "needs \(MemoryLayout<T>.size) bytes, \(buffer.readableBytes) remain")
        }
        return v
    }

    @inlinable public mutating func int8() throws -> Int8 { try fixed(Int8.self) }
    @inlinable public mutating func int16() throws -> Int16 { try fixed(Int16.self) }
    @inlinable public mutating func uint16() throws -> UInt16 { try fixed(UInt16.self) }
    @inlinable public mutating func int32() throws -> Int32 { try fixed(Int32.self) }
    @inlinable public mutating func uint32() throws -> UInt32 { try fixed(UInt32.self) }
    @inlinable public mutating func int64() throws -> Int64 { try fixed(Int64.self) }
    @inlinable public mutating func bool() throws -> Bool { try fixed(Int8.self) != 0 }
    @inlinable public mutating func float64() throws -> Double { Double(bitPattern: try fixed(UInt64.self)) }

    public mutating func uuid() throws -> KafkaUUID {
        let high = try fixed(UInt64.self)
        let low = try fixed(UInt64.self)
        return KafkaUUID(high: high, low: low)
    }

    /// Unsigned LEB128 varint of at most 32 bits (5 bytes).
    @inlinable public mutating func uvarint() throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else {
                throw WireError(.truncated, "varint runs past the end")
            }
            if shift == 28 && byte > 0x0F { throw WireError(.invalidVarint, "unsigned varint wider than 32 bits") }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Unsigned LEB128 varint of at most 64 bits (10 bytes).
    @inlinable public mutating func uvarlong() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else {
                throw WireError(.truncated, "varlong runs past the end")
            }
            if shift == 63 && byte > 0x01 { throw WireError(.invalidVarint, "unsigned varint wider than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Zig-zag signed varint (32 bits), as record fields use.
    @inlinable public mutating func varint() throws -> Int32 {
        let u = try uvarint()
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Zig-zag signed varlong (64 bits), as record fields use.
    @inlinable public mutating func varlong() throws -> Int64 {
        let u = try uvarlong()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A length prefix: int16/int32, or a compact uvarint holding length + 1. Returns nil for null.
    @inlinable mutating func length(compact: Bool, wide: Bool) throws -> Int? {
        let n: Int
        if compact {
            n = Int(try uvarint()) - 1
        } else {
            n = wide ? Int(try int32()) : Int(try int16())
        }
        if n == -1 { return nil }
        guard n >= 0 else { throw WireError(.invalidLength, "negative length \(n)") }
        guard n <= buffer.readableBytes else {
            throw WireError(.invalidLength, "length \(n) exceeds the \(buffer.readableBytes) bytes that remain")
        }
        return n
    }

    public mutating func nullableString(compact: Bool) throws -> String? {
        guard let n = try length(compact: compact, wide: false) else { return nil }
        return buffer.readString(length: n)!
    }

    public mutating func string(compact: Bool) throws -> String {
        guard let s = try nullableString(compact: compact) else {
            throw WireError(.unexpectedNull, "null string in a non-nullable field")
        }
        return s
    }

    public mutating func nullableBytes(compact: Bool) throws -> [UInt8]? {
        guard let n = try length(compact: compact, wide: true) else { return nil }
        return buffer.readBytes(length: n)!
    }

    public mutating func bytes(compact: Bool) throws -> [UInt8] {
        guard let b = try nullableBytes(compact: compact) else {
            throw WireError(.unexpectedNull, "null bytes in a non-nullable field")
        }
        return b
    }

    /// Record batches: kept as a slice of the frame (no copy).
    public mutating func nullableRecords(compact: Bool) throws -> ByteBuffer? {
        guard let n = try length(compact: compact, wide: true) else { return nil }
        return buffer.readSlice(length: n)!
    }

    public mutating func records(compact: Bool) throws -> ByteBuffer {
        guard let r = try nullableRecords(compact: compact) else {
            throw WireError(.unexpectedNull, "null records in a non-nullable field")
        }
        return r
    }

    /// Reads `n` bytes as a sub-reader, advancing past them.
    public mutating func slice(_ n: Int) throws -> WireReader {
        guard n >= 0, let s = buffer.readSlice(length: n) else {
            throw WireError(.truncated, "needs \(n) bytes, \(buffer.readableBytes) remain")
        }
        return WireReader(s)
    }

    /// An array; `nil` when the wire says null. The count is bounded by the bytes that remain
    /// (as Kafka's own decoder bounds it), so a forged count cannot make us allocate.
    public mutating func nullableArray<T>(compact: Bool, _ element: (inout WireReader) throws -> T) throws -> [T]? {
        guard let n = try length(compact: compact, wide: true) else { return nil }
        var result: [T] = []
        result.reserveCapacity(n)
        for _ in 0..<n { result.append(try element(&self)) }
        return result
    }

    public mutating func array<T>(compact: Bool, _ element: (inout WireReader) throws -> T) throws -> [T] {
        guard let a = try nullableArray(compact: compact, element) else {
            throw WireError(.unexpectedNull, "null array in a non-nullable field")
        }
        return a
    }

    /// The tagged-field section of a flexible-version struct: calls `field` with each tag and a
    /// reader limited to that field's bytes. Tags must not repeat.
    public mutating func taggedFields(_ field: (UInt32, inout WireReader) throws -> Void) throws {
        let count = try uvarint()
        guard count <= buffer.readableBytes else {
            throw WireError(.invalidLength, "\(count) tagged fields in \(buffer.readableBytes) bytes")
        }
        var previous: Int64 = -1
        for _ in 0..<count {
            let tag = try uvarint()
            guard Int64(tag) > previous else { throw WireError(.invalidValue, "tagged field \(tag) out of order") }
            previous = Int64(tag)
            let size = Int(try uvarint())
            var sub = try slice(size)
            try field(tag, &sub)
        }
    }
}

extension WireReader {
    /// A tagged-field section of a struct that knows no tags: every field is kept as unknown.
    public mutating func taggedFields(keepingUnknownIn unknown: inout [UnknownTaggedField]) throws {
        var kept: [UnknownTaggedField] = []
        try taggedFields { tag, field in kept.append(field.unknown(tag)) }
        unknown.append(contentsOf: kept)
    }

    /// The rest of a tagged field's bytes, kept as an unknown field.
    public mutating func unknown(_ tag: UInt32) -> UnknownTaggedField {
        UnknownTaggedField(tag: tag, data: buffer.readBytes(length: buffer.readableBytes)!)
    }
}

/// A tagged field this version of Eddy does not know, kept so that re-encoding preserves it.
public struct UnknownTaggedField: Hashable, Sendable {
    public var tag: UInt32
    public var data: [UInt8]
    public init(tag: UInt32, data: [UInt8]) {
        self.tag = tag
        self.data = data
    }
}

/// Kafka's 128-bit UUID (topic ids, directory ids), big-endian on the wire.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
    public static let zero = KafkaUUID(high: 0, low: 0)

    /// Kafka prints UUIDs in URL-safe base64 without padding (22 characters).
    public var description: String {
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            let chars = min(4, (bytes.count - i) * 4 / 3 + 1)
            for k in 0..<chars { out.append(alphabet[Int((triple >> UInt32(18 - 6 * k)) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
