/// A recursive-descent parser for Eddy's SQL: Flink SQL's statements and queries, with RisingWave's
/// spellings where they differ (`CREATE SOURCE/SINK`, `TUMBLE(t, ts, size)`, `EMIT ON WINDOW CLOSE`).
/// Every error names a line and column and says what was expected; Flink features Eddy does not run
/// (joins, set operations, ORDER BY, OVER windows, MATCH_RECOGNIZE) are refused by name.
///
/// Limits: expressions nest at most `maxDepth` deep (parenthesised or not), so hostile input cannot
/// overflow the stack.
public struct Parser {
    public static let maxDepth = 200

    var tokens: [Token]
    var index = 0
    var depth = 0

    public init(_ text: String) throws(SQLError) {
        tokens = try Lexer.tokenize(text)
    }

    /// Every statement of a script, separated by `;` (a trailing `;` is optional).
    public static func parseScript(_ text: String) throws(SQLError) -> [Statement] {
        var parser = try Parser(text)
        var statements: [Statement] = []
        while true {
            while parser.accept(symbol: ";") {}
            if parser.atEnd { return statements }
            statements.append(try parser.statement())
            if !parser.atEnd && !parser.accept(symbol: ";") {
                throw parser.expected("`;` between statements")
            }
        }
    }

    /// One statement (a trailing `;` is allowed).
    public static func parseStatement(_ text: String) throws(SQLError) -> Statement {
        let statements = try parseScript(text)
        guard statements.count == 1 else {
            throw SQLError(statements.isEmpty ? "no statement" : "one statement expected, found \(statements.count)", at: .start)
        }
        return statements[0]
    }

    // MARK: tokens

    var current: Token { tokens[index] }
    var atEnd: Bool { current.kind == .end }

    func peekKind(_ ahead: Int) -> Token.Kind {
        tokens[min(index + ahead, tokens.count - 1)].kind
    }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    /// Whether the current token is the keyword `word` (case-insensitive, unquoted).
    func at(_ word: String) -> Bool {
        if case .word(let text) = current.kind { return text.uppercased() == word }
        return false
    }

    func at(symbol: String) -> Bool { current.kind == .symbol(symbol) }

    mutating func accept(_ word: String) -> Bool {
        guard at(word) else { return false }
        _ = advance()
        return true
    }

    mutating func accept(symbol: String) -> Bool {
        guard at(symbol: symbol) else { return false }
        _ = advance()
        return true
    }

    /// Accepts a sequence of keywords, all or none.
    mutating func accept(_ words: String...) -> Bool {
        for (offset, word) in words.enumerated() {
            guard case .word(let text) = peekKind(offset), text.uppercased() == word else { return false }
        }
        for _ in words { _ = advance() }
        return true
    }

    @discardableResult
    mutating func expect(_ word: String) throws(SQLError) -> Token {
        guard at(word) else { throw expected("`\(word)`") }
        return advance()
    }

    @discardableResult
    mutating func expect(symbol: String) throws(SQLError) -> Token {
        guard at(symbol: symbol) else { throw expected("`\(symbol)`") }
        return advance()
    }

    func expected(_ what: String) -> SQLError {
        SQLError("expected \(what), found \(found)", at: current.location)
    }

    var found: String {
        switch current.kind {
        case .end: "the end of the input"
        case .string: "the string \(current)"
        case .number: "the number \(current)"
        default: "`\(current)`"
        }
    }

    /// Words that end a clause and so cannot be aliases or names without quotes.
    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT", "JOIN",
        "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "ON", "AS", "AND", "OR", "NOT", "IS", "IN", "BETWEEN", "LIKE",
        "CASE", "WHEN", "THEN", "ELSE", "END", "NULL", "TRUE", "FALSE", "BY", "DISTINCT", "ALL", "WITH", "EMIT",
        "WINDOW", "OVER", "MATCH_RECOGNIZE", "INSERT", "INTO", "VALUES", "CREATE", "TABLE", "LATERAL", "UNNEST",
        "FILTER", "ESCAPE", "INTERVAL", "CAST", "TRY_CAST", "EXTRACT", "PARTITION", "NATURAL", "USING", "FETCH", "OFFSET",
    ]

    /// An identifier: an unquoted word that is not reserved, or a quoted name.
    mutating func identifier(_ what: String = "a name") throws(SQLError) -> Identifier {
        switch current.kind {
        case .word(let text) where !Self.reserved.contains(text.uppercased()):
            let token = advance()
            return Identifier(text, at: token.location)
        case .quoted(let text):
            let token = advance()
            return Identifier(text, at: token.location)
        case .word(let text):
            throw SQLError("expected \(what), found the keyword \(text.uppercased()) (quote it as `\(text)` to use it as a name)", at: current.location)
        default:
            throw expected(what)
        }
    }

    mutating func qualifiedName(_ what: String = "a name") throws(SQLError) -> QualifiedName {
        var parts = [try identifier(what)]
        while at(symbol: "."), !(peekKind(1) == .symbol("*")) {
            _ = advance()
            parts.append(try identifier(what))
        }
        return QualifiedName(parts: parts)
    }

    mutating func stringLiteral(_ what: String) throws(SQLError) -> String {
        guard case .string(let text) = current.kind else { throw expected(what) }
        _ = advance()
        return text
    }

    mutating func integer(_ what: String) throws(SQLError) -> Int {
        guard case .number(let text) = current.kind, let value = Int(text) else { throw expected(what) }
        _ = advance()
        return value
    }

    // MARK: statements

    mutating func statement() throws(SQLError) -> Statement {
        let start = current.location
        if accept("CREATE") {
            if accept("TEMPORARY") || accept("TEMP") {}
            if accept("TABLE") { return .createTable(try createTable(.table, start)) }
            if accept("SOURCE") { return .createTable(try createTable(.source, start)) }
            if accept("SINK") { return .createTable(try createTable(.sink, start)) }
            if accept("MATERIALIZED") {
                throw SQLError("CREATE MATERIALIZED VIEW is not supported; write the result into a table: CREATE TABLE name WITH (...) AS SELECT …", at: start)
            }
            if accept("VIEW") {
                let ifNotExists = accept("IF", "NOT", "EXISTS")
                let name = try qualifiedName("a view name")
                try expect("AS")
                return .createView(name: name, query: try query(), ifNotExists: ifNotExists)
            }
            if at("FUNCTION") || at("CATALOG") || at("DATABASE") {
                throw SQLError("CREATE \(current.description.uppercased()) is not supported", at: current.location)
            }
            throw expected("TABLE, SOURCE, SINK or VIEW after CREATE")
        }
        if accept("INSERT") {
            if accept("OVERWRITE") { throw SQLError("INSERT OVERWRITE is not supported in streaming; use INSERT INTO", at: start) }
            try expect("INTO")
            let table = try qualifiedName("a table name")
            var columns: [Identifier]?
            if accept(symbol: "(") {
                columns = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.identifier("a column name") }
                try expect(symbol: ")")
            }
            if at("VALUES") { throw SQLError("INSERT … VALUES is not supported; insert from a SELECT over a source table", at: current.location) }
            return .insert(table: table, columns: columns, query: try query(), location: start)
        }
        if at("SELECT") || at(symbol: "(") || at("WITH") { return .query(try query()) }
        if accept("SET") {
            if atEnd || at(symbol: ";") { return .set(key: "", value: "", location: start) }
            let key = try settingText("a setting name in quotes ('execution.checkpointing.dir')")
            try expect(symbol: "=")
            return .set(key: key, value: try settingText("a value in quotes"), location: start)
        }
        if accept("RESET") {
            if atEnd || at(symbol: ";") { return .reset(key: nil, location: start) }
            return .reset(key: try settingText("a setting name in quotes"), location: start)
        }
        if accept("EXPLAIN") {
            // Flink's `EXPLAIN PLAN FOR`, and its detail words, are accepted.
            _ = accept("PLAN", "FOR")
            while accept("ESTIMATED_COST") || accept("CHANGELOG_MODE") || accept("JSON_EXECUTION_PLAN") || accept(symbol: ",") {}
            if at("EXPLAIN") { throw SQLError("EXPLAIN takes a query, not another EXPLAIN", at: current.location) }
            return .explain(try statement(), location: start)
        }
        if accept("SHOW") {
            for kind in [Statement.ShowKind.tables, .views, .jobs, .functions] where accept(kind.rawValue.uppercased()) {
                return .show(kind, location: start)
            }
            if accept("SOURCES") || accept("SINKS") { return .show(.tables, location: start) }
            throw expected("TABLES, VIEWS, JOBS or FUNCTIONS after SHOW")
        }
        if accept("DESCRIBE") || accept("DESC") { return .describe(try qualifiedName("a table or view name")) }
        if accept("DROP") {
            let kind: Statement.DropKind
            if accept("TABLE") || accept("SOURCE") || accept("SINK") {
                kind = .table
            } else if accept("VIEW") {
                kind = .view
            } else {
                throw expected("TABLE or VIEW after DROP")
            }
            let ifExists = accept("IF", "EXISTS")
            return .drop(kind, name: try qualifiedName(), ifExists: ifExists)
        }
        if at("USE") || at("ALTER") || at("LOAD") || at("ADD") || at("EXECUTE") || at("BEGIN") {
            throw SQLError("\(current.description.uppercased()) statements are not supported", at: start)
        }
        throw expected("a statement (CREATE, INSERT, SELECT, SET, EXPLAIN, SHOW, DESCRIBE or DROP)")
    }

    /// A setting's key or value: quoted as Flink writes it, or a bare word or number.
    mutating func settingText(_ what: String) throws(SQLError) -> String {
        switch current.kind {
        case .string(let text), .word(let text), .number(let text), .quoted(let text):
            _ = advance()
            var value = text
            // Unquoted dotted keys (`SET execution.runtime-mode = streaming`) read as words.
            while case .symbol(let symbol) = current.kind, symbol == "." || symbol == "-" {
                _ = advance()
                value += symbol
                guard case .word(let part) = current.kind else { break }
                _ = advance()
                value += part
            }
            return value
        default:
            throw expected(what)
        }
    }

    mutating func createTable(_ kind: CreateTable.Kind, _ start: SourceLocation) throws(SQLError) -> CreateTable {
        let ifNotExists = accept("IF", "NOT", "EXISTS")
        let name = try qualifiedName("a table name")
        var table = CreateTable(kind: kind, name: name, ifNotExists: ifNotExists, columns: [], watermark: nil, primaryKey: nil,
                                options: [], query: nil, location: start)
        if accept(symbol: "(") {
            repeat {
                try tableElement(&table)
            } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        if at("COMMENT") {
            _ = advance()
            _ = try stringLiteral("a comment string")
        }
        if accept("PARTITIONED") {
            try expect("BY")
            try expect(symbol: "(")
            table.partitionedBy = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.identifier("a partition column") }
            try expect(symbol: ")")
        }
        if accept("WITH") {
            try expect(symbol: "(")
            if !at(symbol: ")") {
                table.options = try commaSeparated { (p: inout Parser) throws(SQLError) in
                    let location = p.current.location
                    let key = try p.settingText("an option name in quotes ('connector')")
                    try p.expect(symbol: "=")
                    return TableOption(key: key, value: try p.settingText("an option value in quotes"), location: location)
                }
            }
            try expect(symbol: ")")
        }
        if at("LIKE") { throw SQLError("CREATE TABLE … LIKE is not supported", at: current.location) }
        if accept("AS") { table.query = try query() }
        return table
    }

    mutating func tableElement(_ table: inout CreateTable) throws(SQLError) {
        let location = current.location
        if accept("WATERMARK") {
            guard table.watermark == nil else { throw SQLError("a table has at most one WATERMARK", at: location) }
            try expect("FOR")
            let column = try identifier("the event-time column")
            try expect("AS")
            table.watermark = WatermarkDefinition(column: column, expression: try expression(), location: location)
            return
        }
        if accept("PRIMARY") {
            try expect("KEY")
            try expect(symbol: "(")
            let keys = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.identifier("a column name") }
            try expect(symbol: ")")
            if accept("NOT") {
                try expect("ENFORCED")
            } else {
                throw SQLError("Flink requires PRIMARY KEY (…) NOT ENFORCED: the key is not checked, it tells sinks how to upsert", at: current.location)
            }
            table.primaryKey = keys
            return
        }
        if accept("CONSTRAINT") {
            _ = try identifier("a constraint name")
            guard at("PRIMARY") else { throw expected("PRIMARY KEY after the constraint's name") }
            return try tableElement(&table)
        }
        let name = try identifier("a column name")
        if accept("AS") {
            table.columns.append(ColumnDefinition(name: name, type: nil, nullable: true, origin: .computed(try expression())))
            return
        }
        let type = try typeName()
        var column = ColumnDefinition(name: name, type: type, nullable: true, origin: .physical)
        while true {
            if accept("NOT", "NULL") {
                column.nullable = false
            } else if accept("NULL") {
                column.nullable = true
            } else if accept("METADATA") {
                var key: String?
                if accept("FROM") { key = try stringLiteral("the metadata key in quotes ('timestamp')") }
                column.origin = .metadata(key: key, virtual: accept("VIRTUAL"))
            } else if accept("PRIMARY") {
                try expect("KEY")
                try expect("NOT")
                try expect("ENFORCED")
                table.primaryKey = [name]
            } else if accept("COMMENT") {
                _ = try stringLiteral("a comment string")
            } else {
                break
            }
        }
        table.columns.append(column)
    }

    mutating func typeName() throws(SQLError) -> TypeName {
        try enter()
        defer { depth -= 1 }
        let location = current.location
        guard case .word(let word) = current.kind else { throw expected("a type (INT, BIGINT, DOUBLE, DECIMAL(p, s), STRING, TIMESTAMP(3), …)") }
        _ = advance()
        var name = word.uppercased()
        if name == "DOUBLE" { _ = accept("PRECISION") }
        if name == "CHARACTER", accept("VARYING") { name = "VARCHAR" }
        var type = TypeName(name: name, parameters: [], fields: [], elements: [], location: location)
        if name == "ROW", accept(symbol: "(") {
            // Flink's ROW(a INT, b STRING), the same as ROW<a INT, b STRING>.
            type.fields = try commaSeparated { (p: inout Parser) throws(SQLError) in (try p.identifier("a field name"), try p.typeName()) }
            try expect(symbol: ")")
            return type
        }
        if accept(symbol: "(") {
            type.parameters = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.integer("a type parameter (a whole number)") }
            try expect(symbol: ")")
        }
        if name == "TIMESTAMP" || name == "TIME" {
            if accept("WITH", "LOCAL", "TIME", "ZONE") {
                type.name = name + "_LTZ"
            } else {
                _ = accept("WITHOUT", "TIME", "ZONE")
            }
        }
        if name == "ROW" || name == "ARRAY" || name == "MAP" || name == "MULTISET" {
            let open = accept(symbol: "<") || accept(symbol: "(")
            guard open else { throw expected("`<` after \(name)") }
            if name == "ROW" {
                type.fields = try commaSeparated { (p: inout Parser) throws(SQLError) in (try p.identifier("a field name"), try p.typeName()) }
            } else {
                type.elements = try commaSeparated { (p: inout Parser) throws(SQLError) in try p.typeName() }
            }
            guard accept(symbol: ">") || accept(symbol: ")") else { throw expected("`>` to close \(name)<…>") }
        }
        return type
    }

    mutating func commaSeparated<T>(_ element: (inout Parser) throws(SQLError) -> T) throws(SQLError) -> [T] {
        var elements = [try element(&self)]
        while accept(symbol: ",") { elements.append(try element(&self)) }
        return elements
    }
}
