import CEddyShims

/// One operator's state file under `state/<batchId>/`:
///
/// ```
/// magic   "EDDYSTAT" (8 bytes)
/// version UInt32 big-endian (1)
/// length  UInt64 big-endian: payload bytes
/// crc     UInt32 big-endian: CRC-32C of the payload
/// payload the operator's snapshot (its own versioned format)
/// ```
/// The checksum is checked on every read: a damaged file fails the query with a checkpoint error
/// instead of restoring wrong state.
enum StateFile {
    static let magic: [UInt8] = Array("EDDYSTAT".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 24

    /// The header that goes before `payload` (written apart, so a large payload is not copied).
    static func header(_ payload: [UInt8]) -> [UInt8] {
        var bytes = magic
        appendBigEndian(&bytes, UInt64(version), width: 4)
        appendBigEndian(&bytes, UInt64(payload.count), width: 8)
        appendBigEndian(&bytes, UInt64(crc32(payload)), width: 4)
        return bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(EngineError) -> [UInt8] {
        guard bytes.count >= headerBytes, Array(bytes[0..<8]) == magic else {
            throw .checkpoint("\(path) is not an Eddy state file")
        }
        let version = readBigEndian(bytes, at: 8, width: 4)
        guard version == UInt64(Self.version) else {
            throw .checkpoint("\(path) has state file version \(version); this Eddy reads version \(Self.version)")
        }
        let length = readBigEndian(bytes, at: 12, width: 8)
        guard length == UInt64(bytes.count - headerBytes) else {
            throw .checkpoint("\(path) is truncated: header says \(length) payload bytes, file has \(bytes.count - headerBytes)")
        }
        let payload = Array(bytes[headerBytes...])
        guard readBigEndian(bytes, at: 20, width: 4) == UInt64(crc32(payload)) else {
            throw .checkpoint("\(path) fails its checksum: the state file is damaged")
        }
        return payload
    }

    private static func appendBigEndian(_ bytes: inout [UInt8], _ value: UInt64, width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func readBigEndian(_ bytes: [UInt8], at start: Int, width: Int) -> UInt64 {
        bytes[start..<(start + width)].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// CRC-32C, the checksum Kafka's record batches use (hardware-accelerated in CEddyShims).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { eddy_crc32c_update(0, $0.baseAddress, $0.count) }
    }
}
