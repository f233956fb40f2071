import NIOCore

/// One record of a record batch v2.
///
/// Layout (varints are zig-zag encoded, as `WireReader.varint` reads them):
///
///     length          varint   bytes that follow, up to the end of the headers
///     attributes      int8     unused by Kafka so far (0)
///     timestampDelta  varlong  timestamp minus the batch's baseTimestamp
///     offsetDelta     varint   offset minus the batch's baseOffset
///     keyLength       varint   -1 for a null key
///     key             bytes
///     valueLength     varint   -1 for a null value
///     value           bytes
///     headersCount    varint
///     headers         headersCount × [keyLength varint, key (UTF-8), valueLength varint (-1 null), value]
///
/// Decoded keys and values are slices of the batch's (decompressed) bytes: nothing is copied.
public struct Record: Hashable, Sendable {
    public var attributes: Int8
    public var timestampDelta: Int64
    public var offsetDelta: Int32
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    /// The fewest bytes one record can take: a one-byte length and six one-byte fields.
    public static let minimumSize = 7

    @inlinable
    public init(
        key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [],
        timestampDelta: Int64 = 0, offsetDelta: Int32 = 0, attributes: Int8 = 0
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    // MARK: Decoding

    /// Reads one record, checking every length against the bytes that remain and that the record's
    /// fields take exactly the bytes its length says.
    public static func read(from reader: inout WireReader) throws -> Record {
        let buffer = reader.buffer
        var consumed = 0
        let record = try buffer.withUnsafeReadableBytes { raw in
            var cursor = RecordCursor(raw)
            defer { consumed = cursor.position }
            return try decode(&cursor, in: buffer)
        }
        reader.buffer.moveReaderIndex(forwardBy: consumed)
        return record
    }

    /// Decodes the record at `cursor`, whose bytes are the readable bytes of `buffer` (keys and
    /// values become slices of it).
    @inlinable
    static func decode(_ cursor: inout RecordCursor, in buffer: ByteBuffer) throws -> Record {
        var record = Record(key: nil, value: nil)
        try decode(&cursor, in: buffer, into: &record)
        return record
    }

    /// Decodes the record at `cursor` into `record` field by field (which starts with nil key and
    /// value and no headers). Building the record where it will live, rather than returning it,
    /// saves a copy the optimiser does not remove (a retain and a release of each key, value and
    /// header array): 5% fewer instructions in `RecordBatch.records()` under callgrind.
    @inlinable @inline(__always)
    static func decode(_ cursor: inout RecordCursor, in buffer: ByteBuffer, into record: inout Record) throws {
        let length = Int(try cursor.varint())
        guard length >= Self.minimumSize - 1, length <= cursor.remaining else {
            throw WireError(.corruptRecordBatch, "record length \(length) with \(cursor.remaining) bytes remaining")
        }
        let end = cursor.position + length
        let attributes = try cursor.int8()
        let timestampDelta = try cursor.varlong()
        let offsetDelta = try cursor.varint()
        let key = try decodeBytes(&cursor, end: end, in: buffer, "key")
        let value = try decodeBytes(&cursor, end: end, in: buffer, "value")
        let headerCount = Int(try cursor.varint())
        guard headerCount >= 0, headerCount <= (end - cursor.position) / 2 else {
            throw WireError(.corruptRecordBatch, "\(headerCount) record headers in \(end - cursor.position) bytes")
        }
        var headers: [RecordHeader] = []
        if headerCount > 0 {
            headers.reserveCapacity(headerCount)
            for _ in 0..<headerCount {
                let keyLength = Int(try cursor.varint())
                guard keyLength >= 0, keyLength <= end - cursor.position else {
                    throw WireError(.corruptRecordBatch, "record header key length \(keyLength) with \(end - cursor.position) bytes left in the record")
                }
                let keyBytes = UnsafeRawBufferPointer(rebasing: cursor.bytes[cursor.position..<cursor.position + keyLength])
                cursor.position += keyLength
                let headerKey = String(decoding: keyBytes, as: UTF8.self)
                let headerValue = try decodeBytes(&cursor, end: end, in: buffer, "header value")
                headers.append(RecordHeader(key: headerKey, value: headerValue))
            }
        }
        guard cursor.position == end else {
            throw WireError(.corruptRecordBatch, "record of length \(length) has \(length - (end - cursor.position)) bytes of fields")
        }
        record.attributes = attributes
        record.timestampDelta = timestampDelta
        record.offsetDelta = offsetDelta
        record.key = key
        record.value = value
        record.headers = headers
    }

    /// A varint length (-1 for null) and that many bytes (within the record, which ends at `end`),
    /// as a slice of `buffer`.
    @inlinable @inline(__always)
    static func decodeBytes(
        _ cursor: inout RecordCursor, end: Int, in buffer: ByteBuffer, _ what: StaticString
    ) throws -> ByteBuffer? {
        let n = Int(try cursor.varint())
        if n == -1 { return nil }
        guard n >= 0, n <= end - cursor.position else {
            throw WireError(.corruptRecordBatch, "record \(what) length \(n) with \(end - cursor.position) bytes left in the record")
        }
        let slice = buffer.getSlice(at: buffer.readerIndex + cursor.position, length: n)!
        cursor.position += n
        return slice
    }

    // MARK: Encoding

    /// Bytes this record takes after its length prefix.
    public var bodySize: Int {
        var n = 1 + Self.varintSize(timestampDelta) + Self.varintSize(Int64(offsetDelta))
        n += Self.bytesFieldSize(key)
        n += Self.bytesFieldSize(value)
        n += Self.varintSize(Int64(headers.count))
        for h in headers {
            let keyLength = h.key.utf8.count
            n += Self.varintSize(Int64(keyLength)) + keyLength + Self.bytesFieldSize(h.value)
        }
        return n
    }

    /// Bytes this record takes, length prefix included.
    public var encodedSize: Int {
        let body = bodySize
        return Self.varintSize(Int64(body)) + body
    }

    /// Writes this record, length prefix first. Lengths above Int32.max cannot be encoded (and no
    /// batch could hold them), so they are a programming error.
    public func write(to writer: inout WireWriter) {
        writer.varint(Int32(bodySize))
        writer.int8(attributes)
        writer.varlong(timestampDelta)
        writer.varint(offsetDelta)
        Self.writeBytes(key, to: &writer)
        Self.writeBytes(value, to: &writer)
        writer.varint(Int32(headers.count))
        for h in headers {
            writer.varint(Int32(h.key.utf8.count))
            writer.buffer.writeString(h.key)
            Self.writeBytes(h.value, to: &writer)
        }
    }

    static func writeBytes(_ bytes: ByteBuffer?, to writer: inout WireWriter) {
        guard let bytes else { return writer.varint(-1) }
        writer.varint(Int32(bytes.readableBytes))
        writer.buffer.writeImmutableBuffer(bytes)
    }

    static func bytesFieldSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        return varintSize(Int64(bytes.readableBytes)) + bytes.readableBytes
    }

    /// Bytes of a zig-zag varint or varlong holding `v`.
    @inlinable
    public static func varintSize(_ v: Int64) -> Int {
        let zigzag = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        return zigzag == 0 ? 1 : (64 - zigzag.leadingZeroBitCount + 6) / 7
    }
}

/// A record header: a UTF-8 key and an optional value.
public struct RecordHeader: Hashable, Sendable {
    public var key: String
    public var value: ByteBuffer?

    @inlinable
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}
