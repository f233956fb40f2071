import EddyEngine

/// Why a present value did not convert, appended to a failure's reason.
enum MismatchDetail: Sendable, Equatable {
    case invalid
    case notInteger
    case outOfRange

    var suffix: String {
        switch self {
        case .invalid: ""
        case .notInteger: " (not an integer)"
        case .outOfRange: " (out of range)"
        }
    }
}

/// Text → typed value, the rules shared by JSON strings and CSV fields (see `JSONRowDecoder` for the
/// documented list). Text is never trimmed: `" 12"` is not a number.
enum TextCoercion {
    static let int64NegativeLimit = UInt64(1) << 63
    static let decimalLimit: UInt64 = 999_999_999_999_999_999

    /// Parses `start..<end` (unescaped text) as a value of `kind` (not `.utf8`, which takes any valid
    /// UTF-8 as is) and appends it to `builder`. Returns nil on success; on failure appends nothing.
    static func append(
        text start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, kind: ColumnKind, epochScale: Int,
        to builder: inout ColumnBuilder
    ) -> MismatchDetail? {
        switch kind {
        case .bool:
            switch parseBool(start, end) {
            case true?: builder.append(true)
            case false?: builder.append(false)
            case nil: return .invalid
            }
            return nil
        case .utf8:
            builder.appendUTF8(UnsafeRawBufferPointer(start: start, count: end - start))
            return nil
        case .float64:
            if let special = parseSpecialDouble(start, end) {
                builder.append(special)
                return nil
            }
        case .timestamp:
            if ISOTimestamp.looksLikeDate(start, end) {
                switch ISOTimestamp.parse(start, end) {
                case .value(let millis):
                    builder.append(millis)
                    return nil
                case .invalid: return .invalid
                case .outOfRange: return .outOfRange
                }
            }
        case .date:
            if ISOTimestamp.looksLikeDate(start, end) {
                guard let days = ISOTimestamp.parseDate(start, end) else { return .invalid }
                guard days.magnitude <= maxDateMagnitudeDays.magnitude else { return .outOfRange }
                builder.append(days)
                return nil
            }
        case .int64, .decimal:
            break
        }
        var number = ScannedNumber()
        guard let numberEnd = ScannedNumber.scan(start, end, allowPlus: true, into: &number), numberEnd == end else {
            return .invalid
        }
        return append(number: number, text: start, end, kind: kind, epochScale: epochScale, to: &builder)
    }

    /// Appends a scanned number (a JSON number, or a number inside text) to a column of `kind`.
    /// `start..<end` is the number's text (kept as is by `.utf8`, read by `strtod` in the slow path).
    @inline(__always)
    static func append(
        number: ScannedNumber, text start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, kind: ColumnKind,
        epochScale: Int, to builder: inout ColumnBuilder
    ) -> MismatchDetail? {
        switch kind {
        case .int64:
            // Fast path: a plain integer literal of at most 18 digits.
            if number.isInteger && number.significantDigits <= 18 {
                let magnitude = Int64(bitPattern: number.mantissa)
                builder.append(number.negative ? -magnitude : magnitude)
                return nil
            }
            return appendScaled(number, scale: 0, rounding: .exact,
                                positiveLimit: UInt64(Int64.max), negativeLimit: int64NegativeLimit, to: &builder)
        case .decimal(let scale):
            return appendScaled(number, scale: scale, rounding: .halfAwayFromZero,
                                positiveLimit: decimalLimit, negativeLimit: decimalLimit, to: &builder)
        case .date:
            // A number is days since 1970-01-01 (Avro's and Debezium's encoding).
            return appendScaled(number, scale: 0, rounding: .exact, positiveLimit: maxDateMagnitudeDays.magnitude,
                                negativeLimit: maxDateMagnitudeDays.magnitude, to: &builder)
        case .timestamp:
            if epochScale == 0 && number.isInteger && number.significantDigits <= 18 {
                let magnitude = Int64(bitPattern: number.mantissa)
                builder.append(number.negative ? -magnitude : magnitude)
                return nil
            }
            return appendScaled(number, scale: epochScale, rounding: .floor,
                                positiveLimit: UInt64(Int64.max), negativeLimit: int64NegativeLimit, to: &builder)
        case .float64:
            builder.append(number.double(text: start, end))
            return nil
        case .utf8:
            builder.appendUTF8(UnsafeRawBufferPointer(start: start, count: end - start))
            return nil
        case .bool:
            return .invalid
        }
    }

    @inline(__always)
    static func appendScaled(
        _ number: ScannedNumber, scale: Int, rounding: ScannedNumber.Rounding, positiveLimit: UInt64,
        negativeLimit: UInt64, to builder: inout ColumnBuilder
    ) -> MismatchDetail? {
        switch number.scaledInteger(scale: scale, rounding: rounding, positiveLimit: positiveLimit,
                                    negativeLimit: negativeLimit) {
        case .value(let value):
            builder.append(value)
            return nil
        case .inexact: return .notInteger
        case .outOfRange: return .outOfRange
        }
    }

    /// `true` / `false`, ASCII case-insensitively.
    static func parseBool(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool? {
        if equalsIgnoringASCIICase(start, end, "true") { return true }
        if equalsIgnoringASCIICase(start, end, "false") { return false }
        return nil
    }

    /// `NaN`, `Infinity`, `+Infinity`, `-Infinity` (exact case, as JavaScript, Jackson and Python write them).
    static func parseSpecialDouble(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double? {
        guard end > start else { return nil }
        let first = start.pointee
        guard first == UInt8(ascii: "N") || first == UInt8(ascii: "I") || first == UInt8(ascii: "+")
            || first == UInt8(ascii: "-")
        else { return nil }
        if equals(start, end, "NaN") { return .nan }
        if equals(start, end, "Infinity") || equals(start, end, "+Infinity") { return .infinity }
        if equals(start, end, "-Infinity") { return -.infinity }
        return nil
    }

    static func equals(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ literal: StaticString) -> Bool {
        guard end - start == literal.utf8CodeUnitCount else { return false }
        let bytes = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount where start[index] != bytes[index] { return false }
        return true
    }

    /// `literal` must be lowercase ASCII letters.
    static func equalsIgnoringASCIICase(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ literal: StaticString
    ) -> Bool {
        guard end - start == literal.utf8CodeUnitCount else { return false }
        let bytes = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount where start[index] | 0x20 != bytes[index] { return false }
        return true
    }
}
