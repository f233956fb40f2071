import EddyCore
import EddyWire
import NIOCore

/// The rules for batches going into a segment (append) and coming back out of one (recovery).
/// Pure: bytes in, verdicts and header bytes out.
enum StoredBatch {
    /// Where lastOffsetDelta sits in a batch (`RecordBatchHeader` lists the layout).
    static let lastOffsetDeltaPosition = 23
    /// Bytes needed to know a batch's size and offsets: baseOffset, batchLength, … lastOffsetDelta.
    static let offsetsPrefix = lastOffsetDeltaPosition + 4

    /// Checks a batch the broker hands to `append`: size limit, structure and CRC (the caller checked
    /// the CRC too, but a stored batch that fails it would make recovery cut the log there, so the
    /// log does not take that on trust), and a record count that matches the offset range, as
    /// Kafka's LogValidator requires.
    static func validateForAppend(_ batch: RecordBatch, maxMessageBytes: Int) throws {
        let size = batch.bytes.readableBytes
        guard size <= maxMessageBytes else {
            throw LogError(.messageTooLarge, "batch of \(size) bytes exceeds max.message.bytes \(maxMessageBytes)")
        }
        do {
            try batch.validate()
        } catch let error as WireError {
            throw LogError(.corruptMessage, error.description)
        }
        let header = batch.header
        guard header.recordCount > 0 else { throw LogError(.invalidRecord, "batch has no records") }
        guard Int64(header.lastOffsetDelta) == Int64(header.recordCount) - 1 else {
            throw LogError(.invalidRecord, "batch has \(header.recordCount) records but lastOffsetDelta \(header.lastOffsetDelta)")
        }
    }

    /// The 61 header bytes to store in place of the batch's own: baseOffset assigned and
    /// partitionLeaderEpoch 0 (neither is covered by the CRC); with `logAppendTime`, maxTimestamp and
    /// the timestamp-type bit rewritten and the CRC recomputed, as Kafka does. The records after the
    /// header are written from the caller's buffer untouched, so a large batch is never copied.
    static func storedHeader(of batch: RecordBatch, baseOffset: Offset, logAppendTime: Int64?) -> (bytes: ByteBuffer, header: RecordBatchHeader) {
        var header = batch.header
        header.baseOffset = baseOffset
        header.partitionLeaderEpoch = 0
        var bytes = batch.bytes.getSlice(at: batch.bytes.readerIndex, length: RecordBatchHeader.size)!
        var copy = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
        copy.writeBuffer(&bytes)
        copy.setInteger(baseOffset.rawValue, at: RecordBatchHeader.Position.baseOffset)
        copy.setInteger(Int32(0), at: RecordBatchHeader.Position.partitionLeaderEpoch)
        if let logAppendTime {
            header.timestampType = .logAppendTime
            header.maxTimestamp = Timestamp(millis: logAppendTime)
            copy.setInteger(header.attributes, at: RecordBatchHeader.Position.attributes)
            copy.setInteger(logAppendTime, at: RecordBatchHeader.Position.maxTimestamp)
            var crc = copy.withUnsafeReadableBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Position.attributes...]))
            }
            crc = CRC32C.update(crc, batch.payload)
            header.crc = crc
            copy.setInteger(crc, at: RecordBatchHeader.Position.crc)
        }
        return (copy, header)
    }

    /// What recovery makes of the bytes at one position of a segment.
    enum Verdict: Equatable {
        /// A whole, valid batch of `size` bytes.
        case valid(size: Int)
        /// Not a batch: the log is cut here. `reason` says why, for the recovery report.
        case invalid(reason: String)
    }

    /// Checks a parsed header against the bytes that remain in the file and, unless nil, the offset
    /// the batch must start at. Appends assign offsets without gaps, so a batch must start exactly
    /// where the previous one ended, the first at the segment's base offset: baseOffset is not
    /// covered by the CRC, and this is what catches damage to it. Compaction removes whole batches
    /// from segments below the recovery point: there (`allowGaps`) a batch may start later.
    static func checkHeader(_ header: RecordBatchHeader, remainingBytes: Int, expectedOffset: Offset?, segmentBase: Offset,
                            allowGaps: Bool = false) -> Verdict {
        guard header.batchLength >= RecordBatchHeader.minimumBatchLength else {
            return .invalid(reason: "batchLength \(header.batchLength) is smaller than a header")
        }
        guard header.totalSize <= remainingBytes else {
            return .invalid(reason: "torn batch: \(header.totalSize) bytes long, \(remainingBytes) remain")
        }
        guard header.recordCount >= 0, header.lastOffsetDelta >= 0 else {
            return .invalid(reason: "negative recordCount \(header.recordCount) or lastOffsetDelta \(header.lastOffsetDelta)")
        }
        if let expectedOffset, allowGaps ? header.baseOffset < expectedOffset : header.baseOffset != expectedOffset {
            return .invalid(reason: "batch at offset \(header.baseOffset) does not follow offset \(expectedOffset.rawValue - 1)")
        }
        guard header.baseOffset >= segmentBase, header.lastOffset.rawValue - segmentBase.rawValue <= Int64(Int32.max),
              header.lastOffset >= header.baseOffset else {
            return .invalid(reason: "offsets \(header.baseOffset)...\(header.lastOffset) do not fit the segment at \(segmentBase)")
        }
        return .valid(size: header.totalSize)
    }

    /// Checks a whole batch (`bytes` holds exactly it): header rules, then the CRC-32C.
    static func check(_ bytes: ByteBuffer, remainingBytes: Int, expectedOffset: Offset, segmentBase: Offset,
                      allowGaps: Bool = false) -> (Verdict, RecordBatchHeader?) {
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader(parsing: bytes)
        } catch {
            return (.invalid(reason: "\(error)"), nil)
        }
        let verdict = checkHeader(header, remainingBytes: remainingBytes, expectedOffset: expectedOffset, segmentBase: segmentBase,
                                  allowGaps: allowGaps)
        guard case .valid(let size) = verdict else { return (verdict, header) }
        guard bytes.readableBytes >= size else { return (.invalid(reason: "torn batch"), header) }
        let crc = bytes.withUnsafeReadableBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.Position.attributes..<size]))
        }
        guard crc == header.crc else {
            return (.invalid(reason: "CRC-32C mismatch at offset \(header.baseOffset)"), header)
        }
        return (.valid(size: size), header)
    }
}
