#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Eight-bytes-at-a-time ("SIMD within a register") byte classification, the decoders' inner loops.
///
/// Each `…Mask` function returns a word whose byte `i` has its high bit set when byte `i` of the input
/// matches. Borrows in the subtraction can also flag bytes *above* a true match, never below one, so
/// only the lowest flagged byte is reliable; callers take `trailingZeroBitCount / 8` and look at that
/// byte again. Loads are little-endian (byte 0 is the least significant), true on every platform Swift
/// runs on, and enforced by `UInt64(littleEndian:)`.
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }

    /// Bytes equal to zero.
    @inline(__always)
    static func zeroMask(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highBits
    }

    /// Bytes equal to `byte`.
    @inline(__always)
    static func equalMask(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        zeroMask(word ^ (ones &* UInt64(byte)))
    }

    /// Bytes below `bound` (`bound` ≤ 128).
    @inline(__always)
    static func lessMask(_ word: UInt64, _ bound: UInt8) -> UInt64 {
        (word &- ones &* UInt64(bound)) & ~word & highBits
    }

    /// Byte index (0-7) of the lowest flagged byte of a non-zero mask.
    @inline(__always)
    static func firstIndex(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount &>> 3
    }

    /// The first `byte` in `start..<end`, or `end`; libc's memchr (vectorised in glibc).
    @inline(__always)
    static func find(_ byte: UInt8, _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
        guard start < end, let hit = memchr(start, Int32(byte), end - start) else { return end }
        return UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
    }
}
