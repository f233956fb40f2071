/// Kernels of `date_trunc` and `extract` on TIMESTAMP columns (epoch milliseconds, UTC, proleptic
/// Gregorian calendar). Fixed-length units are floor arithmetic in a tight loop; calendar units convert
/// each row's day number with `civilFromDays` / `daysFromCivil` (integer math, no allocation). Floor
/// division keeps times before 1970 right: 1969-12-31T23:59:59.999Z truncates to 1969-12-31, not 1970.
enum TimeKernels {
    static let millisPerDay: Int64 = 86_400_000

    /// `date_format`: each TIMESTAMP as TEXT in `pattern`.
    static func format(_ column: Column, _ pattern: DateFormatPattern) -> Column {
        let count = column.count
        var output = StringKernels.Output(count: count, byteCapacity: count * 20)
        let millis = column.int64s
        for row in 0..<count {
            if !column.isNull(row) { pattern.append(millis[row], to: &output.bytes) }
            output.endValue()
        }
        return output.column(validity: column.validity?.words, count: count)
    }

    static func dateTrunc(_ unit: DateTruncUnit, _ column: Column, text: String) throws(EngineError) -> Column {
        let count = column.count
        var overflowed: UInt8 = 0
        let values = column.int64s.withUnsafeBufferPointer { millis in
            [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                if let step = unit.fixedMillis {
                    for row in 0..<count {
                        let (floor, overflow) = truncate(millis[row], step: step)
                        out[row] = floor
                        overflowed |= overflow ? 1 : 0
                    }
                } else {
                    for row in 0..<count {
                        let (start, overflow) = truncate(millis[row], calendarUnit: unit)
                        out[row] = start
                        overflowed |= overflow ? 1 : 0
                    }
                }
                initialized = count
            }
        }
        if overflowed != 0 {
            // Only a non-NULL row counts (a NULL row's stored value is arbitrary).
            for row in 0..<count where !column.isNull(row) {
                let value = column.int64s[row]
                let overflow = unit.fixedMillis.map { truncate(value, step: $0).1 } ?? truncate(value, calendarUnit: unit).1
                if overflow { throw .execution("TIMESTAMP out of range in \(text): \(value) ms") }
            }
        }
        return Column(type: .timestamp, values: .int64(values), validity: column.validity)
    }

    /// Floor to a multiple of `step`; only instants within `step` of Int64.min can have a floor below it.
    @inline(__always)
    private static func truncate(_ value: Int64, step: Int64) -> (Int64, Bool) {
        let remainder = value % step
        return (value - remainder).subtractingReportingOverflow(remainder < 0 ? step : 0)
    }

    @inline(__always)
    private static func truncate(_ value: Int64, calendarUnit unit: DateTruncUnit) -> (Int64, Bool) {
        let days = floorDivMod(value, millisPerDay).0
        let start: Int64
        switch unit {
        case .week:
            // Day 0 (1970-01-01) was a Thursday: its Monday is 3 days earlier.
            start = days - floorDivMod(days + 3, 7).1
        case .month:
            let (year, month, _) = civilFromDays(days)
            start = daysFromCivil(year, month, 1)
        case .quarter:
            let (year, month, _) = civilFromDays(days)
            start = daysFromCivil(year, (month - 1) / 3 * 3 + 1, 1)
        default:
            let (year, _, _) = civilFromDays(days)
            start = daysFromCivil(year, 1, 1)
        }
        return start.multipliedReportingOverflow(by: millisPerDay)
    }

    static func extract(_ field: DateField, _ column: Column) -> Column {
        let count = column.count
        let values = column.int64s.withUnsafeBufferPointer { millis in
            [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                switch field {
                case .hour:
                    for row in 0..<count { out[row] = floorDivMod(millis[row], millisPerDay).1 / 3_600_000 }
                case .minute:
                    for row in 0..<count { out[row] = floorDivMod(millis[row], 3_600_000).1 / 60_000 }
                case .second:
                    for row in 0..<count { out[row] = floorDivMod(millis[row], 60_000).1 / 1000 }
                case .millisecond:
                    for row in 0..<count { out[row] = floorDivMod(millis[row], 60_000).1 }
                case .epoch:
                    for row in 0..<count { out[row] = floorDivMod(millis[row], 1000).0 }
                case .dayOfWeek:
                    // 1970-01-01 was a Thursday (4 when Sunday is 0).
                    for row in 0..<count { out[row] = floorDivMod(floorDivMod(millis[row], millisPerDay).0 + 4, 7).1 }
                case .year, .quarter, .month, .day, .dayOfYear:
                    for row in 0..<count {
                        let days = floorDivMod(millis[row], millisPerDay).0
                        let (year, month, day) = civilFromDays(days)
                        switch field {
                        case .year: out[row] = year
                        case .quarter: out[row] = (month - 1) / 3 + 1
                        case .month: out[row] = month
                        case .day: out[row] = day
                        default: out[row] = days - daysFromCivil(year, 1, 1) + 1
                        }
                    }
                }
                initialized = count
            }
        }
        return .int64(values, validity: column.validity)
    }
}
