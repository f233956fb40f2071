/// The logical types a column can hold. Storage is chosen by type:
///
/// | type            | values stored as                          |
/// |-----------------|-------------------------------------------|
/// | `bool`          | `[Bool]`                                  |
/// | `int64`         | `[Int64]`                                 |
/// | `float64`       | `[Double]`                                |
/// | `utf8`          | `Utf8Values` (offsets + one byte buffer)  |
/// | `timestamp`     | `[Int64]`, milliseconds since the epoch, UTC |
/// | `date`          | `[Int64]`, days since 1970-01-01             |
/// | `decimal(s)`    | `[Int64]`, the value times 10^s (exact cents with s = 2) |
public enum DataType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case int64
    case float64
    case utf8
    case timestamp
    /// A calendar day (no time of day, no zone), as days since 1970-01-01.
    case date
    /// Fixed-point with `scale` digits after the point (0...18), 18 significant digits.
    case decimal(scale: Int)

    /// Whether the values live in `[Int64]` storage.
    public var isInt64Backed: Bool {
        switch self {
        case .int64, .timestamp, .date, .decimal: true
        default: false
        }
    }

    public var isNumeric: Bool {
        switch self {
        case .int64, .float64, .decimal: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .bool: "BOOLEAN"
        case .int64: "BIGINT"
        case .float64: "DOUBLE"
        case .utf8: "TEXT"
        case .timestamp: "TIMESTAMP"
        case .date: "DATE"
        case .decimal(let scale): "DECIMAL(18,\(scale))"
        }
    }

    /// A name that never changes (checkpoint signatures hash it), unlike `description`, which is
    /// for people.
    public var canonicalName: String {
        switch self {
        case .bool: "bool"
        case .int64: "int64"
        case .float64: "float64"
        case .utf8: "utf8"
        case .timestamp: "timestamp"
        case .date: "date"
        case .decimal(let scale): "decimal(\(scale))"
        }
    }

    /// 10^scale for decimals, 1 otherwise.
    public var decimalFactor: Int64 {
        if case .decimal(let scale) = self { return powersOfTen[scale] }
        return 1
    }
}

/// The largest DATE magnitude in days (about 292 million years either way): every DATE is then a
/// TIMESTAMP too. Readers refuse days beyond it as out of range.
public let maxDateMagnitudeDays: Int64 = Int64.max / 86_400_000

/// 10^0 ... 10^18.
public let powersOfTen: [Int64] = (0...18).map { exponent in
    (0..<exponent).reduce(Int64(1)) { value, _ in value * 10 }
}

/// A named, typed column of a schema.
public struct Field: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var type: DataType
    public var nullable: Bool

    public init(_ name: String, _ type: DataType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }

    public var description: String { "\(name) \(type)\(nullable ? "" : " NOT NULL")" }
}

/// The ordered fields of a batch. Names are matched exactly (case-sensitive).
public struct Schema: Sendable, Hashable, CustomStringConvertible {
    public var fields: [Field]

    public init(_ fields: [Field]) {
        self.fields = fields
    }

    public var count: Int { fields.count }
    public var names: [String] { fields.map(\.name) }

    public func index(of name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    public func field(named name: String) -> Field? {
        index(of: name).map { fields[$0] }
    }

    public var description: String { "(" + fields.map(\.description).joined(separator: ", ") + ")" }
}
