// Compression of record batches: the codec enum and the bounded output buffer the decompressors share.
//
// Hand-written because no maintained Swift package wraps gzip, snappy (with Kafka's xerial framing),
// LZ4 frames and zstd streaming behind one bounded API; Debian's C libraries do the real work
// (system-library targets CZlib, CSnappy, CLZ4, CZstd) and these files only drive them.
import NIOCore

/// The compression of a record batch, bits 0-2 of its attributes.
public enum CompressionCodec: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// The decompressed-size limit used when a caller names none: a decompression bomb costs at most
    /// this much memory. (Kafka's default `message.max.bytes` is 1 MiB compressed; 64 MiB leaves room
    /// for highly compressible batches.)
    public static let defaultMaxDecompressedBytes = 64 << 20

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Compresses the readable bytes of `input` in the format Kafka clients expect for this codec.
    /// `level` is the codec's own level; nil picks its default (gzip 6, lz4 fast, zstd 3).
    public func compress(_ input: ByteBuffer, level: Int? = nil) throws -> ByteBuffer {
        switch self {
        case .none: return input
        case .gzip: return try GzipCodec.compress(input, level: level)
        case .snappy: return try SnappyCodec.compress(input)
        case .lz4: return try LZ4Codec.compress(input, level: level)
        case .zstd: return try ZstdCodec.compress(input, level: level)
        }
    }

    /// Decompresses the readable bytes of `input`. Corrupt or truncated input throws
    /// `WireError(.compression, …)`; output longer than `maxDecompressedBytes` throws
    /// `WireError(.limitExceeded, …)` before more than that is held in memory.
    public func decompress(
        _ input: ByteBuffer,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) throws -> ByteBuffer {
        switch self {
        case .none:
            guard input.readableBytes <= maxDecompressedBytes else {
                throw DecompressionSink.limitError(maxDecompressedBytes)
            }
            return input
        case .gzip: return try GzipCodec.decompress(input, maxDecompressedBytes: maxDecompressedBytes)
        case .snappy: return try SnappyCodec.decompress(input, maxDecompressedBytes: maxDecompressedBytes)
        case .lz4: return try LZ4Codec.decompress(input, maxDecompressedBytes: maxDecompressedBytes)
        case .zstd: return try ZstdCodec.decompress(input, maxDecompressedBytes: maxDecompressedBytes)
        }
    }
}

/// The output of a decompressor: a `ByteBuffer` that grows by doubling and never offers the codec
/// more than `limit + 1` bytes in total, so that crossing the limit is seen without holding more.
struct DecompressionSink {
    /// ByteBuffer capacities are 32-bit; limits above this are clamped to it.
    static let limitCeiling = Int(Int32.max) - 1

    static let allocator = ByteBufferAllocator()

    static func limitError(_ limit: Int) -> WireError {
        WireError(.limitExceeded, "decompressed data is larger than the limit of \(limit) bytes")
    }

    var buffer: ByteBuffer
    let limit: Int

    /// `expectedBytes` sizes the first allocation (clamped to the limit); the buffer doubles from there.
    init(limit: Int, expectedBytes: Int) {
        self.limit = max(0, min(limit, Self.limitCeiling))
        let first = min(max(expectedBytes, 64), self.limit + 1)
        self.buffer = Self.allocator.buffer(capacity: first)
    }

    var written: Int { buffer.writerIndex }

    /// Makes sure at least `bytes` more can be written; throws when that would cross the limit.
    mutating func reserve(_ bytes: Int) throws {
        guard bytes <= limit - written else { throw Self.limitError(limit) }
        if buffer.writableBytes < bytes { buffer.reserveCapacity(minimumWritableBytes: bytes) }
    }

    /// Calls `body` with a non-empty window of writable bytes (growing the buffer if it is full) and
    /// keeps the number of bytes `body` says it wrote. Throws once more than `limit` bytes are held.
    mutating func write(_ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        guard written <= limit else { throw Self.limitError(limit) }
        if buffer.writableBytes == 0 {
            let target = min(max(buffer.capacity * 2, 4096), limit + 1)
            buffer.reserveCapacity(target)
        }
        let window = min(buffer.writableBytes, limit + 1 - written)
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { raw in
            try body(UnsafeMutableRawBufferPointer(rebasing: raw[..<window]))
        }
        guard written <= limit else { throw Self.limitError(limit) }
    }
}
