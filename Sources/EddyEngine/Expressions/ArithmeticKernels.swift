/// The vectorised kernels of `+ - * / %`, unary minus and `abs`. The binder has already cast both operands
/// to the storage the operation runs in (see `Expr.bind(to:)`), so only two families remain: checked
/// Int64 arithmetic (BIGINT, DECIMAL with aligned scales, TIMESTAMP ± milliseconds) and Double arithmetic.
///
/// Each operation is one tight loop over the raw buffers per operand shape (column ∘ column, column ∘
/// scalar, scalar ∘ column); the operation itself is a generic parameter, so the compiler specialises the
/// loop for it and nothing is called per row. Overflow is accumulated in a flag inside the loop and only
/// located (for the error message) after it, so the hot loop has no early exit. Division or modulo by zero
/// gives NULL (DuckDB's and Spark's non-ANSI behaviour).
enum ArithmeticKernels {
    /// What the operation runs on.
    enum Kind: Sendable, Hashable {
        /// Checked Int64 `+ - * %`.
        case int64
        /// IEEE Double `+ - * / %`.
        case double
    }

    /// Operand types and the expression text, for error messages only.
    struct Context {
        let resultType: DataType
        let lhsType: DataType
        let rhsType: DataType
        let text: String
    }

    static func evaluate(
        _ op: ArithmeticOperator, kind: Kind, _ lhs: Datum, _ rhs: Datum, count: Int, context: Context
    ) throws(EngineError) -> Datum {
        if case .scalar(let value) = lhs, value.isNull { return .scalar(.null) }
        if case .scalar(let value) = rhs, value.isNull { return .scalar(.null) }
        switch kind {
        case .int64: return try int64(op, lhs, rhs, count: count, context: context)
        case .double: return double(op, lhs, rhs, count: count, type: context.resultType)
        }
    }

    // MARK: Int64

    private static func int64(
        _ op: ArithmeticOperator, _ lhs: Datum, _ rhs: Datum, count: Int, context: Context
    ) throws(EngineError) -> Datum {
        switch op {
        case .add: return try checked(CheckedAdd.self, op, lhs, rhs, count: count, context: context)
        case .subtract: return try checked(CheckedSubtract.self, op, lhs, rhs, count: count, context: context)
        case .multiply: return try checked(CheckedMultiply.self, op, lhs, rhs, count: count, context: context)
        case .modulo: return int64Modulo(lhs, rhs, count: count, type: context.resultType)
        case .divide: preconditionFailure("the binder turns integer division into Double division")
        }
    }

    private static func checked<Op: CheckedInt64Operation>(
        _: Op.Type, _ op: ArithmeticOperator, _ lhs: Datum, _ rhs: Datum, count: Int, context: Context
    ) throws(EngineError) -> Datum {
        let values: [Int64]
        let overflow: Bool
        let validity: Bitmap?
        switch (lhs, rhs) {
        case (.column(let a), .column(let b)):
            validity = BitWords.and(a.validity, b.validity)
            (values, overflow) = a.int64s.withUnsafeBufferPointer { a in
                b.int64s.withUnsafeBufferPointer { b in checkedLoop(Op.self, count) { a[$0] } _: { b[$0] } }
            }
        case (.column(let a), .scalar(let s)):
            let b = s.int64Storage
            validity = a.validity
            (values, overflow) = a.int64s.withUnsafeBufferPointer { a in checkedLoop(Op.self, count) { a[$0] } _: { _ in b } }
        case (.scalar(let s), .column(let b)):
            let a = s.int64Storage
            validity = b.validity
            (values, overflow) = b.int64s.withUnsafeBufferPointer { b in checkedLoop(Op.self, count) { _ in a } _: { b[$0] } }
        default:
            preconditionFailure("arithmetic on \(lhs) and \(rhs)")
        }
        if overflow {
            // Find the first row that overflowed and is not NULL (a NULL row's stored value is arbitrary).
            for row in 0..<count where validity?[row] ?? true {
                let a = lhs.int64(at: row), b = rhs.int64(at: row)
                if Op.apply(a, b).overflow {
                    throw .execution(
                        "\(context.resultType) overflow in \(context.text): "
                            + "\(Value(storage: a, type: context.lhsType)) \(op) \(Value(storage: b, type: context.rhsType))")
                }
            }
        }
        return .column(Column(type: context.resultType, values: .int64(values), validity: validity))
    }

    @inline(__always)
    private static func checkedLoop<Op: CheckedInt64Operation>(
        _: Op.Type, _ count: Int, _ a: (Int) -> Int64, _ b: (Int) -> Int64
    ) -> ([Int64], Bool) {
        var overflowed: UInt8 = 0
        let values = [Int64](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<count {
                let (value, overflow) = Op.apply(a(row), b(row))
                out[row] = value
                overflowed |= overflow ? 1 : 0
            }
            initialized = count
        }
        return (values, overflowed != 0)
    }

    /// `a % b` with the sign of `a` (SQL and C); `b = 0` gives NULL; `Int64.min % -1` is 0, not a trap.
    private static func int64Modulo(_ lhs: Datum, _ rhs: Datum, count: Int, type: DataType) -> Datum {
        switch (lhs, rhs) {
        case (.column(let a), .column(let b)):
            let divisors = b.int64s
            let values = a.int64s.withUnsafeBufferPointer { a in
                divisors.withUnsafeBufferPointer { b in
                    [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                        for row in 0..<count { out[row] = safeRemainder(a[row], b[row]) }
                        initialized = count
                    }
                }
            }
            let nonZero = divisors.withUnsafeBufferPointer { b in BitWords.pack(count) { b[$0] != 0 } }
            let validity = BitWords.and(BitWords.and(a.validity?.words, b.validity?.words), nonZero)
            return .column(Column(type: type, values: .int64(values), validity: validity.map { Bitmap(words: $0, count: count) }))
        case (.column(let a), .scalar(let s)):
            let divisor = s.int64Storage
            if divisor == 0 { return .scalar(.null) }
            let values = a.int64s.withUnsafeBufferPointer { a in
                [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                    if divisor == -1 {
                        for row in 0..<count { out[row] = 0 }
                    } else {
                        for row in 0..<count { out[row] = a[row] % divisor }
                    }
                    initialized = count
                }
            }
            return .column(Column(type: type, values: .int64(values), validity: a.validity))
        case (.scalar(let s), .column(let b)):
            let dividend = s.int64Storage
            let divisors = b.int64s
            let values = divisors.withUnsafeBufferPointer { b in
                [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                    for row in 0..<count { out[row] = safeRemainder(dividend, b[row]) }
                    initialized = count
                }
            }
            let nonZero = divisors.withUnsafeBufferPointer { b in BitWords.pack(count) { b[$0] != 0 } }
            let validity = BitWords.and(b.validity?.words, nonZero)
            return .column(Column(type: type, values: .int64(values), validity: validity.map { Bitmap(words: $0, count: count) }))
        default:
            preconditionFailure("modulo on \(lhs) and \(rhs)")
        }
    }

    /// The remainder with the two trapping divisors (0 and -1 under Int64.min) made harmless; the caller
    /// masks zero divisors out as NULL.
    @inline(__always)
    private static func safeRemainder(_ a: Int64, _ b: Int64) -> Int64 {
        let divisor = b == 0 || b == -1 ? 1 : b
        return b == -1 ? 0 : a % divisor
    }

    // MARK: Double

    private static func double(_ op: ArithmeticOperator, _ lhs: Datum, _ rhs: Datum, count: Int, type: DataType) -> Datum {
        switch op {
        case .add: doubleOp(DoubleAdd.self, lhs, rhs, count: count, nullOnZeroDivisor: false)
        case .subtract: doubleOp(DoubleSubtract.self, lhs, rhs, count: count, nullOnZeroDivisor: false)
        case .multiply: doubleOp(DoubleMultiply.self, lhs, rhs, count: count, nullOnZeroDivisor: false)
        case .divide: doubleOp(DoubleDivide.self, lhs, rhs, count: count, nullOnZeroDivisor: true)
        case .modulo: doubleOp(DoubleRemainder.self, lhs, rhs, count: count, nullOnZeroDivisor: true)
        }
    }

    private static func doubleOp<Op: DoubleOperation>(
        _: Op.Type, _ lhs: Datum, _ rhs: Datum, count: Int, nullOnZeroDivisor: Bool
    ) -> Datum {
        switch (lhs, rhs) {
        case (.column(let a), .column(let b)):
            let divisors = b.float64s
            let values = a.float64s.withUnsafeBufferPointer { a in
                divisors.withUnsafeBufferPointer { b in doubleLoop(Op.self, count) { a[$0] } _: { b[$0] } }
            }
            var validity = BitWords.and(a.validity?.words, b.validity?.words)
            if nullOnZeroDivisor {
                let nonZero = divisors.withUnsafeBufferPointer { b in BitWords.pack(count) { b[$0] != 0 } }
                validity = BitWords.and(validity, nonZero)
            }
            return .column(.float64(values, validity: validity.map { Bitmap(words: $0, count: count) }))
        case (.column(let a), .scalar(let s)):
            let b = s.doubleValue
            if nullOnZeroDivisor && b == 0 { return .scalar(.null) }
            let values = a.float64s.withUnsafeBufferPointer { a in doubleLoop(Op.self, count) { a[$0] } _: { _ in b } }
            return .column(.float64(values, validity: a.validity))
        case (.scalar(let s), .column(let b)):
            let a = s.doubleValue
            let divisors = b.float64s
            let values = divisors.withUnsafeBufferPointer { b in doubleLoop(Op.self, count) { _ in a } _: { b[$0] } }
            var validity = b.validity?.words
            if nullOnZeroDivisor {
                let nonZero = divisors.withUnsafeBufferPointer { b in BitWords.pack(count) { b[$0] != 0 } }
                validity = BitWords.and(validity, nonZero)
            }
            return .column(.float64(values, validity: validity.map { Bitmap(words: $0, count: count) }))
        default:
            preconditionFailure("arithmetic on \(lhs) and \(rhs)")
        }
    }

    @inline(__always)
    private static func doubleLoop<Op: DoubleOperation>(
        _: Op.Type, _ count: Int, _ a: (Int) -> Double, _ b: (Int) -> Double
    ) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<count { out[row] = Op.apply(a(row), b(row)) }
            initialized = count
        }
    }

    // MARK: Unary

    /// Unary minus (`absolute == false`) or `abs`, checked for BIGINT/DECIMAL: `-Int64.min` overflows.
    static func negateOrAbs(_ operand: Datum, absolute: Bool, count: Int, type: DataType, text: String) throws(EngineError) -> Datum {
        switch operand {
        case .scalar(let value):
            switch value {
            case .null: return .scalar(.null)
            case .float64(let v): return .scalar(.float64(absolute ? Swift.abs(v) : -v))
            default:
                let v = value.int64Storage
                if v == .min { throw .execution("\(type) overflow in \(text): \(value)") }
                return .scalar(Value(storage: absolute ? Swift.abs(v) : -v, type: type))
            }
        case .column(let column):
            if type == .float64 {
                let values = column.float64s.withUnsafeBufferPointer { a in
                    [Double](unsafeUninitializedCapacity: count) { out, initialized in
                        if absolute {
                            for row in 0..<count { out[row] = Swift.abs(a[row]) }
                        } else {
                            for row in 0..<count { out[row] = -a[row] }
                        }
                        initialized = count
                    }
                }
                return .column(.float64(values, validity: column.validity))
            }
            var overflowed: UInt8 = 0
            let values = column.int64s.withUnsafeBufferPointer { a in
                [Int64](unsafeUninitializedCapacity: count) { out, initialized in
                    for row in 0..<count {
                        let v = a[row]
                        overflowed |= v == .min ? 1 : 0
                        // `0 &- v` is `-v` except for Int64.min, which the flag reports.
                        out[row] = absolute ? (v < 0 ? 0 &- v : v) : 0 &- v
                    }
                    initialized = count
                }
            }
            if overflowed != 0 {
                for row in 0..<count where !column.isNull(row) && column.int64s[row] == .min {
                    throw .execution("\(type) overflow in \(text): \(column.value(at: row))")
                }
            }
            return .column(Column(type: type, values: .int64(values), validity: column.validity))
        case .bits:
            preconditionFailure("negating a boolean")
        }
    }
}

// MARK: Operations (generic parameters, so each loop is specialised and nothing is called per row)

protocol CheckedInt64Operation {
    static func apply(_ a: Int64, _ b: Int64) -> (partialValue: Int64, overflow: Bool)
}

enum CheckedAdd: CheckedInt64Operation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64) -> (partialValue: Int64, overflow: Bool) {
        a.addingReportingOverflow(b)
    }
}

enum CheckedSubtract: CheckedInt64Operation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64) -> (partialValue: Int64, overflow: Bool) {
        a.subtractingReportingOverflow(b)
    }
}

enum CheckedMultiply: CheckedInt64Operation {
    @inline(__always) static func apply(_ a: Int64, _ b: Int64) -> (partialValue: Int64, overflow: Bool) {
        a.multipliedReportingOverflow(by: b)
    }
}

protocol DoubleOperation {
    static func apply(_ a: Double, _ b: Double) -> Double
}

enum DoubleAdd: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double) -> Double { a + b }
}

enum DoubleSubtract: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double) -> Double { a - b }
}

enum DoubleMultiply: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double) -> Double { a * b }
}

enum DoubleDivide: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double) -> Double { a / b }
}

enum DoubleRemainder: DoubleOperation {
    @inline(__always) static func apply(_ a: Double, _ b: Double) -> Double { a.truncatingRemainder(dividingBy: b) }
}
