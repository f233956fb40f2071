/// A place in SQL text: 1-based line and column (in characters), and the UTF-8 offset.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public static let start = SourceLocation(line: 1, column: 1, offset: 0)

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { a.offset < b.offset }

    public var description: String { "line \(line), column \(column)" }
}

/// What is wrong with a piece of SQL, where: every error the front end raises names a line and column,
/// and `rendered(in:)` shows the line with a caret under the spot.
public struct SQLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation

    public init(_ message: String, at location: SourceLocation) {
        self.message = message
        self.location = location
    }

    public var description: String { "\(location): \(message)" }

    /// The message with the source line and a caret under the column:
    ///
    /// ```
    /// line 2, column 8: unknown column `amout` in `purchases`; did you mean `amount`?
    ///   SELECT amout FROM purchases
    ///          ^
    /// ```
    public func rendered(in text: String, file: String? = nil) -> String {
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var result = (file.map { "\($0):" } ?? "") + description
        guard location.line >= 1, location.line <= lines.count else { return result }
        let bytes = lines[location.line - 1].filter { $0 != UInt8(ascii: "\r") }.map { $0 == UInt8(ascii: "\t") ? UInt8(ascii: " ") : $0 }
        let line = String(decoding: bytes, as: UTF8.self)
        result += "\n  \(line)\n  \(String(repeating: " ", count: max(0, location.column - 1)))^"
        return result
    }
}
