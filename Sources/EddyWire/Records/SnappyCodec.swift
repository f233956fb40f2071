// snappy for record batches (Kafka codec 2), through the snappy C library.
//
// Hand-written because no maintained Swift package wraps snappy, let alone the xerial framing that
// Kafka's Java client uses (snappy-java's SnappyOutputStream); libsnappy does the work and this file
// only frames it. Layouts:
//
//     xerial:  magic 82 53 4E 41 50 50 59 00 ("\x82SNAPPY\0"), int32 version (1),
//              int32 minimum compatible version (1), then blocks until the end:
//              int32 compressed length (big-endian), that many bytes of one raw snappy block.
//              A second header may appear where a block would start (concatenated streams).
//     raw:     one raw snappy block (a varint uncompressed length, then the elements);
//              librdkafka can produce this form.
//
// A payload that starts with the xerial magic is xerial, any other is raw, as snappy-java decides.
import CSnappy
import NIOCore

public enum SnappyCodec {
    /// The first 8 bytes of a xerial snappy stream.
    public static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// Magic, version and minimum compatible version.
    static let xerialHeaderBytes = 16
    /// Uncompressed bytes per xerial block, as the Java client writes them.
    public static let xerialBlockBytes = 32 * 1024

    /// Compresses with xerial framing, as Kafka's Java client does.
    public static func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src in
            let blocks = (src.count + xerialBlockBytes - 1) / xerialBlockBytes
            let capacity = xerialHeaderBytes + blocks * (4 + snappy_max_compressed_length(xerialBlockBytes))
            var output = DecompressionSink.allocator.buffer(capacity: capacity)
            output.writeBytes(xerialMagic)
            output.writeInteger(Int32(1))  // version
            output.writeInteger(Int32(1))  // minimum compatible version
            var start = 0
            while start < src.count {
                let chunk = UnsafeRawBufferPointer(rebasing: src[start..<min(start + xerialBlockBytes, src.count)])
                let lengthIndex = output.writerIndex
                output.writeInteger(Int32(0))  // patched below
                let n = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: snappy_max_compressed_length(chunk.count)) {
                    try compressBlock(chunk, into: $0)
                }
                output.setInteger(Int32(n), at: lengthIndex)
                start += chunk.count
            }
            return output
        }
    }

    /// Compresses as one raw snappy block (no framing), as librdkafka may.
    public static func compressRaw(_ input: ByteBuffer) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src in
            let bound = snappy_max_compressed_length(src.count)
            var output = DecompressionSink.allocator.buffer(capacity: bound)
            try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { try compressBlock(src, into: $0) }
            return output
        }
    }

    /// Decompresses xerial-framed or raw snappy, whichever `input` holds.
    public static func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> ByteBuffer {
        try input.withUnsafeReadableBytes { src in
            let limit = max(0, min(maxDecompressedBytes, DecompressionSink.limitCeiling))
            guard hasXerialMagic(src, at: 0) else {
                var output = DecompressionSink.allocator.buffer(capacity: try uncompressedLength(src, limit: limit))
                try append(src, to: &output)
                return output
            }
            // First pass: check the framing and add up the sizes, so that one allocation suffices.
            var total = 0
            try forEachXerialBlock(src) { block in
                total += try uncompressedLength(block, limit: limit - total)
            }
            var output = DecompressionSink.allocator.buffer(capacity: total)
            try forEachXerialBlock(src) { block in try append(block, to: &output) }
            return output
        }
    }

    private static func compressBlock(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int {
        var length = dst.count
        let input = src.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)!
        let status = snappy_compress(input, src.count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        guard status == SNAPPY_OK else { throw statusError("compress", status) }
        return length
    }

    private static func hasXerialMagic(_ src: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard src.count - offset >= xerialMagic.count else { return false }
        for i in 0..<xerialMagic.count where src[offset + i] != xerialMagic[i] { return false }
        return true
    }

    /// The uncompressed length a raw block declares, checked against `limit`.
    private static func uncompressedLength(_ block: UnsafeRawBufferPointer, limit: Int) throws -> Int {
        var length = 0
        let base = block.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)!
        let status = snappy_uncompressed_length(base, block.count, &length)
        guard status == SNAPPY_OK else { throw statusError("uncompressed length", status) }
        guard length <= limit else { throw DecompressionSink.limitError(limit) }
        return length
    }

    /// Decompresses one raw block onto the end of `output`, which has room for it.
    private static func append(_ block: UnsafeRawBufferPointer, to output: inout ByteBuffer) throws {
        let base = block.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)!
        var expected = 0
        guard snappy_uncompressed_length(base, block.count, &expected) == SNAPPY_OK else {
            throw WireError(.compression, "snappy: invalid block length")
        }
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: expected) { dst in
            var length = dst.count
            let status = snappy_uncompress(base, block.count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            guard status == SNAPPY_OK else { throw statusError("uncompress", status) }
            return length
        }
    }

    /// Calls `body` with each raw block of a xerial stream, after checking the framing.
    private static func forEachXerialBlock(
        _ src: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var offset = 0
        while offset < src.count {
            if hasXerialMagic(src, at: offset) {
                guard src.count - offset >= xerialHeaderBytes else {
                    throw WireError(.compression, "snappy: truncated xerial header")
                }
                offset += xerialHeaderBytes
                continue
            }
            guard src.count - offset >= 4 else { throw WireError(.compression, "snappy: truncated xerial block length") }
            let length = Int(Int32(bitPattern: UInt32(src[offset]) << 24 | UInt32(src[offset + 1]) << 16
                | UInt32(src[offset + 2]) << 8 | UInt32(src[offset + 3])))
            offset += 4
            guard length >= 0, length <= src.count - offset else {
                throw WireError(.compression, "snappy: xerial block of \(length) bytes with \(src.count - offset) remaining")
            }
            try body(UnsafeRawBufferPointer(rebasing: src[offset..<offset + length]))
            offset += length
        }
    }

    private static func statusError(_ call: String, _ status: snappy_status) -> WireError {
        let reason = switch status {
        case SNAPPY_INVALID_INPUT: "invalid input"
        case SNAPPY_BUFFER_TOO_SMALL: "buffer too small"
        default: "status \(status.rawValue)"
        }
        return WireError(.compression, "snappy: \(call): \(reason)")
    }
}
