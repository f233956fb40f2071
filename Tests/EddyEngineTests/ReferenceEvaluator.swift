@testable import EddyEngine

/// A deliberately naive row-at-a-time evaluator over `Value`s, written from the SQL rules (not from the
/// kernels), to check vectorised evaluation against. It covers the arithmetic, comparison and boolean
/// subset the randomised test generates. Types come from the values themselves: BIGINT, DOUBLE and
/// DECIMAL(s) values carry their type; NULL carries none, which the generator accounts for by only
/// producing expressions whose result type does not depend on which operand is NULL.
enum ReferenceEvaluator {
    struct Overflow: Error {}

    /// The static type of an expression over `schema` (nil for an untyped NULL), needed where SQL unifies
    /// types before comparing: IN lists and BETWEEN compare everything as DOUBLE when any part is DOUBLE.
    static func type(of expr: Expr, in schema: Schema) -> DataType? {
        switch expr {
        case .column(let name): return schema.field(named: name)!.type
        case .literal(let value): return value.type
        case .negate(let e): return type(of: e, in: schema) ?? .int64
        case .function(.abs, let arguments): return type(of: arguments[0], in: schema) ?? .int64
        case .arithmetic(let op, let l, let r):
            let a = type(of: l, in: schema) ?? type(of: r, in: schema) ?? .int64
            let b = type(of: r, in: schema) ?? a
            if a == .float64 || b == .float64 || op == .divide { return .float64 }
            let (sa, sb) = (scale(a), scale(b))
            if a == .int64 && b == .int64 { return .int64 }
            return .decimal(scale: op == .multiply ? sa + sb : max(sa, sb))
        case .caseWhen(_, let branches, let otherwise):
            return branches.compactMap { type(of: $0.then, in: schema) }.first ?? otherwise.flatMap { type(of: $0, in: schema) }
        case .function(.coalesce, let arguments):
            return arguments.compactMap { type(of: $0, in: schema) }.first
        default:
            return .bool
        }
    }

    private static func scale(_ type: DataType) -> Int {
        if case .decimal(let s) = type { return s }
        return 0
    }

    /// A number as DOUBLE (IN and BETWEEN with a DOUBLE part).
    private static func asDouble(_ value: Value) -> Value {
        switch value {
        case .int64, .decimal: .float64(double(value))
        default: value
        }
    }

    static func evaluate(_ expr: Expr, row: [String: Value], schema: Schema) throws -> Value {
        func evaluate(_ expr: Expr, row: [String: Value]) throws -> Value {
            try ReferenceEvaluator.evaluate(expr, row: row, schema: schema)
        }
        switch expr {
        case .column(let name):
            return row[name]!
        case .literal(let value):
            return value
        case .negate(let e):
            return try negate(try evaluate(e, row: row))
        case .function(.abs, let arguments):
            let value = try evaluate(arguments[0], row: row)
            return try isNegative(value) ? negate(value) : value
        case .arithmetic(let op, let l, let r):
            return try arithmetic(op, try evaluate(l, row: row), try evaluate(r, row: row))
        case .comparison(let op, let l, let r):
            return compare(op, try evaluate(l, row: row), try evaluate(r, row: row))
        case .and(let l, let r):
            let a = try evaluate(l, row: row), b = try evaluate(r, row: row)
            if a == .bool(false) || b == .bool(false) { return .bool(false) }
            if a == .null || b == .null { return .null }
            return .bool(true)
        case .or(let l, let r):
            let a = try evaluate(l, row: row), b = try evaluate(r, row: row)
            if a == .bool(true) || b == .bool(true) { return .bool(true) }
            if a == .null || b == .null { return .null }
            return .bool(false)
        case .not(let e):
            let a = try evaluate(e, row: row)
            return a == .null ? .null : .bool(a != .bool(true))
        case .isNull(let e, let negated):
            return .bool((try evaluate(e, row: row) == .null) != negated)
        case .inList(let e, let list, let negated):
            let unify = ([e] + list).contains { type(of: $0, in: schema) == .float64 }
            let probe = unify ? asDouble(try evaluate(e, row: row)) : try evaluate(e, row: row)
            var result = Value.bool(false)
            for item in list {
                let value = try evaluate(item, row: row)
                let equal = compare(.equal, probe, unify ? asDouble(value) : value)
                if equal == .bool(true) { result = .bool(true) } else if equal == .null && result != .bool(true) { result = .null }
            }
            return negated ? (result == .null ? .null : .bool(result != .bool(true))) : result
        case .between(let e, let low, let high, let negated):
            let unify = [e, low, high].contains { type(of: $0, in: schema) == .float64 }
            let convert: (Value) -> Value = { unify ? asDouble($0) : $0 }
            let value = convert(try evaluate(e, row: row))
            let ge = compare(.greaterOrEqual, value, convert(try evaluate(low, row: row)))
            let le = compare(.lessOrEqual, value, convert(try evaluate(high, row: row)))
            let both: Value = ge == .bool(false) || le == .bool(false) ? .bool(false) : (ge == .null || le == .null ? .null : .bool(true))
            return negated ? (both == .null ? .null : .bool(both != .bool(true))) : both
        case .caseWhen(nil, let branches, let otherwise):
            for branch in branches where try evaluate(branch.when, row: row) == .bool(true) {
                return try evaluate(branch.then, row: row)
            }
            return try otherwise.map { try evaluate($0, row: row) } ?? .null
        case .function(.coalesce, let arguments):
            for argument in arguments {
                let value = try evaluate(argument, row: row)
                if value != .null { return value }
            }
            return .null
        default:
            fatalError("the reference evaluator does not cover \(expr)")
        }
    }

    // MARK: Numbers

    /// A number as (unscaled, scale) when it is exact (BIGINT or DECIMAL).
    private static func exact(_ value: Value) -> (Int64, Int)? {
        switch value {
        case .int64(let v): (v, 0)
        case .decimal(let v, let s): (v, s)
        default: nil
        }
    }

    private static func double(_ value: Value) -> Double {
        switch value {
        case .int64(let v): Double(v)
        case .decimal(let v, let s): Double(v) / Double(powersOfTen[s])
        case .float64(let v): v
        default: fatalError("not a number: \(value)")
        }
    }

    private static func isNegative(_ value: Value) -> Bool {
        switch value {
        case .int64(let v), .decimal(let v, _): v < 0
        case .float64(let v): v < 0
        default: false
        }
    }

    private static func negate(_ value: Value) throws -> Value {
        switch value {
        case .null: return .null
        case .int64(let v):
            guard v != .min else { throw Overflow() }
            return .int64(-v)
        case .decimal(let v, let s):
            guard v != .min else { throw Overflow() }
            return .decimal(-v, scale: s)
        case .float64(let v): return .float64(-v)
        default: fatalError("negating \(value)")
        }
    }

    private static func checked(_ result: (partialValue: Int64, overflow: Bool)) throws -> Int64 {
        guard !result.overflow else { throw Overflow() }
        return result.partialValue
    }

    private static func arithmetic(_ op: ArithmeticOperator, _ a: Value, _ b: Value) throws -> Value {
        if a == .null || b == .null { return .null }
        if case .float64 = a { return doubleArithmetic(op, double(a), double(b)) }
        if case .float64 = b { return doubleArithmetic(op, double(a), double(b)) }
        guard let (x, sx) = exact(a), let (y, sy) = exact(b) else { fatalError("arithmetic on \(a), \(b)") }
        let isDecimal: Bool = {
            if case .decimal = a { return true }
            if case .decimal = b { return true }
            return false
        }()
        if op == .divide { return doubleArithmetic(op, double(a), double(b)) }
        if op == .multiply {
            let product = try checked(x.multipliedReportingOverflow(by: y))
            return isDecimal ? .decimal(product, scale: sx + sy) : .int64(product)
        }
        let scale = max(sx, sy)
        let left = try checked(x.multipliedReportingOverflow(by: powersOfTen[scale - sx]))
        let right = try checked(y.multipliedReportingOverflow(by: powersOfTen[scale - sy]))
        let result: Int64
        switch op {
        case .add: result = try checked(left.addingReportingOverflow(right))
        case .subtract: result = try checked(left.subtractingReportingOverflow(right))
        case .modulo:
            if right == 0 { return .null }
            result = right == -1 ? 0 : left % right
        default: fatalError()
        }
        return isDecimal ? .decimal(result, scale: scale) : .int64(result)
    }

    private static func doubleArithmetic(_ op: ArithmeticOperator, _ x: Double, _ y: Double) -> Value {
        switch op {
        case .add: return .float64(x + y)
        case .subtract: return .float64(x - y)
        case .multiply: return .float64(x * y)
        case .divide: return y == 0 ? .null : .float64(x / y)
        case .modulo: return y == 0 ? .null : .float64(x.truncatingRemainder(dividingBy: y))
        }
    }

    // MARK: Comparisons

    static func compare(_ op: ComparisonOperator, _ a: Value, _ b: Value) -> Value {
        if a == .null || b == .null { return .null }
        let order: Int
        switch (a, b) {
        case (.bool(let x), .bool(let y)):
            order = x == y ? 0 : (!x ? -1 : 1)
        case (.string(let x), .string(let y)):
            order = Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) ? -1 : (x.utf8.elementsEqual(y.utf8) ? 0 : 1)
        case (.float64, _), (_, .float64):
            let x = double(a), y = double(b)
            // NaN equals NaN and is above everything else.
            if x.isNaN || y.isNaN {
                order = x.isNaN && y.isNaN ? 0 : (x.isNaN ? 1 : -1)
            } else {
                order = x < y ? -1 : (x == y ? 0 : 1)
            }
        default:
            guard let (x, sx) = exact(a), let (y, sy) = exact(b) else { fatalError("comparing \(a), \(b)") }
            // Exact: both sides widened to 128 bits at the larger scale.
            let scale = max(sx, sy)
            let left = x.multipliedFullWidth(by: powersOfTen[scale - sx])
            let right = y.multipliedFullWidth(by: powersOfTen[scale - sy])
            order = left.high != right.high ? (left.high < right.high ? -1 : 1) : (left.low == right.low ? 0 : (left.low < right.low ? -1 : 1))
        }
        return .bool(op.holds(order: order))
    }
}
