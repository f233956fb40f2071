/// Vectorised evaluation: each node runs its kernel once over the whole batch (or a gathered subset of it
/// for lazily evaluated CASE and COALESCE branches) and hands a `Datum` to its parent.
extension BoundExpr {
    /// The expression's value for every row of `batch`, whose schema must be the one the expression was
    /// bound to (at least in the columns it reads).
    public func evaluate(_ batch: RecordBatch) throws(EngineError) -> Column {
        try checkInput(batch.schema)
        return try eval(EvalInput(batch)).column(type: type, count: batch.count)
    }

    /// A BOOLEAN expression as a filter mask: TRUE rows set, FALSE and NULL rows clear.
    public func evaluatePredicate(_ batch: RecordBatch) throws(EngineError) -> Bitmap {
        guard type == .bool else {
            throw .internal("evaluatePredicate on \(description), which is \(type), not BOOLEAN")
        }
        try checkInput(batch.schema)
        return try eval(EvalInput(batch)).bits(count: batch.count).trueBitmap
    }

    /// A batch of another shape than the bound schema is a planner bug; catch it before kernels read the
    /// wrong storage.
    private func checkInput(_ schema: Schema) throws(EngineError) {
        for (index, field) in zip(reads, readFields) {
            guard index < schema.count, schema.fields[index].name == field.name, schema.fields[index].type == field.type else {
                throw .internal("\(description) was bound to column \(index) as \(field), but the batch has \(schema)")
            }
        }
    }

    func eval(_ input: EvalInput) throws(EngineError) -> Datum {
        let count = input.count
        switch node {
        case .column(let index):
            guard let column = input.columns[index] else {
                throw .internal("column \(index) is missing from the evaluation input of \(description)")
            }
            return type == .bool ? .bits(BoolVector(column)) : .column(column)

        case .literal(let value):
            return .scalar(value)

        case .arithmetic(let op, let kind, let lhs, let rhs):
            let a = try lhs.eval(input), b = try rhs.eval(input)
            let context = ArithmeticKernels.Context(resultType: type, lhsType: lhs.type, rhsType: rhs.type, text: description)
            return try onColumns([a, b], [lhs.type, rhs.type], count: count) { (operands, rows) throws(EngineError) in
                try ArithmeticKernels.evaluate(op, kind: kind, operands[0], operands[1], count: rows, context: context)
            }

        case .negate(let operand, let absolute):
            let value = try operand.eval(input)
            return try ArithmeticKernels.negateOrAbs(value, absolute: absolute, count: count, type: type, text: description)

        case .comparison(let op, let domain, let lhs, let rhs):
            let a = try lhs.eval(input), b = try rhs.eval(input)
            return .bits(ComparisonKernels.compare(op, domain, a, b, count: count))

        case .and(let lhs, let rhs):
            let a = try lhs.eval(input).bits(count: count)
            // FALSE AND anything is FALSE: skip the right side when the whole batch is FALSE on the left.
            if a.isAllFalse { return .bits(a) }
            return .bits(a.and(try rhs.eval(input).bits(count: count)))

        case .or(let lhs, let rhs):
            let a = try lhs.eval(input).bits(count: count)
            if a.isAllTrue { return .bits(a) }
            return .bits(a.or(try rhs.eval(input).bits(count: count)))

        case .not(let operand):
            return .bits(try operand.eval(input).bits(count: count).not())

        case .isNull(let operand, let negated):
            let value = try operand.eval(input)
            let valid = value.validityWords(count: count) ?? BitWords.ones(count)
            return .bits(BoolVector(canonicalValues: negated ? valid : BitWords.not(valid, count: count), validity: nil, count: count))

        case .caseWhen(let branches, let otherwise):
            return try evalCase(branches, otherwise: otherwise, input)

        case .coalesce(let arguments):
            return try evalCoalesce(arguments, input)

        case .cast(let operand, let isTry):
            let value = try operand.eval(input)
            let source = operand.type, target = type
            return try onColumns([value], [source], count: count) { (operands, rows) throws(EngineError) in
                try CastKernels.cast(operands[0], from: source, to: target, isTry: isTry, count: rows)
            }

        case .retype(let operand):
            switch try operand.eval(input) {
            case .column(let column): return .column(Column(type: type, values: column.values, validity: column.validity))
            case .scalar(let value): return .scalar(value.isNull ? .null : Value(storage: value.int64Storage, type: type))
            case .bits: throw .internal("retype of a boolean in \(description)")
            }

        case .inList(let probe, let plan, let negated):
            let result = try evalInList(probe, plan, input)
            return .bits(negated ? result.not() : result)

        case .between(let operand, let low, let high, let lowDomain, let highDomain, let negated):
            let value = try operand.eval(input), lower = try low.eval(input), upper = try high.eval(input)
            let result = ComparisonKernels.compare(.greaterOrEqual, lowDomain, value, lower, count: count)
                .and(ComparisonKernels.compare(.lessOrEqual, highDomain, value, upper, count: count))
            return .bits(negated ? result.not() : result)

        case .like(let operand, let pattern, let negated):
            let value = try operand.eval(input)
            return try onColumns([value], [.utf8], count: count) { (operands, rows) throws(EngineError) in
                guard case .column(let column) = operands[0] else { return .scalar(.null) }
                let matches = BoolVector(values: pattern.matches(column.utf8, count: rows), validity: column.validity?.words, count: rows)
                return .bits(negated ? matches.not() : matches)
            }

        case .likeDynamic(let operand, let patternExpr, let escape, let negated):
            let value = try operand.eval(input), pattern = try patternExpr.eval(input)
            let text = description
            return try onColumns([value, pattern], [.utf8, .utf8], count: count) { (operands, rows) throws(EngineError) in
                let matches = try LikePattern.matchRows(operands[0], patterns: operands[1], escape: escape, count: rows, text: text)
                return .bits(negated ? matches.not() : matches)
            }

        case .concat(let operands, let skipNulls):
            var values: [Datum] = []
            for operand in operands { values.append(try operand.eval(input)) }
            if values.allSatisfy(\.isScalar) {
                return try onColumns(values, operands.map(\.type), count: count) { (operands, rows) throws(EngineError) in
                    StringKernels.concat(operands, skipNulls: skipNulls, count: rows)
                }
            }
            return StringKernels.concat(values, skipNulls: skipNulls, count: count)

        case .changeCase(let operand, let upper):
            return try onColumn(operand, input) { column in .column(StringKernels.changeCase(column, upper: upper)) }

        case .length(let operand):
            return try onColumn(operand, input) { column in .column(StringKernels.length(column)) }

        case .trim(let operand, let side, let characters):
            return try onColumn(operand, input) { column in .column(StringKernels.trim(column, side: side, characters: characters)) }

        case .substring(let operand, let start, let length):
            var value = try operand.eval(input)
            let first = try start.eval(input)
            let characters = try length.map { (length) throws(EngineError) in try length.eval(input) }
            let text = description
            if value.isScalar && first.isScalar && (characters?.isScalar ?? true) {
                return try onColumns([value, first] + (characters.map { [$0] } ?? []), [.utf8, .int64, .int64], count: count) {
                    (operands, rows) throws(EngineError) in
                    guard case .column(let column) = operands[0] else { return .scalar(.null) }
                    return try StringKernels.substring(column, start: operands[1], length: operands.count > 2 ? operands[2] : nil, count: rows, text: text)
                }
            }
            if case .scalar(let scalar) = value { value = .column(Datum.broadcast(scalar, type: .utf8, count: count)) }
            guard case .column(let column) = value else { throw .internal("substring of \(value)") }
            return try StringKernels.substring(column, start: first, length: characters, count: count, text: text)

        case .roundDouble(let operand, let digits):
            return try onColumn(operand, input) { column in .column(ArithmeticKernels.round(column, digits: digits)) }

        case .roundInt64(let operand, let divisor, let multiplier):
            let type = type, text = description
            return try onColumn(operand, input) { (column) throws(EngineError) in
                .column(try ArithmeticKernels.round(column, divisor: divisor, multiplier: multiplier, type: type, text: text))
            }

        case .dateTrunc(let unit, let operand):
            let text = description
            return try onColumn(operand, input) { (column) throws(EngineError) in
                .column(try TimeKernels.dateTrunc(unit, column, text: text))
            }

        case .extract(let field, let operand):
            return try onColumn(operand, input) { column in .column(TimeKernels.extract(field, column)) }

        case .dateFormat(let operand, let pattern):
            return try onColumn(operand, input) { column in .column(TimeKernels.format(column, pattern)) }
        }
    }

    // MARK: Scalars

    /// Kernels take columns; when every operand is a scalar (a constant subtree that could not be folded at
    /// bind time because it fails, or an operand constant within a CASE subset) the kernel runs on one-row
    /// columns and the result stays a scalar. NULL scalars short-circuit to NULL for kernels that want it.
    private func onColumns(
        _ operands: [Datum], _ types: [DataType], count: Int, _ kernel: ([Datum], Int) throws(EngineError) -> Datum
    ) throws(EngineError) -> Datum {
        guard operands.allSatisfy(\.isScalar) else { return try kernel(operands, count) }
        var columns: [Datum] = []
        for (operand, type) in zip(operands, types) {
            guard case .scalar(let value) = operand else { continue }
            if value.isNull && type != .bool {
                columns.append(.scalar(.null))
            } else if type == .bool {
                columns.append(.bits(operand.bits(count: 1)))
            } else {
                columns.append(.column(Datum.broadcast(value, type: type, count: 1)))
            }
        }
        return .scalar(try kernel(columns, 1).value(at: 0))
    }

    /// A one-operand kernel that needs a column and passes NULL through.
    private func onColumn(
        _ operand: BoundExpr, _ input: EvalInput, _ kernel: (Column) throws(EngineError) -> Datum
    ) throws(EngineError) -> Datum {
        switch try operand.eval(input) {
        case .column(let column): return try kernel(column)
        case .scalar(let value):
            if value.isNull { return .scalar(.null) }
            return .scalar(try kernel(Datum.broadcast(value, type: operand.type, count: 1)).value(at: 0))
        case .bits(let bits): return try kernel(bits.column())
        }
    }

    // MARK: Lazy branches

    /// Searched CASE. Conditions are tested in order on the rows no earlier branch took; a branch's value
    /// is computed on the rows that take it when it could fail (so `CASE WHEN s ~ … THEN CAST(s AS BIGINT)`
    /// never casts the other rows), and on the whole batch otherwise, which is cheaper than a gather.
    private func evalCase(_ branches: [BoundBranch], otherwise: BoundExpr?, _ input: EvalInput) throws(EngineError) -> Datum {
        let count = input.count
        var merger = BranchMerger(type: type, count: count)
        var remaining = BitWords.ones(count)
        var remainingCount = count
        for branch in branches where remainingCount > 0 {
            let taken: [UInt64]
            if remainingCount == count || !branch.condition.canFail {
                taken = BitWords.and(try branch.condition.eval(input).bits(count: count).values, remaining)
            } else {
                let rows = BitWords.setIndices(remaining)
                let condition = try branch.condition.eval(input.gather(rows, reading: branch.condition.reads))
                taken = BitWords.scatter(condition.bits(count: rows.count).values, into: remaining)
            }
            let takenCount = BitWords.popCount(taken)
            guard takenCount > 0 else { continue }
            let (value, sourceRows) = try evalBranch(branch.value, rows: taken, rowCount: takenCount, input)
            merger.assign(taken, from: value, sourceRows: sourceRows)
            remaining = BitWords.andNot(remaining, taken)
            remainingCount -= takenCount
        }
        if let otherwise, remainingCount > 0 {
            let (value, sourceRows) = try evalBranch(otherwise, rows: remaining, rowCount: remainingCount, input)
            merger.assign(remaining, from: value, sourceRows: sourceRows)
        }
        return merger.finish()
    }

    /// COALESCE: each argument is computed only for the rows still NULL after the previous ones.
    private func evalCoalesce(_ arguments: [BoundExpr], _ input: EvalInput) throws(EngineError) -> Datum {
        let count = input.count
        var merger = BranchMerger(type: type, count: count)
        var remaining = BitWords.ones(count)
        var remainingCount = count
        for argument in arguments where remainingCount > 0 {
            let (value, sourceRows) = try evalBranch(argument, rows: remaining, rowCount: remainingCount, input)
            var provided = remaining
            if let sourceRows {
                if let valid = value.validityWords(count: remainingCount) {
                    provided = BitWords.scatter(valid, into: sourceRows)
                }
            } else if let valid = value.validityWords(count: count) {
                provided = BitWords.and(remaining, valid)
            }
            merger.assign(provided, from: value, sourceRows: sourceRows)
            remaining = BitWords.andNot(remaining, provided)
            remainingCount = BitWords.popCount(remaining)
        }
        return merger.finish()
    }

    /// A branch's value for `rows`: on the whole batch (source rows nil) or on the gathered subset.
    private func evalBranch(
        _ value: BoundExpr, rows: [UInt64], rowCount: Int, _ input: EvalInput
    ) throws(EngineError) -> (Datum, [UInt64]?) {
        if rowCount == input.count || !value.canFail { return (try value.eval(input), nil) }
        let subset = input.gather(BitWords.setIndices(rows), reading: value.reads)
        return (try value.eval(subset), rows)
    }

    // MARK: IN

    private func evalInList(_ probe: BoundExpr, _ plan: InListPlan, _ input: EvalInput) throws(EngineError) -> BoolVector {
        let count = input.count
        var value = try probe.eval(input)
        if case .scalar(let scalar) = value, scalar.isNull { return .constant(nil, count: count) }
        var result: BoolVector
        if let constants = plan.constants {
            if case .scalar(let scalar) = value {
                value = probe.type == .bool ? .bits(value.bits(count: count)) : .column(Datum.broadcast(scalar, type: probe.type, count: count))
            }
            let found = constants.contains(value, count: count)
            let validity = value.validityWords(count: count)
            // Not found with a NULL in the list is NULL: only found rows stay valid.
            result = BoolVector(values: found, validity: plan.containsNull ? BitWords.and(found, validity ?? BitWords.ones(count)) : validity, count: count)
        } else {
            result = .constant(plan.containsNull ? nil : false, count: count)
        }
        for item in plan.items {
            let itemValue = try item.expr.eval(input)
            result = result.or(ComparisonKernels.compare(.equal, item.domain, value, itemValue, count: count))
        }
        return result
    }
}
