/// One value outside a column: literals in expressions, rows in tests and small results.
/// Slow by design; the hot path works on columns.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int64(Int64)
    case float64(Double)
    case string(String)
    /// Milliseconds since the epoch, UTC.
    case timestamp(Int64)
    /// Days since 1970-01-01.
    case date(Int64)
    /// `unscaled / 10^scale`.
    case decimal(Int64, scale: Int)

    /// The type of a non-null value.
    public var type: DataType? {
        switch self {
        case .null: nil
        case .bool: .bool
        case .int64: .int64
        case .float64: .float64
        case .string: .utf8
        case .timestamp: .timestamp
        case .date: .date
        case .decimal(_, let scale): .decimal(scale: scale)
        }
    }

    public var isNull: Bool { self == .null }

    /// A decimal from its text, for tests: `Value.decimal("12.50")` is 1250 at scale 2.
    public static func decimal(_ text: String) -> Value {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let scale = parts.count == 2 ? parts[1].count : 0
        guard let unscaled = Int64(parts.joined()) else { preconditionFailure("not a decimal: \(text)") }
        return .decimal(unscaled, scale: scale)
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .bool(let v): return v ? "true" : "false"
        case .int64(let v): return String(v)
        case .float64(let v): return String(v)
        case .string(let v): return v
        case .timestamp(let v): return formatTimestamp(v)
        case .date(let v): return formatDate(v)
        case .decimal(let v, let scale): return formatDecimal(v, scale: scale)
        }
    }
}

/// `unscaled / 10^scale` as text with exactly `scale` digits after the point.
public func formatDecimal(_ unscaled: Int64, scale: Int) -> String {
    guard scale > 0 else { return String(unscaled) }
    let magnitude = unscaled.magnitude
    let factor = UInt64(powersOfTen[scale])
    var fraction = String(magnitude % factor)
    fraction = String(repeating: "0", count: scale - fraction.count) + fraction
    return (unscaled < 0 ? "-" : "") + String(magnitude / factor) + "." + fraction
}

/// Epoch milliseconds as ISO-8601 UTC, `2026-11-22T04:18:27.123Z` (proleptic Gregorian calendar).
public func formatTimestamp(_ millis: Int64) -> String {
    let (days, msOfDay) = floorDivMod(millis, 86_400_000)
    let (year, month, day) = civilFromDays(days)
    let hour = msOfDay / 3_600_000, minute = msOfDay / 60_000 % 60, second = msOfDay / 1000 % 60, ms = msOfDay % 1000
    func pad(_ v: Int64, _ width: Int) -> String {
        let text = String(v)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(ms, 3))Z"
}

/// Days since the epoch as ISO-8601, `2026-11-22` (proleptic Gregorian calendar).
public func formatDate(_ days: Int64) -> String {
    let (year, month, day) = civilFromDays(days)
    func pad(_ v: Int64, _ width: Int) -> String {
        let text = String(v)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
}

/// Floor division and the non-negative remainder.
@inlinable
public func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    let quotient = a / b, remainder = a % b
    return remainder < 0 ? (quotient - 1, remainder + b) : (quotient, remainder)
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31); Howard Hinnant's civil_from_days.
public func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthPrime = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
    let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

/// (year, month 1-12, day 1-31) → days since 1970-01-01; Howard Hinnant's days_from_civil.
public func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}
