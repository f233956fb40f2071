/// SQL text for EXPLAIN and error messages. Parentheses appear only where precedence needs them, so the
/// text reads like what the author wrote and parses back to the same tree.
extension Expr: CustomStringConvertible {
    public var description: String { sql(minimumPrecedence: 0) }

    /// Binding strength, loosest first (Postgres order): OR, AND, NOT, comparison-like, `||`, `+ -`,
    /// `* / %`, unary minus, atoms.
    enum Precedence {
        static let or = 1, and = 2, not = 3, comparison = 4, concat = 5, additive = 6, multiplicative = 7
        static let unary = 8, atom = 9
    }

    var precedence: Int {
        switch self {
        case .or: Precedence.or
        case .and: Precedence.and
        case .not: Precedence.not
        case .comparison, .isNull, .inList, .between, .like: Precedence.comparison
        case .concatOperator: Precedence.concat
        case .arithmetic(let op, _, _):
            op == .add || op == .subtract ? Precedence.additive : Precedence.multiplicative
        case .negate: Precedence.unary
        case .literal(let value): Expr.literalIsNegative(value) ? Precedence.unary : Precedence.atom
        case .column, .caseWhen, .cast, .function, .dateTrunc, .extract: Precedence.atom
        }
    }

    func sql(minimumPrecedence: Int) -> String {
        let text = unparenthesizedSQL
        return precedence < minimumPrecedence ? "(\(text))" : text
    }

    private var unparenthesizedSQL: String {
        let p = precedence
        switch self {
        case .column(let name):
            return Expr.quoteIdentifier(name)
        case .literal(let value):
            return Expr.literalSQL(value)
        case .negate(let e):
            // `-(-5)`, never `--5`, which SQL reads as a comment.
            return "-" + e.sql(minimumPrecedence: p + 1)
        case .arithmetic(let op, let l, let r):
            return "\(l.sql(minimumPrecedence: p)) \(op) \(r.sql(minimumPrecedence: p + 1))"
        case .comparison(let op, let l, let r):
            return "\(l.sql(minimumPrecedence: p + 1)) \(op) \(r.sql(minimumPrecedence: p + 1))"
        case .and(let l, let r):
            return "\(l.sql(minimumPrecedence: p)) AND \(r.sql(minimumPrecedence: p + 1))"
        case .or(let l, let r):
            return "\(l.sql(minimumPrecedence: p)) OR \(r.sql(minimumPrecedence: p + 1))"
        case .not(let e):
            return "NOT " + e.sql(minimumPrecedence: p)
        case .isNull(let e, let negated):
            return e.sql(minimumPrecedence: p + 1) + (negated ? " IS NOT NULL" : " IS NULL")
        case .concatOperator(let l, let r):
            return "\(l.sql(minimumPrecedence: p)) || \(r.sql(minimumPrecedence: p + 1))"
        case .caseWhen(let operand, let branches, let otherwise):
            var text = "CASE"
            if let operand { text += " " + operand.description }
            for branch in branches { text += " WHEN \(branch.when) THEN \(branch.then)" }
            if let otherwise { text += " ELSE \(otherwise)" }
            return text + " END"
        case .cast(let e, let type, let isTry):
            return "\(isTry ? "TRY_CAST" : "CAST")(\(e) AS \(type))"
        case .inList(let e, let list, let negated):
            let items = list.map(\.description).joined(separator: ", ")
            return "\(e.sql(minimumPrecedence: p + 1))\(negated ? " NOT" : "") IN (\(items))"
        case .between(let e, let low, let high, let negated):
            return "\(e.sql(minimumPrecedence: p + 1))\(negated ? " NOT" : "") BETWEEN "
                + "\(low.sql(minimumPrecedence: p + 1)) AND \(high.sql(minimumPrecedence: p + 1))"
        case .like(let e, let pattern, let escape, let negated):
            var text = "\(e.sql(minimumPrecedence: p + 1))\(negated ? " NOT" : "") LIKE \(pattern.sql(minimumPrecedence: p + 1))"
            if let escape { text += " ESCAPE " + Expr.quoteString(String(escape)) }
            return text
        case .function(let function, let arguments):
            return "\(function.name)(\(arguments.map(\.description).joined(separator: ", ")))"
        case .dateTrunc(let unit, let e):
            return "date_trunc('\(unit)', \(e))"
        case .extract(let field, let e):
            return "extract(\(field) FROM \(e))"
        }
    }

    /// A column name as SQL: bare when it is a plain lower-case-safe identifier, double-quoted otherwise.
    public static func quoteIdentifier(_ name: String) -> String {
        let isPlain = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        if isPlain && !reservedWords.contains(name.lowercased()) { return name }
        return "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A string as a single-quoted SQL literal.
    public static func quoteString(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }

    /// Keywords that would change how the text parses if left unquoted as column names.
    private static let reservedWords: Set<String> = [
        "all", "and", "as", "between", "by", "case", "cast", "else", "end", "escape", "false", "from", "in",
        "is", "like", "not", "null", "or", "select", "then", "true", "when", "where",
    ]

    static func literalIsNegative(_ value: Value) -> Bool {
        switch value {
        case .int64(let v): v < 0
        case .float64(let v): v < 0 || (v == 0 && v.sign == .minus)
        case .decimal(let v, _): v < 0
        default: false
        }
    }

    /// A literal as SQL text that reads back as the same type and value.
    static func literalSQL(_ value: Value) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let v): return v ? "TRUE" : "FALSE"
        case .int64(let v): return String(v)
        case .float64(let v):
            guard v.isFinite else { return "CAST('\(v)' AS DOUBLE)" }
            // Swift's shortest round-trip text always has a `.` or an exponent, so it reads back as DOUBLE.
            return String(v)
        case .string(let v): return quoteString(v)
        case .timestamp(let v): return "TIMESTAMP '\(formatTimestamp(v))'"
        case .date(let v): return "DATE '\(formatDate(v))'"
        case .decimal(let v, let scale):
            let text = formatDecimal(v, scale: scale)
            // Without a point the text would read back as BIGINT.
            return scale == 0 ? "CAST(\(text) AS DECIMAL(18,0))" : text
        }
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation in the engine).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        result.reserveCapacity(utf8.count + 4)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
