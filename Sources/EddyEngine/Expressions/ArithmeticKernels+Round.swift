/// `round(x, digits)`, half away from zero (DuckDB's rounding for DOUBLE and DECIMAL; Postgres's for
/// NUMERIC).
extension ArithmeticKernels {
    /// DOUBLE: scale by 10^digits, round, scale back. Negative digits round to tens, hundreds, ….
    static func round(_ column: Column, digits: Int) -> Column {
        let count = column.count
        let values = column.float64s.withUnsafeBufferPointer { values in
            [Double](unsafeUninitializedCapacity: count) { out, initialized in
                if digits == 0 {
                    for row in 0..<count { out[row] = Rounding.halfAwayFromZero(values[row]) }
                } else if digits > 0 {
                    let factor = power(digits)
                    for row in 0..<count {
                        let scaled = values[row] * factor
                        // Past 2^52 a double has no fraction left to round (and scaling may overflow to inf).
                        out[row] = scaled.isFinite ? Rounding.halfAwayFromZero(scaled) / factor : values[row]
                    }
                } else {
                    let factor = power(-digits)
                    for row in 0..<count { out[row] = Rounding.halfAwayFromZero(values[row] / factor) * factor }
                }
                initialized = count
            }
        }
        return .float64(values, validity: column.validity)
    }

    private static func power(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    /// BIGINT / DECIMAL: `Rounding.divide(x, by: divisor) * multiplier`, checked. The binder picks divisor
    /// and multiplier so the result lands at the result type's scale.
    static func round(_ column: Column, divisor: Int64, multiplier: Int64, type: DataType, text: String) throws(EngineError) -> Column {
        let count = column.count
        var overflowed: UInt8 = 0
        let values = column.int64s.withUnsafeBufferPointer { values in
            [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                for row in 0..<count {
                    let (value, overflow) = Rounding.divide(values[row], by: divisor).multipliedReportingOverflow(by: multiplier)
                    out[row] = value
                    overflowed |= overflow ? 1 : 0
                }
                initialized = count
            }
        }
        if overflowed != 0 {
            for row in 0..<count where !column.isNull(row) {
                if Rounding.divide(column.int64s[row], by: divisor).multipliedReportingOverflow(by: multiplier).overflow {
                    throw .execution("\(type) overflow in \(text): \(column.value(at: row))")
                }
            }
        }
        return Column(type: type, values: .int64(values), validity: column.validity)
    }
}
