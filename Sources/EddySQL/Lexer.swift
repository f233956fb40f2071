/// One token of SQL text, with where it starts.
public struct Token: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// An unquoted word: a keyword or an identifier (the parser decides; keywords are matched
        /// case-insensitively, identifiers keep their case).
        case word(String)
        /// A `backquoted` identifier (Flink) or a "double-quoted" one (the SQL standard, RisingWave).
        case quoted(String)
        /// A 'string' literal, quotes removed and '' unescaped.
        case string(String)
        /// A numeric literal as written (`42`, `3.14`, `1e3`).
        case number(String)
        /// An operator or punctuation: `( ) , . ; + - * / % = <> != < <= > >= ||`, and `[ ]` for arrays.
        case symbol(String)
        case end
    }

    public var kind: Kind
    public var location: SourceLocation

    public var description: String {
        switch kind {
        case .word(let text): text
        case .quoted(let text): "`\(text)`"
        case .string(let text): "'\(text)'"
        case .number(let text): text
        case .symbol(let text): text
        case .end: "the end of the input"
        }
    }
}

/// Splits SQL text into tokens. Comments (`-- …` to the end of the line, `/* … */`) and white space are
/// skipped. Limits: `maxTokens` tokens per text (a named limit, so hostile input cannot exhaust memory).
public struct Lexer {
    /// Most tokens one text may hold.
    public static let maxTokens = 1_000_000

    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var column = 1

    public init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// Every token, ending with `.end`.
    public static func tokenize(_ text: String) throws(SQLError) -> [Token] {
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
            if tokens.count > maxTokens {
                throw SQLError("the statement text has more than \(maxTokens) tokens", at: token.location)
            }
        }
    }

    private var location: SourceLocation { SourceLocation(line: line, column: column, offset: position) }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        position + ahead < bytes.count ? bytes[position + ahead] : nil
    }

    private mutating func advance() {
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1  // a UTF-8 continuation byte is part of the character already counted
        }
    }

    private mutating func skipSpaceAndComments() throws(SQLError) {
        while let byte = peek() {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
                advance()
            } else if byte == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                while let next = peek(), next != UInt8(ascii: "\n") { advance() }
            } else if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let start = location
                advance()
                advance()
                while true {
                    guard let next = peek() else { throw SQLError("this comment is never closed: `*/` expected", at: start) }
                    if next == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                        advance()
                        advance()
                        break
                    }
                    advance()
                }
            } else {
                return
            }
        }
    }

    public mutating func next() throws(SQLError) -> Token {
        try skipSpaceAndComments()
        let start = location
        guard let byte = peek() else { return Token(kind: .end, location: start) }
        if Self.isWordStart(byte) {
            let from = position
            while let next = peek(), Self.isWordPart(next) { advance() }
            return Token(kind: .word(String(decoding: bytes[from..<position], as: UTF8.self)), location: start)
        }
        if Self.isDigit(byte) || (byte == UInt8(ascii: ".") && peek(1).map(Self.isDigit) == true) {
            return Token(kind: .number(try number(start)), location: start)
        }
        switch byte {
        case UInt8(ascii: "'"):
            return Token(kind: .string(try quoted(by: byte, start, what: "string")), location: start)
        case UInt8(ascii: "`"), UInt8(ascii: "\""):
            let name = try quoted(by: byte, start, what: "quoted identifier")
            if name.isEmpty { throw SQLError("an identifier cannot be empty", at: start) }
            return Token(kind: .quoted(name), location: start)
        default:
            break
        }
        let two = peek(1).map { String(decoding: [byte, $0], as: UTF8.self) }
        if let two, ["<>", "!=", "<=", ">=", "||"].contains(two) {
            advance()
            advance()
            return Token(kind: .symbol(two), location: start)
        }
        let one = String(decoding: [byte], as: UTF8.self)
        if "(),.;+-*/%=<>[]".contains(one) {
            advance()
            return Token(kind: .symbol(one), location: start)
        }
        let shown = byte < 0x80 ? "`\(one)`" : "a non-ASCII character"
        throw SQLError("unexpected \(shown); identifiers with other characters are written in backquotes", at: start)
    }

    private mutating func number(_ start: SourceLocation) throws(SQLError) -> String {
        let from = position
        while let next = peek(), Self.isDigit(next) { advance() }
        if peek() == UInt8(ascii: "."), peek(1).map(Self.isDigit) == true || !(peek(1).map(Self.isWordStart) ?? false) {
            advance()
            while let next = peek(), Self.isDigit(next) { advance() }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            let sign = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-") ? 1 : 0
            if peek(1 + sign).map(Self.isDigit) == true {
                for _ in 0...sign { advance() }
                while let next = peek(), Self.isDigit(next) { advance() }
            }
        }
        if let next = peek(), Self.isWordStart(next) {
            throw SQLError("a number runs into a name here; put a space or an operator between them", at: location)
        }
        return String(decoding: bytes[from..<position], as: UTF8.self)
    }

    /// Text between `quote`s, a doubled quote standing for one.
    private mutating func quoted(by quote: UInt8, _ start: SourceLocation, what: String) throws(SQLError) -> String {
        advance()
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw SQLError("this \(what) is never closed: \(String(decoding: [quote], as: UTF8.self)) expected", at: start)
            }
            advance()
            if byte == quote {
                if peek() == quote {
                    advance()
                    text.append(quote)
                    continue
                }
                return String(decoding: text, as: UTF8.self)
            }
            text.append(byte)
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isWordStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
    }

    private static func isWordPart(_ byte: UInt8) -> Bool {
        isWordStart(byte) || isDigit(byte) || byte == UInt8(ascii: "$")
    }
}
