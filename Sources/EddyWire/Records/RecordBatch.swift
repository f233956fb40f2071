import EddyCore
import NIOCore

/// A record batch v2: its parsed header and its bytes exactly as received (a slice of the request or
/// log buffer; nothing is copied). The byte layout is documented on `RecordBatchHeader` and `Record`.
///
/// Making one checks that the header parses and that the byte count matches batchLength; `validate()`
/// adds the CRC and the record count; `records()` decompresses and decodes.
public struct RecordBatch: Hashable, Sendable {
    public let header: RecordBatchHeader
    /// The whole batch, from baseOffset to its last byte.
    public let bytes: ByteBuffer

    /// Takes all readable bytes of `bytes` as one batch.
    public init(_ bytes: ByteBuffer) throws {
        let header = try RecordBatchHeader(parsing: bytes)
        guard header.batchLength >= RecordBatchHeader.minimumBatchLength else {
            throw WireError(.corruptRecordBatch, "batchLength \(header.batchLength) is smaller than a header")
        }
        guard header.totalSize == bytes.readableBytes else {
            throw WireError(.corruptRecordBatch, "batchLength \(header.batchLength) says \(header.totalSize) bytes, the batch has \(bytes.readableBytes)")
        }
        self.header = header
        self.bytes = bytes
    }

    /// The records section (compressed if the header says so), after the 61-byte header.
    public var payload: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + RecordBatchHeader.size, length: bytes.readableBytes - RecordBatchHeader.size)!
    }

    /// The CRC-32C of the bytes the header's crc covers (attributes to the end).
    public var computedChecksum: UInt32 {
        bytes.withUnsafeReadableBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.Position.attributes...]))
        }
    }

    /// Checks what can be checked without decompressing: magic, length, CRC-32C, and that the record
    /// count and offsets are not negative. This is what the broker checks before it appends.
    public func validate() throws {
        guard header.magic == RecordBatchHeader.currentMagic else { throw RecordBatchHeader.magicError(header.magic) }
        guard header.totalSize == bytes.readableBytes else {
            throw WireError(.corruptRecordBatch, "batchLength \(header.batchLength) says \(header.totalSize) bytes, the batch has \(bytes.readableBytes)")
        }
        let computed = computedChecksum
        guard computed == header.crc else {
            throw WireError(.checksumMismatch, "record batch at offset \(header.baseOffset) has CRC-32C \(hex(header.crc)), its bytes give \(hex(computed))")
        }
        guard header.recordCount >= 0 else {
            throw WireError(.corruptRecordBatch, "negative record count \(header.recordCount)")
        }
        guard header.lastOffsetDelta >= 0 || header.recordCount == 0 else {
            throw WireError(.corruptRecordBatch, "negative lastOffsetDelta \(header.lastOffsetDelta)")
        }
    }

    /// A reader over the records, decompressing them first if the batch is compressed. Use it to
    /// look at records one by one without building an array.
    public func recordReader(
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> RecordReader {
        let decoded = try header.compression.decompress(payload, maxDecompressedBytes: maxDecompressedBytes)
        return try RecordReader(decoded, count: header.recordCount)
    }

    /// Decompresses (if needed) and decodes every record. Keys and values are slices of the
    /// decompressed bytes. Throws if the records do not fill the payload exactly.
    public func records(maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes) throws -> [Record] {
        let decoded = try header.compression.decompress(payload, maxDecompressedBytes: maxDecompressedBytes)
        let count = try RecordReader.checkedCount(header.recordCount, in: decoded)
        return try decoded.withUnsafeReadableBytes { raw in
            var cursor = RecordCursor(raw)
            // Each record is decoded into its place in the array: appending it would copy it.
            var records = [Record](repeating: Record(key: nil, value: nil), count: count)
            try records.withUnsafeMutableBufferPointer { storage in
                for i in 0..<count { try Record.decode(&cursor, in: decoded, into: &storage[i]) }
            }
            try RecordReader.checkNothingRemains(cursor)
            return records
        }
    }

    /// This batch with baseOffset and partitionLeaderEpoch set, as the broker does on append. Neither
    /// is covered by the CRC, so it stays valid.
    public func assigning(baseOffset: Offset, partitionLeaderEpoch: Int32? = nil) -> RecordBatch {
        var bytes = self.bytes
        var header = self.header
        bytes.setInteger(baseOffset.rawValue, at: bytes.readerIndex + RecordBatchHeader.Position.baseOffset)
        header.baseOffset = baseOffset
        if let partitionLeaderEpoch {
            bytes.setInteger(partitionLeaderEpoch, at: bytes.readerIndex + RecordBatchHeader.Position.partitionLeaderEpoch)
            header.partitionLeaderEpoch = partitionLeaderEpoch
        }
        return RecordBatch(uncheckedHeader: header, bytes: bytes)
    }

    init(uncheckedHeader: RecordBatchHeader, bytes: ByteBuffer) {
        self.header = uncheckedHeader
        self.bytes = bytes
    }
}

/// Reads the records of one batch in order, one at a time, without building an array.
public struct RecordReader {
    private let records: ByteBuffer
    private var position = 0
    /// Records still to read.
    public private(set) var remainingCount: Int

    /// `records` is the batch's decompressed records section; `count` its header's recordCount,
    /// which must be able to fit (each record takes at least `Record.minimumSize` bytes).
    public init(_ records: ByteBuffer, count: Int32) throws {
        self.remainingCount = try Self.checkedCount(count, in: records)
        self.records = records
    }

    /// The next record, or nil after the last one, when no bytes may remain.
    public mutating func next() throws -> Record? {
        let records = self.records
        let start = position
        guard remainingCount > 0 else {
            try records.withUnsafeReadableBytes { try Self.checkNothingRemains(RecordCursor($0, position: start)) }
            return nil
        }
        remainingCount -= 1
        var end = start
        let record = try records.withUnsafeReadableBytes { raw in
            var cursor = RecordCursor(raw, position: start)
            defer { end = cursor.position }
            return try Record.decode(&cursor, in: records)
        }
        position = end
        return record
    }

    static func checkedCount(_ count: Int32, in records: ByteBuffer) throws -> Int {
        guard count >= 0, Int(count) <= records.readableBytes / Record.minimumSize else {
            throw WireError(.corruptRecordBatch, "record count \(count) cannot fit in \(records.readableBytes) bytes")
        }
        return Int(count)
    }

    static func checkNothingRemains(_ cursor: RecordCursor) throws {
        guard cursor.remaining == 0 else {
            throw WireError(.corruptRecordBatch, "\(cursor.remaining) bytes remain after the last record")
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
