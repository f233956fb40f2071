import EddyEngine

/// How a column's values are read, resolved once per schema from its `DataType` so the per-value
/// dispatch is a switch over a small enum.
enum ColumnKind: Equatable, Sendable {
    case bool
    case int64
    case float64
    case utf8
    case timestamp
    case date
    case decimal(scale: Int)

    init(_ type: DataType) {
        switch type {
        case .bool: self = .bool
        case .int64: self = .int64
        case .float64: self = .float64
        case .utf8: self = .utf8
        case .timestamp: self = .timestamp
        case .date: self = .date
        case .decimal(let scale): self = .decimal(scale: scale)
        }
    }
}
