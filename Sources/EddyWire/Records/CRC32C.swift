import CEddyShims
import NIOCore

/// CRC-32C (Castagnoli), the checksum Kafka's record batch v2 carries over its bytes from
/// `attributes` to the end. The work is done in C (`CEddyShims/crc32c.c`), which uses the CPU's
/// crc32 instruction when it has one and slicing-by-8 tables otherwise.
///
/// Values are finished checksums, as zlib's `crc32()` returns them: start from 0 (`initial`) and feed
/// each result into the next `update` to checksum bytes that arrive in pieces.
public enum CRC32C {
    /// The checksum of no bytes, and the value to start `update` from.
    public static let initial: UInt32 = 0

    /// Whether `update` uses a CPU instruction (SSE4.2 or the ARMv8 CRC extension).
    public static var usesHardware: Bool { eddy_crc32c_hardware_available() != 0 }

    @inlinable
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return eddy_crc32c_update(crc, base, bytes.count)
    }

    @inlinable
    public static func update(_ crc: UInt32, _ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { update(crc, $0) }
    }

    /// The checksum of the readable bytes of `buffer`.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 { update(initial, buffer) }

    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(initial, bytes) }

    @inlinable
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ update(initial, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { update(initial, $0) }
    }

    /// The portable table-driven implementation, whatever the CPU; for tests and benchmarks.
    @inlinable
    public static func updatePortable(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return eddy_crc32c_update_portable(crc, base, bytes.count)
    }
}
