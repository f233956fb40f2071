/// Binding of scalar function calls.
extension ExprBinder {
    func bindFunction(_ function: ScalarFunction, _ arguments: [Expr]) throws(EngineError) -> BoundExpr {
        guard function.arity.contains(arguments.count) else {
            let expected = function.arity.upperBound == Int.max
                ? "at least \(function.arity.lowerBound)"
                : function.arity.count == 1 ? "\(function.arity.lowerBound)" : "\(function.arity.lowerBound) to \(function.arity.upperBound)"
            let plural = expected.hasSuffix(" 1") || expected == "1" ? "" : "s"
            throw .plan("\(function.name) takes \(expected) argument\(plural), got \(arguments.count) in \(Expr.function(function, arguments))")
        }
        var bound: [BoundExpr] = []
        for argument in arguments { bound.append(try bind(argument)) }
        let name = function.name

        switch function {
        case .lower, .upper:
            let text = try requireType(bound[0], .utf8, context: name)
            return make(
                .changeCase(text, upper: function == .upper), type: .utf8, nullable: text.nullable,
                resolved: .function(function, [text.resolved]), children: [text])

        case .length:
            let text = try requireType(bound[0], .utf8, context: name)
            return make(.length(text), type: .int64, nullable: text.nullable, resolved: .function(function, [text.resolved]), children: [text])

        case .substring:
            let text = try requireType(bound[0], .utf8, context: name)
            let start = try requireType(bound[1], .int64, context: "substring start")
            let length = bound.count > 2 ? try requireType(bound[2], .int64, context: "substring length") : nil
            let resolved = Expr.function(function, [text.resolved, start.resolved] + (length.map { [$0.resolved] } ?? []))
            if case .int64(let characters)? = length?.constantValue, characters < 0 {
                throw .plan("negative substring length \(characters) in \(resolved)")
            }
            let nullable = text.nullable || start.nullable || (length?.nullable ?? false)
            return make(
                .substring(text, start: start, length: length), type: .utf8, nullable: nullable, resolved: resolved,
                children: [text, start] + (length.map { [$0] } ?? []), canFail: length != nil && length?.constantValue == nil)

        case .trim, .ltrim, .rtrim:
            let text = try requireType(bound[0], .utf8, context: name)
            var characters: [[UInt8]] = [[UInt8(ascii: " ")]]
            var resolvedArguments = [text.resolved]
            if bound.count > 1 {
                let set = try requireType(bound[1], .utf8, context: "\(name) characters")
                guard let value = set.constantValue else {
                    throw .plan("\(name) characters must be a constant in \(Expr.function(function, bound.map(\.resolved)))")
                }
                guard case .string(let string) = value else { return literal(.null, type: .utf8) }
                characters = string.unicodeScalars.map { Array(String($0).utf8) }
                resolvedArguments.append(set.resolved)
            }
            let side: StringKernels.TrimSide = function == .trim ? .both : (function == .ltrim ? .leading : .trailing)
            return make(
                .trim(text, side, characters: characters), type: .utf8, nullable: text.nullable,
                resolved: .function(function, resolvedArguments), children: [text])

        case .concat:
            // Postgres/DuckDB `concat`: any argument is converted to TEXT; NULLs contribute nothing.
            var texts: [BoundExpr] = []
            for argument in bound { texts.append(try coerce(argument, to: .utf8)) }
            return make(
                .concat(texts, skipNulls: true), type: .utf8, nullable: false,
                resolved: .function(function, texts.map(\.resolved)), children: texts)

        case .coalesce:
            let type = try commonType(of: bound, context: "coalesce")
            var arguments: [BoundExpr] = []
            for argument in bound { arguments.append(try coerce(argument, to: type)) }
            // Arguments after the first one that cannot be NULL are never needed.
            if let firstNonNull = arguments.firstIndex(where: { !$0.nullable }) {
                arguments.removeSubrange((firstNonNull + 1)...)
            }
            if arguments.count == 1 { return arguments[0] }
            return make(
                .coalesce(arguments), type: type, nullable: arguments.allSatisfy(\.nullable),
                resolved: .function(function, arguments.map(\.resolved)), children: arguments)

        case .abs:
            return try bindNegate(bound[0], absolute: true)

        case .round:
            return try bindRound(bound[0], digits: bound.count > 1 ? bound[1] : nil)

        case .toEpochMillis:
            let timestamp = try requireType(bound[0], .timestamp, context: name)
            return make(.retype(timestamp), type: .int64, nullable: timestamp.nullable, resolved: .function(function, [timestamp.resolved]), children: [timestamp])

        case .fromEpochMillis:
            let millis = try requireType(bound[0], .int64, context: name)
            return make(.retype(millis), type: .timestamp, nullable: millis.nullable, resolved: .function(function, [millis.resolved]), children: [millis])

        case .dateFormat:
            // Flink also formats a TEXT timestamp: it is read as ISO-8601 first.
            let time = bound[0].type == .utf8 ? try coerce(bound[0], to: .timestamp) : try requireTime(bound[0], context: name)
            let patternText = try requireType(bound[1], .utf8, context: "\(name) pattern")
            guard let value = patternText.constantValue else {
                throw .plan("the \(name) pattern must be a constant in \(Expr.function(function, bound.map(\.resolved)))")
            }
            guard case .string(let text) = value else { return literal(.null, type: .utf8) }
            let pattern = try DateFormatPattern(text)
            return make(
                .dateFormat(time, pattern), type: .utf8, nullable: time.nullable,
                resolved: .function(function, [time.resolved, patternText.resolved]), children: [time], canFail: time.canFail)
        }
    }

    /// `round(x, digits)`: DOUBLE stays DOUBLE; BIGINT stays BIGINT (negative digits round to tens, …);
    /// DECIMAL(s) becomes DECIMAL(clamp(digits, 0, s)), as in DuckDB.
    private func bindRound(_ operand: BoundExpr, digits: BoundExpr?) throws(EngineError) -> BoundExpr {
        let operand = operand.isUntypedNull ? literal(.null, type: .float64) : operand
        var places = 0
        if let digits {
            guard case .int64(let value)? = digits.constantValue else {
                throw .plan("round digits must be a BIGINT constant in round(\(operand.resolved), \(digits.resolved))")
            }
            guard (-18...18).contains(value) || (operand.type == .float64 && (-308...308).contains(value)) else {
                throw .plan("round digits \(value) are out of range in round(\(operand.resolved), \(digits.resolved))")
            }
            places = Int(value)
        }
        let resolved = Expr.function(.round, [operand.resolved, .literal(.int64(Int64(places)))])
        switch operand.type {
        case .float64:
            return make(.roundDouble(operand, digits: places), type: .float64, nullable: operand.nullable, resolved: resolved, children: [operand])
        case .int64, .decimal:
            let scale = ExprBinder.scale(operand.type)
            if places >= scale { return operand }
            guard scale - places <= 18 else {
                throw .plan("round digits \(places) are out of range for \(operand.type) in \(resolved)")
            }
            let resultScale = max(places, 0)
            let type: DataType = operand.type == .int64 ? .int64 : .decimal(scale: resultScale)
            let divisor = powersOfTen[scale - places], multiplier = powersOfTen[resultScale - places]
            return make(
                .roundInt64(operand, divisor: divisor, multiplier: multiplier), type: type, nullable: operand.nullable,
                resolved: resolved, children: [operand], canFail: multiplier > 1)
        default:
            throw .plan("round needs a number, found \(operand.type) in \(resolved)")
        }
    }
}
