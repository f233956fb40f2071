/// Variable-length UTF-8 strings: value `i` is `bytes[offsets[i] ..< offsets[i + 1]]`.
/// `offsets` has one more entry than there are values and starts at 0.
public struct Utf8Values: Sendable, Hashable {
    public var offsets: [Int32]
    public var bytes: [UInt8]

    public init(offsets: [Int32] = [0], bytes: [UInt8] = []) {
        precondition(offsets.first == 0, "utf8 offsets start at 0")
        self.offsets = offsets
        self.bytes = bytes
    }

    public var count: Int { offsets.count - 1 }

    @inlinable
    public func range(_ index: Int) -> Range<Int> {
        Int(offsets[index])..<Int(offsets[index + 1])
    }

    public func string(_ index: Int) -> String {
        String(decoding: bytes[range(index)], as: UTF8.self)
    }
}

/// The values of a column, in the storage its type calls for (see `DataType`).
public enum ColumnValues: Sendable, Hashable {
    case bool([Bool])
    case int64([Int64])
    case float64([Double])
    case utf8(Utf8Values)
}

/// One typed column of a batch. `validity == nil` means no value is null; a null slot's value
/// is unspecified (zero or empty) and must not be read.
public struct Column: Sendable, Hashable {
    public let type: DataType
    public var values: ColumnValues
    public var validity: Bitmap?

    public init(type: DataType, values: ColumnValues, validity: Bitmap? = nil) {
        self.type = type
        self.values = values
        self.validity = validity
        if let validity { precondition(validity.count == count, "validity length differs from values") }
        switch (type, values) {
        case (.bool, .bool), (.float64, .float64), (.utf8, .utf8): break
        case (.int64, .int64), (.timestamp, .int64), (.date, .int64), (.decimal, .int64): break
        default: preconditionFailure("column of type \(type) cannot hold \(values)")
        }
    }

    public static func int64(_ values: [Int64], validity: Bitmap? = nil) -> Column {
        Column(type: .int64, values: .int64(values), validity: validity)
    }

    public static func float64(_ values: [Double], validity: Bitmap? = nil) -> Column {
        Column(type: .float64, values: .float64(values), validity: validity)
    }

    public static func bool(_ values: [Bool], validity: Bitmap? = nil) -> Column {
        Column(type: .bool, values: .bool(values), validity: validity)
    }

    public static func timestamp(_ millis: [Int64], validity: Bitmap? = nil) -> Column {
        Column(type: .timestamp, values: .int64(millis), validity: validity)
    }

    public static func utf8(_ strings: [String], validity: Bitmap? = nil) -> Column {
        var builder = ColumnBuilder(.utf8, capacity: strings.count)
        for string in strings { builder.append(string) }
        var column = builder.finish()
        column.validity = validity
        return column
    }

    public var count: Int {
        switch values {
        case .bool(let v): v.count
        case .int64(let v): v.count
        case .float64(let v): v.count
        case .utf8(let v): v.count
        }
    }

    public var nullCount: Int {
        guard let validity else { return 0 }
        return count - validity.setCount
    }

    @inlinable
    public func isNull(_ index: Int) -> Bool {
        guard let validity else { return false }
        return !validity[index]
    }

    /// The Int64 storage (int64, timestamp, decimal).
    public var int64s: [Int64] {
        guard case .int64(let v) = values else { preconditionFailure("\(type) column has no Int64 storage") }
        return v
    }

    public var float64s: [Double] {
        guard case .float64(let v) = values else { preconditionFailure("\(type) column has no Double storage") }
        return v
    }

    public var bools: [Bool] {
        guard case .bool(let v) = values else { preconditionFailure("\(type) column has no Bool storage") }
        return v
    }

    public var utf8: Utf8Values {
        guard case .utf8(let v) = values else { preconditionFailure("\(type) column has no UTF-8 storage") }
        return v
    }

    /// The value at `index` as a `Value` (slow: for tests, sinks and small results).
    public func value(at index: Int) -> Value {
        if isNull(index) { return .null }
        switch (type, values) {
        case (.bool, .bool(let v)): return .bool(v[index])
        case (.int64, .int64(let v)): return .int64(v[index])
        case (.timestamp, .int64(let v)): return .timestamp(v[index])
        case (.date, .int64(let v)): return .date(v[index])
        case (.decimal(let scale), .int64(let v)): return .decimal(v[index], scale: scale)
        case (.float64, .float64(let v)): return .float64(v[index])
        case (.utf8, .utf8(let v)): return .string(v.string(index))
        default: preconditionFailure("column of type \(type) holds \(values)")
        }
    }

    /// The rows at `indices`, in that order (a gather).
    public func take(_ indices: [Int32]) -> Column {
        let taken: ColumnValues
        switch values {
        case .bool(let v): taken = .bool(indices.map { v[Int($0)] })
        case .int64(let v): taken = .int64(indices.map { v[Int($0)] })
        case .float64(let v): taken = .float64(indices.map { v[Int($0)] })
        case .utf8(let v):
            var offsets: [Int32] = [0]
            offsets.reserveCapacity(indices.count + 1)
            var bytes: [UInt8] = []
            for index in indices {
                bytes.append(contentsOf: v.bytes[v.range(Int(index))])
                offsets.append(Int32(bytes.count))
            }
            taken = .utf8(Utf8Values(offsets: offsets, bytes: bytes))
        }
        var takenValidity: Bitmap?
        if let validity {
            var bits = Bitmap(count: indices.count, value: false)
            for (position, index) in indices.enumerated() where validity[Int(index)] { bits.set(position) }
            takenValidity = bits
        }
        return Column(type: type, values: taken, validity: takenValidity)
    }

    /// The rows whose bit is set in `mask`.
    public func filter(_ mask: Bitmap) -> Column {
        precondition(mask.count == count, "mask length differs from column")
        if mask.allSet { return self }
        return take(mask.setIndices)
    }

    /// Columns of the same type, one after the other.
    public static func concatenate(_ columns: [Column], type: DataType) -> Column {
        var builder = ColumnBuilder(type, capacity: columns.reduce(0) { $0 + $1.count })
        for column in columns {
            precondition(column.type == type, "concatenating \(column.type) into \(type)")
            builder.append(contentsOf: column)
        }
        return builder.finish()
    }
}
