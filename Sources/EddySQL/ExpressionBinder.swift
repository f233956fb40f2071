import EddyEngine

/// Where names in an expression come from, and what aggregate calls become.
protocol NameScope {
    /// The column a (possibly qualified) name reads.
    func column(_ name: QualifiedName) throws(SQLError) -> Expr
    /// A whole expression that stands for a column already computed (a group key after GROUP BY).
    func computed(_ expression: Expression) -> Expr?
    /// What an aggregate call becomes here (an error where aggregates are not allowed).
    func aggregate(_ call: Expression, function: String) throws(SQLError) -> Expr
}

/// SQL expressions to the engine's `Expr`: names resolved through a scope, functions by their Flink
/// names, literals typed (whole numbers BIGINT, numbers with a point DECIMAL, with an exponent DOUBLE).
struct ExpressionBinder {
    let scope: any NameScope

    static let aggregateNames: Set<String> = ["COUNT", "SUM", "AVG", "MIN", "MAX", "FIRST_VALUE", "LAST_VALUE"]

    /// Flink's scalar function names (and common aliases) → the engine's.
    static let scalarFunctions: [String: ScalarFunction] = [
        "UPPER": .upper, "LOWER": .lower, "SUBSTRING": .substring, "SUBSTR": .substring, "CONCAT": .concat,
        "TRIM": .trim, "LTRIM": .ltrim, "RTRIM": .rtrim, "CHAR_LENGTH": .length, "CHARACTER_LENGTH": .length,
        "LENGTH": .length, "COALESCE": .coalesce, "IFNULL": .coalesce, "ABS": .abs, "ROUND": .round,
        "TO_EPOCH_MILLIS": .toEpochMillis, "FROM_EPOCH_MILLIS": .fromEpochMillis, "DATE_FORMAT": .dateFormat,
    ]

    /// Names the binder rewrites into other expressions.
    static let rewrittenFunctions: Set<String> = ["NULLIF", "IF", "DATE_TRUNC", "TO_TIMESTAMP_LTZ", "TO_DATE"]

    static var knownFunctionNames: [String] {
        Array(scalarFunctions.keys) + Array(aggregateNames) + Array(rewrittenFunctions) + ["CAST", "TRY_CAST", "EXTRACT"]
    }

    static func isAggregateCall(_ expression: Expression) -> Bool {
        if case .call(let name, _, _, _, _) = expression { return aggregateNames.contains(name.name.uppercased()) }
        return false
    }

    func bind(_ expression: Expression) throws(SQLError) -> Expr {
        if let computed = scope.computed(expression) { return computed }
        switch expression {
        case .name(let name):
            return try scope.column(name)
        case .literal(let literal, let location):
            return try Self.literal(literal, at: location)
        case .unary(let op, let operand, _):
            let inner = try bind(operand)
            return op == "NOT" ? .not(inner) : .negate(inner)
        case .binary(let op, let left, let right, let location):
            let l = try bind(left), r = try bind(right)
            switch op {
            case "AND": return .and(l, r)
            case "OR": return .or(l, r)
            case "||": return .concatOperator(l, r)
            case "+": return .arithmetic(.add, l, r)
            case "-": return .arithmetic(.subtract, l, r)
            case "*": return .arithmetic(.multiply, l, r)
            case "/": return .arithmetic(.divide, l, r)
            case "%": return .arithmetic(.modulo, l, r)
            case "IS DISTINCT FROM", "IS NOT DISTINCT FROM":
                // Never NULL: two NULLs are not distinct, a NULL and a value are.
                let distinct = Expr.caseWhen(operand: nil, branches: [
                    CaseBranch(when: .and(.isNull(l, negated: false), .isNull(r, negated: false)), then: .literal(.bool(false))),
                    CaseBranch(when: .or(.isNull(l, negated: false), .isNull(r, negated: false)), then: .literal(.bool(true))),
                ], otherwise: .comparison(.notEqual, l, r))
                return op == "IS DISTINCT FROM" ? distinct : .not(distinct)
            case "=": return .comparison(.equal, l, r)
            case "<>": return .comparison(.notEqual, l, r)
            case "<": return .comparison(.less, l, r)
            case "<=": return .comparison(.lessOrEqual, l, r)
            case ">": return .comparison(.greater, l, r)
            case ">=": return .comparison(.greaterOrEqual, l, r)
            default: throw SQLError("operator \(op) is not supported", at: location)
            }
        case .isNull(let operand, let negated, _):
            return .isNull(try bind(operand), negated: negated)
        case .isBoolean(let operand, let value, let negated, _):
            // x IS TRUE: never NULL. COALESCE(x = value, FALSE), negated by NOT.
            let test = Expr.function(.coalesce, [.comparison(.equal, try bind(operand), .literal(.bool(value))), .literal(.bool(false))])
            return negated ? .not(test) : test
        case .between(let operand, let low, let high, let negated, _):
            return .between(try bind(operand), low: try bind(low), high: try bind(high), negated: negated)
        case .inList(let operand, let list, let negated, _):
            var values: [Expr] = []
            for item in list { values.append(try bind(item)) }
            return .inList(try bind(operand), values, negated: negated)
        case .like(let operand, let pattern, let escape, let negated, _):
            var escapeCharacter: Character?
            if let escape {
                guard case .literal(.string(let text), let location) = escape else {
                    throw SQLError("ESCAPE takes a one-character string", at: escape.location)
                }
                guard text.count == 1 else { throw SQLError("ESCAPE takes one character, got '\(text)'", at: location) }
                escapeCharacter = text.first
            }
            return .like(try bind(operand), pattern: try bind(pattern), escape: escapeCharacter, negated: negated)
        case .caseWhen(let operand, let branches, let otherwise, _):
            var bound: [CaseBranch] = []
            for branch in branches { bound.append(CaseBranch(when: try bind(branch.when), then: try bind(branch.then))) }
            return .caseWhen(operand: try operand.map { e throws(SQLError) in try bind(e) }, branches: bound,
                             otherwise: try otherwise.map { e throws(SQLError) in try bind(e) })
        case .cast(let operand, let type, let isTry, _):
            return .cast(try bind(operand), try SQLTypes.engineType(type), isTry: isTry)
        case .extract(let field, let operand, _):
            guard let engineField = DateField(sqlName: field.name) else {
                throw SQLError("EXTRACT has no field \(field.name.uppercased()); fields: YEAR, QUARTER, MONTH, DAY, HOUR, MINUTE, SECOND, MILLISECOND, DOW, DOY, EPOCH", at: field.location)
            }
            return .extract(engineField, try bind(operand))
        case .subscript(_, _, let location):
            throw SQLError("subscripts (arrays and maps) are not supported yet", at: location)
        case .call(let name, let arguments, _, _, _):
            let upper = name.name.uppercased()
            if Self.aggregateNames.contains(upper) { return try scope.aggregate(expression, function: upper) }
            return try call(upper, name, arguments)
        }
    }

    private func call(_ upper: String, _ name: Identifier, _ arguments: [Expression]) throws(SQLError) -> Expr {
        var bound: [Expr] = []
        for argument in arguments { bound.append(try bind(argument)) }
        func arity(_ range: ClosedRange<Int>) throws(SQLError) {
            guard range.contains(bound.count) else {
                let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
                throw SQLError("\(upper) takes \(expected) argument\(range.upperBound == 1 ? "" : "s"), got \(bound.count)", at: name.location)
            }
        }
        if let function = Self.scalarFunctions[upper] {
            try arity(function.arity)
            return .function(function, bound)
        }
        switch upper {
        case "NULLIF":
            try arity(2...2)
            return .caseWhen(operand: nil, branches: [CaseBranch(when: .comparison(.equal, bound[0], bound[1]), then: .literal(.null))],
                             otherwise: bound[0])
        case "IF":
            try arity(3...3)
            return .caseWhen(operand: nil, branches: [CaseBranch(when: bound[0], then: bound[1])], otherwise: bound[2])
        case "DATE_TRUNC":
            try arity(2...2)
            guard case .literal(.string(let unitText), _) = arguments[0], let unit = DateTruncUnit(sqlName: unitText) else {
                throw SQLError("DATE_TRUNC's first argument is a unit in quotes: 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter' or 'year'", at: arguments[0].location)
            }
            return .dateTrunc(unit, bound[1])
        case "TO_DATE":
            // Flink's TO_DATE(string): ISO-8601 `yyyy-MM-dd`; a format argument is not supported.
            guard bound.count == 1 else {
                throw SQLError("TO_DATE takes one argument (a `yyyy-MM-dd` string); other formats are not supported yet", at: name.location)
            }
            return .cast(bound[0], .date, isTry: false)
        case "TO_TIMESTAMP_LTZ":
            // Flink: TO_TIMESTAMP_LTZ(epoch, precision) with precision 0 (seconds) or 3 (milliseconds).
            try arity(1...2)
            var precision: Int64 = 3
            if arguments.count == 2 {
                guard case .literal(.number(let text), _) = arguments[1], let value = Int64(text), value == 0 || value == 3 else {
                    throw SQLError("TO_TIMESTAMP_LTZ's precision is 0 (seconds) or 3 (milliseconds)", at: arguments[1].location)
                }
                precision = value
            }
            let millis = precision == 0 ? Expr.arithmetic(.multiply, bound[0], .literal(.int64(1000))) : bound[0]
            return .function(.fromEpochMillis, [millis])
        default:
            var message = "unknown function \(upper)"
            if let near = nearestName(to: upper, in: Self.knownFunctionNames) { message += "; did you mean \(near)?" }
            throw SQLError(message, at: name.location)
        }
    }

    static func literal(_ literal: Literal, at location: SourceLocation) throws(SQLError) -> Expr {
        switch literal {
        case .null: return .literal(.null)
        case .bool(let value): return .literal(.bool(value))
        case .string(let text): return .literal(.string(text))
        case .number(let text):
            if let value = Int64(text) { return .literal(.int64(value)) }
            if !text.contains("e") && !text.contains("E") {
                // A point and no exponent: an exact DECIMAL, as Flink types 1.5.
                let negative = text.hasPrefix("-")
                let body = negative ? String(text.dropFirst()) : text
                let parts = body.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count == 2, parts[1].count <= 18, let unscaled = Int64(parts[0] + parts[1]) {
                    return .literal(.decimal(negative ? -unscaled : unscaled, scale: parts[1].count))
                }
            }
            guard let value = Double(text), value.isFinite else { throw SQLError("the number \(text) is out of range", at: location) }
            return .literal(.float64(value))
        case .typed(let text, let type):
            switch type {
            case "TIMESTAMP", "TIMESTAMP_LTZ": return .cast(.literal(.string(text)), .timestamp, isTry: false)
            case "DATE": return .cast(.literal(.string(text)), .date, isTry: false)
            default: throw SQLError("\(type) literals are not supported yet; use TIMESTAMP '…'", at: location)
            }
        case .interval(let text, let unit, let toUnit):
            // An interval in arithmetic is its milliseconds: timestamp ± BIGINT is timestamp arithmetic.
            return .literal(.int64(try SQLTypes.intervalMilliseconds(text, unit: unit, toUnit: toUnit, at: location)))
        }
    }
}
