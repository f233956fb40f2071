// zstd for record batches (Kafka codec 4), through libzstd.
//
// Hand-written because no maintained Swift package wraps libzstd's streaming decoder with a bound
// on the output; libzstd does the work and this file only drives it. The Java client writes frames
// through a stream (no content size in the header), so decoding streams with ZSTD_decompressStream;
// a single frame that declares its size (librdkafka's, ours) takes a one-shot fast path.
import CZstd
import NIOCore

public enum ZstdCodec {
    /// Kafka's default `compression.zstd.level`.
    public static let defaultLevel = 3

    public static func compress(_ input: ByteBuffer, level: Int? = nil) throws -> ByteBuffer {
        let level = Int32(clamping: level ?? defaultLevel)
        return try input.withUnsafeReadableBytes { src in
            let bound = ZSTD_compressBound(src.count)
            var output = DecompressionSink.allocator.buffer(capacity: bound)
            try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
                let n = ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level)
                guard ZSTD_isError(n) == 0 else { throw error("compress", n) }
                return n
            }
            return output
        }
    }

    public static func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> ByteBuffer {
        guard let context = ZSTD_createDCtx() else { throw WireError(.limitExceeded, "zstd: out of memory") }
        defer { ZSTD_freeDCtx(context) }
        return try input.withUnsafeReadableBytes { src in
            let limit = max(0, min(maxDecompressedBytes, DecompressionSink.limitCeiling))
            let declared = src.baseAddress.map { ZSTD_getFrameContentSize($0, src.count) } ?? UInt64.max
            if declared < UInt64.max - 1, src.baseAddress.map({ ZSTD_findFrameCompressedSize($0, src.count) }) == src.count {
                return try decompressOneShot(src, declared: declared, limit: limit, context: context)
            }
            return try decompressStreaming(src, limit: limit, context: context)
        }
    }

    /// One frame whose header declares its size: decoded straight into a buffer of that size.
    private static func decompressOneShot(
        _ src: UnsafeRawBufferPointer, declared: UInt64, limit: Int, context: OpaquePointer
    ) throws -> ByteBuffer {
        guard declared <= UInt64(limit) else { throw DecompressionSink.limitError(limit) }
        var output = DecompressionSink.allocator.buffer(capacity: Int(declared))
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(declared)) { dst in
            let n = ZSTD_decompressDCtx(context, dst.baseAddress, Int(declared), src.baseAddress, src.count)
            guard ZSTD_isError(n) == 0 else { throw error("decompress", n) }
            return n
        }
        return output
    }

    /// A streamed frame makes the decoder allocate its window (declared in the frame header) before
    /// any output: bound it by the output limit, but never below 2^23 (8 MiB, the window of every
    /// level up to 19) nor above zstd's default 2^27. Larger windows throw `.limitExceeded`.
    static let windowLogMaxCeiling: Int32 = 27

    static func windowLogMax(limit: Int) -> Int32 {
        let needed = Int32(Int.bitWidth - max(limit - 1, 1).leadingZeroBitCount)
        return min(windowLogMaxCeiling, max(23, needed))
    }

    private static func decompressStreaming(
        _ src: UnsafeRawBufferPointer, limit: Int, context: OpaquePointer
    ) throws -> ByteBuffer {
        let set = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLogMax(limit: limit))
        guard ZSTD_isError(set) == 0 else { throw error("setParameter", set) }
        var sink = DecompressionSink(limit: limit, expectedBytes: src.count * 4)
        var inBuffer = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        while true {
            var status = 0
            var outPosition = 0
            let inBefore = inBuffer.pos
            try sink.write { dst in
                var outBuffer = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                status = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                guard ZSTD_isError(status) == 0 else { throw error("decompressStream", status) }
                outPosition = outBuffer.pos
                return outBuffer.pos
            }
            if status == 0 && inBuffer.pos == inBuffer.size { return sink.buffer }  // last frame complete
            if status != 0 && outPosition == 0 && inBuffer.pos == inBefore {
                throw WireError(.compression, "zstd: truncated input (frame incomplete after \(inBuffer.pos) bytes)")
            }
        }
    }

    private static func error(_ call: String, _ code: Int) -> WireError {
        let name = String(cString: ZSTD_getErrorName(code))
        // ZSTD_error_frameParameter_windowTooLarge (zstd_errors.h is not in the module map).
        if name == "Frame requires too much memory for decoding" {
            return WireError(.limitExceeded, "zstd: \(call): \(name) (the frame's window is larger than the limit allows)")
        }
        return WireError(.compression, "zstd: \(call): \(name)")
    }
}
