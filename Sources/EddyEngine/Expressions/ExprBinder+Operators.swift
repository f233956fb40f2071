/// Binding of operators: arithmetic, comparisons, boolean logic, CASE, CAST, IN, BETWEEN, LIKE and `||`.
extension ExprBinder {
    // MARK: Arithmetic

    func bindNegate(_ operand: BoundExpr, absolute: Bool) throws(EngineError) -> BoundExpr {
        let operand = operand.isUntypedNull ? literal(.null, type: .int64) : operand
        guard operand.type.isNumeric else {
            throw .plan("cannot apply \(absolute ? "abs" : "unary -") to \(operand.type) in \(operand.resolved)")
        }
        let resolved: Expr = absolute ? .function(.abs, [operand.resolved]) : .negate(operand.resolved)
        return make(
            .negate(operand, absolute: absolute), type: operand.type, nullable: operand.nullable, resolved: resolved,
            children: [operand], canFail: operand.type != .float64)
    }

    func bindArithmetic(_ op: ArithmeticOperator, _ lhs: BoundExpr, _ rhs: BoundExpr) throws(EngineError) -> BoundExpr {
        var (lhs, rhs) = adoptNullTypes(lhs, rhs)
        if lhs.isUntypedNull { (lhs, rhs) = (literal(.null, type: .int64), literal(.null, type: .int64)) }
        let source = Expr.arithmetic(op, lhs.resolved, rhs.resolved)
        let nullOnZero = op == .divide || op == .modulo
        let nullable = lhs.nullable || rhs.nullable || nullOnZero

        func node(_ kind: ArithmeticKernels.Kind, _ l: BoundExpr, _ r: BoundExpr, _ type: DataType) -> BoundExpr {
            let canFail = kind != .double && (op != .modulo || kind != ArithmeticKernels.Kind.int64(lhsFactor: 1, rhsFactor: 1))
            return make(
                .arithmetic(op, kind, l, r), type: type, nullable: nullable, resolved: .arithmetic(op, l.resolved, r.resolved),
                children: [l, r], canFail: canFail)
        }
        let int64 = ArithmeticKernels.Kind.int64(lhsFactor: 1, rhsFactor: 1)

        switch (lhs.type, rhs.type) {
        case (.int64, .int64):
            if op == .divide {
                return node(.double, try coerce(lhs, to: .float64), try coerce(rhs, to: .float64), .float64)
            }
            return node(int64, lhs, rhs, .int64)
        case (.float64, _) where rhs.type.isNumeric, (_, .float64) where lhs.type.isNumeric:
            return node(.double, try coerce(lhs, to: .float64), try coerce(rhs, to: .float64), .float64)
        case (.decimal, .decimal), (.decimal, .int64), (.int64, .decimal):
            let s1 = ExprBinder.scale(lhs.type), s2 = ExprBinder.scale(rhs.type)
            switch op {
            case .add, .subtract, .modulo:
                // The smaller scale is widened inside the kernel, only for rows where both sides are present.
                let scale = max(s1, s2)
                let kind = ArithmeticKernels.Kind.int64(lhsFactor: powersOfTen[scale - s1], rhsFactor: powersOfTen[scale - s2])
                return node(kind, lhs, rhs, .decimal(scale: scale))
            case .multiply:
                guard s1 + s2 <= 18 else {
                    throw .plan(
                        "\(lhs.type) * \(rhs.type) needs scale \(s1 + s2), more than DECIMAL's 18, in \(source); "
                            + "CAST an operand to a smaller scale or to DOUBLE")
                }
                // The product of the unscaled values is the result at scale s1 + s2.
                return node(int64, lhs, rhs, .decimal(scale: s1 + s2))
            case .divide:
                return node(.double, try coerce(lhs, to: .float64), try coerce(rhs, to: .float64), .float64)
            }
        case (.timestamp, .int64) where op == .add || op == .subtract:
            return node(int64, lhs, rhs, .timestamp)
        case (.int64, .timestamp) where op == .add:
            return node(int64, lhs, rhs, .timestamp)
        case (.timestamp, .timestamp) where op == .subtract:
            return node(int64, lhs, rhs, .int64)
        default:
            throw .plan("cannot apply \(op) to \(lhs.type) and \(rhs.type) in \(source)")
        }
    }

    // MARK: Comparisons

    func bindComparison(_ op: ComparisonOperator, _ lhs: BoundExpr, _ rhs: BoundExpr) throws(EngineError) -> BoundExpr {
        let (l, r, domain) = try comparisonOperands(lhs, rhs, context: Expr.comparison(op, lhs.resolved, rhs.resolved))
        return make(
            .comparison(op, domain, l, r), type: .bool, nullable: l.nullable || r.nullable,
            resolved: .comparison(op, l.resolved, r.resolved), children: [l, r])
    }

    /// The operands of a comparison converted to a shared domain: numbers exactly unless a DOUBLE is
    /// involved, TEXT, BOOLEAN, TIMESTAMP (reading a TEXT constant as a TIMESTAMP).
    func comparisonOperands(_ lhs: BoundExpr, _ rhs: BoundExpr, context: Expr) throws(EngineError) -> (BoundExpr, BoundExpr, ComparisonKernels.Domain) {
        var (lhs, rhs) = adoptNullTypes(lhs, rhs)
        if lhs.isUntypedNull { (lhs, rhs) = (literal(.null, type: .bool), literal(.null, type: .bool)) }
        for time in [DataType.timestamp, .date] {
            if lhs.type == time && rhs.type == .utf8 { rhs = try timeConstant(rhs, time, context: context) }
            if rhs.type == time && lhs.type == .utf8 { lhs = try timeConstant(lhs, time, context: context) }
        }
        // A DATE against a TIMESTAMP compares as the TIMESTAMP of its midnight (UTC).
        if lhs.type == .date && rhs.type == .timestamp { lhs = try coerce(lhs, to: .timestamp) }
        if rhs.type == .date && lhs.type == .timestamp { rhs = try coerce(rhs, to: .timestamp) }
        switch (lhs.type, rhs.type) {
        case (.float64, _) where rhs.type.isNumeric, (_, .float64) where lhs.type.isNumeric:
            return (try coerce(lhs, to: .float64), try coerce(rhs, to: .float64), .double)
        case (.int64, .int64), (.int64, .decimal), (.decimal, .int64), (.decimal, .decimal):
            return (lhs, rhs, .int64(lhsScale: ExprBinder.scale(lhs.type), rhsScale: ExprBinder.scale(rhs.type)))
        case (.timestamp, .timestamp), (.date, .date):
            return (lhs, rhs, .int64(lhsScale: 0, rhsScale: 0))
        case (.utf8, .utf8):
            return (lhs, rhs, .bytes)
        case (.bool, .bool):
            return (lhs, rhs, .bool)
        default:
            throw .plan("cannot compare \(lhs.type) with \(rhs.type) in \(context)")
        }
    }

    /// A TEXT constant compared with a TIMESTAMP or DATE, read as ISO-8601 now rather than once per row.
    private func timeConstant(_ text: BoundExpr, _ type: DataType, context: Expr) throws(EngineError) -> BoundExpr {
        guard let value = text.constantValue else {
            throw .plan("cannot compare \(type) with TEXT in \(context); CAST the text to \(type)")
        }
        guard case .string(let string) = value else { return literal(.null, type: type) }
        do {
            if type == .date { return literal(.date(try TextParsing.parse(string, TextParsing.date)), type: .date) }
            return literal(.timestamp(try TextParsing.parse(string, TextParsing.timestamp)), type: .timestamp)
        } catch {
            let example = type == .date ? "2026-11-22" : "2026-11-22T04:18:27.123Z"
            throw .plan("cannot read \(Expr.quoteString(string)) as a \(type) in \(context); expected ISO-8601 such as \(example)")
        }
    }

    // MARK: Logic

    func bindLogic(isAnd: Bool, _ lhs: BoundExpr, _ rhs: BoundExpr) throws(EngineError) -> BoundExpr {
        let name = isAnd ? "AND" : "OR"
        let l = try requireBoolean(lhs, context: name), r = try requireBoolean(rhs, context: name)
        return make(
            isAnd ? .and(l, r) : .or(l, r), type: .bool, nullable: l.nullable || r.nullable,
            resolved: isAnd ? .and(l.resolved, r.resolved) : .or(l.resolved, r.resolved), children: [l, r])
    }

    // MARK: CASE

    func bindCase(operand: Expr?, branches: [CaseBranch], otherwise: Expr?) throws(EngineError) -> BoundExpr {
        guard !branches.isEmpty else { throw .plan("CASE needs at least one WHEN") }
        let boundOperand = try operand.map { (operand) throws(EngineError) in try bind(operand) }
        var conditions: [BoundExpr] = []
        var values: [BoundExpr] = []
        for branch in branches {
            if let boundOperand {
                // The simple form: `CASE x WHEN v` is `WHEN x = v` (x is evaluated once per WHEN).
                conditions.append(try bindComparison(.equal, boundOperand, try bind(branch.when)))
            } else {
                conditions.append(try requireBoolean(try bind(branch.when), context: "CASE WHEN"))
            }
            values.append(try bind(branch.then))
        }
        let boundOtherwise = try otherwise.map { (otherwise) throws(EngineError) in try bind(otherwise) }
        let type = try commonType(of: values + (boundOtherwise.map { [$0] } ?? []), context: "CASE")
        values = try values.map { (value) throws(EngineError) in try coerce(value, to: type) }
        let finalOtherwise = try boundOtherwise.map { (otherwise) throws(EngineError) in try coerce(otherwise, to: type) }
        let boundBranches = zip(conditions, values).map { BoundBranch(condition: $0, value: $1) }
        let nullable = finalOtherwise == nil || values.contains(where: \.nullable) || (finalOtherwise?.nullable ?? true)
        let resolved = Expr.caseWhen(
            operand: nil, branches: boundBranches.map { CaseBranch(when: $0.condition.resolved, then: $0.value.resolved) },
            otherwise: finalOtherwise?.resolved)
        return make(
            .caseWhen(boundBranches, otherwise: finalOtherwise), type: type, nullable: nullable, resolved: resolved,
            children: conditions + values + (finalOtherwise.map { [$0] } ?? []))
    }

    // MARK: CAST

    func bindCast(_ operand: BoundExpr, to target: DataType, isTry: Bool) throws(EngineError) -> BoundExpr {
        if case .decimal(let scale) = target, !(0...18).contains(scale) {
            throw .plan("DECIMAL scale \(scale) is outside 0 to 18 in CAST(\(operand.resolved) AS \(target))")
        }
        if operand.isUntypedNull { return literal(.null, type: target) }
        if operand.type == target { return operand }
        let resolved = Expr.cast(operand.resolved, target, isTry: isTry)
        let source = operand.type
        let nullable = operand.nullable || isTry
        switch (source, target) {
        case (.int64, .timestamp), (.timestamp, .int64), (.int64, .decimal(scale: 0)), (.decimal(scale: 0), .int64):
            // Same Int64 storage, same numbers: relabel without copying.
            return make(.retype(operand), type: target, nullable: nullable, resolved: resolved, children: [operand])
        default:
            break
        }
        guard ExprBinder.canCast(from: source, to: target) else {
            throw .plan("cannot cast \(source) to \(target) in \(resolved)")
        }
        return make(
            .cast(operand, isTry: isTry), type: target, nullable: nullable, resolved: resolved, children: [operand],
            canFail: !isTry && ExprBinder.castCanFail(from: source, to: target))
    }

    static func canCast(from source: DataType, to target: DataType) -> Bool {
        switch (source, target) {
        case (_, .utf8), (.utf8, _): true
        case (.date, .timestamp), (.timestamp, .date): true
        case (.int64, .date): false
        case (.int64, _): true
        case (.float64, .int64), (.float64, .decimal): true
        case (.decimal, .int64), (.decimal, .float64), (.decimal, .decimal): true
        case (.timestamp, .int64): true
        case (.bool, .int64): true
        default: false
        }
    }

    /// Whether a conversion can reject a value (so CASE evaluates it only where needed).
    static func castCanFail(from source: DataType, to target: DataType) -> Bool {
        switch (source, target) {
        case (_, .utf8): false
        case (.utf8, _): true
        case (.date, .timestamp): true
        case (.float64, .int64), (.float64, .decimal): true
        case (.int64, .decimal(let scale)): scale > 0
        case (.decimal(let from), .decimal(let to)): to > from
        default: false
        }
    }

    // MARK: IN

    func bindInList(_ probe: BoundExpr, _ list: [Expr], negated: Bool) throws(EngineError) -> BoundExpr {
        guard !list.isEmpty else { throw .plan("IN needs at least one item") }
        var items: [BoundExpr] = []
        for item in list { items.append(try bind(item)) }
        let context = Expr.inList(probe.resolved, items.map(\.resolved), negated: negated)
        var probe = probe.isUntypedNull ? literal(.null, type: try commonType(of: items, context: "IN list")) : probe
        // One DOUBLE makes the whole list compare as DOUBLE, so the constants share one domain.
        if probe.type.isNumeric && items.contains(where: { $0.type == .float64 && !$0.isUntypedNull }) {
            probe = try coerce(probe, to: .float64)
        }
        var constants: [Value] = []
        var containsNull = false
        var dynamic: [(expr: BoundExpr, domain: ComparisonKernels.Domain)] = []
        var resolvedItems: [Expr] = []
        for item in items {
            let (p, converted, domain) = try comparisonOperands(probe, item, context: context)
            guard p.type == probe.type else { throw .internal("IN probe changed type while binding \(context)") }
            resolvedItems.append(converted.resolved)
            if let value = converted.constantValue {
                if value.isNull { containsNull = true } else { constants.append(value) }
            } else {
                dynamic.append((converted, domain))
            }
        }
        let constantSet = constants.isEmpty ? nil : ExprBinder.constantSet(constants, probeType: probe.type)
        let plan = InListPlan(constants: constantSet, containsNull: containsNull, items: dynamic)
        let nullable = probe.nullable || containsNull || dynamic.contains { $0.expr.nullable }
        return make(
            .inList(probe, plan, negated: negated), type: .bool, nullable: nullable,
            resolved: .inList(probe.resolved, resolvedItems, negated: negated), children: [probe] + dynamic.map(\.expr))
    }

    /// Constants (already in the probe's comparison domain) as a set in the probe's storage. A constant
    /// that no value of the probe's type can equal (1.5 for a BIGINT probe) is dropped.
    static func constantSet(_ constants: [Value], probeType: DataType) -> ConstantSet {
        switch probeType {
        case .float64:
            return ConstantSet(double: constants.map(\.doubleValue))
        case .utf8:
            return ConstantSet(bytes: constants.map(\.utf8Bytes))
        case .bool:
            return ConstantSet(bool: constants.compactMap(\.boolValue))
        case .int64, .timestamp, .date, .decimal:
            let probeScale = scale(probeType)
            let values: [Int64] = constants.compactMap { value in
                let valueScale: Int
                if case .decimal(_, let s) = value { valueScale = s } else { valueScale = 0 }
                let storage = value.int64Storage
                if valueScale <= probeScale {
                    let (scaled, overflow) = storage.multipliedReportingOverflow(by: powersOfTen[probeScale - valueScale])
                    return overflow ? nil : scaled
                }
                let (quotient, remainder) = floorDivMod(storage, powersOfTen[valueScale - probeScale])
                return remainder == 0 ? quotient : nil
            }
            return ConstantSet(int64: values)
        }
    }

    // MARK: BETWEEN

    func bindBetween(_ operand: BoundExpr, _ low: BoundExpr, _ high: BoundExpr, negated: Bool) throws(EngineError) -> BoundExpr {
        let context = Expr.between(operand.resolved, low: low.resolved, high: high.resolved, negated: negated)
        var operand = operand
        if operand.isUntypedNull {
            operand = literal(.null, type: try commonType(of: [low, high], context: "BETWEEN"))
        }
        if operand.type.isNumeric && [low, high].contains(where: { $0.type == .float64 && !$0.isUntypedNull }) {
            operand = try coerce(operand, to: .float64)
        }
        let (probe, lower, lowDomain) = try comparisonOperands(operand, low, context: context)
        let (probe2, upper, highDomain) = try comparisonOperands(probe, high, context: context)
        guard probe2.type == probe.type else { throw .internal("BETWEEN operand changed type while binding \(context)") }
        return make(
            .between(probe, low: lower, high: upper, lowDomain: lowDomain, highDomain: highDomain, negated: negated),
            type: .bool, nullable: probe.nullable || lower.nullable || upper.nullable,
            resolved: .between(probe.resolved, low: lower.resolved, high: upper.resolved, negated: negated),
            children: [probe, lower, upper])
    }

    // MARK: LIKE

    func bindLike(_ operand: BoundExpr, _ pattern: BoundExpr, escape: Character?, negated: Bool) throws(EngineError) -> BoundExpr {
        let operand = try requireType(operand, .utf8, context: "LIKE")
        let pattern = try requireType(pattern, .utf8, context: "LIKE pattern")
        let resolved = Expr.like(operand.resolved, pattern: pattern.resolved, escape: escape, negated: negated)
        let escapeBytes = escape.map { Array(String($0).utf8) }
        let nullable = operand.nullable || pattern.nullable
        if let value = pattern.constantValue {
            guard case .string(let text) = value else {
                return literal(.null, type: .bool)
            }
            let compiled: LikePattern
            do {
                compiled = try LikePattern(Array(text.utf8), escape: escapeBytes)
            } catch {
                throw .plan("LIKE pattern \(Expr.quoteString(text)) ends with its escape character in \(resolved)")
            }
            return make(.like(operand, compiled, negated: negated), type: .bool, nullable: nullable, resolved: resolved, children: [operand])
        }
        return make(
            .likeDynamic(operand, pattern: pattern, escape: escapeBytes, negated: negated), type: .bool, nullable: nullable,
            resolved: resolved, children: [operand, pattern], canFail: escapeBytes != nil)
    }

    // MARK: ||

    func bindConcatOperator(_ lhs: BoundExpr, _ rhs: BoundExpr) throws(EngineError) -> BoundExpr {
        let isText = { (bound: BoundExpr) in bound.isUntypedNull || bound.type == .utf8 }
        guard isText(lhs) || isText(rhs) else {
            throw .plan("|| needs a TEXT operand, found \(lhs.type) and \(rhs.type) in \(Expr.concatOperator(lhs.resolved, rhs.resolved))")
        }
        let l = try coerce(lhs, to: .utf8), r = try coerce(rhs, to: .utf8)
        return make(
            .concat([l, r], skipNulls: false), type: .utf8, nullable: l.nullable || r.nullable,
            resolved: .concatOperator(l.resolved, r.resolved), children: [l, r])
    }
}
