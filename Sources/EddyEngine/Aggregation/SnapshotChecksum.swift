/// CRC-32C (Castagnoli, the checksum of Kafka record batches and of our snapshots), table-driven,
/// slicing by 8 bytes. Detects every single-bit and burst error up to 32 bits in a snapshot before any
/// field is trusted.
enum SnapshotChecksum {
    private static let tables: [[UInt32]] = {
        var tables = Array(repeating: Array(repeating: UInt32(0), count: 256), count: 8)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][byte]
                tables[slice][byte] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func crc32c(_ bytes: [UInt8], range: Range<Int>) -> UInt32 {
        let t = tables
        var crc: UInt32 = 0xFFFF_FFFF
        var index = range.lowerBound
        bytes.withUnsafeBytes { buffer in
            while range.upperBound - index >= 8 {
                let word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ UInt64(crc)
                crc = t[7][Int(word & 0xFF)] ^ t[6][Int((word >> 8) & 0xFF)] ^ t[5][Int((word >> 16) & 0xFF)]
                    ^ t[4][Int((word >> 24) & 0xFF)] ^ t[3][Int((word >> 32) & 0xFF)] ^ t[2][Int((word >> 40) & 0xFF)]
                    ^ t[1][Int((word >> 48) & 0xFF)] ^ t[0][Int(word >> 56)]
                index += 8
            }
            while index < range.upperBound {
                crc = t[0][Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return ~crc
    }
}
