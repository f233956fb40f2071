/// The units `date_trunc` rounds a timestamp down to. All truncation is in UTC.
public enum DateTruncUnit: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case second
    case minute
    case hour
    case day
    /// ISO weeks: the Monday on or before the day, at midnight.
    case week
    case month
    case quarter
    case year

    public var description: String { rawValue }

    /// The fixed length of the unit in milliseconds, for the units that have one.
    var fixedMillis: Int64? {
        switch self {
        case .second: 1000
        case .minute: 60_000
        case .hour: 3_600_000
        case .day: 86_400_000
        case .week, .month, .quarter, .year: nil
        }
    }

    /// Finds a unit by its SQL name, case-insensitively.
    public init?(sqlName: String) {
        guard let unit = DateTruncUnit(rawValue: sqlName.lowercased()) else { return nil }
        self = unit
    }
}
