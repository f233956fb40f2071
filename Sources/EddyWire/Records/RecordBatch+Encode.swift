import EddyCore
import NIOCore

extension RecordBatch {
    /// Encodes `records` as one batch v2: computes recordCount, lastOffsetDelta, maxTimestamp (unless
    /// given), batchLength and the CRC-32C, and compresses the records section as `compression` says.
    /// Records keep the offsetDelta and timestampDelta they carry (normally 0, 1, 2, … and relative
    /// to `baseTimestamp`). `lastOffsetDelta`, when given, keeps a batch's offset range after some
    /// of its records were removed (log compaction); it must be at least the largest offsetDelta.
    public static func encode(
        records: [Record],
        baseOffset: Offset = Offset(0),
        baseTimestamp: Timestamp,
        maxTimestamp: Timestamp? = nil,
        lastOffsetDelta givenLastOffsetDelta: Int32? = nil,
        compression: CompressionCodec = .none,
        compressionLevel: Int? = nil,
        timestampType: TimestampType = .createTime,
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        isTransactional: Bool = false,
        isControl: Bool = false,
        partitionLeaderEpoch: Int32 = -1
    ) throws -> ByteBuffer {
        guard records.count <= Int(Int32.max) else {
            throw WireError(.limitExceeded, "\(records.count) records do not fit one batch")
        }
        var header = RecordBatchHeader(
            baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch, baseTimestamp: baseTimestamp,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordCount: Int32(records.count))
        header.compression = compression
        header.timestampType = timestampType
        header.isTransactional = isTransactional
        header.isControl = isControl
        var lastOffsetDelta: Int32 = 0
        var maxDelta = Int64.min
        var recordsSize = 0
        for r in records {
            lastOffsetDelta = max(lastOffsetDelta, r.offsetDelta)
            maxDelta = max(maxDelta, r.timestampDelta)
            recordsSize += r.encodedSize
        }
        if let givenLastOffsetDelta {
            guard givenLastOffsetDelta >= lastOffsetDelta else {
                throw WireError(.corruptRecordBatch, "lastOffsetDelta \(givenLastOffsetDelta) is below a record's offsetDelta \(lastOffsetDelta)")
            }
            header.lastOffsetDelta = givenLastOffsetDelta
        } else {
            header.lastOffsetDelta = records.isEmpty ? 0 : lastOffsetDelta
        }
        header.maxTimestamp = maxTimestamp
            ?? (records.isEmpty ? baseTimestamp : Timestamp(millis: baseTimestamp.millis &+ maxDelta))

        var writer: WireWriter
        if compression == .none {
            writer = WireWriter(ByteBuffer())
            writer.buffer.reserveCapacity(RecordBatchHeader.size + recordsSize)
            header.write(to: &writer)
            for r in records { r.write(to: &writer) }
        } else {
            var plain = WireWriter(ByteBuffer())
            plain.buffer.reserveCapacity(recordsSize)
            for r in records { r.write(to: &plain) }
            let compressed = try compression.compress(plain.buffer, level: compressionLevel)
            writer = WireWriter(ByteBuffer())
            writer.buffer.reserveCapacity(RecordBatchHeader.size + compressed.readableBytes)
            header.write(to: &writer)
            writer.buffer.writeImmutableBuffer(compressed)
        }
        let batchLength = writer.buffer.readableBytes - RecordBatchHeader.logOverhead
        guard batchLength <= Int(Int32.max) else {
            throw WireError(.limitExceeded, "record batch of \(batchLength) bytes is larger than Int32.max")
        }
        writer.buffer.setInteger(Int32(batchLength), at: RecordBatchHeader.Position.batchLength)
        let crc = writer.buffer.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Position.attributes...]))
        }
        writer.buffer.setInteger(crc, at: RecordBatchHeader.Position.crc)
        return writer.buffer
    }
}
