import EddyEngine

/// Reads ISO-8601 / RFC 3339 timestamps into epoch milliseconds (UTC, proleptic Gregorian calendar).
///
/// Accepted: `YYYY-MM-DD`, optionally followed by `T`, `t` or a space and `hh:mm`, `hh:mm:ss` or
/// `hh:mm:ss.f…` (one or more fraction digits after `.` or `,`, truncated to milliseconds), optionally
/// followed by `Z`/`z` or an offset `+hh:mm`, `-hh:mm`, `+hhmm`, `+hh`. No zone means UTC. A date alone
/// is midnight UTC. Years are four digits, or a sign and 4-9 digits (ISO-8601's expanded years, as
/// JavaScript writes `+275760-09-13T00:00:00.000Z`). Leap seconds (`:60`) are rejected.
enum ISOTimestamp {
    enum Result: Equatable {
        case value(Int64)
        case invalid
        case outOfRange
    }

    /// Whether `start..<end` looks like a date (digits then `-`), as opposed to an epoch number.
    @inline(__always)
    static func looksLikeDate(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        var pointer = start
        if pointer < end && (pointer.pointee == UInt8(ascii: "-") || pointer.pointee == UInt8(ascii: "+")) {
            pointer += 1
        }
        let digitsStart = pointer
        while pointer < end && pointer.pointee &- 48 <= 9 { pointer += 1 }
        // "2026-…" and "-002026-…" are dates; "-1234" and "+1795321107123" are epoch numbers.
        return pointer - digitsStart >= 4 && pointer < end && pointer.pointee == UInt8(ascii: "-")
    }

    /// A whole `YYYY-MM-DD` (expanded years as in `parse`): days since 1970-01-01, or nil.
    static func parseDate(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int64? {
        var pointer = start
        guard let days = day(&pointer, end), pointer == end else { return nil }
        return days
    }

    /// Reads the date part at `pointer` (advancing it): days since 1970-01-01, or nil.
    private static func day(_ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int64? {
        func digits(_ count: Int) -> Int64? { Self.digits(count, &pointer, end) }
        func take(_ byte: UInt8) -> Bool { Self.take(byte, &pointer, end) }
        var year: Int64
        if pointer < end && (pointer.pointee == UInt8(ascii: "+") || pointer.pointee == UInt8(ascii: "-")) {
            let negative = pointer.pointee == UInt8(ascii: "-")
            pointer += 1
            let digitsStart = pointer
            year = 0
            while pointer < end, pointer.pointee &- 48 <= 9, pointer - digitsStart < 9 {
                year = year * 10 + Int64(pointer.pointee &- 48)
                pointer += 1
            }
            if pointer - digitsStart < 4 { return nil }
            if negative { year = -year }
        } else {
            guard let fourDigits = digits(4) else { return nil }
            year = fourDigits
        }
        guard take(UInt8(ascii: "-")), let month = digits(2), take(UInt8(ascii: "-")), let day = digits(2) else {
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        return daysFromCivil(year, month, day)
    }

    /// `count` ASCII digits at `pointer` as a number (advancing past them), or nil.
    @inline(__always)
    private static func digits(_ count: Int, _ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int64? {
        guard end - pointer >= count else { return nil }
        var value: Int64 = 0
        for index in 0..<count {
            let digit = pointer[index] &- 48
            if digit > 9 { return nil }
            value = value * 10 + Int64(digit)
        }
        pointer += count
        return value
    }

    /// Whether `byte` is at `pointer` (advancing past it if so).
    @inline(__always)
    private static func take(_ byte: UInt8, _ pointer: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        guard pointer < end, pointer.pointee == byte else { return false }
        pointer += 1
        return true
    }

    static func parse(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Result {
        var pointer = start
        func digits(_ count: Int) -> Int64? { Self.digits(count, &pointer, end) }
        func take(_ byte: UInt8) -> Bool { Self.take(byte, &pointer, end) }

        guard let days = day(&pointer, end) else { return .invalid }

        // Time of day.
        var millisOfDay: Int64 = 0
        if pointer < end {
            let separator = pointer.pointee
            guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
            else { return .invalid }
            pointer += 1
            guard let hour = digits(2), take(UInt8(ascii: ":")), let minute = digits(2) else { return .invalid }
            var second: Int64 = 0
            var millis: Int64 = 0
            if take(UInt8(ascii: ":")) {
                guard let seconds = digits(2) else { return .invalid }
                second = seconds
                if pointer < end && (pointer.pointee == UInt8(ascii: ".") || pointer.pointee == UInt8(ascii: ",")) {
                    pointer += 1
                    let fractionStart = pointer
                    while pointer < end, pointer.pointee &- 48 <= 9 {
                        if pointer - fractionStart < 3 { millis = millis * 10 + Int64(pointer.pointee &- 48) }
                        pointer += 1
                    }
                    let fractionDigits = pointer - fractionStart
                    if fractionDigits == 0 { return .invalid }
                    if fractionDigits == 1 { millis *= 100 } else if fractionDigits == 2 { millis *= 10 }
                }
            }
            guard hour <= 23, minute <= 59, second <= 59 else { return .invalid }
            millisOfDay = ((hour * 60 + minute) * 60 + second) * 1000 + millis

            // Zone.
            if pointer < end {
                let zone = pointer.pointee
                if zone == UInt8(ascii: "Z") || zone == UInt8(ascii: "z") {
                    pointer += 1
                } else if zone == UInt8(ascii: "+") || zone == UInt8(ascii: "-") {
                    pointer += 1
                    guard let offsetHours = digits(2) else { return .invalid }
                    var offsetMinutes: Int64 = 0
                    if pointer < end {
                        _ = take(UInt8(ascii: ":"))
                        guard let minutes = digits(2) else { return .invalid }
                        offsetMinutes = minutes
                    }
                    guard offsetHours <= 23, offsetMinutes <= 59 else { return .invalid }
                    let offset = (offsetHours * 60 + offsetMinutes) * 60_000
                    // Local time minus the offset is UTC.
                    millisOfDay += zone == UInt8(ascii: "+") ? -offset : offset
                } else {
                    return .invalid
                }
            }
        }
        guard pointer == end else { return .invalid }

        // Days × 86 400 000 can overflow before the time of day brings it back into range near
        // Int64.min, so split a negative day count as (days + 1) days minus one day.
        var dayPart = days
        var timePart = millisOfDay
        if days < 0 {
            dayPart = days + 1
            timePart = millisOfDay - 86_400_000
        }
        let (dayMillis, overflow) = dayPart.multipliedReportingOverflow(by: 86_400_000)
        if overflow { return .outOfRange }
        let (total, overflow2) = dayMillis.addingReportingOverflow(timePart)
        if overflow2 { return .outOfRange }
        return .value(total)
    }

    @inline(__always)
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Epoch milliseconds of an ISO-8601 timestamp (the rules of `ISOTimestamp`), nil when it is not one.
public func parseISOTimestamp(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { bytes -> Int64? in
        guard let base = bytes.baseAddress, case .value(let millis) = ISOTimestamp.parse(base, base + bytes.count) else { return nil }
        return millis
    }
}
