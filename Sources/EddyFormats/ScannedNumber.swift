#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A number read from text in one pass, exact enough for every target type:
/// `value = ±(mantissa + 0.d₁d₂… of the dropped digits) × 10^exponent`.
///
/// The first 19 significant digits are kept in `mantissa` (19 digits always fit a `UInt64`); of the
/// rest only the first (`firstDropped`) and whether any later one is non-zero (`droppedNonZero`) are
/// kept, which is all that exact integer checks and half-away-from-zero rounding need. Decimals and
/// integers are therefore computed from the digits themselves, never through a `Double`.
struct ScannedNumber {
    var negative = false
    var mantissa: UInt64 = 0
    /// Digits from the first non-zero one on, kept or dropped.
    var significantDigits = 0
    var exponent = 0
    var firstDropped: UInt8 = 0
    var droppedNonZero = false
    /// No fraction and no exponent in the text.
    var isInteger = true

    var hasDropped: Bool { significantDigits > 19 }

    /// How a conversion to a scaled integer treats digits below the unit.
    enum Rounding {
        /// They must all be zero (`1.0`, `1e3` are integers; `1.5` is not).
        case exact
        /// Round half away from zero (decimals).
        case halfAwayFromZero
        /// Truncate toward negative infinity (timestamps: the earlier instant).
        case floor
    }

    enum IntegerResult: Equatable {
        case value(Int64)
        case inexact
        case outOfRange
    }

    @inline(__always)
    mutating func addDigit(_ digit: UInt8, inFraction: Bool) {
        if significantDigits == 0 && digit == 0 {
            if inFraction { exponent -= 1 }
            return
        }
        if significantDigits < 19 {
            mantissa = mantissa &* 10 &+ UInt64(digit)
            if inFraction { exponent -= 1 }
        } else {
            if significantDigits == 19 {
                firstDropped = digit
            } else if digit != 0 {
                droppedNonZero = true
            }
            if !inFraction { exponent += 1 }
        }
        significantDigits += 1
    }

    /// Scans a number at `start`: JSON's grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, plus
    /// a leading `+` when `allowPlus` (numbers inside strings and CSV fields). Returns the first byte
    /// after the number, or nil when the text there is not a number.
    @inline(__always)
    static func scan(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, allowPlus: Bool, into number: inout ScannedNumber
    ) -> UnsafePointer<UInt8>? {
        var pointer = start
        number = ScannedNumber()
        guard pointer < end else { return nil }
        if pointer.pointee == UInt8(ascii: "-") {
            number.negative = true
            pointer += 1
        } else if allowPlus && pointer.pointee == UInt8(ascii: "+") {
            pointer += 1
        }
        guard pointer < end else { return nil }
        let first = pointer.pointee &- 48
        if first == 0 {
            pointer += 1
            if pointer < end && pointer.pointee &- 48 <= 9 { return nil }  // leading zero
        } else if first <= 9 {
            // Integer digits: the hot loop for ids and epoch timestamps.
            var mantissa: UInt64 = 0
            var count = 0
            while pointer < end {
                let digit = pointer.pointee &- 48
                if digit > 9 { break }
                if count < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    count += 1
                } else {
                    number.mantissa = mantissa
                    number.significantDigits = count
                    number.addDigit(digit, inFraction: false)
                    mantissa = number.mantissa
                    count = number.significantDigits
                }
                pointer += 1
            }
            number.mantissa = mantissa
            number.significantDigits = count
        } else {
            return nil
        }
        if pointer < end && pointer.pointee == UInt8(ascii: ".") {
            number.isInteger = false
            pointer += 1
            let fractionStart = pointer
            while pointer < end {
                let digit = pointer.pointee &- 48
                if digit > 9 { break }
                number.addDigit(digit, inFraction: true)
                pointer += 1
            }
            if pointer == fractionStart { return nil }
        }
        if pointer < end && pointer.pointee | 0x20 == UInt8(ascii: "e") {
            number.isInteger = false
            pointer += 1
            guard pointer < end else { return nil }
            var exponentNegative = false
            if pointer.pointee == UInt8(ascii: "-") || pointer.pointee == UInt8(ascii: "+") {
                exponentNegative = pointer.pointee == UInt8(ascii: "-")
                pointer += 1
            }
            let digitsStart = pointer
            var explicit = 0
            while pointer < end {
                let digit = pointer.pointee &- 48
                if digit > 9 { break }
                // Saturate: past 10^8 the value is 0 or out of every range anyway.
                if explicit < 100_000_000 { explicit = explicit * 10 + Int(digit) }
                pointer += 1
            }
            if pointer == digitsStart { return nil }
            number.exponent += exponentNegative ? -explicit : explicit
        }
        return pointer
    }

    /// `round(value × 10^scale)` as an Int64 whose magnitude is at most `positiveLimit` (or
    /// `negativeLimit` for negative values).
    func scaledInteger(
        scale: Int, rounding: Rounding, positiveLimit: UInt64, negativeLimit: UInt64
    ) -> IntegerResult {
        if mantissa == 0 { return .value(0) }
        let shift = exponent + scale
        var magnitude: UInt64
        var firstRemoved: UInt8
        var restNonZero: Bool
        if shift >= 0 {
            // Dropped digits would become integer digits of a value ≥ 10^19: out of every range.
            if shift > 19 || (hasDropped && shift > 0) { return .outOfRange }
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: uint64PowersOfTen[shift])
            if overflow { return .outOfRange }
            magnitude = product
            firstRemoved = hasDropped ? firstDropped : 0
            restNonZero = droppedNonZero
        } else {
            let removed = -shift
            let droppedAny = hasDropped && (firstDropped != 0 || droppedNonZero)
            if removed > 19 {
                magnitude = 0
                firstRemoved = 0
                restNonZero = true  // mantissa != 0
            } else {
                let divisor = uint64PowersOfTen[removed]
                magnitude = mantissa / divisor
                let remainder = mantissa % divisor
                let below = uint64PowersOfTen[removed - 1]
                firstRemoved = UInt8(remainder / below)
                restNonZero = remainder % below != 0 || droppedAny
            }
        }
        switch rounding {
        case .exact:
            if firstRemoved != 0 || restNonZero { return .inexact }
        case .halfAwayFromZero:
            if firstRemoved >= 5 { magnitude &+= 1 }
        case .floor:
            if negative && (firstRemoved != 0 || restNonZero) { magnitude &+= 1 }
        }
        if negative {
            if magnitude > negativeLimit { return .outOfRange }
            return .value(Int64(bitPattern: 0 &- magnitude))
        }
        if magnitude > positiveLimit { return .outOfRange }
        return .value(Int64(bitPattern: magnitude))
    }

    /// The correctly rounded `Double` of the text `start..<end` this number was scanned from.
    /// Fast path (Clinger): a mantissa of at most 2^53 and |exponent| ≤ 22 are both exact doubles, so
    /// one IEEE multiplication or division rounds correctly. Everything else goes to libc's `strtod`,
    /// which rounds correctly (glibc) in the "C" numeric locale that Swift programs run in.
    @inline(__always)
    func double(text start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double {
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if !hasDropped && mantissa <= 1 << 53 {
            var value = Double(mantissa)
            if exponent >= 0 && exponent <= 22 {
                value *= doublePowersOfTen[exponent]
                return negative ? -value : value
            }
            if exponent < 0 && exponent >= -22 {
                value /= doublePowersOfTen[-exponent]
                return negative ? -value : value
            }
        }
        return ScannedNumber.strtodSlowPath(start, end)
    }

    @inline(never)
    static func strtodSlowPath(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double {
        let length = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            let base = buffer.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: start, byteCount: length)
            base[length] = 0
            return strtod(base, nil)
        }
    }
}

/// 10^0 ... 10^19 (10^19 still fits a UInt64).
let uint64PowersOfTen: [UInt64] = (0...19).map { exponent in
    (0..<exponent).reduce(UInt64(1)) { value, _ in value * 10 }
}

/// 1e0 ... 1e22, every one exactly representable as a Double.
let doublePowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]
