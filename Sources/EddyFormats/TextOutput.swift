import EddyEngine

/// Appends values as text to a byte buffer: the encoders' primitives. Integers, decimals and
/// timestamps are formatted by hand (no intermediate `String`); doubles use Swift's `description`,
/// which is the shortest text that reads back to the same value.
enum TextOutput {
    static let trueLiteral: [UInt8] = Array("true".utf8)
    static let falseLiteral: [UInt8] = Array("false".utf8)
    static let nullLiteral: [UInt8] = Array("null".utf8)
    static let nanLiteral: [UInt8] = Array("NaN".utf8)
    static let infinityLiteral: [UInt8] = Array("Infinity".utf8)
    static let negativeInfinityLiteral: [UInt8] = Array("-Infinity".utf8)

    @inline(__always)
    static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        appendUnsigned(value.magnitude, minimumDigits: 1, to: &output)
    }

    /// Decimal digits of `value`, zero-padded on the left to `minimumDigits`.
    @inline(__always)
    static func appendUnsigned(_ value: UInt64, minimumDigits: Int, to output: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes, room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var remaining = value
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ 48
                remaining /= 10
            } while remaining != 0 || buffer.count - index < minimumDigits
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    /// `unscaled / 10^scale` with exactly `scale` fraction digits: `12.50`, `-0.05`, `7`.
    @inline(__always)
    static func appendDecimal(_ unscaled: Int64, scale: Int, to output: inout [UInt8]) {
        if scale == 0 {
            appendInteger(unscaled, to: &output)
            return
        }
        if unscaled < 0 { output.append(UInt8(ascii: "-")) }
        let magnitude = unscaled.magnitude
        let factor = UInt64(powersOfTen[scale])
        appendUnsigned(magnitude / factor, minimumDigits: 1, to: &output)
        output.append(UInt8(ascii: "."))
        appendUnsigned(magnitude % factor, minimumDigits: scale, to: &output)
    }

    /// A finite double as its shortest round-trip text (`0.1`, `1e-05`, `1e+23`, `-0.0`).
    @inline(__always)
    static func appendDouble(_ value: Double, to output: inout [UInt8]) {
        var text = value.description
        text.withUTF8 { output.append(contentsOf: $0) }
    }

    /// Epoch milliseconds as `YYYY-MM-DDThh:mm:ss.sssZ`; years outside 0...9999 in the expanded form
    /// with a sign and at least six digits (`+012026-…`, `-000001-…`), which `ISOTimestamp` reads back.
    static func appendISOTimestamp(_ millis: Int64, to output: inout [UInt8]) {
        let (days, millisOfDay) = floorDivMod(millis, 86_400_000)
        appendISODate(days, to: &output)
        output.append(UInt8(ascii: "T"))
        let seconds = millisOfDay / 1000
        appendUnsigned(UInt64(seconds / 3600), minimumDigits: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendUnsigned(UInt64(seconds / 60 % 60), minimumDigits: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendUnsigned(UInt64(seconds % 60), minimumDigits: 2, to: &output)
        output.append(UInt8(ascii: "."))
        appendUnsigned(UInt64(millisOfDay % 1000), minimumDigits: 3, to: &output)
        output.append(UInt8(ascii: "Z"))
    }

    /// Days since the epoch as `YYYY-MM-DD`, expanded years as `appendISOTimestamp` writes them.
    static func appendISODate(_ days: Int64, to output: inout [UInt8]) {
        let (year, month, day) = civilFromDays(days)
        if (0...9999).contains(year) {
            appendUnsigned(UInt64(year), minimumDigits: 4, to: &output)
        } else {
            output.append(year < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            appendUnsigned(year.magnitude, minimumDigits: 6, to: &output)
        }
        output.append(UInt8(ascii: "-"))
        appendUnsigned(UInt64(month), minimumDigits: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendUnsigned(UInt64(day), minimumDigits: 2, to: &output)
    }

    /// `bytes` (valid UTF-8) as a JSON string literal per RFC 8259: `"` and `\` escaped, control
    /// characters as `\b \f \n \r \t` or `\u00XX`, everything else (including non-ASCII) as is.
    static func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        guard let base = bytes.baseAddress else {
            output.append(UInt8(ascii: "\""))
            return
        }
        let end = base + bytes.count
        var runStart = base
        var cursor = base
        while cursor < end {
            while end - cursor >= 8 {
                let word = SWAR.load(cursor)
                let mask = SWAR.equalMask(word, UInt8(ascii: "\"")) | SWAR.equalMask(word, UInt8(ascii: "\\"))
                    | SWAR.lessMask(word, 0x20)
                if mask != 0 {
                    cursor += SWAR.firstIndex(mask)
                    break
                }
                cursor += 8
            }
            guard cursor < end else { break }
            let byte = cursor.pointee
            guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else {
                cursor += 1
                continue
            }
            output.append(contentsOf: UnsafeBufferPointer(start: runStart, count: cursor - runStart))
            output.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
            case 0x08: output.append(UInt8(ascii: "b"))
            case 0x0C: output.append(UInt8(ascii: "f"))
            case 0x0A: output.append(UInt8(ascii: "n"))
            case 0x0D: output.append(UInt8(ascii: "r"))
            case 0x09: output.append(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                           hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0xF)]])
            }
            cursor += 1
            runStart = cursor
        }
        output.append(contentsOf: UnsafeBufferPointer(start: runStart, count: end - runStart))
        output.append(UInt8(ascii: "\""))
    }
}

/// A flat JSON object of string members, for text that is not a batch (Kafka record headers as a
/// column). Values that are not UTF-8 have their bad bytes replaced by U+FFFD; nil values are `null`.
public func jsonObject(_ members: [(key: String, value: [UInt8]?)]) -> String {
    var output: [UInt8] = [UInt8(ascii: "{")]
    for (index, member) in members.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        var key = member.key
        key.withUTF8 { TextOutput.appendJSONString($0, to: &output) }
        output.append(UInt8(ascii: ":"))
        if let value = member.value {
            var text = String(decoding: value, as: UTF8.self)
            text.withUTF8 { TextOutput.appendJSONString($0, to: &output) }
        } else {
            output.append(contentsOf: TextOutput.nullLiteral)
        }
    }
    output.append(UInt8(ascii: "}"))
    return String(decoding: output, as: UTF8.self)
}
