import EddyCore
import NIOCore

/// The fixed 61-byte header of a Kafka record batch, magic 2 (Kafka 0.11 and later); the records follow it.
///
/// Layout (big-endian; byte offsets from the start of the batch):
///
///     offset size field
///          0    8 baseOffset            offset of the first record; the broker assigns it on append
///          8    4 batchLength           bytes after this field, i.e. the batch's size minus 12
///         12    4 partitionLeaderEpoch  set by the broker (-1 from producers)
///         16    1 magic                 2 (byte 16 is also the magic of legacy message sets, 0 and 1)
///         17    4 crc                   CRC-32C of bytes 21 to the end (attributes through records)
///         21    2 attributes            bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)
///                                       bit 3 timestamp type (0 CreateTime, 1 LogAppendTime)
///                                       bit 4 isTransactional, bit 5 isControl
///                                       bit 6 hasDeleteHorizonMs (baseTimestamp is the delete horizon)
///         23    4 lastOffsetDelta       offset of the last record minus baseOffset
///         27    8 baseTimestamp         timestamp of the first record (or the delete horizon)
///         35    8 maxTimestamp          largest record timestamp (the append time for LogAppendTime)
///         43    8 producerId            -1 unless idempotent or transactional
///         51    2 producerEpoch
///         53    4 baseSequence          sequence number of the first record, -1 if none
///         57    4 recordCount
///         61    - records               `recordCount` records, compressed as one blob if bits 0-2 say so
///
/// baseOffset and partitionLeaderEpoch are outside the CRC so the broker can set them without
/// recomputing it. Each record is laid out as `Record` describes.
public struct RecordBatchHeader: Hashable, Sendable {
    /// Bytes in the header, and the smallest possible batch.
    public static let size = 61
    /// Bytes before batchLength counts: baseOffset and batchLength themselves (Kafka's LOG_OVERHEAD).
    public static let logOverhead = 12
    /// The smallest valid batchLength (a batch with no records).
    public static let minimumBatchLength = Int32(size - logOverhead)
    /// The only magic this decoder accepts.
    public static let currentMagic: Int8 = 2

    /// Byte positions of the fields the broker rewrites or checks.
    public enum Position {
        public static let baseOffset = 0
        public static let batchLength = 8
        public static let partitionLeaderEpoch = 12
        public static let magic = 16
        public static let crc = 17
        public static let attributes = 21
        public static let maxTimestamp = 35
    }

    public var baseOffset: Offset
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Timestamp
    public var maxTimestamp: Timestamp
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    public init(
        baseOffset: Offset = Offset(0), batchLength: Int32 = RecordBatchHeader.minimumBatchLength,
        partitionLeaderEpoch: Int32 = -1, magic: Int8 = RecordBatchHeader.currentMagic, crc: UInt32 = 0,
        attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Timestamp = .none,
        maxTimestamp: Timestamp = .none, producerId: Int64 = -1, producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1, recordCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Parses the header at the start of `buffer`'s readable bytes, without touching the records.
    /// Checks the magic and that the attributes name a known codec; lengths and the CRC are checked
    /// by `RecordBatch`.
    public init(parsing buffer: ByteBuffer) throws {
        if buffer.readableBytes > Position.magic,
           let magic = buffer.getInteger(at: buffer.readerIndex + Position.magic, as: Int8.self),
           magic != Self.currentMagic {
            throw Self.magicError(magic)  // a legacy message set may be shorter than this header
        }
        guard buffer.readableBytes >= Self.size else {
            throw WireError(.truncated, "record batch header needs \(Self.size) bytes, \(buffer.readableBytes) remain")
        }
        var r = WireReader(buffer)
        baseOffset = Offset(try r.int64())
        batchLength = try r.int32()
        partitionLeaderEpoch = try r.int32()
        magic = try r.int8()
        guard magic == Self.currentMagic else { throw Self.magicError(magic) }
        crc = try r.uint32()
        attributes = try r.int16()
        guard CompressionCodec(rawValue: Int8(attributes & 0x7)) != nil else {
            throw WireError(.compression, "record batch names unknown compression codec \(attributes & 0x7)")
        }
        lastOffsetDelta = try r.int32()
        baseTimestamp = Timestamp(millis: try r.int64())
        maxTimestamp = Timestamp(millis: try r.int64())
        producerId = try r.int64()
        producerEpoch = try r.int16()
        baseSequence = try r.int32()
        recordCount = try r.int32()
    }

    static func magicError(_ magic: Int8) -> WireError {
        if magic == 0 || magic == 1 {
            return WireError(.unsupportedMagic, "legacy message set (magic \(magic)); only record batch v2 is supported")
        }
        return WireError(.unsupportedMagic, "unknown record batch magic \(magic)")
    }

    /// Writes the 61 header bytes as they are (the caller computes batchLength and crc).
    public func write(to writer: inout WireWriter) {
        writer.int64(baseOffset.rawValue)
        writer.int32(batchLength)
        writer.int32(partitionLeaderEpoch)
        writer.int8(magic)
        writer.uint32(crc)
        writer.int16(attributes)
        writer.int32(lastOffsetDelta)
        writer.int64(baseTimestamp.millis)
        writer.int64(maxTimestamp.millis)
        writer.int64(producerId)
        writer.int16(producerEpoch)
        writer.int32(baseSequence)
        writer.int32(recordCount)
    }

    // MARK: Attributes

    static let compressionMask: Int16 = 0x07
    static let timestampTypeBit: Int16 = 0x08
    static let transactionalBit: Int16 = 0x10
    static let controlBit: Int16 = 0x20
    static let deleteHorizonBit: Int16 = 0x40

    /// Bits 0-2 of the attributes. Parsing rejects unknown codecs, so this traps only for a header
    /// built by hand with bad bits (a programming error).
    public var compression: CompressionCodec {
        get {
            guard let codec = CompressionCodec(rawValue: Int8(attributes & Self.compressionMask)) else {
                preconditionFailure("record batch attributes \(attributes) name no compression codec")
            }
            return codec
        }
        set { attributes = attributes & ~Self.compressionMask | Int16(newValue.rawValue) }
    }

    public var timestampType: TimestampType {
        get { attributes & Self.timestampTypeBit != 0 ? .logAppendTime : .createTime }
        set { setBit(Self.timestampTypeBit, newValue == .logAppendTime) }
    }

    public var isTransactional: Bool {
        get { attributes & Self.transactionalBit != 0 }
        set { setBit(Self.transactionalBit, newValue) }
    }

    /// A control batch holds transaction markers (or other control records), not user data.
    public var isControl: Bool {
        get { attributes & Self.controlBit != 0 }
        set { setBit(Self.controlBit, newValue) }
    }

    /// Set by log compaction: `baseTimestamp` then holds the delete horizon.
    public var hasDeleteHorizon: Bool {
        get { attributes & Self.deleteHorizonBit != 0 }
        set { setBit(Self.deleteHorizonBit, newValue) }
    }

    private mutating func setBit(_ bit: Int16, _ on: Bool) {
        attributes = on ? attributes | bit : attributes & ~bit
    }

    // MARK: Derived values

    /// The offset of the last record: baseOffset + lastOffsetDelta.
    public var lastOffset: Offset { Offset(baseOffset.rawValue &+ Int64(lastOffsetDelta)) }

    /// The offset after this batch, where the next batch starts.
    public var nextOffset: Offset { Offset(baseOffset.rawValue &+ Int64(lastOffsetDelta) &+ 1) }

    /// The batch's size in bytes, header included.
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }

    /// The offset of a record of this batch.
    public func offset(of record: Record) -> Offset { Offset(baseOffset.rawValue &+ Int64(record.offsetDelta)) }

    /// The timestamp of a record of this batch: the append time for LogAppendTime batches.
    public func timestamp(of record: Record) -> Timestamp {
        timestampType == .logAppendTime ? maxTimestamp : Timestamp(millis: baseTimestamp.millis &+ record.timestampDelta)
    }
}

/// Bit 3 of a record batch's attributes: who set the timestamps.
public enum TimestampType: Int8, Sendable, Hashable, CustomStringConvertible {
    /// The producer's clock, per record.
    case createTime = 0
    /// The broker's clock at append, one for the whole batch (in maxTimestamp).
    case logAppendTime = 1

    public var description: String { self == .createTime ? "CreateTime" : "LogAppendTime" }
}
