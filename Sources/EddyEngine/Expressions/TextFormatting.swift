/// Writers of values as text into a byte buffer, for `CAST(x AS TEXT)`: digits are produced directly, so
/// casting a BIGINT, DECIMAL or TIMESTAMP column allocates nothing per row. The text matches `Value`'s
/// `description` (`formatDecimal`, `formatTimestamp`).
enum TextFormatting {
    /// Decimal digits of `magnitude`, at least `minimumDigits` of them (zero-padded).
    @inline(__always)
    static func appendDigits(_ magnitude: UInt64, minimumDigits: Int = 1, to bytes: inout [UInt8]) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var position = buffer.count
            var value = magnitude
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value != 0
            while buffer.count - position < minimumDigits {
                position -= 1
                buffer[position] = UInt8(ascii: "0")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position...]))
        }
    }

    static func appendInt64(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, to: &bytes)
    }

    /// Exactly `scale` digits after the point, as `formatDecimal`.
    static func appendDecimal(_ value: Int64, scale: Int, to bytes: inout [UInt8]) {
        guard scale > 0 else { return appendInt64(value, to: &bytes) }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let factor = UInt64(powersOfTen[scale])
        appendDigits(value.magnitude / factor, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDigits(value.magnitude % factor, minimumDigits: scale, to: &bytes)
    }

    /// ISO-8601 UTC with milliseconds, as `formatTimestamp`: `2026-11-22T04:18:27.123Z`.
    static func appendTimestamp(_ millis: Int64, to bytes: inout [UInt8]) {
        let (days, millisOfDay) = floorDivMod(millis, 86_400_000)
        appendDate(days, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(UInt64(millisOfDay / 3_600_000), minimumDigits: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt64(millisOfDay / 60_000 % 60), minimumDigits: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt64(millisOfDay / 1000 % 60), minimumDigits: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDigits(UInt64(millisOfDay % 1000), minimumDigits: 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// ISO-8601, as `formatDate`: `2026-11-22`.
    static func appendDate(_ days: Int64, to bytes: inout [UInt8]) {
        let (year, month, day) = civilFromDays(days)
        if year < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(year.magnitude, minimumDigits: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt64(month), minimumDigits: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt64(day), minimumDigits: 2, to: &bytes)
    }

    /// Swift's shortest text that reads back as the same Double (`0.1`, `100.0`, `1e-05`, `inf`, `nan`).
    static func appendDouble(_ value: Double, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: value.description.utf8)
    }

    static func appendBool(_ value: Bool, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
    }
}
