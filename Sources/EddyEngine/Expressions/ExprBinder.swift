/// Turns an `Expr` into a `BoundExpr` against one schema: resolves columns, applies the type rules
/// documented on `Expr.bind(to:)`, inserts implicit casts, picks kernels and folds constants. Pure: the same
/// expression and schema always give the same result.
struct ExprBinder {
    let schema: Schema

    func bind(_ expr: Expr) throws(EngineError) -> BoundExpr {
        switch expr {
        case .column(let name):
            return try bindColumn(name)
        case .literal(let value):
            return try bindLiteral(value)
        case .negate(let operand):
            return try bindNegate(try bind(operand), absolute: false)
        case .arithmetic(let op, let lhs, let rhs):
            return try bindArithmetic(op, try bind(lhs), try bind(rhs))
        case .comparison(let op, let lhs, let rhs):
            return try bindComparison(op, try bind(lhs), try bind(rhs))
        case .and(let lhs, let rhs):
            return try bindLogic(isAnd: true, try bind(lhs), try bind(rhs))
        case .or(let lhs, let rhs):
            return try bindLogic(isAnd: false, try bind(lhs), try bind(rhs))
        case .not(let operand):
            let operand = try requireBoolean(try bind(operand), context: "NOT")
            return make(.not(operand), type: .bool, nullable: operand.nullable, resolved: .not(operand.resolved), children: [operand])
        case .isNull(let operand, let negated):
            let operand = try bind(operand)
            return make(
                .isNull(operand, negated: negated), type: .bool, nullable: false,
                resolved: .isNull(operand.resolved, negated: negated), children: [operand])
        case .caseWhen(let operand, let branches, let otherwise):
            return try bindCase(operand: operand, branches: branches, otherwise: otherwise)
        case .cast(let operand, let type, let isTry):
            return try bindCast(try bind(operand), to: type, isTry: isTry)
        case .inList(let probe, let list, let negated):
            return try bindInList(try bind(probe), list, negated: negated)
        case .between(let operand, let low, let high, let negated):
            return try bindBetween(try bind(operand), try bind(low), try bind(high), negated: negated)
        case .like(let operand, let pattern, let escape, let negated):
            return try bindLike(try bind(operand), try bind(pattern), escape: escape, negated: negated)
        case .concatOperator(let lhs, let rhs):
            return try bindConcatOperator(try bind(lhs), try bind(rhs))
        case .function(let function, let arguments):
            return try bindFunction(function, arguments)
        case .dateTrunc(let unit, let operand):
            let operand = try requireTime(try bind(operand), context: "date_trunc")
            return make(
                .dateTrunc(unit, operand), type: .timestamp, nullable: operand.nullable,
                resolved: .dateTrunc(unit, operand.resolved), children: [operand], canFail: true)
        case .extract(let field, let operand):
            let operand = try requireTime(try bind(operand), context: "extract")
            return make(
                .extract(field, operand), type: .int64, nullable: operand.nullable,
                resolved: .extract(field, operand.resolved), children: [operand])
        }
    }

    // MARK: Leaves

    private func bindColumn(_ name: String) throws(EngineError) -> BoundExpr {
        guard let index = schema.index(of: name) else {
            throw .plan(ExprBinder.unknownColumnMessage(name, columns: schema.names))
        }
        let field = schema.fields[index]
        return BoundExpr(
            type: field.type, nullable: field.nullable, node: .column(index: index), resolved: .column(name),
            reads: [(index, field)], canFail: false)
    }

    /// `unknown column "amout" (did you mean "amount"?); columns are: amount, country`.
    static func unknownColumnMessage(_ name: String, columns: [String]) -> String {
        var message = "unknown column \"\(name)\""
        if let best = nearestName(to: name, in: columns, maxDistance: 2) {
            message += " (did you mean \"\(best)\"?)"
        }
        return message + "; columns are: " + (columns.isEmpty ? "(none)" : columns.joined(separator: ", "))
    }

    private func bindLiteral(_ value: Value) throws(EngineError) -> BoundExpr {
        switch value {
        case .null:
            return BoundExpr(type: .bool, nullable: true, node: .literal(.null), resolved: .literal(.null), reads: [], canFail: false, isUntypedNull: true)
        case .decimal(let unscaled, let scale) where !(0...18).contains(scale):
            // Not `\(value)`: formatting a decimal needs 10^scale, which does not exist past 18.
            throw .plan("decimal literal \(unscaled) × 10^-\(scale) has scale \(scale); DECIMAL scales are 0 to 18")
        default:
            return literal(value, type: value.type!)
        }
    }

    /// A literal of `type` (a typed NULL when `value` is NULL).
    func literal(_ value: Value, type: DataType) -> BoundExpr {
        BoundExpr(type: type, nullable: value.isNull, node: .literal(value), resolved: ExprBinder.literalExpr(value, type: type), reads: [], canFail: false)
    }

    /// The SQL form of a typed constant: a typed NULL shows its type.
    static func literalExpr(_ value: Value, type: DataType) -> Expr {
        value.isNull && type != .bool ? .cast(.literal(.null), type, isTry: false) : .literal(value)
    }

    // MARK: Building nodes

    /// A node over `children`, folded to a literal when it reads no column.
    func make(
        _ node: BoundNode, type: DataType, nullable: Bool, resolved: Expr, children: [BoundExpr], canFail: Bool = false
    ) -> BoundExpr {
        let bound = BoundExpr(
            type: type, nullable: nullable, node: node, resolved: resolved, reads: children.flatMap(\.readPairs),
            canFail: canFail || children.contains { $0.canFail })
        return fold(bound)
    }

    /// Evaluates a column-free expression once, now. One that fails (`CAST('x' AS BIGINT)`) is left as it
    /// is, so the error surfaces only if and when rows actually evaluate it (a CASE may never take it).
    func fold(_ bound: BoundExpr) -> BoundExpr {
        guard bound.reads.isEmpty, bound.constantValue == nil else { return bound }
        guard let value = try? bound.eval(EvalInput(columns: [], count: 1)).value(at: 0) else { return bound }
        return literal(value, type: bound.type)
    }

    // MARK: Types

    /// `bound` as `type`: untyped NULLs take the type, equal types pass, others get a CAST node.
    func coerce(_ bound: BoundExpr, to type: DataType) throws(EngineError) -> BoundExpr {
        if bound.isUntypedNull { return literal(.null, type: type) }
        if bound.type == type { return bound }
        return try bindCast(bound, to: type, isTry: false)
    }

    /// Gives an untyped NULL on either side the other side's type.
    func adoptNullTypes(_ lhs: BoundExpr, _ rhs: BoundExpr) -> (BoundExpr, BoundExpr) {
        switch (lhs.isUntypedNull, rhs.isUntypedNull) {
        case (true, false): (literal(.null, type: rhs.type), rhs)
        case (false, true): (lhs, literal(.null, type: lhs.type))
        default: (lhs, rhs)
        }
    }

    /// The type CASE branches, COALESCE arguments and IN lists are unified to (BIGINT < DECIMAL < DOUBLE;
    /// DATE < TIMESTAMP).
    static func commonType(_ a: DataType, _ b: DataType) -> DataType? {
        if a == b { return a }
        switch (a, b) {
        case (.int64, .decimal), (.decimal, .int64):
            return a == .int64 ? b : a
        case (.decimal(let s1), .decimal(let s2)):
            return .decimal(scale: max(s1, s2))
        case (.float64, _) where b.isNumeric, (_, .float64) where a.isNumeric:
            return .float64
        case (.date, .timestamp), (.timestamp, .date):
            return .timestamp
        default:
            return nil
        }
    }

    /// The common type of several expressions, ignoring untyped NULLs (all NULL: BOOLEAN).
    func commonType(of expressions: [BoundExpr], context: String) throws(EngineError) -> DataType {
        var result: DataType?
        for expression in expressions where !expression.isUntypedNull {
            guard let current = result else {
                result = expression.type
                continue
            }
            guard let common = ExprBinder.commonType(current, expression.type) else {
                throw .plan("\(context) mixes incompatible types \(current) and \(expression.type)")
            }
            result = common
        }
        return result ?? .bool
    }

    /// A TIMESTAMP, or a DATE as the TIMESTAMP of its midnight (UTC).
    func requireTime(_ bound: BoundExpr, context: String) throws(EngineError) -> BoundExpr {
        if bound.type == .date { return try coerce(bound, to: .timestamp) }
        return try requireType(bound, .timestamp, context: context)
    }

    func requireBoolean(_ bound: BoundExpr, context: String) throws(EngineError) -> BoundExpr {
        try requireType(bound, .bool, context: context)
    }

    /// `bound`, which must have `type` (an untyped NULL becomes a NULL of it).
    func requireType(_ bound: BoundExpr, _ type: DataType, context: String) throws(EngineError) -> BoundExpr {
        if bound.isUntypedNull { return literal(.null, type: type) }
        guard bound.type == type else {
            throw .plan("\(context) needs \(type), found \(bound.type) in \(bound.resolved)")
        }
        return bound
    }

    /// The decimal scale of a numeric type for comparisons and arithmetic (BIGINT is DECIMAL(0)).
    static func scale(_ type: DataType) -> Int {
        if case .decimal(let scale) = type { return scale }
        return 0
    }
}
