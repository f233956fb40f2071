/// The hash of group keys and distinct values: a fast non-cryptographic hash (wyhash-style multiply-fold
/// for bytes, murmur3's 64-bit finaliser for the avalanche) computed column by column into one hash per
/// row, so each key column is dispatched once per batch and hashed in a tight loop.
///
/// The hash is deterministic across runs and processes (no per-process seed) but is never written to a
/// snapshot: a restored operator recomputes it from the decoded keys with the same column functions, so a
/// change of hash function only costs a rehash, never a wrong lookup. Not DoS-resistant; group keys come
/// from the pipeline's own data and the open-addressing tables grow, so a flood of collisions degrades
/// speed, not correctness.
enum GroupKeyHasher {
    /// The key hash of a row before any key column is combined in (the hash of an empty key).
    static let seed: UInt64 = 0x243F_6A88_85A3_08D3
    /// Stands for a NULL key value; the encoded key still tells NULL from a value with this hash.
    static let nullValue: UInt64 = 0x6A09_E667_F3BC_C908

    private static let k0: UInt64 = 0xA076_1D64_78BD_642F
    private static let k1: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let k2: UInt64 = 0x8EBC_6AF0_9C88_C6E3

    /// Folds one column's value hash into a row's running key hash (order matters: keys (a, b) and (b, a)
    /// hash differently).
    @inline(__always)
    static func combine(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        (((hash << 27) | (hash >> 37)) ^ value) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The table hash of a key within a window: the key hash mixed with the window start (`tag`), then
    /// avalanched so the low bits used by power-of-two tables depend on every input bit.
    @inline(__always)
    static func finalize(_ keyHash: UInt64, tag: Int64) -> UInt64 {
        mix(keyHash ^ (UInt64(bitPattern: tag) &* 0xC2B2_AE3D_27D4_EB4F))
    }

    /// murmur3 fmix64.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// Hash of a byte string. Reads at most two overlapping words for strings up to 16 bytes (category
    /// names, codes, ids), so the common case costs two multiplies. `start` may be nil when `count` is 0.
    @inline(__always)
    static func hashBytes(_ start: UnsafeRawPointer?, _ count: Int) -> UInt64 {
        var a: UInt64 = 0
        var b: UInt64 = 0
        var state = k0 ^ UInt64(truncatingIfNeeded: count)
        if count > 16, let base = start {
            var offset = 0
            while count - offset > 16 {
                state = fold(
                    base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ k1,
                    base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) ^ state)
                offset += 16
            }
            a = base.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
            b = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else if count >= 8, let base = start {
            a = base.loadUnaligned(as: UInt64.self)
            b = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4, let base = start {
            a = UInt64(base.loadUnaligned(as: UInt32.self))
            b = UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
        } else if count > 0, let base = start {
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            a = UInt64(bytes[0]) << 16 | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1])
        }
        return fold(fold(a ^ k1, b ^ state) ^ k2, UInt64(truncatingIfNeeded: count) ^ k1)
    }

    /// A float's bits for grouping and DISTINCT: -0.0 counts as 0.0 and every NaN as one NaN (Spark's
    /// NormalizeFloatingNumbers), so equal-looking values fall into one group.
    @inline(__always)
    static func normalizedBits(_ value: Double) -> UInt64 {
        if value.isNaN { return Double.nan.bitPattern }
        if value == 0 { return 0 }
        return value.bitPattern
    }

    /// Combines `column`'s value hashes into `hashes` (one per row, already sized to the column).
    static func combineColumn(_ column: Column, into hashes: inout [UInt64]) {
        precondition(hashes.count == column.count, "hash array length differs from the column")
        let count = column.count
        var out = hashes.mutableSpan
        let validity = column.validity?.words ?? []
        let hasNulls = column.validity != nil
        switch column.values {
        case .int64(let values):
            let span = values.span
            for row in 0..<count {
                let value = hasNulls && !ValidityBits.isSet(validity, row) ? nullValue : UInt64(bitPattern: span[row])
                out[row] = combine(out[row], value)
            }
        case .float64(let values):
            let span = values.span
            for row in 0..<count {
                let value = hasNulls && !ValidityBits.isSet(validity, row) ? nullValue : normalizedBits(span[row])
                out[row] = combine(out[row], value)
            }
        case .bool(let values):
            let span = values.span
            for row in 0..<count {
                let value: UInt64 = hasNulls && !ValidityBits.isSet(validity, row) ? nullValue : (span[row] ? 1 : 0)
                out[row] = combine(out[row], value)
            }
        case .utf8(let strings):
            let offsets = strings.offsets.span
            strings.bytes.withUnsafeBytes { bytes in
                for row in 0..<count {
                    let start = Int(offsets[row]), end = Int(offsets[row + 1])
                    let value: UInt64
                    if hasNulls && !ValidityBits.isSet(validity, row) {
                        value = nullValue
                    } else {
                        value = hashBytes(bytes.baseAddress.map { $0 + start }, end - start)
                    }
                    out[row] = combine(out[row], value)
                }
            }
        }
    }
}

