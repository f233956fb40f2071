/// Parquet's RLE / bit-packing hybrid, for definition levels and dictionary indices.
///
/// Encoding: values go in groups of 8 from the start; a group of 8 equal values extends (or starts) a
/// repeated run, any other group joins a bit-packed run. Only the last group may be partial: it ends
/// a repeated run when its values equal the run's, else it is padded with zeros into the last
/// bit-packed group (readers stop at the page's value count).
struct RLEHybridEncoder {
    let bitWidth: Int
    private(set) var bytes: [UInt8] = []
    private var literal: [UInt32] = []
    private var repeatValue: UInt32 = 0
    private var repeatCount = 0

    init(bitWidth: Int) {
        precondition(bitWidth >= 0 && bitWidth <= 32)
        self.bitWidth = bitWidth
    }

    /// Encodes all of `values` (call once per stream).
    mutating func encode(_ values: [UInt32]) {
        var start = 0
        while start + 8 <= values.count {
            let first = values[start]
            var same = true
            for index in (start + 1)..<(start + 8) where values[index] != first {
                same = false
                break
            }
            if same {
                if repeatCount > 0 && repeatValue == first {
                    repeatCount += 8
                } else {
                    flushLiteral()
                    flushRepeat()
                    repeatValue = first
                    repeatCount = 8
                }
            } else {
                flushRepeat()
                literal += values[start..<(start + 8)]
            }
            start += 8
        }
        let rest = values[start...]
        if !rest.isEmpty {
            if repeatCount > 0 && literal.isEmpty && rest.allSatisfy({ $0 == repeatValue }) {
                repeatCount += rest.count
            } else {
                flushRepeat()
                literal += rest
                literal += repeatElement(0, count: 8 - rest.count)
            }
        }
        flushRepeat()
        flushLiteral()
    }

    private mutating func flushRepeat() {
        guard repeatCount > 0 else { return }
        varint(UInt64(repeatCount) << 1)
        let valueBytes = (bitWidth + 7) / 8
        for index in 0..<valueBytes { bytes.append(UInt8(truncatingIfNeeded: repeatValue >> (8 * index))) }
        repeatCount = 0
    }

    private mutating func flushLiteral() {
        guard !literal.isEmpty else { return }
        varint(UInt64(literal.count / 8) << 1 | 1)
        // Values packed from the least significant bit, bitWidth bits each.
        var buffer: UInt64 = 0
        var bits = 0
        for value in literal {
            buffer |= UInt64(value) << bits
            bits += bitWidth
            while bits >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                bits -= 8
            }
        }
        if bits > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
        literal.removeAll(keepingCapacity: true)
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// The bits needed for values up to `maximum`.
    static func bitWidth(for maximum: Int) -> Int {
        maximum <= 0 ? 0 : Int.bitWidth - maximum.leadingZeroBitCount
    }
}

/// Decodes the RLE / bit-packing hybrid from untrusted bytes: runs past the end, or more values than
/// asked for, are errors (or dropped padding), never a crash.
struct RLEHybridDecoder {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let bitWidth: Int

    init(_ bytes: [UInt8], from start: Int, end: Int, bitWidth: Int) {
        self.bytes = bytes
        position = start
        self.end = end
        self.bitWidth = bitWidth
    }

    /// Decodes `count` values.
    mutating func decode(count: Int) throws(ParquetError) -> [UInt32] {
        guard bitWidth <= 32 else { throw ParquetError("bit width \(bitWidth) is more than 32") }
        var values: [UInt32] = []
        values.reserveCapacity(count)
        while values.count < count {
            let header = try varint()
            if header & 1 == 0 {
                let run = Int(clamping: header >> 1)
                guard run > 0 else { throw ParquetError("an empty RLE run") }
                var value: UInt32 = 0
                for index in 0..<((bitWidth + 7) / 8) {
                    guard position < end else { throw ParquetError("an RLE run ends early") }
                    value |= UInt32(bytes[position]) << (8 * index)
                    position += 1
                }
                values.append(contentsOf: repeatElement(value, count: min(run, count - values.count)))
            } else {
                let groups = Int(clamping: header >> 1)
                if bitWidth == 0 {
                    // Zero-width values take no bytes: only the count matters.
                    let (values8, overflow) = groups.multipliedReportingOverflow(by: 8)
                    values.append(contentsOf: repeatElement(0, count: min(overflow ? Int.max : values8, count - values.count)))
                    continue
                }
                guard groups <= (end - position) / bitWidth else {
                    throw ParquetError("a bit-packed run of \(groups) groups ends early")
                }
                var buffer: UInt64 = 0
                var bits = 0
                let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
                var remaining = groups * 8
                while remaining > 0 {
                    while bits < bitWidth {
                        buffer |= UInt64(bytes[position]) << bits
                        position += 1
                        bits += 8
                    }
                    if values.count < count { values.append(UInt32(buffer & mask)) }
                    buffer >>= UInt64(bitWidth)
                    bits -= bitWidth
                    remaining -= 1
                }
            }
        }
        return values
    }

    private mutating func varint() throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw ParquetError("RLE data ends early") }
            let next = bytes[position]
            position += 1
            guard shift < 64 else { throw ParquetError("an RLE header longer than 10 bytes") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }
}
