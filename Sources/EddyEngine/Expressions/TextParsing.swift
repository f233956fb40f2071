/// Parsers from raw UTF-8 for `CAST(text AS type)` and for TIMESTAMP literals compared with text. They
/// accept surrounding ASCII whitespace (as Postgres and DuckDB do) and never create a `String` except for
/// Double, whose correctly rounded parsing is left to the standard library.
enum TextParsing {
    enum Failure: Error, Equatable {
        /// Not the syntax of the type.
        case invalid
        /// Well-formed but outside the type's range.
        case outOfRange
    }

    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// The bytes without leading and trailing ASCII whitespace.
    @inline(__always)
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lower = 0, upper = bytes.count
        while lower < upper && isSpace(bytes[lower]) { lower += 1 }
        while upper > lower && isSpace(bytes[upper - 1]) { upper -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[lower..<upper])
    }

    /// `[+-]digits`.
    static func int64(_ raw: UnsafeBufferPointer<UInt8>) throws(Failure) -> Int64 {
        let bytes = trimmed(raw)
        var index = 0
        var negative = false
        if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.count else { throw .invalid }
        // Accumulate negatively so Int64.min parses.
        var value: Int64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard isDigit(byte) else { throw .invalid }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                // Keep checking the syntax so "99999999999999999999x" is invalid, not out of range.
                while index < bytes.count { guard isDigit(bytes[index]) else { throw .invalid }; index += 1 }
                throw .outOfRange
            }
            value = next
            index += 1
        }
        if negative { return value }
        guard value != .min else { throw .outOfRange }
        return -value
    }

    /// `[+-]digits[.digits]` (or `.digits`) at `scale`, extra fraction digits rounded half away from zero
    /// (decided by the first dropped digit).
    static func decimal(_ raw: UnsafeBufferPointer<UInt8>, scale: Int) throws(Failure) -> Int64 {
        let bytes = trimmed(raw)
        var index = 0
        var negative = false
        if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var magnitude: UInt64 = 0
        var digits = 0, fractionDigits = 0
        var seenPoint = false
        var firstDropped: UInt8?
        var overflow = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { throw .invalid }
                seenPoint = true
                continue
            }
            guard isDigit(byte) else { throw .invalid }
            digits += 1
            if seenPoint {
                if fractionDigits == scale {
                    if firstDropped == nil { firstDropped = byte - UInt8(ascii: "0") }
                    continue
                }
                fractionDigits += 1
            }
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = next
        }
        guard digits > 0 else { throw .invalid }
        guard !overflow else { throw .outOfRange }
        for _ in fractionDigits..<scale {
            let (shifted, o) = magnitude.multipliedReportingOverflow(by: 10)
            guard !o else { throw .outOfRange }
            magnitude = shifted
        }
        if let firstDropped, firstDropped >= 5 { magnitude += 1 }
        // Like decimal arithmetic, the limit is the Int64 storage, not 18 digits exactly.
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw .outOfRange }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .outOfRange }
        return Int64(magnitude)
    }

    /// A Double in any syntax Swift accepts (`1.5`, `-2e10`, `inf`, `nan`).
    static func double(_ raw: UnsafeBufferPointer<UInt8>) throws(Failure) -> Double {
        let bytes = trimmed(raw)
        guard !bytes.isEmpty, let value = Double(String(decoding: bytes, as: UTF8.self)) else { throw .invalid }
        return value
    }

    /// `true/false`, `t/f`, `yes/no`, `y/n`, `on/off`, `1/0`, any case (Postgres's spellings).
    static func bool(_ raw: UnsafeBufferPointer<UInt8>) throws(Failure) -> Bool {
        let bytes = trimmed(raw)
        guard bytes.count <= 5 else { throw .invalid }
        var lowered: [UInt8] = []
        for byte in bytes { lowered.append(byte &- UInt8(ascii: "A") < 26 ? byte + 32 : byte) }
        switch String(decoding: lowered, as: UTF8.self) {
        case "true", "t", "yes", "y", "on", "1": return true
        case "false", "f", "no", "n", "off", "0": return false
        default: throw .invalid
        }
    }

    /// ISO-8601 in UTC milliseconds: `YYYY-MM-DD`, optionally followed by `T` or a space and
    /// `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or an offset `±HH[:MM]` / `±HHMM`. Digits of the
    /// fraction past milliseconds are truncated.
    static func timestamp(_ raw: UnsafeBufferPointer<UInt8>) throws(Failure) -> Int64 {
        let bytes = trimmed(raw)
        var index = 0
        func number(_ digits: Int) throws(Failure) -> Int64 {
            guard index + digits <= bytes.count else { throw .invalid }
            var value: Int64 = 0
            for _ in 0..<digits {
                guard isDigit(bytes[index]) else { throw .invalid }
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            return value
        }
        func expect(_ character: Character) throws(Failure) {
            guard index < bytes.count, bytes[index] == character.asciiValue! else { throw .invalid }
            index += 1
        }
        let year = try number(4)
        try expect("-")
        let month = try number(2)
        try expect("-")
        let day = try number(2)
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month) else { throw .outOfRange }
        var millisOfDay: Int64 = 0
        if index < bytes.count && (bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: "t") || bytes[index] == UInt8(ascii: " ")) {
            index += 1
            let hour = try number(2)
            try expect(":")
            let minute = try number(2)
            var second: Int64 = 0, millis: Int64 = 0
            if index < bytes.count && bytes[index] == UInt8(ascii: ":") {
                index += 1
                second = try number(2)
                if index < bytes.count && (bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",")) {
                    index += 1
                    var digits = 0
                    while index < bytes.count && isDigit(bytes[index]) {
                        if digits < 3 { millis = millis * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
                        digits += 1
                        index += 1
                    }
                    guard digits > 0 else { throw .invalid }
                    for _ in min(digits, 3)..<3 { millis *= 10 }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { throw .outOfRange }
            millisOfDay = ((hour * 60 + minute) * 60 + second) * 1000 + millis
        }
        var offsetMinutes: Int64 = 0
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                let hours = try number(2)
                var minutes: Int64 = 0
                if index < bytes.count {
                    if bytes[index] == UInt8(ascii: ":") { index += 1 }
                    minutes = try number(2)
                }
                guard hours < 24, minutes < 60 else { throw .outOfRange }
                offsetMinutes = sign * (hours * 60 + minutes)
            default:
                throw .invalid
            }
        }
        guard index == bytes.count else { throw .invalid }
        return daysFromCivil(year, month, day) * 86_400_000 + millisOfDay - offsetMinutes * 60_000
    }

    /// A calendar day, `2026-01-31` (ISO-8601), as days since 1970-01-01.
    static func date(_ raw: UnsafeBufferPointer<UInt8>) throws(Failure) -> Int64 {
        let bytes = trimmed(raw)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { throw .invalid }
        func number(_ range: Range<Int>) throws(Failure) -> Int64 {
            var value: Int64 = 0
            for index in range {
                guard isDigit(bytes[index]) else { throw .invalid }
                value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            }
            return value
        }
        let year = try number(0..<4), month = try number(5..<7), day = try number(8..<10)
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month) else { throw .outOfRange }
        return daysFromCivil(year, month, day)
    }

    static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Parses a whole `String` (bind-time literals).
    static func parse<T>(_ text: String, _ parser: (UnsafeBufferPointer<UInt8>) throws(Failure) -> T) throws(Failure) -> T {
        var text = text
        let result = text.withUTF8 { bytes in Result { () throws(Failure) -> T in try parser(bytes) } }
        return try result.get()
    }
}

extension Value {
    /// `text` read as a value of `type` by CAST's rules; nil when it is not one (partition directory
    /// names, configuration).
    public init?(parsing text: String, as type: DataType) {
        do throws(TextParsing.Failure) {
            switch type {
            case .utf8: self = .string(text)
            case .bool: self = .bool(try TextParsing.parse(text, TextParsing.bool))
            case .int64: self = .int64(try TextParsing.parse(text, TextParsing.int64))
            case .float64: self = .float64(try TextParsing.parse(text, TextParsing.double))
            case .decimal(let scale): self = .decimal(try TextParsing.parse(text) { (raw) throws(TextParsing.Failure) in try TextParsing.decimal(raw, scale: scale) }, scale: scale)
            case .date: self = .date(try TextParsing.parse(text, TextParsing.date))
            case .timestamp: self = .timestamp(try TextParsing.parse(text, TextParsing.timestamp))
            }
        } catch {
            return nil
        }
    }
}
