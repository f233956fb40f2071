/// Conversions between a `Value` and the raw storage of its column type, for kernels that keep literals as
/// scalars next to column buffers.
extension Value {
    /// A value from Int64 storage of `type` (BIGINT, TIMESTAMP or DECIMAL).
    init(storage: Int64, type: DataType) {
        switch type {
        case .int64: self = .int64(storage)
        case .timestamp: self = .timestamp(storage)
        case .date: self = .date(storage)
        case .decimal(let scale): self = .decimal(storage, scale: scale)
        default: preconditionFailure("\(type) has no Int64 storage")
        }
    }

    /// The Int64 storage of a BIGINT, TIMESTAMP or DECIMAL value.
    var int64Storage: Int64 {
        switch self {
        case .int64(let v), .timestamp(let v), .date(let v), .decimal(let v, _): v
        default: preconditionFailure("\(self) has no Int64 storage")
        }
    }

    /// The Double of a DOUBLE value.
    var doubleValue: Double {
        guard case .float64(let v) = self else { preconditionFailure("\(self) is not a DOUBLE") }
        return v
    }

    /// The Bool of a BOOLEAN value, nil for NULL.
    var boolValue: Bool? {
        switch self {
        case .bool(let v): v
        case .null: nil
        default: preconditionFailure("\(self) is not a BOOLEAN")
        }
    }

    /// The UTF-8 bytes of a TEXT value.
    var utf8Bytes: [UInt8] {
        guard case .string(let v) = self else { preconditionFailure("\(self) is not TEXT") }
        return Array(v.utf8)
    }

    /// Whether the value can be stored in a column of `type` (a NULL fits every type).
    func fits(_ type: DataType) -> Bool {
        guard let own = self.type else { return true }
        return own == type
    }
}
