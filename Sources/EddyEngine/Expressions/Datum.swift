/// An intermediate result inside expression evaluation. Literals stay scalars so kernels can run column ∘
/// scalar loops instead of broadcasting constants into arrays; booleans stay packed.
///
/// Invariant: a BOOLEAN result is always `.bits` or `.scalar`, never `.column`.
enum Datum: Sendable {
    case column(Column)
    case bits(BoolVector)
    /// One value for every row; `.null` for a NULL of the expression's type.
    case scalar(Value)

    /// The value of one row (slow path: folding constants and error messages).
    func value(at row: Int) -> Value {
        switch self {
        case .column(let column): column.value(at: row)
        case .bits(let bits): bits.value(at: row)
        case .scalar(let value): value
        }
    }

    /// Validity words (`nil`: no NULL row). A NULL scalar is all-invalid.
    func validityWords(count: Int) -> [UInt64]? {
        switch self {
        case .column(let column): column.validity?.words
        case .bits(let bits): bits.validity
        case .scalar(let value): value.isNull ? BitWords.zeros(count) : nil
        }
    }

    var isScalar: Bool {
        if case .scalar = self { return true }
        return false
    }

    /// The result as a column of `count` rows of `type`; scalars are broadcast here, once, at the end.
    func column(type: DataType, count: Int) -> Column {
        switch self {
        case .column(let column): return column
        case .bits(let bits): return bits.column()
        case .scalar(let value): return Datum.broadcast(value, type: type, count: count)
        }
    }

    /// A BOOLEAN result as packed bits.
    func bits(count: Int) -> BoolVector {
        switch self {
        case .bits(let bits): return bits
        case .scalar(.bool(let value)): return .constant(value, count: count)
        case .scalar(.null): return .constant(nil, count: count)
        case .column(let column) where column.type == .bool: return BoolVector(column)
        default: preconditionFailure("not a boolean datum: \(self)")
        }
    }

    static func broadcast(_ value: Value, type: DataType, count: Int) -> Column {
        if value.isNull {
            let validity = Bitmap(count: count, value: false)
            switch type {
            case .bool: return .bool(Array(repeating: false, count: count), validity: validity)
            case .int64, .timestamp, .date, .decimal:
                return Column(type: type, values: .int64(Array(repeating: 0, count: count)), validity: validity)
            case .float64: return .float64(Array(repeating: 0, count: count), validity: validity)
            case .utf8:
                return Column(
                    type: .utf8, values: .utf8(Utf8Values(offsets: Array(repeating: 0, count: count + 1))),
                    validity: validity)
            }
        }
        switch (type, value) {
        case (.bool, .bool(let v)): return .bool(Array(repeating: v, count: count))
        case (.int64, .int64(let v)), (.timestamp, .timestamp(let v)), (.date, .date(let v)):
            return Column(type: type, values: .int64(Array(repeating: v, count: count)))
        case (.decimal(let scale), .decimal(let v, let valueScale)) where scale == valueScale:
            return Column(type: type, values: .int64(Array(repeating: v, count: count)))
        case (.float64, .float64(let v)): return .float64(Array(repeating: v, count: count))
        case (.utf8, .string(var text)):
            let length = text.withUTF8 { $0.count }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(length * count)
            text.withUTF8 { utf8 in for _ in 0..<count { bytes.append(contentsOf: utf8) } }
            // Traps rather than wrap when the broadcast would pass the 2 GiB a batch's offsets can address.
            let offsets = (0...count).map { Int32($0 * length) }
            return Column(type: .utf8, values: .utf8(Utf8Values(offsets: offsets, bytes: bytes)))
        default:
            preconditionFailure("scalar \(value) does not have type \(type)")
        }
    }
}

extension Datum {
    /// The Int64 storage of one row (error messages).
    func int64(at row: Int) -> Int64 {
        switch self {
        case .column(let column): column.int64s[row]
        case .scalar(let value): value.int64Storage
        case .bits: preconditionFailure("Int64 of a boolean")
        }
    }
}
