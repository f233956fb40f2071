import NIOCore

/// Writes Kafka protocol primitives into a `ByteBuffer`. The mirror of `WireReader`.
public struct WireWriter {
    public var buffer: ByteBuffer

    @inlinable public init(_ buffer: ByteBuffer = ByteBuffer()) { self.buffer = buffer }

    @inlinable public mutating func int8(_ v: Int8) { buffer.writeInteger(v) }
    @inlinable public mutating func int16(_ v: Int16) { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func uint16(_ v: UInt16) { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func int32(_ v: Int32) { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func uint32(_ v: UInt32) { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func int64(_ v: Int64) { buffer.writeInteger(v, endianness: .big) }
    @inlinable public mutating func bool(_ v: Bool) { buffer.writeInteger(v ? 1 : 0, as: Int8.self) }
    @inlinable public mutating func float64(_ v: Double) { buffer.writeInteger(v.bitPattern, endianness: .big) }

    public mutating func uuid(_ v: KafkaUUID) {
        buffer.writeInteger(v.high, endianness: .big)
        buffer.writeInteger(v.low, endianness: .big)
    }

    @inlinable public mutating func uvarint(_ v: UInt32) { uvarlong(UInt64(v)) }

    @inlinable public mutating func uvarlong(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }

    @inlinable public mutating func varint(_ v: Int32) {
        uvarint(UInt32(bitPattern: (v << 1) ^ (v >> 31)))
    }

    @inlinable public mutating func varlong(_ v: Int64) {
        uvarlong(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// Writes a length prefix (nil means null) in the form `WireReader.length` reads.
    @inlinable mutating func length(_ n: Int?, compact: Bool, wide: Bool) {
        if compact {
            uvarint(UInt32(truncatingIfNeeded: (n ?? -1) + 1))
        } else if wide {
            int32(Int32(truncatingIfNeeded: n ?? -1))
        } else {
            int16(Int16(truncatingIfNeeded: n ?? -1))
        }
    }

    public mutating func string(_ s: String, compact: Bool) throws {
        let n = s.utf8.count
        guard n <= Int(Int16.max) else { throw WireError(.limitExceeded, "string of \(n) bytes is longer than 32767") }
        length(n, compact: compact, wide: false)
        buffer.writeString(s)
    }

    public mutating func nullableString(_ s: String?, compact: Bool) throws {
        guard let s else { return length(nil, compact: compact, wide: false) }
        try string(s, compact: compact)
    }

    public mutating func bytes(_ b: [UInt8], compact: Bool) {
        length(b.count, compact: compact, wide: true)
        buffer.writeBytes(b)
    }

    public mutating func nullableBytes(_ b: [UInt8]?, compact: Bool) {
        guard let b else { return length(nil, compact: compact, wide: true) }
        bytes(b, compact: compact)
    }

    public mutating func records(_ r: ByteBuffer, compact: Bool) {
        length(r.readableBytes, compact: compact, wide: true)
        buffer.writeImmutableBuffer(r)
    }

    public mutating func nullableRecords(_ r: ByteBuffer?, compact: Bool) {
        guard let r else { return length(nil, compact: compact, wide: true) }
        records(r, compact: compact)
    }

    public mutating func array<T>(_ a: [T], compact: Bool, _ element: (inout WireWriter, T) throws -> Void) rethrows {
        length(a.count, compact: compact, wide: true)
        for e in a { try element(&self, e) }
    }

    public mutating func nullableArray<T>(_ a: [T]?, compact: Bool, _ element: (inout WireWriter, T) throws -> Void) rethrows {
        guard let a else { return length(nil, compact: compact, wide: true) }
        try array(a, compact: compact, element)
    }

    /// Writes a tagged-field section: the known fields (already encoded, each with its tag) merged
    /// with the unknown ones a decoder kept, in ascending tag order.
    public mutating func taggedFields(_ known: [UnknownTaggedField], unknown: [UnknownTaggedField]) {
        var all = known
        all.append(contentsOf: unknown)
        if all.count > 1 { all.sort { $0.tag < $1.tag } }
        uvarint(UInt32(all.count))
        for f in all {
            uvarint(f.tag)
            uvarint(UInt32(f.data.count))
            buffer.writeBytes(f.data)
        }
    }

    /// Encodes one tagged field's value on its own so that its size can precede it.
    public static func tagged(_ tag: UInt32, _ body: (inout WireWriter) throws -> Void) rethrows -> UnknownTaggedField {
        var w = WireWriter()
        try body(&w)
        return UnknownTaggedField(tag: tag, data: w.buffer.readBytes(length: w.buffer.readableBytes)!)
    }
}
