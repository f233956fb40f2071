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
        /// Checked Int64 `+ - * %`. Each operand is first multiplied by its factor (10^k, to align DECIMAL
        /// scales); doing that inside the kernel, rather than as a cast node, means only rows where both
        /// operands are present can overflow (`d + i` with `i` huge and `d` NULL is NULL, not an error).
        case int64(lhsFactor: Int64, rhsFactor: Int64)
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
        case .int64(let lhsFactor, let rhsFactor):
            let factors = (lhsFactor, rhsFactor)
            switch op {
            case .add: return try checked(CheckedAdd.self, op, lhs, rhs, factors, count: count, context: context)
            case .subtract: return try checked(CheckedSubtract.self, op, lhs, rhs, factors, count: count, context: context)
            case .multiply: return try checked(CheckedMultiply.self, op, lhs, rhs, factors, count: count, context: context)
            case .modulo: return try checked(SafeRemainder.self, op, lhs, rhs, factors, count: count, context: context)
            case .divide: preconditionFailure("the binder turns integer division into Double division")
            }
        case .double:
            return double(op, lhs, rhs, count: count, type: context.resultType)
        }
    }

    // MARK: Int64

    private static func checked<Op: CheckedInt64Operation>(
        _: Op.Type, _ op: ArithmeticOperator, _ lhs: Datum, _ rhs: Datum, _ factors: (Int64, Int64), count: Int, context: Context
    ) throws(EngineError) -> Datum {
        let (fa, fb) = factors
        let scaled = fa != 1 || fb != 1
        let values: [Int64]
        let overflow: Bool
        var validity: [UInt64]?
        switch (lhs, rhs) {
        case (.column(let a), .column(let b)):
            validity = BitWords.and(a.validity?.words, b.validity?.words)
            (values, overflow) = a.int64s.withUnsafeBufferPointer { a in
                b.int64s.withUnsafeBufferPointer { b in
                    scaled
                        ? checkedLoop(Op.self, count, fa, fb) { a[$0] } _: { b[$0] }
                        : checkedLoop(Op.self, count, 1, 1) { a[$0] } _: { b[$0] }
                }
            }
        case (.column(let a), .scalar(let s)):
            let b = s.int64Storage
            validity = a.validity?.words
            (values, overflow) = a.int64s.withUnsafeBufferPointer { a in
                scaled
                    ? checkedLoop(Op.self, count, fa, fb) { a[$0] } _: { _ in b }
                    : checkedLoop(Op.self, count, 1, 1) { a[$0] } _: { _ in b }
            }
        case (.scalar(let s), .column(let b)):
            let a = s.int64Storage
            validity = b.validity?.words
            (values, overflow) = b.int64s.withUnsafeBufferPointer { b in
                scaled
                    ? checkedLoop(Op.self, count, fa, fb) { _ in a } _: { b[$0] }
                    : checkedLoop(Op.self, count, 1, 1) { _ in a } _: { b[$0] }
            }
        default:
            preconditionFailure("arithmetic on \(lhs) and \(rhs)")
        }
        if overflow {
            // Find the first row that overflowed and is not NULL (a NULL row's stored value is arbitrary).
            for row in 0..<count where validity.map({ BitWords.test($0, row) }) ?? true {
                let a = lhs.int64(at: row), b = rhs.int64(at: row)
                if scaledApply(Op.self, a, fa, b, fb).overflow {
                    throw .execution(
                        "\(context.resultType) overflow in \(context.text): "
                            + "\(Value(storage: a, type: context.lhsType)) \(op) \(Value(storage: b, type: context.rhsType))")
                }
            }
        }
        if Op.nullOnZeroDivisor {
            // `x % 0` is NULL.
            switch rhs {
            case .scalar(let s) where s.int64Storage == 0: return .scalar(.null)
            case .column(let b):
                let nonZero = b.int64s.withUnsafeBufferPointer { b in BitWords.pack(count) { b[$0] != 0 } }
                validity = BitWords.and(validity, nonZero)
            default: break
            }
        }
        return .column(Column(type: context.resultType, values: .int64(values), validity: validity.map { Bitmap(words: $0, count: count) }))
    }

    /// The operation on operands scaled by their factors, with overflow of the scaling or the operation.
    @inline(__always)
    private static func scaledApply<Op: CheckedInt64Operation>(
        _: Op.Type, _ a: Int64, _ fa: Int64, _ b: Int64, _ fb: Int64
    ) -> (partialValue: Int64, overflow: Bool) {
        if fa == 1 && fb == 1 { return Op.apply(a, b) }
        let (x, o1) = a.multipliedReportingOverflow(by: fa)
        let (y, o2) = b.multipliedReportingOverflow(by: fb)
        let (value, o3) = Op.apply(x, y)
        return (value, o1 || o2 || o3)
    }

    /// One tight loop; with factors of 1 (constants at the call site) the scaling folds away.
    @inline(__always)
    private static func checkedLoop<Op: CheckedInt64Operation>(
        _: Op.Type, _ count: Int, _ fa: Int64, _ fb: Int64, _ a: (Int) -> Int64, _ b: (Int) -> Int64
    ) -> ([Int64], Bool) {
        var overflowed: UInt8 = 0
        let values = [Int64](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<count {
                let (value, overflow) = scaledApply(Op.self, a(row), fa, b(row), fb)
                out[row] = value
                overflowed |= overflow ? 1 : 0
            }
            initialized = count
        }
        return (values, overflowed != 0)
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
    /// Whether a zero right operand makes the result NULL.
    static var nullOnZeroDivisor: Bool { get }
}

extension CheckedInt64Operation {
    static var nullOnZeroDivisor: Bool { false }
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

/// `a % b` with the sign of `a` (SQL and C). The two trapping divisors are made harmless: 0 (the kernel
/// masks that row to NULL) and -1 (`Int64.min % -1` is mathematically 0).
enum SafeRemainder: CheckedInt64Operation {
    static var nullOnZeroDivisor: Bool { true }

    @inline(__always) static func apply(_ a: Int64, _ b: Int64) -> (partialValue: Int64, overflow: Bool) {
        let divisor = b == 0 || b == -1 ? 1 : b
        return (b == -1 ? 0 : a % divisor, false)
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
