/// The unit of numeric timestamps (JSON numbers, numeric strings, CSV numbers) read into `TIMESTAMP`
/// columns, which store milliseconds. Sub-millisecond parts are truncated toward negative infinity
/// (the earlier instant), matching how ISO-8601 fractions beyond milliseconds are truncated.
public enum EpochUnit: String, Sendable, Hashable, CaseIterable {
    case seconds
    case milliseconds
    case microseconds

    /// The power of ten that turns a value in this unit into milliseconds.
    var millisecondScale: Int {
        switch self {
        case .seconds: 3
        case .milliseconds: 0
        case .microseconds: -3
        }
    }
}
