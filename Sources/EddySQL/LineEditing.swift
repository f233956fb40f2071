/// The line editor of `eddy sql`'s prompt as a pure state machine: terminal input bytes in, one
/// `Action` out per byte. It owns the line (Unicode scalars and a cursor), the escape-sequence and
/// UTF-8 decoders, and the walk through `LineHistory`; it never touches a terminal. The driver in
/// `Sources/eddy/LineEditor.swift` reads bytes in raw mode, feeds them here and carries out the
/// actions (redraw, finish the line, …); the tests feed bytes with no terminal at all.
///
/// Keys (the emacs bindings of readline, a small subset):
///
/// | keys | effect |
/// |---|---|
/// | printable characters (UTF-8) | inserted at the cursor; one cursor position per Unicode scalar |
/// | Left, Right, Ctrl-B, Ctrl-F | cursor one position left or right |
/// | Home, End, Ctrl-A, Ctrl-E | cursor to the start or the end of the line |
/// | Backspace (0x7f or Ctrl-H), Delete | delete before or under the cursor |
/// | Ctrl-D | end of input on an empty line, otherwise delete under the cursor |
/// | Ctrl-C | abandon the line (`.interrupt`) |
/// | Ctrl-U, Ctrl-K | delete from the start to the cursor, from the cursor to the end |
/// | Ctrl-W | delete the word before the cursor, with any spaces between it and the cursor |
/// | Ctrl-L | clear the screen (`.clearScreen`) |
/// | Up, Down, Ctrl-P, Ctrl-N | older and newer history entries; Down past the newest returns to the line being edited |
/// | Enter (CR or LF; LF right after CR is one Enter) | the line is done (`.submit`) |
///
/// Escape sequences understood: CSI (`ESC [`) and SS3 (`ESC O`) forms of the arrows (`A B C D`),
/// Home (`H`, `1~`, `7~`) and End (`F`, `4~`, `8~`), and Delete (`3~`); modifier parameters
/// (`ESC [1;5C`) are ignored, so Ctrl-Right moves like Right. Any other sequence, an Alt-key
/// (`ESC` and a character) and other control characters are ignored and never inserted. A lone `ESC`
/// waits for the byte after it (there is no timeout in a pure machine), so the key after it is lost.
/// Tab is inserted as a tab. Invalid UTF-8 is dropped.
///
/// Edits to a recalled history entry are dropped when moving to another entry (readline keeps them
/// until Enter); the line being edited when the walk started is kept and comes back.
public struct LineEditing: Sendable {
    /// What the driver does after a byte.
    public enum Action: Equatable, Sendable {
        /// Nothing visible changed (an ignored key, or a byte in the middle of a sequence).
        case none
        /// The line or the cursor changed: redraw the line.
        case redraw
        /// Enter: this line is done. The editor is ready for the next line.
        case submit(String)
        /// Ctrl-C: the line is abandoned (and with it any statement gathered so far).
        case interrupt
        /// Ctrl-D on an empty line.
        case endOfInput
        /// Ctrl-L: clear the screen, then redraw the line.
        case clearScreen
    }

    /// Most scalars one line holds; input past it is ignored (a pasted megabyte stays bounded).
    public static let lineScalarsMax = 100_000
    /// Most parameter and intermediate bytes of an escape sequence kept; a longer one is ignored whole.
    static let escapeBytesMax = 16

    /// The line being edited, one element per cursor position.
    public private(set) var line: [Unicode.Scalar] = []
    /// The cursor: the index in `line` the next character is inserted at (0 … line.count).
    public private(set) var cursor = 0
    /// The statements entered before, the newest last.
    public var history: LineHistory

    /// Where the history walk stands: nil on the line being edited, else an index in `history.entries`.
    public private(set) var historyIndex: Int?
    /// The line being edited when the walk started, given back by Down past the newest entry.
    private var draft: [Unicode.Scalar] = []

    private enum Escape: Sendable {
        case none
        case started  // ESC
        case csi  // ESC [, parameters in `escapeBytes`
        case ss3  // ESC O
    }

    private var escape = Escape.none
    private var escapeBytes: [UInt8] = []
    private var escapeTooLong = false
    /// The bytes of a UTF-8 sequence begun, and how many the sequence has.
    private var utf8: [UInt8] = []
    private var utf8Length = 0
    /// The last byte was a CR that ended a line, so an LF now is the second half of a CRLF.
    private var afterCR = false

    public init(history: LineHistory = LineHistory()) {
        self.history = history
    }

    /// The line as text.
    public var text: String {
        var text = ""
        text.unicodeScalars.append(contentsOf: line)
        return text
    }

    /// The line up to the cursor, as text (the driver prints it to put the terminal's cursor there).
    public var textBeforeCursor: String {
        var text = ""
        text.unicodeScalars.append(contentsOf: line[..<cursor])
        return text
    }

    /// Feeds one byte of terminal input.
    public mutating func feed(_ byte: UInt8) -> Action {
        let crlf = afterCR && byte == 0x0A
        afterCR = false
        if crlf { return .none }
        switch escape {
        case .none: break
        case .started: return escapeStarted(byte)
        case .csi: return csi(byte)
        case .ss3: return ss3(byte)
        }
        if utf8Length > 0 {
            if byte & 0xC0 == 0x80 { return continueUTF8(byte) }
            utf8 = []  // a sequence cut short: drop it and take this byte afresh
            utf8Length = 0
        }
        switch byte {
        case 0x1B:
            escape = .started
            return .none
        case 0x09:
            return insert("\t")
        case 0x00..<0x20, 0x7F:
            return control(byte)
        case 0x20..<0x80:
            return insert(Unicode.Scalar(byte))
        case 0xC2...0xDF:
            return beginUTF8(byte, length: 2)
        case 0xE0...0xEF:
            return beginUTF8(byte, length: 3)
        case 0xF0...0xF4:
            return beginUTF8(byte, length: 4)
        default:
            return .none  // a stray continuation byte, or a byte that never starts valid UTF-8
        }
    }

    // MARK: - Keys

    private mutating func control(_ byte: UInt8) -> Action {
        switch byte {
        case 0x01: return moveCursor(to: 0)  // Ctrl-A
        case 0x02: return moveCursor(to: cursor - 1)  // Ctrl-B
        case 0x03:  // Ctrl-C
            clearLine()
            return .interrupt
        case 0x04:  // Ctrl-D
            return line.isEmpty ? .endOfInput : deleteUnderCursor()
        case 0x05: return moveCursor(to: line.count)  // Ctrl-E
        case 0x06: return moveCursor(to: cursor + 1)  // Ctrl-F
        case 0x08, 0x7F: return deleteBeforeCursor()  // Ctrl-H, Backspace
        case 0x0A, 0x0D:  // Enter
            afterCR = byte == 0x0D
            let submitted = text
            clearLine()
            return .submit(submitted)
        case 0x0B: return delete(cursor..<line.count)  // Ctrl-K
        case 0x0C: return .clearScreen  // Ctrl-L
        case 0x0E: return historyNewer()  // Ctrl-N
        case 0x10: return historyOlder()  // Ctrl-P
        case 0x15: return delete(0..<cursor)  // Ctrl-U
        case 0x17: return deleteWordBeforeCursor()  // Ctrl-W
        default: return .none
        }
    }

    private mutating func insert(_ scalar: Unicode.Scalar) -> Action {
        guard line.count < Self.lineScalarsMax else { return .none }
        line.insert(scalar, at: cursor)
        cursor += 1
        return .redraw
    }

    private mutating func moveCursor(to position: Int) -> Action {
        let clamped = min(max(position, 0), line.count)
        guard clamped != cursor else { return .none }
        cursor = clamped
        return .redraw
    }

    private mutating func delete(_ range: Range<Int>) -> Action {
        guard !range.isEmpty else { return .none }
        line.removeSubrange(range)
        cursor = range.lowerBound
        return .redraw
    }

    private mutating func deleteBeforeCursor() -> Action {
        cursor > 0 ? delete(cursor - 1..<cursor) : .none
    }

    private mutating func deleteUnderCursor() -> Action {
        cursor < line.count ? delete(cursor..<cursor + 1) : .none
    }

    /// Ctrl-W as in a Unix terminal: the spaces before the cursor, then the word before them (words
    /// are separated by white space only, so `a.b(c` is one word).
    private mutating func deleteWordBeforeCursor() -> Action {
        var start = cursor
        while start > 0, line[start - 1].properties.isWhitespace { start -= 1 }
        while start > 0, !line[start - 1].properties.isWhitespace { start -= 1 }
        return delete(start..<cursor)
    }

    private mutating func clearLine() {
        line = []
        cursor = 0
        historyIndex = nil
        draft = []
    }

    // MARK: - History

    private mutating func historyOlder() -> Action {
        let older = (historyIndex ?? history.entries.count) - 1
        guard older >= 0 else { return .none }
        if historyIndex == nil { draft = line }
        historyIndex = older
        show(Array(history.entries[older].unicodeScalars))
        return .redraw
    }

    private mutating func historyNewer() -> Action {
        guard let index = historyIndex else { return .none }
        if index + 1 < history.entries.count {
            historyIndex = index + 1
            show(Array(history.entries[index + 1].unicodeScalars))
        } else {
            historyIndex = nil
            show(draft)
            draft = []
        }
        return .redraw
    }

    private mutating func show(_ scalars: [Unicode.Scalar]) {
        line = Array(scalars.prefix(Self.lineScalarsMax))
        cursor = line.count
    }

    // MARK: - Escape sequences

    /// The byte after ESC: `[` or `O` start a sequence; a control character cancels the escape and
    /// acts as itself (so Ctrl-C after a stray ESC still works); anything else (Alt-key) is ignored.
    private mutating func escapeStarted(_ byte: UInt8) -> Action {
        switch byte {
        case UInt8(ascii: "["):
            escape = .csi
            escapeBytes = []
            escapeTooLong = false
            return .none
        case UInt8(ascii: "O"):
            escape = .ss3
            return .none
        case 0x1B:
            return .none  // ESC ESC: the first one is dropped
        case 0x00..<0x20:
            escape = .none
            return feed(byte)
        default:
            escape = .none
            return .none
        }
    }

    /// A CSI sequence: parameter bytes (0x30–0x3F) and intermediate bytes (0x20–0x2F), then a final
    /// byte (0x40–0x7E). Any other byte abandons the sequence and acts as itself.
    private mutating func csi(_ byte: UInt8) -> Action {
        switch byte {
        case 0x20...0x3F:
            if escapeBytes.count < Self.escapeBytesMax { escapeBytes.append(byte) } else { escapeTooLong = true }
            return .none
        case 0x40...0x7E:
            escape = .none
            return escapeTooLong ? .none : csiFinal(byte, parameters: escapeBytes)
        default:
            escape = .none
            return feed(byte)
        }
    }

    private mutating func csiFinal(_ final: UInt8, parameters: [UInt8]) -> Action {
        // Only plain numeric parameters (`1;5`): private ones (`?`, `<`, …) and intermediates are not keys.
        guard parameters.allSatisfy({ $0 == UInt8(ascii: ";") || (0x30...0x39).contains($0) }) else { return .none }
        if final == UInt8(ascii: "~") {
            let first = parameters.prefix { $0 != UInt8(ascii: ";") }
            switch String(decoding: first, as: UTF8.self) {
            case "1", "7": return moveCursor(to: 0)
            case "4", "8": return moveCursor(to: line.count)
            case "3": return deleteUnderCursor()
            default: return .none
            }
        }
        return key(final)
    }

    private mutating func ss3(_ byte: UInt8) -> Action {
        escape = .none
        guard (0x40...0x7E).contains(byte) else { return feed(byte) }
        return key(byte)
    }

    /// The letter that ends an arrow, Home or End sequence, in either form.
    private mutating func key(_ final: UInt8) -> Action {
        switch final {
        case UInt8(ascii: "A"): return historyOlder()
        case UInt8(ascii: "B"): return historyNewer()
        case UInt8(ascii: "C"): return moveCursor(to: cursor + 1)
        case UInt8(ascii: "D"): return moveCursor(to: cursor - 1)
        case UInt8(ascii: "H"): return moveCursor(to: 0)
        case UInt8(ascii: "F"): return moveCursor(to: line.count)
        default: return .none
        }
    }

    // MARK: - UTF-8

    private mutating func beginUTF8(_ byte: UInt8, length: Int) -> Action {
        utf8 = [byte]
        utf8Length = length
        return .none
    }

    private mutating func continueUTF8(_ byte: UInt8) -> Action {
        utf8.append(byte)
        guard utf8.count == utf8Length else { return .none }
        defer {
            utf8 = []
            utf8Length = 0
        }
        let leadBits = UInt32(utf8[0]) & (0x7F >> utf8Length)
        let value = utf8.dropFirst().reduce(leadBits) { $0 << 6 | UInt32($1 & 0x3F) }
        let smallest: UInt32 = utf8Length == 2 ? 0x80 : utf8Length == 3 ? 0x800 : 0x10000
        // Overlong forms, surrogates, values past U+10FFFF and C1 control characters are dropped.
        guard value >= smallest, value >= 0xA0, let scalar = Unicode.Scalar(value) else { return .none }
        return insert(scalar)
    }
}

/// The statements entered at the prompt, the newest last, at most `limit` of them; the same entry
/// twice in a row is kept once. Its file form (`~/.eddy_history`) is one entry a line, UTF-8, the
/// newest last: `init(fileText:)` reads it and `fileLine(_:)` writes an entry.
///
/// An entry is one line: a statement typed over several lines is joined with spaces
/// (`entry(joining:)`), so that Up gives it back whole and Enter runs it again.
public struct LineHistory: Equatable, Sendable {
    /// Most entries kept, in memory and in the history file.
    public static let entriesMax = 1000

    public private(set) var entries: [String] = []
    public let limit: Int

    public init(entries: [String] = [], limit: Int = LineHistory.entriesMax) {
        precondition(limit > 0, "a history holds at least one entry")
        self.limit = limit
        for entry in entries { add(entry) }
    }

    /// The entries of a history file's text: one a line, blank lines skipped.
    public init(fileText: String, limit: Int = LineHistory.entriesMax) {
        self.init(entries: fileText.split(whereSeparator: \.isNewline).map(String.init), limit: limit)
    }

    /// Appends an entry (line breaks become spaces); false, and nothing changes, when it is blank or
    /// the same as the newest entry. The oldest entry goes when there are more than `limit`.
    @discardableResult
    public mutating func add(_ entry: String) -> Bool {
        let line = String(entry.map { $0.isNewline ? " " : $0 })
        guard !line.allSatisfy(\.isWhitespace), line != entries.last else { return false }
        entries.append(line)
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
        return true
    }

    /// An entry as a line of the history file, with its line break.
    public static func fileLine(_ entry: String) -> String { entry + "\n" }

    /// The history file's text for all the entries.
    public var fileText: String { entries.map(Self.fileLine).joined() }

    /// The history entry of a statement typed over `lines`: the lines trimmed and joined with
    /// spaces. A `--` comment is cut off first (joined, it would hide the rest of the statement); the
    /// scan knows quotes (`'…'`, `"…"`, `` `…` ``) and `/* … */` comments, which may span lines. A
    /// line break inside a quoted string becomes a space, so such a string comes back changed.
    public static func entry(joining lines: [String]) -> String {
        var quote: Character?  // the quote a string or quoted name opened, until it closes
        var inBlockComment = false
        var parts: [String] = []
        for line in lines {
            var kept = ""
            var previous: Character?
            for character in line {
                var paired = false  // this character completed `/*` or `*/`, so it starts no pair itself
                if inBlockComment {
                    if previous == "*" && character == "/" {
                        inBlockComment = false
                        paired = true
                    }
                } else if let open = quote {
                    if character == open { quote = nil }  // '' (an escaped quote) closes and reopens
                } else if character == "'" || character == "\"" || character == "`" {
                    quote = character
                } else if previous == "-" && character == "-" {
                    kept.removeLast()
                    break
                } else if previous == "/" && character == "*" {
                    inBlockComment = true
                    paired = true
                }
                kept.append(character)
                previous = paired ? nil : character
            }
            let trimmed = kept.trimmingWhitespace
            if !trimmed.isEmpty { parts.append(trimmed) }
        }
        return parts.joined(separator: " ")
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
