extension Parser {
    // MARK: queries

    mutating func query() throws(SQLError) -> Query {
        let start = current.location
        if at("WITH") { throw SQLError("WITH (common table expressions) is not supported yet; use CREATE VIEW or a subquery in FROM", at: start) }
        if at(symbol: "(") {
            try enter()
            _ = advance()
            let inner = try query()
            try expect(symbol: ")")
            depth -= 1
            try refuseSetOperation()
            return inner
        }
        try expect("SELECT")
        var query = Query(distinct: false, items: [], from: nil, whereClause: nil, groupBy: [], having: nil,
                          emitOnWindowClose: false, limit: nil, location: start)
        if accept("DISTINCT") {
            query.distinct = true
        } else {
            _ = accept("ALL")
        }
        query.items = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.selectItem() }
        if accept("FROM") { query.from = try fromClause() }
        if accept("WHERE") { query.whereClause = try expression() }
        if accept("GROUP") {
            try expect("BY")
            if at("GROUPING") || at("ROLLUP") || at("CUBE") {
                throw SQLError("\(current.description.uppercased()) is not supported; group by plain columns or window bounds", at: current.location)
            }
            query.groupBy = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.expression() }
        }
        if accept("HAVING") { query.having = try expression() }
        if at("WINDOW") { throw SQLError("named WINDOW clauses (OVER windows) are not supported", at: current.location) }
        if at("ORDER") {
            throw SQLError("ORDER BY is not supported on a streaming query (results arrive as windows close); sort when reading the sink", at: current.location)
        }
        if accept("EMIT") {
            try expect("ON")
            try expect("WINDOW")
            try expect("CLOSE")
            query.emitOnWindowClose = true
        }
        if accept("LIMIT") { query.limit = try integer("a row count after LIMIT") }
        try refuseSetOperation()
        return query
    }

    func refuseSetOperation() throws(SQLError) {
        for word in ["UNION", "INTERSECT", "EXCEPT", "MINUS"] where at(word) {
            throw SQLError("\(word) is not supported yet; run each query into the sink with its own INSERT", at: current.location)
        }
    }

    mutating func selectItem() throws(SQLError) -> SelectItem {
        let location = current.location
        if accept(symbol: "*") { return .star(qualifier: nil, location: location) }
        if case .symbol(".") = peekKind(1), case .symbol("*") = peekKind(2) {
            let qualifier = try identifier("a table name")
            _ = advance()
            _ = advance()
            return .star(qualifier: qualifier, location: location)
        }
        let value = try expression()
        return .expression(value, alias: try alias())
    }

    /// `[AS] name`, where a bare name is not a reserved word.
    mutating func alias() throws(SQLError) -> Identifier? {
        if accept("AS") { return try identifier("an alias") }
        switch current.kind {
        case .quoted: return try identifier()
        case .word(let text) where !Self.reserved.contains(text.uppercased()): return try identifier()
        default: return nil
        }
    }

    mutating func fromClause() throws(SQLError) -> TableReference {
        let table = try tableReference()
        if at(symbol: ",") {
            throw SQLError("joins are not supported yet (a comma in FROM is a cross join); read one table per query", at: current.location)
        }
        for word in ["JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL"] where at(word) {
            throw SQLError("joins are not supported yet (\(word)); read one table per query", at: current.location)
        }
        if at("MATCH_RECOGNIZE") { throw SQLError("MATCH_RECOGNIZE is not supported", at: current.location) }
        return table
    }

    mutating func tableReference() throws(SQLError) -> TableReference {
        let location = current.location
        if accept(symbol: "(") {
            try enter()
            let inner = try query()
            try expect(symbol: ")")
            depth -= 1
            return .subquery(inner, alias: try alias(), location: location)
        }
        if at("LATERAL") || at("UNNEST") {
            throw SQLError("\(current.description.uppercased()) is not supported", at: location)
        }
        // Flink: TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL …)).
        if at("TABLE"), case .symbol("(") = peekKind(1) {
            _ = advance()
            _ = advance()
            guard var window = try windowFunction(flinkForm: true) else {
                throw expected("a window function (TUMBLE, HOP, SESSION or CUMULATE) inside TABLE(…)")
            }
            try expect(symbol: ")")
            window.alias = try alias()
            return .window(window)
        }
        if var window = try windowFunction(flinkForm: false) {
            window.alias = try alias()
            return .window(window)
        }
        let name = try qualifiedName("a table name")
        if at(symbol: "(") { throw SQLError("table function `\(name)` is not supported; windows are TUMBLE, HOP, SESSION and CUMULATE", at: location) }
        return .table(name, alias: try alias())
    }

    /// A window table function, when the current token starts one.
    mutating func windowFunction(flinkForm: Bool) throws(SQLError) -> WindowFunction? {
        guard case .word(let word) = current.kind, let kind = WindowFunction.Kind(rawValue: word.lowercased()),
              case .symbol("(") = peekKind(1) else { return nil }
        let location = advance().location
        _ = advance()
        try enter()
        defer { depth -= 1 }
        // Flink writes `TABLE t` and `DESCRIPTOR(ts)`; RisingWave writes `t` and `ts`; either is accepted
        // in either form, and named arguments (`DATA => TABLE t`) are accepted too.
        skipNamedArgument("DATA")
        _ = accept("TABLE")
        let inputName = try qualifiedName("the table the window reads")
        var partitionBy: [Identifier] = []
        if accept("PARTITION") {
            try expect("BY")
            partitionBy = [try identifier("a key column")]
            // Keys end where DESCRIPTOR (or TIMECOL =>) starts the next argument.
            while at(symbol: ","), case .word(let next) = peekKind(1), !["DESCRIPTOR", "TIMECOL"].contains(next.uppercased()) {
                _ = advance()
                partitionBy.append(try identifier("a key column"))
            }
        }
        try expect(symbol: ",")
        skipNamedArgument("TIMECOL")
        let timeColumn: Identifier
        if accept("DESCRIPTOR") {
            try expect(symbol: "(")
            timeColumn = try identifier("the event-time column")
            try expect(symbol: ")")
        } else {
            timeColumn = try identifier("the event-time column")
        }
        var arguments: [Expression] = []
        while accept(symbol: ",") {
            for name in ["SIZE", "SLIDE", "GAP", "STEP", "OFFSET"] { skipNamedArgument(name) }
            arguments.append(try expression())
        }
        try expect(symbol: ")")
        _ = flinkForm
        return WindowFunction(kind: kind, input: .table(inputName, alias: nil), timeColumn: timeColumn, partitionBy: partitionBy,
                              arguments: arguments, alias: nil, location: location)
    }

    /// Skips `NAME =>` before a window function's argument.
    mutating func skipNamedArgument(_ name: String) {
        if at(name), case .symbol("=") = peekKind(1), case .symbol(">") = peekKind(2) {
            _ = advance()
            _ = advance()
            _ = advance()
        }
    }

    mutating func enter() throws(SQLError) {
        depth += 1
        if depth > Self.maxDepth { throw SQLError("the statement nests deeper than \(Self.maxDepth) levels", at: current.location) }
    }

    // MARK: expressions, by precedence: OR < AND < NOT < comparison/IS/IN/LIKE/BETWEEN < || < + - < * / % < unary

    mutating func expression() throws(SQLError) -> Expression {
        try enter()
        defer { depth -= 1 }
        return try orExpression()
    }

    mutating func orExpression() throws(SQLError) -> Expression {
        try leftAssociative(words: ["OR"]) { (p: inout Parser) throws(SQLError) in try p.andExpression() }
    }

    mutating func andExpression() throws(SQLError) -> Expression {
        try leftAssociative(words: ["AND"]) { (p: inout Parser) throws(SQLError) in try p.notExpression() }
    }

    mutating func notExpression() throws(SQLError) -> Expression {
        if at("NOT") {
            let location = advance().location
            try enter()
            defer { depth -= 1 }
            return .unary(op: "NOT", try notExpression(), location)
        }
        return try comparison()
    }

    mutating func comparison() throws(SQLError) -> Expression {
        var left = try concatenation()
        var chained = 0
        defer { depth -= chained }
        while true {
            try enter()
            chained += 1
            let location = current.location
            if case .symbol(let symbol) = current.kind, ["=", "<>", "!=", "<", "<=", ">", ">="].contains(symbol) {
                _ = advance()
                left = .binary(op: symbol == "!=" ? "<>" : symbol, left, try concatenation(), location)
                continue
            }
            if accept("IS") {
                let negated = accept("NOT")
                if accept("NULL") {
                    left = .isNull(left, negated: negated, location)
                } else if accept("TRUE") {
                    left = .isBoolean(left, value: true, negated: negated, location)
                } else if accept("FALSE") {
                    left = .isBoolean(left, value: false, negated: negated, location)
                } else if accept("DISTINCT") {
                    try expect("FROM")
                    left = .binary(op: negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM", left, try concatenation(), location)
                } else {
                    throw expected("NULL, TRUE or FALSE after IS")
                }
                continue
            }
            let negated = at("NOT") && {
                if case .word(let next) = peekKind(1) { return ["IN", "LIKE", "BETWEEN", "SIMILAR"].contains(next.uppercased()) }
                return false
            }()
            if negated { _ = advance() }
            if accept("IN") {
                try expect(symbol: "(")
                if at("SELECT") { throw SQLError("IN (SELECT …) subqueries are not supported", at: current.location) }
                let list = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.expression() }
                try expect(symbol: ")")
                left = .inList(left, list, negated: negated, location)
            } else if accept("LIKE") {
                let pattern = try concatenation()
                var escape: Expression?
                if accept("ESCAPE") { escape = try concatenation() }
                left = .like(left, pattern: pattern, escape: escape, negated: negated, location)
            } else if accept("BETWEEN") {
                _ = accept("ASYMMETRIC")
                if at("SYMMETRIC") { throw SQLError("BETWEEN SYMMETRIC is not supported", at: current.location) }
                let low = try concatenation()
                try expect("AND")
                left = .between(left, low: low, high: try concatenation(), negated: negated, location)
            } else if at("SIMILAR") {
                throw SQLError("SIMILAR TO is not supported; use LIKE", at: current.location)
            } else {
                return left
            }
        }
    }

    mutating func concatenation() throws(SQLError) -> Expression {
        try leftAssociative(symbols: ["||"]) { (p: inout Parser) throws(SQLError) in try p.additive() }
    }

    mutating func additive() throws(SQLError) -> Expression {
        try leftAssociative(symbols: ["+", "-"]) { (p: inout Parser) throws(SQLError) in try p.multiplicative() }
    }

    mutating func multiplicative() throws(SQLError) -> Expression {
        try leftAssociative(symbols: ["*", "/", "%"]) { (p: inout Parser) throws(SQLError) in try p.unary() }
    }

    /// `operand (op operand)*` for the keyword or symbol operators given, grouped to the left. Each
    /// link counts against the nesting limit: the tree (and everything that walks it) is that deep.
    mutating func leftAssociative(words: Set<String> = [], symbols: Set<String> = [],
                                  _ operand: (inout Parser) throws(SQLError) -> Expression) throws(SQLError) -> Expression {
        var left = try operand(&self)
        var chained = 0
        defer { depth -= chained }
        while true {
            let op: String
            switch current.kind {
            case .word(let word) where words.contains(word.uppercased()): op = word.uppercased()
            case .symbol(let symbol) where symbols.contains(symbol): op = symbol
            default: return left
            }
            depth += 1
            chained += 1
            if depth > Self.maxDepth {
                throw SQLError("the expression nests or chains operators deeper than \(Self.maxDepth) levels; for many alternatives use IN (…)", at: current.location)
            }
            let location = advance().location
            left = .binary(op: op, left, try operand(&self), location)
        }
    }

    mutating func unary() throws(SQLError) -> Expression {
        if case .symbol(let symbol) = current.kind, symbol == "-" || symbol == "+" {
            let location = advance().location
            try enter()
            defer { depth -= 1 }
            let operand = try unary()
            if symbol == "+" { return operand }
            if case .literal(.number(let text), _) = operand, !text.hasPrefix("-") { return .literal(.number("-" + text), location) }
            return .unary(op: "-", operand, location)
        }
        var value = try primary()
        var chained = 0
        defer { depth -= chained }
        while at(symbol: "[") {
            try enter()
            chained += 1
            let location = advance().location
            let index = try expression()
            try expect(symbol: "]")
            value = .subscript(value, index, location)
        }
        return value
    }

    mutating func primary() throws(SQLError) -> Expression {
        let location = current.location
        switch current.kind {
        case .number(let text):
            _ = advance()
            return .literal(.number(text), location)
        case .string(let text):
            _ = advance()
            return .literal(.string(text), location)
        case .symbol("("):
            _ = advance()
            if at("SELECT") { throw SQLError("scalar subqueries are not supported", at: current.location) }
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .quoted:
            return try nameOrCall()
        case .word(let word):
            switch word.uppercased() {
            case "NULL":
                _ = advance()
                return .literal(.null, location)
            case "TRUE", "FALSE":
                _ = advance()
                return .literal(.bool(word.uppercased() == "TRUE"), location)
            case "INTERVAL":
                _ = advance()
                return try interval(location)
            case "TIMESTAMP", "DATE", "TIME", "TIMESTAMP_LTZ":
                if case .string(let text) = peekKind(1) {
                    _ = advance()
                    _ = advance()
                    return .literal(.typed(text, type: word.uppercased()), location)
                }
                return try nameOrCall()
            case "CASE":
                _ = advance()
                return try caseExpression(location)
            case "CAST", "TRY_CAST":
                _ = advance()
                try expect(symbol: "(")
                let value = try expression()
                try expect("AS")
                let type = try typeName()
                try expect(symbol: ")")
                return .cast(value, type, isTry: word.uppercased() == "TRY_CAST", location)
            case "EXTRACT":
                _ = advance()
                try expect(symbol: "(")
                let field = try identifier("a field (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, …)")
                try expect("FROM")
                let value = try expression()
                try expect(symbol: ")")
                return .extract(field: field, value, location)
            case "EXISTS":
                throw SQLError("EXISTS subqueries are not supported", at: location)
            default:
                if Self.reserved.contains(word.uppercased()) { throw expected("an expression") }
                return try nameOrCall()
            }
        default:
            throw expected("an expression")
        }
    }

    /// `INTERVAL '10' SECOND`, `INTERVAL '1:30' MINUTE TO SECOND`, `INTERVAL '5' MINUTES`,
    /// `INTERVAL '5 minutes'` (RisingWave), `INTERVAL 5 SECOND`.
    mutating func interval(_ location: SourceLocation) throws(SQLError) -> Expression {
        let text: String
        switch current.kind {
        case .string(let value), .number(let value):
            _ = advance()
            text = value
        default:
            throw expected("the interval's amount in quotes (INTERVAL '10' SECOND)")
        }
        var unit: String?
        var toUnit: String?
        if case .word(let word) = current.kind, Self.intervalUnits.contains(word.uppercased()) {
            _ = advance()
            unit = word.uppercased()
            if accept("TO") {
                guard case .word(let to) = current.kind, Self.intervalUnits.contains(to.uppercased()) else {
                    throw expected("a unit after TO (DAY, HOUR, MINUTE or SECOND)")
                }
                _ = advance()
                toUnit = to.uppercased()
            }
        }
        return .literal(.interval(text, unit: unit, toUnit: toUnit), location)
    }

    static let intervalUnits: Set<String> = [
        "YEAR", "YEARS", "MONTH", "MONTHS", "WEEK", "WEEKS", "DAY", "DAYS", "HOUR", "HOURS", "MINUTE", "MINUTES",
        "SECOND", "SECONDS", "MILLISECOND", "MILLISECONDS",
    ]

    mutating func caseExpression(_ location: SourceLocation) throws(SQLError) -> Expression {
        let operand = at("WHEN") ? nil : try expression()
        var branches: [(when: Expression, then: Expression)] = []
        while accept("WHEN") {
            let when = try expression()
            try expect("THEN")
            branches.append((when, try expression()))
        }
        guard !branches.isEmpty else { throw expected("WHEN in CASE") }
        let otherwise = accept("ELSE") ? try expression() : nil
        try expect("END")
        return .caseWhen(operand: operand, branches: branches, otherwise: otherwise, location)
    }

    mutating func nameOrCall() throws(SQLError) -> Expression {
        let name = try qualifiedName("a column or function name")
        guard at(symbol: "(") else { return .name(name) }
        guard name.parts.count == 1 else { throw SQLError("function names are not qualified: `\(name)`", at: name.location) }
        _ = advance()
        try enter()
        defer { depth -= 1 }
        var distinct = false
        var star = false
        var arguments: [Expression] = []
        var function = name.parts[0]
        let upper = function.name.uppercased()
        if accept(symbol: "*") {
            star = true
        } else if upper == "TRIM", at("BOTH") || at("LEADING") || at("TRAILING") {
            // TRIM(BOTH | LEADING | TRAILING [characters] FROM s)
            let side = advance().description.uppercased()
            let characters = at("FROM") ? nil : try expression()
            try expect("FROM")
            arguments = [try expression()] + (characters.map { [$0] } ?? [])
            function = Identifier(side == "LEADING" ? "LTRIM" : side == "TRAILING" ? "RTRIM" : "TRIM", at: function.location)
        } else if !at(symbol: ")") {
            if accept("DISTINCT") { distinct = true } else { _ = accept("ALL") }
            arguments = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.expression() }
            if arguments.count == 1, upper == "SUBSTRING" || upper == "SUBSTR", accept("FROM") {
                // SUBSTRING(s FROM start [FOR length])
                arguments.append(try expression())
                if accept("FOR") { arguments.append(try expression()) }
            } else if arguments.count == 1, upper == "TRIM", accept("FROM") {
                // TRIM(characters FROM s)
                arguments = [try expression(), arguments[0]]
            }
        }
        try expect(symbol: ")")
        var filter: Expression?
        if accept("FILTER") {
            try expect(symbol: "(")
            try expect("WHERE")
            filter = try expression()
            try expect(symbol: ")")
        }
        if at("OVER") { throw SQLError("OVER windows are not supported yet; use a window table function (TUMBLE, HOP, CUMULATE, SESSION)", at: current.location) }
        if at("WITHIN") { throw SQLError("WITHIN GROUP is not supported", at: current.location) }
        return .call(function, arguments: arguments, distinct: distinct, star: star, filter: filter)
    }
}
