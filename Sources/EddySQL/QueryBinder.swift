import EddyEngine

/// A query bound to the engine: its logical plan (no sink yet) and what kind of result it makes.
public struct BoundQuery: Sendable {
    public var plan: LogicalPlan
    public var schema: Schema
    /// How its result changes: append (windows, or no aggregation) or update (a plain GROUP BY).
    public var mode: SinkMode
    /// The columns that identify a row of an updating result (the group keys); nil when the SELECT
    /// leaves a grouped column out (the result then has no key).
    public var upsertKeys: [String]?
}

/// Rows in scope for a query's expressions: the plan so far, its columns, and the names a query may
/// qualify them with.
struct Relation {
    var plan: LogicalPlan
    var schema: Schema
    var qualifiers: Set<String>
    /// Where the columns come from, for messages (`purchases`, `the subquery`).
    var name: String
    /// A window table function's window, applied by the GROUP BY over it.
    var window: WindowGrouping?
    var windowLocation: SourceLocation?
}

/// Resolves columns of one relation.
struct RelationScope: NameScope {
    let relation: Relation

    func column(_ name: QualifiedName) throws(SQLError) -> Expr {
        var parts = name.parts.map(\.name)
        if parts.count > 1, relation.qualifiers.contains(parts[0]) { parts.removeFirst() }
        let joined = parts.joined(separator: ".")
        if relation.schema.index(of: joined) != nil { return .column(joined) }
        if relation.window != nil, ["window_start", "window_end", "window_time"].contains(joined) {
            throw SQLError("`\(joined)` is a column of the window's result: group by window_start and window_end to use it", at: name.location)
        }
        var message = "unknown column `\(name)` in \(relation.name)"
        if let near = nearestName(to: joined, in: relation.schema.names) { message += "; did you mean `\(near)`?" }
        throw SQLError(message, at: name.last.location)
    }

    func computed(_ expression: Expression) -> Expr? { nil }

    func aggregate(_ call: Expression, function: String) throws(SQLError) -> Expr {
        throw SQLError("aggregate \(function) is not allowed here (only in SELECT and HAVING of a grouped query)", at: call.location)
    }
}

/// After GROUP BY: group keys and aggregates are columns of the aggregation's output; any other
/// column of the input is an error.
struct GroupedScope: NameScope {
    let input: Relation
    /// Computed group key expression text → output column.
    let keys: [String: String]
    /// Input column grouped by → output column.
    let columnKeys: [String: String]
    /// Aggregate call text → output column.
    let aggregates: [String: String]
    let windowed: Bool

    func column(_ name: QualifiedName) throws(SQLError) -> Expr {
        var parts = name.parts.map(\.name)
        if parts.count > 1, input.qualifiers.contains(parts[0]) { parts.removeFirst() }
        let text = parts.joined(separator: ".")
        if windowed, text == "window_start" || text == "window_end" { return .column(text) }
        if windowed, text == "window_time" {
            // Flink's window_time: the last millisecond of the window, a time attribute.
            return .arithmetic(.subtract, .column("window_end"), .literal(.int64(1)))
        }
        // A plain column key is found by the column it resolves to, however it is qualified.
        guard case .column(let column) = try RelationScope(relation: input).column(name) else {
            throw SQLError("column `\(name)` must be in GROUP BY or inside an aggregate", at: name.location)
        }
        if let key = columnKeys[column] { return .column(key) }
        throw SQLError("column `\(name)` must be in GROUP BY or inside an aggregate", at: name.location)
    }

    func computed(_ expression: Expression) -> Expr? {
        if let key = keys[expression.text] { return .column(key) }
        if let aggregate = aggregates[expression.text] { return .column(aggregate) }
        return nil
    }

    func aggregate(_ call: Expression, function: String) throws(SQLError) -> Expr {
        guard let column = aggregates[call.text] else { throw SQLError("aggregate \(call.text) was not planned", at: call.location) }
        return .column(column)
    }
}

/// Binds queries against a catalog: FROM (tables, views, subqueries, window table functions), WHERE,
/// GROUP BY with aggregates (FILTER rewritten to CASE), HAVING, DISTINCT, and the SELECT list.
struct QueryBinder {
    let catalog: Catalog

    func bind(_ query: Query) throws(SQLError) -> BoundQuery {
        if let limit = query.limit {
            throw SQLError("LIMIT \(limit) is not supported on a continuous query", at: query.location)
        }
        guard let from = query.from else {
            throw SQLError("a streaming query reads a table: add FROM", at: query.location)
        }
        var relation = try bindFrom(from)
        if let condition = query.whereClause {
            if let aggregate = firstAggregate(in: condition) {
                throw SQLError("aggregates are not allowed in WHERE; filter groups with HAVING", at: aggregate.location)
            }
            let predicate = try ExpressionBinder(scope: RelationScope(relation: relation)).bind(condition)
            relation.plan = .filter(relation.plan, predicate)
            try checkType(relation.plan, at: condition.location)
        }
        var query = query
        if query.distinct {
            // SELECT DISTINCT a, b: GROUP BY a, b.
            guard query.groupBy.isEmpty, !query.items.contains(where: { if case .expression(let e, _) = $0 { return firstAggregate(in: e) != nil }; return false }) else {
                throw SQLError("SELECT DISTINCT with GROUP BY or aggregates is not supported; drop DISTINCT", at: query.location)
            }
            query.groupBy = try expandedItems(query.items, relation).map(\.expression)
        }
        let aggregated = !query.groupBy.isEmpty || query.having != nil
            || query.items.contains { if case .expression(let e, _) = $0 { return firstAggregate(in: e) != nil }; return false }
        if aggregated { return try bindAggregate(query, relation) }
        if let window = relation.windowLocation {
            throw SQLError("a window table function's rows must be aggregated: GROUP BY window_start, window_end, …", at: window)
        }
        let items = try expandedItems(query.items, relation)
        let projections = try project(items, ExpressionBinder(scope: RelationScope(relation: relation)), over: relation.schema)
        try checkDistinctNames(items)
        let plan = isIdentity(projections, relation.schema) ? relation.plan : .project(relation.plan, projections)
        if query.emitOnWindowClose {
            throw SQLError("EMIT ON WINDOW CLOSE needs a window: FROM TUMBLE(…), HOP(…), CUMULATE(…) or SESSION(…) with GROUP BY window_start, window_end", at: query.location)
        }
        return BoundQuery(plan: plan, schema: try schema(of: plan, at: query.location), mode: .append, upsertKeys: [])
    }

    // MARK: FROM

    func bindFrom(_ reference: TableReference) throws(SQLError) -> Relation {
        switch reference {
        case .table(let name, let alias):
            var relation = try catalog.relation(name)
            if let alias { relation.qualifiers = [alias.name] }
            return relation
        case .subquery(let query, let alias, _):
            let bound = try bind(query)
            guard bound.mode == .append else {
                throw SQLError("a subquery with a plain GROUP BY makes an updating result, which cannot be read again", at: query.location)
            }
            return Relation(plan: bound.plan, schema: bound.schema, qualifiers: Set(alias.map { [$0.name] } ?? []),
                            name: alias.map { "`\($0.name)`" } ?? "the subquery", window: nil, windowLocation: nil)
        case .window(let function):
            var relation = try bindFrom(function.input)
            guard relation.window == nil else { throw SQLError("a window over a window is not supported", at: function.location) }
            let time = function.timeColumn.name
            guard let field = relation.schema.field(named: time) else {
                _ = try RelationScope(relation: relation).column(QualifiedName(parts: [function.timeColumn]))
                throw SQLError("unknown column `\(time)`", at: function.timeColumn.location)
            }
            guard field.type == .timestamp else {
                throw SQLError("the window's time column `\(time)` is \(field.type), not TIMESTAMP", at: function.timeColumn.location)
            }
            guard catalog.watermarkColumn(of: relation.plan) == time else {
                throw SQLError("windows on `\(time)` need a watermark on it: declare WATERMARK FOR \(time) AS \(time) - INTERVAL '…' SECOND in the table", at: function.timeColumn.location)
            }
            if !function.partitionBy.isEmpty {
                throw SQLError("SESSION … PARTITION BY is not needed: group by the keys instead", at: function.partitionBy[0].location)
            }
            var intervals: [Interval] = []
            for argument in function.arguments {
                guard case .literal(.interval(let text, let unit, let toUnit), let location) = argument else {
                    throw SQLError("a window's sizes are INTERVAL literals (INTERVAL '1' MINUTE)", at: argument.location)
                }
                let millis = try SQLTypes.intervalMilliseconds(text, unit: unit, toUnit: toUnit, at: location)
                guard millis > 0 else { throw SQLError("a window's interval must be positive", at: location) }
                intervals.append(.milliseconds(millis))
            }
            func expect(_ count: Int, _ form: String) throws(SQLError) {
                guard intervals.count == count else {
                    throw SQLError("\(function.kind.rawValue.uppercased()) takes \(form)", at: function.location)
                }
            }
            switch function.kind {
            case .tumble:
                try expect(1, "the table, the time column and the size (offsets are not supported yet)")
                relation.window = .tumble(time, intervals[0])
            case .hop:
                try expect(2, "the table, the time column, the slide and the size (in that order, as Flink)")
                guard intervals[1].milliseconds >= intervals[0].milliseconds else {
                    throw SQLError("HOP's size (\(intervals[1])) is smaller than its slide (\(intervals[0])): Flink's order is slide, then size", at: function.arguments[1].location)
                }
                relation.window = .hop(time, size: intervals[1], slide: intervals[0])
            case .session:
                try expect(1, "the table, the time column and the gap")
                relation.window = .session(time, gap: intervals[0])
            case .cumulate:
                try expect(2, "the table, the time column, the step and the max size (in that order, as Flink)")
                let (step, size) = (intervals[0].milliseconds, intervals[1].milliseconds)
                guard size >= step, size % step == 0 else {
                    throw SQLError("CUMULATE's max size (\(intervals[1])) must be a whole multiple of its step (\(intervals[0])): Flink's order is step, then max size", at: function.arguments[1].location)
                }
                relation.window = .cumulate(time, size: intervals[1], step: intervals[0])
            }
            relation.windowLocation = function.location
            if let alias = function.alias { relation.qualifiers = [alias.name] }
            return relation
        }
    }

    // MARK: SELECT list

    struct Item {
        var expression: Expression
        var name: String
        var location: SourceLocation
        /// `*` expands to these columns exactly, whatever their names look like.
        var column: String?
    }

    /// SELECT items with `*` expanded and output names given (alias, column name, or `EXPR$n`).
    func expandedItems(_ items: [SelectItem], _ relation: Relation) throws(SQLError) -> [Item] {
        var result: [Item] = []
        for item in items {
            switch item {
            case .star(let qualifier, let location):
                if let qualifier, !relation.qualifiers.contains(qualifier.name) {
                    throw SQLError("unknown table `\(qualifier.name)` in `\(qualifier.name).*`", at: qualifier.location)
                }
                if relation.window != nil {
                    throw SQLError("SELECT * over a window table function is not supported: name the columns, with window_start and window_end", at: location)
                }
                for name in relation.schema.names {
                    result.append(Item(expression: .name(QualifiedName(parts: [Identifier(name, at: location)])), name: name,
                                       location: location, column: name))
                }
            case .expression(let expression, let alias):
                let name: String
                if let alias {
                    name = alias.name
                } else if case .name(let qualified) = expression {
                    name = qualified.last.name
                } else {
                    name = "EXPR$\(result.count)"
                }
                result.append(Item(expression: expression, name: name, location: expression.location, column: nil))
            }
        }
        return result
    }

    /// The SELECT list as named expressions; a type error is reported at its item.
    func project(_ items: [Item], _ binder: ExpressionBinder, over schema: Schema) throws(SQLError) -> [NamedExpr] {
        var projections: [NamedExpr] = []
        for item in items {
            let expr: Expr
            if let column = item.column { expr = .column(column) } else { expr = try binder.bind(item.expression) }
            do { _ = try expr.bind(to: schema) } catch { throw SQLError(error.message, at: item.location) }
            projections.append(NamedExpr(expr, name: item.name))
        }
        return projections
    }

    func checkDistinctNames(_ items: [Item]) throws(SQLError) {
        var seen: Set<String> = []
        for item in items where !seen.insert(item.name).inserted {
            throw SQLError("the result has two columns named `\(item.name)`; give one an alias with AS", at: item.location)
        }
    }

    // MARK: GROUP BY

    func bindAggregate(_ query: Query, _ input: Relation) throws(SQLError) -> BoundQuery {
        let inputBinder = ExpressionBinder(scope: RelationScope(relation: input))
        var preProjection: [NamedExpr] = []
        var keys: [String] = []
        var keyColumns: [String: String] = [:]
        var columnKeys: [String: String] = [:]
        var windowKeys: Set<String> = []
        for expression in query.groupBy {
            if let aggregate = firstAggregate(in: expression) {
                throw SQLError("aggregates are not allowed in GROUP BY", at: aggregate.location)
            }
            if input.window != nil, case .name(let name) = expression, let last = name.parts.last,
               ["window_start", "window_end"].contains(last.name),
               name.parts.count == 1 || (name.parts.count == 2 && input.qualifiers.contains(name.parts[0].name)) {
                windowKeys.insert(last.name)
                continue
            }
            let bound = try inputBinder.bind(expression)
            if case .column(let column) = bound {
                if !keys.contains(column) { keys.append(column) }
                columnKeys[column] = column
            } else {
                let column = "$key\(keys.count)"
                preProjection.append(NamedExpr(bound, name: column))
                keys.append(column)
                keyColumns[expression.text] = column
            }
        }
        if let window = input.window {
            guard windowKeys.count == 2 else {
                throw SQLError("a query over a window table function groups by window_start and window_end (Flink's rule)", at: query.location)
            }
            _ = window
        } else if let misplaced = query.groupBy.first(where: { ["window_start", "window_end"].contains($0.text) && input.schema.index(of: $0.text) == nil }) {
            throw SQLError("window_start and window_end come from a window table function: FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))", at: misplaced.location)
        }
        // Aggregate calls in SELECT and HAVING, once each.
        var calls: [Expression] = []
        var expressions = query.items.compactMap { item -> Expression? in
            if case .expression(let e, _) = item { return e }
            return nil
        }
        if let having = query.having { expressions.append(having) }
        for expression in expressions { try collectAggregates(expression, into: &calls) }
        let aliases = Dictionary(query.items.compactMap { item -> (String, String)? in
            if case .expression(let e, let alias?) = item, ExpressionBinder.isAggregateCall(e) { return (e.text, alias.name) }
            return nil
        }, uniquingKeysWith: { first, _ in first })
        var aggregates: [Aggregate] = []
        var aggregateColumns: [String: String] = [:]
        var usedNames = Set(keys)
        for call in calls {
            guard case .call(let name, let arguments, let distinct, let star, let filter) = call else { continue }
            let upper = name.name.uppercased()
            var function: Aggregate.Function
            switch upper {
            case "COUNT": function = distinct ? .countDistinct : .count
            case "SUM": function = .sum
            case "AVG": function = .avg
            case "MIN": function = .min
            case "MAX": function = .max
            case "FIRST_VALUE": function = .first
            case "LAST_VALUE": function = .last
            default: throw SQLError("unknown aggregate \(upper)", at: name.location)
            }
            if distinct && upper != "COUNT" {
                throw SQLError("\(upper)(DISTINCT …) is not supported; only COUNT(DISTINCT …)", at: name.location)
            }
            if star && upper != "COUNT" { throw SQLError("\(upper)(*) is not defined; only COUNT(*)", at: name.location) }
            if !star && arguments.count != 1 {
                throw SQLError("\(upper) takes one argument, got \(arguments.count)", at: name.location)
            }
            var column: String?
            if star {
                if let filter {
                    // COUNT(*) FILTER (WHERE c) counts the rows where c holds.
                    column = "$agg\(aggregates.count)"
                    preProjection.append(NamedExpr(.caseWhen(operand: nil, branches: [CaseBranch(when: try inputBinder.bind(filter), then: .literal(.int64(1)))], otherwise: nil), name: column!))
                }
            } else {
                var argument = try inputBinder.bind(arguments[0])
                if let inner = firstAggregate(in: arguments[0]) {
                    throw SQLError("aggregates cannot be nested", at: inner.location)
                }
                if let filter {
                    argument = .caseWhen(operand: nil, branches: [CaseBranch(when: try inputBinder.bind(filter), then: argument)], otherwise: nil)
                }
                if case .column(let name) = argument {
                    column = name
                } else {
                    column = "$agg\(aggregates.count)"
                    preProjection.append(NamedExpr(argument, name: column!))
                }
            }
            if star, filter == nil, function == .count { column = nil }
            var outputName = aliases[call.text] ?? "$agg_out\(aggregates.count)"
            if usedNames.contains(outputName) { outputName = "$agg_out\(aggregates.count)" }
            usedNames.insert(outputName)
            aggregates.append(Aggregate(function, column, as: outputName))
            aggregateColumns[call.text] = outputName
        }
        var plan = input.plan
        if !preProjection.isEmpty {
            // Keep every input column (the optimiser drops the unused ones) and add the computed ones.
            plan = .project(plan, input.schema.names.map { NamedExpr(.column($0), name: $0) } + preProjection)
        }
        plan = .aggregate(plan, window: input.window, keys: keys, aggregates: aggregates)
        let aggregatedSchema = try schema(of: plan, at: query.location)
        let grouped = Relation(plan: plan, schema: aggregatedSchema, qualifiers: input.qualifiers, name: input.name, window: nil, windowLocation: nil)
        let scope = GroupedScope(input: input, keys: keyColumns, columnKeys: columnKeys, aggregates: aggregateColumns,
                                 windowed: input.window != nil)
        let binder = ExpressionBinder(scope: scope)
        if let having = query.having {
            plan = .filter(plan, try binder.bind(having))
            try checkType(plan, at: having.location)
        }
        let items = try expandedItems(query.items, grouped)
        try checkDistinctNames(items)
        let projections = try project(items, binder, over: plan.schemaOrEmpty)
        if !isIdentity(projections, aggregatedSchema) { plan = .project(plan, projections) }
        let schema = try schema(of: plan, at: query.location)
        // The upsert key is the group's identity, by its output names: every grouped column must be
        // selected for the result to have one.
        var upsertKeys: [String]? = []
        for key in (input.window == nil ? [] : ["window_start", "window_end"]) + keys {
            if let item = projections.first(where: { $0.expr == .column(key) }) { upsertKeys?.append(item.name) } else { upsertKeys = nil }
        }
        return BoundQuery(plan: plan, schema: schema, mode: input.window == nil ? .update : .append, upsertKeys: upsertKeys)
    }

    func collectAggregates(_ expression: Expression, into calls: inout [Expression]) throws(SQLError) {
        if ExpressionBinder.isAggregateCall(expression) {
            if !calls.contains(expression) { calls.append(expression) }
            return
        }
        for child in expression.children { try collectAggregates(child, into: &calls) }
    }

    func firstAggregate(in expression: Expression) -> Expression? {
        if ExpressionBinder.isAggregateCall(expression) { return expression }
        for child in expression.children { if let found = firstAggregate(in: child) { return found } }
        return nil
    }

    // MARK: helpers

    func isIdentity(_ projections: [NamedExpr], _ schema: Schema) -> Bool {
        projections.count == schema.fields.count && zip(projections, schema.names).allSatisfy { $0.expr == .column($1) && $0.name == $1 }
    }

    func schema(of plan: LogicalPlan, at location: SourceLocation) throws(SQLError) -> Schema {
        do { return try plan.schema() } catch { throw SQLError(error.message, at: location) }
    }

    func checkType(_ plan: LogicalPlan, at location: SourceLocation) throws(SQLError) {
        _ = try schema(of: plan, at: location)
    }
}

extension LogicalPlan {
    /// The schema, or an empty one where it does not check out (the caller reports that error).
    var schemaOrEmpty: Schema { (try? schema()) ?? Schema([]) }
}

extension Expression {
    /// The direct subexpressions.
    var children: [Expression] {
        switch self {
        case .name, .literal: []
        case .unary(_, let e, _), .isNull(let e, _, _), .isBoolean(let e, _, _, _), .cast(let e, _, _, _), .extract(_, let e, _): [e]
        case .binary(_, let l, let r, _), .subscript(let l, let r, _): [l, r]
        case .between(let e, let low, let high, _, _): [e, low, high]
        case .inList(let e, let list, _, _): [e] + list
        case .like(let e, let pattern, let escape, _, _): [e, pattern] + (escape.map { [$0] } ?? [])
        case .caseWhen(let operand, let branches, let otherwise, _):
            (operand.map { [$0] } ?? []) + branches.flatMap { [$0.when, $0.then] } + (otherwise.map { [$0] } ?? [])
        case .call(_, let arguments, _, _, let filter): arguments + (filter.map { [$0] } ?? [])
        }
    }
}
