// gzip for record batches (Kafka codec 1), through zlib.
//
// Hand-written because no maintained Swift package wraps zlib for bounded, allocation-aware use on
// Linux without Foundation; zlib does the work and this file only drives it. Kafka's Java client
// writes real gzip (GZIPOutputStream), so we compress with the gzip wrapper (windowBits 15 + 16) and
// inflate with automatic header detection (15 + 32), which accepts gzip and zlib streams alike.
// Concatenated gzip members (which GZIPInputStream accepts) are decoded one after another.
import CZlib
import NIOCore

public enum GzipCodec {
    /// zlib's own default level (6).
    public static let defaultLevel = Int(Z_DEFAULT_COMPRESSION)

    public static func compress(_ input: ByteBuffer, level: Int? = nil) throws -> ByteBuffer {
        let level = Int32(clamping: level ?? defaultLevel)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)  // zlib keeps its address
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw error("deflateInit2", status, stream) }
        defer { deflateEnd(stream) }

        return try input.withUnsafeReadableBytes { src in
            guard src.count < Int(UInt32.max) else {
                throw WireError(.limitExceeded, "gzip input of \(src.count) bytes is larger than 4 GiB")
            }
            let bound = Int(deflateBound(stream, uLong(src.count)))
            var output = DecompressionSink.allocator.buffer(capacity: bound)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(src.count)
            try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { dst in
                stream.pointee.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(min(dst.count, Int(UInt32.max)))
                let status = deflate(stream, Z_FINISH)
                guard status == Z_STREAM_END else { throw error("deflate", status, stream) }
                return Int(stream.pointee.total_out)
            }
            return output
        }
    }

    public static func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> ByteBuffer {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw error("inflateInit2", status, stream) }
        defer { inflateEnd(stream) }

        return try input.withUnsafeReadableBytes { src in
            guard src.count < Int(UInt32.max) else {
                throw WireError(.limitExceeded, "gzip input of \(src.count) bytes is larger than 4 GiB")
            }
            var sink = DecompressionSink(limit: maxDecompressedBytes, expectedBytes: sizeHint(src))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(src.count)
            while true {
                var status: Int32 = Z_OK
                var produced = 0
                let availableBefore = stream.pointee.avail_in
                try sink.write { dst in
                    stream.pointee.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(min(dst.count, Int(UInt32.max)))
                    status = inflate(stream, Z_NO_FLUSH)
                    produced = dst.count - Int(stream.pointee.avail_out)
                    return produced
                }
                switch status {
                case Z_STREAM_END:
                    if stream.pointee.avail_in == 0 { return sink.buffer }
                    let reset = inflateReset(stream)  // another gzip member follows
                    guard reset == Z_OK else { throw error("inflateReset", reset, stream) }
                case Z_OK, Z_BUF_ERROR:
                    if produced == 0 && stream.pointee.avail_in == availableBefore {
                        throw WireError(.compression, "gzip: truncated input (stream ends before its trailer)")
                    }
                default:
                    throw error("inflate", status, stream)
                }
            }
        }
    }

    /// The first allocation: gzip's trailer holds the size modulo 2^32 (of the last member only, so a
    /// hint), bounded by deflate's best ratio (about 1032:1) so a forged trailer cannot ask for more.
    private static func sizeHint(_ src: UnsafeRawBufferPointer) -> Int {
        guard src.count >= 18, src[0] == 0x1F, src[1] == 0x8B else { return src.count * 4 }
        let n = src.count
        let size = Int(src[n - 4]) | Int(src[n - 3]) << 8 | Int(src[n - 2]) << 16 | Int(src[n - 1]) << 24
        return min(size, n * 1032)
    }

    private static func error(_ call: String, _ status: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> WireError {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
        if status == Z_MEM_ERROR { return WireError(.limitExceeded, "gzip: \(call): out of memory") }
        return WireError(.compression, "gzip: \(call): \(message)")
    }
}
