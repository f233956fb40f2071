// LZ4 for record batches (Kafka codec 3), through liblz4's frame API.
//
// Hand-written because no maintained Swift package wraps the LZ4 frame format; liblz4 (lz4frame.h)
// does the work and this file only drives it. Record batch v2 uses the standard LZ4 frame format
// (the broken header checksum of Kafka's magic-0 era does not apply). We write 64 KiB independent
// blocks without checksums, as Kafka's Java client (KafkaLZ4BlockOutputStream) does; the batch's
// CRC-32C already covers the compressed bytes. Decompression streams, so frames need not carry their
// content size, and concatenated frames are decoded one after another.
import CLZ4
import NIOCore

public enum LZ4Codec {
    /// liblz4's fast mode.
    public static let defaultLevel = 0

    public static func compress(_ input: ByteBuffer, level: Int? = nil) throws -> ByteBuffer {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.compressionLevel = Int32(clamping: level ?? defaultLevel)
        return try input.withUnsafeReadableBytes { src in
            let bound = LZ4F_compressFrameBound(src.count, &preferences)
            var output = DecompressionSink.allocator.buffer(capacity: bound)
            try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
                let n = LZ4F_compressFrame(dst.baseAddress, dst.count, src.baseAddress, src.count, &preferences)
                guard LZ4F_isError(n) == 0 else { throw error("compressFrame", n) }
                return n
            }
            return output
        }
    }

    public static func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> ByteBuffer {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else { throw error("createDecompressionContext", created) }
        defer { LZ4F_freeDecompressionContext(context) }

        return try input.withUnsafeReadableBytes { src in
            var sink = DecompressionSink(limit: maxDecompressedBytes, expectedBytes: src.count * 4)
            var position = 0
            while true {
                var hint = 0
                var consumed = 0
                var produced = 0
                try sink.write { dst in
                    consumed = src.count - position
                    produced = dst.count
                    hint = LZ4F_decompress(context, dst.baseAddress, &produced, src.baseAddress.map { $0 + position }, &consumed, nil)
                    guard LZ4F_isError(hint) == 0 else { throw error("decompress", hint) }
                    return produced
                }
                position += consumed
                if hint == 0 {
                    if position == src.count { return sink.buffer }  // the last frame is complete
                    continue  // another frame follows
                }
                if consumed == 0 && produced == 0 {
                    throw WireError(.compression, "lz4: truncated input (frame incomplete after \(position) bytes)")
                }
            }
        }
    }

    private static func error(_ call: String, _ code: Int) -> WireError {
        WireError(.compression, "lz4: \(call): \(String(cString: LZ4F_getErrorName(code)))")
    }
}
