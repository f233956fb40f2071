/// The syntax tree the parser builds: statements as written, every name and expression with its
/// location so the binder's errors can point at them. No types and no catalog here.

/// A name as written: unquoted names keep their case (Flink's identifiers are case-sensitive),
/// quoted ones may hold any character.
public struct Identifier: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var location: SourceLocation

    public init(_ name: String, at location: SourceLocation) {
        self.name = name
        self.location = location
    }

    public var description: String { name }
}

/// A possibly qualified name (`catalog.db.table`, `t.column`, `payload.device.id`).
public struct QualifiedName: Sendable, Hashable, CustomStringConvertible {
    public var parts: [Identifier]

    public var location: SourceLocation { parts[0].location }
    public var last: Identifier { parts[parts.count - 1] }
    public var description: String { parts.map(\.name).joined(separator: ".") }
}

public indirect enum Statement: Sendable, Hashable {
    case createTable(CreateTable)
    case createView(name: QualifiedName, query: Query, ifNotExists: Bool)
    case insert(table: QualifiedName, columns: [Identifier]?, query: Query, location: SourceLocation)
    /// A bare query: run over bounded inputs and printed by `eddy sql`.
    case query(Query)
    case set(key: String, value: String, location: SourceLocation)
    /// `SET;` lists the settings; `RESET 'key'` / `RESET` go back to defaults.
    case reset(key: String?, location: SourceLocation)
    case explain(Statement, location: SourceLocation)
    case show(ShowKind, location: SourceLocation)
    case describe(QualifiedName)
    case drop(DropKind, name: QualifiedName, ifExists: Bool)

    public enum ShowKind: String, Sendable, Hashable { case tables, views, jobs, functions }
    public enum DropKind: String, Sendable, Hashable { case table, view }
}

/// `CREATE TABLE | SOURCE | SINK name (columns…) WITH (options) [AS query]`.
public struct CreateTable: Sendable, Hashable {
    /// The keyword used: TABLE (Flink), SOURCE or SINK (RisingWave).
    public enum Kind: String, Sendable, Hashable { case table, source, sink }

    public var kind: Kind
    public var name: QualifiedName
    public var ifNotExists: Bool
    public var columns: [ColumnDefinition]
    public var watermark: WatermarkDefinition?
    public var primaryKey: [Identifier]?
    public var options: [TableOption]
    public var query: Query?
    public var location: SourceLocation
    /// `PARTITIONED BY (a, b)`: Hive-style directories of a filesystem table.
    public var partitionedBy: [Identifier] = []
}

public struct ColumnDefinition: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        /// A column of the record.
        case physical
        /// `METADATA [FROM 'key'] [VIRTUAL]`: the key defaults to the column's name.
        case metadata(key: String?, virtual: Bool)
        /// `name AS expression`: computed from the other columns.
        case computed(Expression)
    }

    public var name: Identifier
    /// nil for a computed column.
    public var type: TypeName?
    public var nullable: Bool
    public var origin: Origin
}

public struct WatermarkDefinition: Sendable, Hashable {
    public var column: Identifier
    public var expression: Expression
    public var location: SourceLocation
}

public struct TableOption: Sendable, Hashable {
    public var key: String
    public var value: String
    public var location: SourceLocation
}

/// A type as written: `DECIMAL(10, 2)`, `TIMESTAMP(3)`, `VARCHAR`, `ROW<a INT, b STRING>`.
public struct TypeName: Sendable, Hashable, CustomStringConvertible {
    /// Upper-cased, multi-word names joined by a space (`DOUBLE PRECISION`, `TIMESTAMP_LTZ`).
    public var name: String
    public var parameters: [Int]
    /// ROW fields.
    public var fields: [(name: Identifier, type: TypeName)]
    /// ARRAY / MAP element types.
    public var elements: [TypeName]
    public var location: SourceLocation

    public static func == (a: TypeName, b: TypeName) -> Bool {
        a.name == b.name && a.parameters == b.parameters && a.elements == b.elements
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.type) == b.fields.map(\.type)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(parameters)
    }

    public var description: String {
        var text = name
        if !parameters.isEmpty { text += "(" + parameters.map(String.init).joined(separator: ", ") + ")" }
        if !fields.isEmpty { text += "<" + fields.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + ">" }
        if !elements.isEmpty { text += "<" + elements.map(\.description).joined(separator: ", ") + ">" }
        return text
    }
}

/// A query: one SELECT (set operations and ORDER BY are refused by the parser, naming them).
public struct Query: Sendable, Hashable {
    public var distinct: Bool
    public var items: [SelectItem]
    public var from: TableReference?
    public var whereClause: Expression?
    public var groupBy: [Expression]
    public var having: Expression?
    /// `EMIT ON WINDOW CLOSE` (RisingWave): explicit, and what windowed results do anyway.
    public var emitOnWindowClose: Bool
    public var limit: Int?
    public var location: SourceLocation
}

public enum SelectItem: Sendable, Hashable {
    case expression(Expression, alias: Identifier?)
    /// `*` or `t.*`.
    case star(qualifier: Identifier?, location: SourceLocation)
}

public indirect enum TableReference: Sendable, Hashable {
    case table(QualifiedName, alias: Identifier?)
    case subquery(Query, alias: Identifier?, location: SourceLocation)
    /// `TUMBLE | HOP | SESSION | CUMULATE` over a table, as Flink's table-valued function
    /// (`TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`) or RisingWave's
    /// (`TUMBLE(t, ts, INTERVAL '1' MINUTE)`).
    case window(WindowFunction)

    public var location: SourceLocation {
        switch self {
        case .table(let name, _): name.location
        case .subquery(_, _, let location): location
        case .window(let window): window.location
        }
    }
}

public struct WindowFunction: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case tumble, hop, session, cumulate }

    public var kind: Kind
    public var input: TableReference
    public var timeColumn: Identifier
    /// Session windows may be keyed: `SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)`.
    public var partitionBy: [Identifier]
    /// The intervals, in the order written: tumble (size), hop (slide, size), session (gap),
    /// cumulate (step, max size); an optional trailing offset for tumble and hop.
    public var arguments: [Expression]
    public var alias: Identifier?
    public var location: SourceLocation
}

/// A SQL expression as written.
public indirect enum Expression: Sendable, Hashable {
    /// `a`, `t.a`, `payload.device.id`.
    case name(QualifiedName)
    case literal(Literal, SourceLocation)
    case unary(op: String, Expression, SourceLocation)
    /// Arithmetic, comparison, AND, OR and `||`, the operator upper-cased.
    case binary(op: String, Expression, Expression, SourceLocation)
    case isNull(Expression, negated: Bool, SourceLocation)
    /// `IS [NOT] TRUE | FALSE`.
    case isBoolean(Expression, value: Bool, negated: Bool, SourceLocation)
    case between(Expression, low: Expression, high: Expression, negated: Bool, SourceLocation)
    case inList(Expression, [Expression], negated: Bool, SourceLocation)
    case like(Expression, pattern: Expression, escape: Expression?, negated: Bool, SourceLocation)
    case caseWhen(operand: Expression?, branches: [(when: Expression, then: Expression)], otherwise: Expression?, SourceLocation)
    case cast(Expression, TypeName, isTry: Bool, SourceLocation)
    /// `f(args)`, `count(*)` (`star`), `count(DISTINCT x)`, `sum(x) FILTER (WHERE c)`.
    case call(Identifier, arguments: [Expression], distinct: Bool, star: Bool, filter: Expression?)
    /// `EXTRACT(field FROM e)`.
    case extract(field: Identifier, Expression, SourceLocation)
    /// `e[index]` (arrays, maps).
    case `subscript`(Expression, Expression, SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .name(let name): name.location
        case .literal(_, let l), .unary(_, _, let l), .binary(_, _, _, let l), .isNull(_, _, let l), .isBoolean(_, _, _, let l),
             .between(_, _, _, _, let l), .inList(_, _, _, let l), .like(_, _, _, _, let l), .caseWhen(_, _, _, let l),
             .cast(_, _, _, let l), .extract(_, _, let l), .subscript(_, _, let l):
            l
        case .call(let name, _, _, _, _): name.location
        }
    }

    public static func == (a: Expression, b: Expression) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    /// The expression as SQL text (normalised spacing), for column names and comparisons.
    public var text: String {
        switch self {
        case .name(let name): return name.description
        case .literal(let literal, _): return literal.description
        case .unary(let op, let e, _): return op == "NOT" ? "NOT \(e.text)" : "\(op)\(e.text)"
        case .binary(let op, let l, let r, _): return "\(l.text) \(op) \(r.text)"
        case .isNull(let e, let negated, _): return "\(e.text) IS \(negated ? "NOT " : "")NULL"
        case .isBoolean(let e, let value, let negated, _): return "\(e.text) IS \(negated ? "NOT " : "")\(value ? "TRUE" : "FALSE")"
        case .between(let e, let low, let high, let negated, _):
            return "\(e.text) \(negated ? "NOT " : "")BETWEEN \(low.text) AND \(high.text)"
        case .inList(let e, let list, let negated, _):
            return "\(e.text) \(negated ? "NOT " : "")IN (\(list.map(\.text).joined(separator: ", ")))"
        case .like(let e, let pattern, let escape, let negated, _):
            return "\(e.text) \(negated ? "NOT " : "")LIKE \(pattern.text)" + (escape.map { " ESCAPE \($0.text)" } ?? "")
        case .caseWhen(let operand, let branches, let otherwise, _):
            var text = "CASE" + (operand.map { " \($0.text)" } ?? "")
            for branch in branches { text += " WHEN \(branch.when.text) THEN \(branch.then.text)" }
            if let otherwise { text += " ELSE \(otherwise.text)" }
            return text + " END"
        case .cast(let e, let type, let isTry, _): return "\(isTry ? "TRY_CAST" : "CAST")(\(e.text) AS \(type))"
        case .call(let name, let arguments, let distinct, let star, let filter):
            let inner = star ? "*" : (distinct ? "DISTINCT " : "") + arguments.map(\.text).joined(separator: ", ")
            return "\(name.name)(\(inner))" + (filter.map { " FILTER (WHERE \($0.text))" } ?? "")
        case .extract(let field, let e, _): return "EXTRACT(\(field.name.uppercased()) FROM \(e.text))"
        case .subscript(let e, let index, _): return "\(e.text)[\(index.text)]"
        }
    }
}

public enum Literal: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// As written: the binder decides between BIGINT, DECIMAL and DOUBLE.
    case number(String)
    case string(String)
    /// `INTERVAL '10' SECOND`, `INTERVAL '1:30' MINUTE TO SECOND`, `INTERVAL '5 minutes'`.
    case interval(String, unit: String?, toUnit: String?)
    /// `TIMESTAMP '2024-01-01 00:00:00'`, `DATE '2024-01-01'`, `TIME '…'`.
    case typed(String, type: String)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .bool(let value): value ? "TRUE" : "FALSE"
        case .number(let text): text
        case .string(let text): "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        case .interval(let text, let unit, let toUnit):
            "INTERVAL '\(text)'" + (unit.map { " \($0)" } ?? "") + (toUnit.map { " TO \($0)" } ?? "")
        case .typed(let text, let type): "\(type) '\(text)'"
        }
    }
}
