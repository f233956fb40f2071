/// The kernels of CAST and TRY_CAST (which conversions exist, and how they round, is documented on
/// `Expr.bind(to:)`). A value that does not convert is an `.execution` error naming it under CAST and a
/// NULL under TRY_CAST. Conversions that only relabel Int64 storage (BIGINT ↔ TIMESTAMP) never reach
/// here: the binder turns them into a zero-copy retype.
enum CastKernels {
    static func cast(_ operand: Datum, from source: DataType, to target: DataType, isTry: Bool, count: Int) throws(EngineError) -> Datum {
        switch operand {
        case .scalar(.null): return .scalar(.null)
        case .bits(let bits): return fromBool(bits, to: target)
        case .column(let column):
            if source == target { return operand }
            switch (source, target) {
            case (_, .utf8): return .column(toText(column))
            case (.utf8, _): return try fromText(column, to: target, isTry: isTry)
            default: return try numeric(column, to: target, isTry: isTry)
            }
        case .scalar:
            preconditionFailure("scalar operands are cast on one-row columns")
        }
    }

    // MARK: To TEXT

    private static func toText(_ column: Column) -> Column {
        let count = column.count
        var output = StringKernels.Output(count: count, byteCapacity: count * 12)
        switch (column.type, column.values) {
        case (.int64, .int64(let values)):
            for row in 0..<count {
                if !column.isNull(row) { TextFormatting.appendInt64(values[row], to: &output.bytes) }
                output.endValue()
            }
        case (.decimal(let scale), .int64(let values)):
            for row in 0..<count {
                if !column.isNull(row) { TextFormatting.appendDecimal(values[row], scale: scale, to: &output.bytes) }
                output.endValue()
            }
        case (.timestamp, .int64(let values)):
            for row in 0..<count {
                if !column.isNull(row) { TextFormatting.appendTimestamp(values[row], to: &output.bytes) }
                output.endValue()
            }
        case (.date, .int64(let values)):
            for row in 0..<count {
                if !column.isNull(row) { TextFormatting.appendDate(values[row], to: &output.bytes) }
                output.endValue()
            }
        case (.float64, .float64(let values)):
            for row in 0..<count {
                if !column.isNull(row) { TextFormatting.appendDouble(values[row], to: &output.bytes) }
                output.endValue()
            }
        default:
            preconditionFailure("no text conversion for \(column.type)")
        }
        return output.column(validity: column.validity?.words, count: count)
    }

    private static func fromBool(_ bits: BoolVector, to target: DataType) -> Datum {
        let count = bits.count
        switch target {
        case .bool:
            return .bits(bits)
        case .int64:
            let values = bits.values.withUnsafeBufferPointer { words in
                [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                    for row in 0..<count { out[row] = BitWords.test(words, row) ? 1 : 0 }
                    initialized = count
                }
            }
            return .column(.int64(values, validity: bits.validity.map { Bitmap(words: $0, count: count) }))
        case .utf8:
            var output = StringKernels.Output(count: count, byteCapacity: count * 5)
            for row in 0..<count {
                if case .bool(let value) = bits.value(at: row) { TextFormatting.appendBool(value, to: &output.bytes) }
                output.endValue()
            }
            return .column(output.column(validity: bits.validity, count: count))
        default:
            preconditionFailure("no conversion from BOOLEAN to \(target)")
        }
    }

    // MARK: From TEXT

    private static func fromText(_ column: Column, to target: DataType, isTry: Bool) throws(EngineError) -> Datum {
        let count = column.count
        let values = column.utf8
        let validity = column.validity?.words
        func text(_ row: Int) -> String { values.string(row) }
        switch target {
        case .int64, .timestamp, .date, .decimal:
            let (converted, newValidity) = try values.withUnsafeAccess { bytes, offsets in
                convert(count, validity: validity, isTry: isTry, zero: Int64(0)) { row in
                    let start = Int(offsets[row])
                    let buffer = UnsafeBufferPointer(start: bytes + start, count: Int(offsets[row + 1]) - start)
                    switch target {
                    case .int64: return parse { () throws(TextParsing.Failure) in try TextParsing.int64(buffer) }
                    case .timestamp: return parse { () throws(TextParsing.Failure) in try TextParsing.timestamp(buffer) }
                    case .date: return parse { () throws(TextParsing.Failure) in try TextParsing.date(buffer) }
                    case .decimal(let scale): return parse { () throws(TextParsing.Failure) in try TextParsing.decimal(buffer, scale: scale) }
                    default: preconditionFailure("unreachable")
                    }
                }
            }.get(target: target, describe: { quoted(text($0)) })
            return .column(Column(type: target, values: .int64(converted), validity: newValidity.map { Bitmap(words: $0, count: count) }))
        case .float64:
            let (converted, newValidity) = try values.withUnsafeAccess { bytes, offsets in
                convert(count, validity: validity, isTry: isTry, zero: 0.0) { row in
                    let start = Int(offsets[row])
                    let buffer = UnsafeBufferPointer(start: bytes + start, count: Int(offsets[row + 1]) - start)
                    return parse { () throws(TextParsing.Failure) in try TextParsing.double(buffer) }
                }
            }.get(target: target, describe: { quoted(text($0)) })
            return .column(.float64(converted, validity: newValidity.map { Bitmap(words: $0, count: count) }))
        case .bool:
            let (converted, newValidity) = try values.withUnsafeAccess { bytes, offsets in
                convert(count, validity: validity, isTry: isTry, zero: false) { row in
                    let start = Int(offsets[row])
                    let buffer = UnsafeBufferPointer(start: bytes + start, count: Int(offsets[row + 1]) - start)
                    return parse { () throws(TextParsing.Failure) in try TextParsing.bool(buffer) }
                }
            }.get(target: target, describe: { quoted(text($0)) })
            return .bits(BoolVector(values: BitWords.pack(converted), validity: newValidity, count: count))
        case .utf8:
            return .column(column)
        }
    }

    @inline(__always)
    private static func parse<T>(_ body: () throws(TextParsing.Failure) -> T) -> Result<T, TextParsing.Failure> {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    private static func quoted(_ text: String) -> String {
        let shown = text.unicodeScalars.count > 64 ? String(text.unicodeScalars.prefix(64)) + "…" : text
        return Expr.quoteString(shown)
    }

    // MARK: Between numeric types

    private static func numeric(_ column: Column, to target: DataType, isTry: Bool) throws(EngineError) -> Datum {
        let count = column.count
        let validity = column.validity?.words
        func describe(_ row: Int) -> String { column.value(at: row).description }
        switch (column.type, column.values, target) {
        case (.int64, .int64(let values), .float64):
            return .column(.float64(values.map { Double($0) }, validity: column.validity))
        case (.int64, .int64(let values), .bool):
            return .bits(BoolVector(values: values.withUnsafeBufferPointer { v in BitWords.pack(count) { v[$0] != 0 } }, validity: validity, count: count))
        case (.int64, .int64, .timestamp), (.timestamp, .int64, .int64):
            return .column(Column(type: target, values: column.values, validity: column.validity))
        case (.date, .int64(let values), .timestamp):
            // Midnight UTC of the day; days beyond ±106 million years do not fit milliseconds.
            let (converted, newValidity) = try values.withUnsafeBufferPointer { values in
                convert(count, validity: validity, isTry: isTry, zero: Int64(0)) { row in
                    let (millis, overflow) = values[row].multipliedReportingOverflow(by: 86_400_000)
                    return overflow ? .failure(.outOfRange) : .success(millis)
                }
            }.get(target: target, describe: describe)
            return .column(Column(type: .timestamp, values: .int64(converted), validity: newValidity.map { Bitmap(words: $0, count: count) }))
        case (.timestamp, .int64(let values), .date):
            // The UTC day the instant falls on.
            return .column(Column(type: .date, values: .int64(values.map { floorDivMod($0, 86_400_000).0 }), validity: column.validity))
        case (.int64, .int64(let values), .decimal(let scale)):
            return try rescaleInt64(values, column: column, from: 0, to: scale, target: target, isTry: isTry)
        case (.decimal(let scale), .int64(let values), .int64):
            return try rescaleInt64(values, column: column, from: scale, to: 0, target: target, isTry: isTry)
        case (.decimal(let from), .int64(let values), .decimal(let to)):
            return try rescaleInt64(values, column: column, from: from, to: to, target: target, isTry: isTry)
        case (.decimal(let scale), .int64(let values), .float64):
            let factor = Double(powersOfTen[scale])
            return .column(.float64(values.map { Double($0) / factor }, validity: column.validity))
        case (.float64, .float64(let values), .int64):
            let (converted, newValidity) = try values.withUnsafeBufferPointer { values in
                convert(count, validity: validity, isTry: isTry, zero: Int64(0)) { row in
                    // Round half to even, as Postgres and DuckDB do for DOUBLE → integer.
                    doubleToInt64(Rounding.halfToEven(values[row]))
                }
            }.get(target: target, describe: { column.value(at: $0).description })
            return .column(.int64(converted, validity: newValidity.map { Bitmap(words: $0, count: count) }))
        case (.float64, .float64(let values), .decimal(let scale)):
            let factor = Double(powersOfTen[scale])
            let (converted, newValidity) = try values.withUnsafeBufferPointer { values in
                convert(count, validity: validity, isTry: isTry, zero: Int64(0)) { row in
                    doubleToInt64(Rounding.halfAwayFromZero(values[row] * factor))
                }
            }.get(target: target, describe: { column.value(at: $0).description })
            return .column(Column(type: target, values: .int64(converted), validity: newValidity.map { Bitmap(words: $0, count: count) }))
        default:
            preconditionFailure("no conversion from \(column.type) to \(target)")
        }
    }

    /// An integral Double as Int64, failing outside [-2^63, 2^63) and for NaN.
    @inline(__always)
    private static func doubleToInt64(_ value: Double) -> Result<Int64, TextParsing.Failure> {
        guard value >= -9_223_372_036_854_775_808.0 && value < 9_223_372_036_854_775_808.0 else { return .failure(.outOfRange) }
        return .success(Int64(value))
    }

    /// Int64 storage from one decimal scale to another: up by a checked multiplication, down by division
    /// rounded half away from zero.
    private static func rescaleInt64(
        _ values: [Int64], column: Column, from: Int, to: Int, target: DataType, isTry: Bool
    ) throws(EngineError) -> Datum {
        let count = column.count
        if from == to { return .column(Column(type: target, values: column.values, validity: column.validity)) }
        if from > to {
            let divisor = powersOfTen[from - to]
            let converted = values.map { Rounding.divide($0, by: divisor) }
            return .column(Column(type: target, values: .int64(converted), validity: column.validity))
        }
        let factor = powersOfTen[to - from]
        let (converted, newValidity) = try values.withUnsafeBufferPointer { values in
            convert(count, validity: column.validity?.words, isTry: isTry, zero: Int64(0)) { row in
                let (scaled, overflow) = values[row].multipliedReportingOverflow(by: factor)
                return overflow ? .failure(.outOfRange) : .success(scaled)
            }
        }.get(target: target, describe: { column.value(at: $0).description })
        return .column(Column(type: target, values: .int64(converted), validity: newValidity.map { Bitmap(words: $0, count: count) }))
    }

    // MARK: Fallible conversion loop

    /// Converts every non-NULL row; TRY_CAST clears the validity of rows that fail, CAST throws for the first.
    @inline(__always)
    private static func convert<T>(
        _ count: Int, validity: [UInt64]?, isTry: Bool, zero: T,
        _ convertRow: (Int) -> Result<T, TextParsing.Failure>
    ) -> Converted<T> {
        var newValidity = validity
        var failure: (row: Int, reason: TextParsing.Failure)?
        let values = [T](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<count {
                if let validity, !BitWords.test(validity, row) {
                    (out.baseAddress! + row).initialize(to: zero)
                    continue
                }
                switch convertRow(row) {
                case .success(let value):
                    (out.baseAddress! + row).initialize(to: value)
                case .failure(let reason):
                    (out.baseAddress! + row).initialize(to: zero)
                    if isTry {
                        if newValidity == nil { newValidity = BitWords.ones(count) }
                        newValidity![row >> 6] &= ~(1 << UInt64(row & 63))
                    } else if failure == nil {
                        failure = (row, reason)
                    }
                }
            }
            initialized = count
        }
        return Converted(values: values, validity: newValidity, failure: failure)
    }

    /// The outcome of `convert`: values and validity, or the first row that failed under CAST.
    private struct Converted<T> {
        let values: [T]
        let validity: [UInt64]?
        let failure: (row: Int, reason: TextParsing.Failure)?

        /// The values and validity; throws for a failed row, quoting it with `describe`.
        func get(target: DataType, describe: (Int) -> String) throws(EngineError) -> ([T], [UInt64]?) {
            if let failure {
                let suffix = failure.reason == .outOfRange ? ": out of range" : ""
                throw .execution("cannot cast \(describe(failure.row)) to \(target)\(suffix)")
            }
            return (values, validity)
        }
    }
}
