import NIOCore

/// Splits the `records` field of a Produce request or Fetch response into batches, without copying.
///
/// Fetch responses may end with a partial batch (the broker cuts at the byte limit): `next()` then
/// returns nil and `partialTail` holds those bytes. Produce requests must not: use
/// `RecordBatch.batches(in:)`, which throws on a partial tail. Legacy message sets (magic 0 and 1,
/// whose byte 16 is also the magic) throw `.unsupportedMagic`.
public struct RecordBatchIterator {
    private var remaining: ByteBuffer
    /// Trailing bytes too short to be a whole batch, once `next()` has returned nil.
    public private(set) var partialTail: ByteBuffer?

    public init(_ records: ByteBuffer) {
        self.remaining = records
    }

    /// The next whole batch (header parsed, length checked, CRC not checked), or nil at the end.
    public mutating func next() throws -> RecordBatch? {
        let available = remaining.readableBytes
        guard available > 0 else { return nil }
        // Byte 16 is the magic in every format; with fewer bytes the batch is partial whatever it is.
        guard available > RecordBatchHeader.Position.magic else { return finishPartial() }
        let start = remaining.readerIndex
        let magic = remaining.getInteger(at: start + RecordBatchHeader.Position.magic, as: Int8.self)!
        guard magic == RecordBatchHeader.currentMagic else { throw RecordBatchHeader.magicError(magic) }
        let batchLength = remaining.getInteger(at: start + RecordBatchHeader.Position.batchLength, as: Int32.self)!
        guard batchLength >= RecordBatchHeader.minimumBatchLength else {
            throw WireError(.corruptRecordBatch, "batchLength \(batchLength) is smaller than a header")
        }
        let size = Int(batchLength) + RecordBatchHeader.logOverhead
        guard size <= available else { return finishPartial() }
        return try RecordBatch(remaining.readSlice(length: size)!)
    }

    private mutating func finishPartial() -> RecordBatch? {
        partialTail = remaining.readSlice(length: remaining.readableBytes)
        return nil
    }
}

extension RecordBatch {
    /// Every batch in a Produce request's records: a partial batch at the end throws `.truncated`.
    public static func batches(in records: ByteBuffer) throws -> [RecordBatch] {
        var iterator = RecordBatchIterator(records)
        var batches: [RecordBatch] = []
        while let batch = try iterator.next() { batches.append(batch) }
        if let tail = iterator.partialTail {
            throw WireError(.truncated, "records end with \(tail.readableBytes) bytes of a partial batch")
        }
        return batches
    }

    /// Every whole batch in a Fetch response's records, and the partial batch at the end if any.
    public static func batchesAllowingPartialTail(in records: ByteBuffer) throws -> (batches: [RecordBatch], partialTail: ByteBuffer?) {
        var iterator = RecordBatchIterator(records)
        var batches: [RecordBatch] = []
        while let batch = try iterator.next() { batches.append(batch) }
        return (batches, iterator.partialTail)
    }
}
