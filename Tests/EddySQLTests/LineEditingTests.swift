import EddySQL
import EddyTestSupport
import XCTest

/// `LineEditing` driven with bytes as a terminal sends them, no terminal involved: keys, escape
/// sequences in both forms, UTF-8, the history walk, and `LineHistory`'s limit, duplicates, file
/// form and joined entries. A seeded run of random keys is checked against a small model.
final class LineEditingTests: XCTestCase {
    static let left = "\u{1B}[D", right = "\u{1B}[C", up = "\u{1B}[A", down = "\u{1B}[B"
    static let home = "\u{1B}[H", end = "\u{1B}[F", delete = "\u{1B}[3~"

    /// Feeds `input`'s UTF-8 bytes one at a time; the actions other than `.none`.
    @discardableResult
    func type(_ input: String, into editor: inout LineEditing) -> [LineEditing.Action] {
        type(Array(input.utf8), into: &editor)
    }

    @discardableResult
    func type(_ bytes: [UInt8], into editor: inout LineEditing) -> [LineEditing.Action] {
        bytes.map { editor.feed($0) }.filter { $0 != .none }
    }

    /// An editor that was given `input`.
    func edited(_ input: String, history: [String] = []) -> LineEditing {
        var editor = LineEditing(history: LineHistory(entries: history))
        type(input, into: &editor)
        return editor
    }

    // MARK: - Editing

    func testTypingInsertsAtTheCursorAndEachKeyAsksForARedraw() {
        var editor = LineEditing()
        XCTAssertEqual(type("SELEC", into: &editor), Array(repeating: .redraw, count: 5))
        XCTAssertEqual(editor.text, "SELEC")
        XCTAssertEqual(editor.cursor, 5)
        type("T 1", into: &editor)
        XCTAssertEqual(editor.text, "SELECT 1")
    }

    func testLeftAndRightMoveTheCursorAndTypingGoesInMidLine() {
        var editor = edited("SELECT 1 AS on;")
        type(Self.left + Self.left, into: &editor)
        XCTAssertEqual(editor.cursor, 13)
        XCTAssertEqual(editor.textBeforeCursor, "SELECT 1 AS o")
        type("e", into: &editor)
        XCTAssertEqual(editor.text, "SELECT 1 AS oen;")
        type(Self.right + "!", into: &editor)
        XCTAssertEqual(editor.text, "SELECT 1 AS oen!;")
        // The SS3 forms (application cursor mode) and Ctrl-B/Ctrl-F move the same way.
        type("\u{1B}OD\u{1B}OD\u{02}\u{06}\u{1B}OC", into: &editor)
        XCTAssertEqual(editor.cursor, 15)
    }

    func testTheCursorStopsAtBothEndsWithoutARedraw() {
        var editor = edited("ab")
        XCTAssertEqual(type(Self.right, into: &editor), [])
        XCTAssertEqual(type(Self.left + Self.left, into: &editor), [.redraw, .redraw])
        XCTAssertEqual(type(Self.left, into: &editor), [])
        XCTAssertEqual(type("\u{7F}", into: &editor), [], "Backspace at the start does nothing")
        XCTAssertEqual(editor.cursor, 0)
    }

    func testEveryHomeAndEndSpelling() {
        let homes = [Self.home, "\u{1B}[1~", "\u{1B}[7~", "\u{1B}OH", "\u{01}"]
        let ends = [Self.end, "\u{1B}[4~", "\u{1B}[8~", "\u{1B}OF", "\u{05}"]
        for (home, end) in zip(homes, ends) {
            var editor = edited("SELECT")
            type(home, into: &editor)
            XCTAssertEqual(editor.cursor, 0, "home: \(home.debugDescription)")
            type(">", into: &editor)
            type(end, into: &editor)
            XCTAssertEqual(editor.cursor, 7, "end: \(end.debugDescription)")
            XCTAssertEqual(editor.text, ">SELECT")
        }
    }

    func testBackspaceInBothSpellingsAndDeleteMidLine() {
        var editor = edited("SELECTT 11" + Self.left)
        type("\u{7F}", into: &editor)
        XCTAssertEqual(editor.text, "SELECTT 1")
        type(Self.left + Self.left + "\u{08}", into: &editor)
        XCTAssertEqual(editor.text, "SELECT 1")
        type(Self.home + Self.delete, into: &editor)
        XCTAssertEqual(editor.text, "ELECT 1")
        XCTAssertEqual(editor.cursor, 0)
        type(Self.end, into: &editor)
        XCTAssertEqual(type(Self.delete, into: &editor), [], "Delete at the end does nothing")
    }

    func testCtrlDEndsInputOnlyOnAnEmptyLineAndOtherwiseDeletes() {
        var editor = LineEditing()
        XCTAssertEqual(type("\u{04}", into: &editor), [.endOfInput])
        type("ab" + Self.left, into: &editor)
        XCTAssertEqual(type("\u{04}", into: &editor), [.redraw])
        XCTAssertEqual(editor.text, "a")
        XCTAssertEqual(type("\u{04}", into: &editor), [], "at the end of a line that is not empty: nothing")
        type("\u{7F}", into: &editor)
        XCTAssertEqual(type("\u{04}", into: &editor), [.endOfInput], "emptied by hand, the line is empty again")
    }

    func testCtrlCAbandonsTheLineAndTheHistoryWalk() {
        var editor = edited("SELECT half", history: ["SELECT 1;"])
        type(Self.up, into: &editor)
        XCTAssertEqual(type("\u{03}", into: &editor), [.interrupt])
        XCTAssertEqual(editor.text, "")
        XCTAssertEqual(editor.cursor, 0)
        XCTAssertNil(editor.historyIndex)
        // The next Down has no walk to leave and the draft from before is gone.
        XCTAssertEqual(type(Self.down, into: &editor), [])
        XCTAssertEqual(editor.text, "")
    }

    func testKillToStartKillToEndAndDeleteWord() {
        var editor = edited("SELECT a, b FROM t" + String(repeating: Self.left, count: 7))
        XCTAssertEqual(editor.textBeforeCursor, "SELECT a, b")
        type("\u{0B}", into: &editor)
        XCTAssertEqual(editor.text, "SELECT a, b")
        type("\u{17}", into: &editor)
        XCTAssertEqual(editor.text, "SELECT a, ")
        type("\u{17}", into: &editor)
        XCTAssertEqual(editor.text, "SELECT ", "Ctrl-W takes the word before the cursor: `a,` (words end at white space)")
        type("x y  ", into: &editor)
        type("\u{17}", into: &editor)
        XCTAssertEqual(editor.text, "SELECT x ", "the spaces before the cursor go with the word before them")
        type(Self.left + Self.left + "\u{15}", into: &editor)
        XCTAssertEqual(editor.text, "x ")
        XCTAssertEqual(editor.cursor, 0)
        XCTAssertEqual(type("\u{15}" + "\u{17}", into: &editor), [], "nothing before the cursor: nothing to delete")
    }

    func testCtrlLAsksToClearTheScreenAndKeepsTheLine() {
        var editor = edited("SELECT" + Self.left)
        XCTAssertEqual(type("\u{0C}", into: &editor), [.clearScreen])
        XCTAssertEqual(editor.text, "SELECT")
        XCTAssertEqual(editor.cursor, 5)
    }

    func testEnterInEveryFormSubmitsOnceAndStartsAFreshLine() {
        var editor = LineEditing()
        XCTAssertEqual(type("SELECT 1;\r", into: &editor), Array(repeating: .redraw, count: 9) + [.submit("SELECT 1;")])
        XCTAssertEqual(editor.text, "")
        XCTAssertEqual(editor.cursor, 0)
        XCTAssertEqual(type("a\n", into: &editor), [.redraw, .submit("a")])
        XCTAssertEqual(type("b\r\nc\r\r", into: &editor), [.redraw, .submit("b"), .redraw, .submit("c"), .submit("")],
            "LF right after CR is the same Enter; CR CR are two")
        XCTAssertEqual(type("d\n\n", into: &editor), [.redraw, .submit("d"), .submit("")], "LF LF are two")
        // Enter in mid-line submits the whole line.
        type("SELECT" + Self.home, into: &editor)
        XCTAssertEqual(type("\r", into: &editor), [.submit("SELECT")])
    }

    func testTabIsInsertedAndOtherControlCharactersAreIgnored() {
        var editor = LineEditing()
        type("a\tb", into: &editor)
        for byte: UInt8 in [0x00, 0x07, 0x0F, 0x11, 0x12, 0x13, 0x14, 0x16, 0x18, 0x19, 0x1A, 0x1C, 0x1D, 0x1E, 0x1F] {
            XCTAssertEqual(editor.feed(byte), .none, "control byte \(byte)")
        }
        XCTAssertEqual(editor.text, "a\tb")
    }

    // MARK: - UTF-8

    func testMultiByteCharactersAreOneCursorPositionEach() {
        var editor = LineEditing()
        // 2, 3 and 4 bytes: only the last byte of each asks for a redraw.
        XCTAssertEqual(type("é€😀", into: &editor), [.redraw, .redraw, .redraw])
        XCTAssertEqual(editor.line.count, 3)
        XCTAssertEqual(editor.cursor, 3)
        type(Self.left + Self.left + "x", into: &editor)
        XCTAssertEqual(editor.text, "éx€😀")
        XCTAssertEqual(editor.textBeforeCursor, "éx")
        type(Self.right + "\u{7F}", into: &editor)
        XCTAssertEqual(editor.text, "éx😀", "Backspace takes the whole three-byte €")
        type(Self.home + Self.delete, into: &editor)
        XCTAssertEqual(editor.text, "x😀")
    }

    func testInvalidUTF8IsDroppedAndNeverInserted() {
        var editor = LineEditing()
        type([0x80, 0xBF], into: &editor)  // stray continuation bytes
        type([0xC0, 0x80, 0xC1, 0xBF], into: &editor)  // overlong two-byte forms (never-valid leads)
        type([0xE0, 0x80, 0x80], into: &editor)  // overlong three-byte form
        type([0xED, 0xA0, 0x80], into: &editor)  // a UTF-16 surrogate
        type([0xF4, 0x90, 0x80, 0x80], into: &editor)  // past U+10FFFF
        type([0xF5, 0xFF], into: &editor)  // bytes that never appear in UTF-8
        type([0xC2, 0x85], into: &editor)  // U+0085, a C1 control character
        XCTAssertEqual(editor.text, "")
        // A sequence cut short by an ASCII byte: the partial character goes, the ASCII byte stays.
        type([0xE2, 0x82, UInt8(ascii: "a")], into: &editor)
        XCTAssertEqual(editor.text, "a")
        // ... and by Enter: still an Enter.
        XCTAssertEqual(type([0xC3, 0x0D], into: &editor), [.submit("a")])
    }

    // MARK: - Escape sequences

    func testUnknownEscapeSequencesAreIgnoredNeverInserted() {
        let unknown = [
            "\u{1B}[Z",  // Shift-Tab
            "\u{1B}[15~", "\u{1B}[24~",  // F5, F12
            "\u{1B}OP", "\u{1B}OQ",  // F1, F2
            "\u{1B}[2~", "\u{1B}[5~", "\u{1B}[6~",  // Insert, Page Up, Page Down
            "\u{1B}[?25h", "\u{1B}[>0c", "\u{1B}[12;40R",  // private parameters; a cursor position report
            "\u{1B}[200~", "\u{1B}[201~",  // bracketed paste markers
            "\u{1B}[1 q",  // an intermediate byte
            "\u{1B}x", "\u{1B}b", "\u{1B}\u{1B}[Z",  // Alt-x, Alt-b, ESC ESC
            "\u{1B}[" + String(repeating: "1", count: 40) + "D",  // too long to be a key
        ]
        for sequence in unknown {
            var editor = edited("ab" + Self.left)
            XCTAssertEqual(type(sequence, into: &editor), [], sequence.debugDescription)
            XCTAssertEqual(editor.text, "ab", sequence.debugDescription)
            XCTAssertEqual(editor.cursor, 1, sequence.debugDescription)
            type("c", into: &editor)
            XCTAssertEqual(editor.text, "acb", "after \(sequence.debugDescription) typing works again")
        }
    }

    func testModifiedArrowsMoveLikeArrows() {
        var editor = edited("ab")
        type("\u{1B}[1;5D", into: &editor)  // Ctrl-Left
        XCTAssertEqual(editor.cursor, 1)
        type("\u{1B}[1;3C", into: &editor)  // Alt-Right
        XCTAssertEqual(editor.cursor, 2)
        type("\u{1B}[3;5~", into: &editor)  // Ctrl-Delete at the end: nothing
        XCTAssertEqual(editor.text, "ab")
    }

    func testAControlCharacterInsideASequenceAbandonsItAndActsAsItself() {
        var editor = edited("ab")
        XCTAssertEqual(type("\u{1B}\u{03}", into: &editor), [.interrupt], "ESC then Ctrl-C")
        type("ab", into: &editor)
        XCTAssertEqual(type("\u{1B}[1\r", into: &editor), [.submit("ab")], "a CSI cut by Enter")
        type("ab", into: &editor)
        XCTAssertEqual(type("\u{1B}O\u{7F}", into: &editor), [.redraw], "an SS3 cut by Backspace")
        XCTAssertEqual(editor.text, "a")
    }

    // MARK: - History walk

    func testUpAndDownWalkTheHistoryAndReturnToTheLineBeingEdited() {
        var editor = edited("SELECT ha", history: ["one;", "two;", "three;"])
        type(Self.left, into: &editor)
        type(Self.up, into: &editor)
        XCTAssertEqual(editor.text, "three;")
        XCTAssertEqual(editor.cursor, 6, "a recalled entry has the cursor at its end")
        XCTAssertEqual(editor.historyIndex, 2)
        type(Self.up + Self.up, into: &editor)
        XCTAssertEqual(editor.text, "one;")
        XCTAssertEqual(type(Self.up, into: &editor), [], "Up at the oldest entry does nothing")
        XCTAssertEqual(editor.text, "one;")
        type(Self.down, into: &editor)
        XCTAssertEqual(editor.text, "two;")
        type(Self.down + Self.down, into: &editor)
        XCTAssertEqual(editor.text, "SELECT ha", "Down past the newest entry gives back the line being edited")
        XCTAssertEqual(editor.cursor, 9)
        XCTAssertNil(editor.historyIndex)
        XCTAssertEqual(type(Self.down, into: &editor), [], "Down on the line being edited does nothing")
        // The SS3 forms and Ctrl-P / Ctrl-N walk the same way.
        type("\u{1B}OA\u{10}", into: &editor)
        XCTAssertEqual(editor.text, "two;")
        type("\u{0E}\u{1B}OB", into: &editor)
        XCTAssertEqual(editor.text, "SELECT ha")
    }

    func testEditsToARecalledEntryAreDroppedWhenMovingOnAndSubmittedOnEnter() {
        var editor = edited("", history: ["one;", "two;"])
        type(Self.up + "\u{7F}\u{7F}", into: &editor)
        XCTAssertEqual(editor.text, "tw")
        type(Self.up + Self.down, into: &editor)
        XCTAssertEqual(editor.text, "two;", "the entry itself is unchanged")
        XCTAssertEqual(editor.history.entries, ["one;", "two;"])
        XCTAssertEqual(type(Self.home + "--" + "\r", into: &editor), [.redraw, .redraw, .redraw, .submit("--two;")])
        XCTAssertNil(editor.historyIndex, "Enter ends the walk")
        type(Self.up, into: &editor)
        XCTAssertEqual(editor.text, "two;", "the editor does not add to the history; the prompt does")
    }

    func testAnEmptyHistoryHasNothingToWalk() {
        var editor = edited("x")
        XCTAssertEqual(type(Self.up + Self.down, into: &editor), [])
        XCTAssertEqual(editor.text, "x")
    }

    // MARK: - LineHistory

    func testHistoryKeepsTheNewestEntriesUpToItsLimit() {
        var history = LineHistory(limit: 3)
        for n in 1...5 { XCTAssertTrue(history.add("SELECT \(n);")) }
        XCTAssertEqual(history.entries, ["SELECT 3;", "SELECT 4;", "SELECT 5;"])
        XCTAssertEqual(LineHistory.entriesMax, 1000)
        var full = LineHistory()
        for n in 0..<1500 { full.add("\(n);") }
        XCTAssertEqual(full.entries.count, LineHistory.entriesMax)
        XCTAssertEqual(full.entries.first, "500;")
    }

    func testHistoryStoresNoConsecutiveDuplicateAndNoBlankEntry() {
        var history = LineHistory()
        XCTAssertTrue(history.add("SELECT 1;"))
        XCTAssertFalse(history.add("SELECT 1;"))
        XCTAssertTrue(history.add("SELECT 2;"))
        XCTAssertTrue(history.add("SELECT 1;"), "a duplicate that is not the newest entry is kept")
        XCTAssertFalse(history.add(""))
        XCTAssertFalse(history.add(" \t "))
        XCTAssertTrue(history.add("SELECT\n3;"), "line breaks become spaces: an entry is one line of the file")
        XCTAssertEqual(history.entries, ["SELECT 1;", "SELECT 2;", "SELECT 1;", "SELECT 3;"])
    }

    func testHistoryFileTextRoundTripsAndIsReadLeniently() {
        let history = LineHistory(entries: ["SELECT 1;", "SELECT 'é';"])
        XCTAssertEqual(history.fileText, "SELECT 1;\nSELECT 'é';\n")
        XCTAssertEqual(LineHistory(fileText: history.fileText), history)
        XCTAssertEqual(LineHistory.fileLine("SELECT 2;"), "SELECT 2;\n")
        // Blank lines and CRLF skipped, consecutive duplicates kept once, the limit applied to the newest.
        let read = LineHistory(fileText: "a;\r\n\n\na;\nb;\nc;\nd;", limit: 3)
        XCTAssertEqual(read.entries, ["b;", "c;", "d;"])
        XCTAssertEqual(LineHistory(fileText: "").entries, [])
    }

    func testAStatementTypedOverSeveralLinesIsOneEntry() {
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT 1;"]), "SELECT 1;")
        XCTAssertEqual(LineHistory.entry(joining: ["  SELECT a,", "", "    b", "  FROM t;  "]), "SELECT a, b FROM t;")
        // A `--` comment is cut, else the rest of the statement would join it.
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT n * 42 -- the answer", "AS x FROM t;"]), "SELECT n * 42 AS x FROM t;")
        XCTAssertEqual(LineHistory.entry(joining: ["-- only a comment", "SELECT 1;"]), "SELECT 1;")
        // ... but not inside quotes or a block comment, which may span lines.
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT '--', \"a--b\", `c--`", "FROM t;"]), "SELECT '--', \"a--b\", `c--` FROM t;")
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT 'it''s -- no comment'", "FROM t;"]), "SELECT 'it''s -- no comment' FROM t;")
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT 'a", "--b' FROM t;"]), "SELECT 'a --b' FROM t;")
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT /* x --", "y */ 1 -- z", "FROM t;"]), "SELECT /* x -- y */ 1 FROM t;")
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT /*/ -- still in the comment */ 1", ";"]), "SELECT /*/ -- still in the comment */ 1 ;")
        XCTAssertEqual(LineHistory.entry(joining: ["SELECT 1 - -2 --", ";"]), "SELECT 1 - -2 ;")
    }

    // MARK: - Limits and random input

    func testALineHoldsAtMostLineScalarsMax() {
        var editor = LineEditing()
        type(Array(repeating: UInt8(ascii: "a"), count: LineEditing.lineScalarsMax + 5), into: &editor)
        XCTAssertEqual(editor.line.count, LineEditing.lineScalarsMax)
        XCTAssertEqual(editor.feed(UInt8(ascii: "b")), .none)
    }

    /// Random keys, each sent as the bytes a terminal sends, against a model of the line; random
    /// bytes in between must never break the invariants (cursor in range, no control character in
    /// the line but tab).
    func testRandomKeysAgainstAModel() {
        var random = SeededRandom("testRandomKeysAgainstAModel")
        let characters: [Unicode.Scalar] = ["a", "Z", " ", ";", "'", "é", "€", "😀", "\t"]
        for _ in 0..<200 {
            var editor = LineEditing()
            var line: [Unicode.Scalar] = []
            var cursor = 0
            for _ in 0..<60 {
                switch Int.random(in: 0..<12, using: &random) {
                case 0...3:
                    let scalar = characters.randomElement(using: &random)!
                    type(String(Character(scalar)), into: &editor)
                    line.insert(scalar, at: cursor)
                    cursor += 1
                case 4:
                    type([Self.left, "\u{1B}OD", "\u{02}"].randomElement(using: &random)!, into: &editor)
                    cursor = max(cursor - 1, 0)
                case 5:
                    type([Self.right, "\u{1B}OC", "\u{06}"].randomElement(using: &random)!, into: &editor)
                    cursor = min(cursor + 1, line.count)
                case 6:
                    type([Self.home, "\u{1B}[1~", "\u{01}"].randomElement(using: &random)!, into: &editor)
                    cursor = 0
                case 7:
                    type([Self.end, "\u{1B}[4~", "\u{05}"].randomElement(using: &random)!, into: &editor)
                    cursor = line.count
                case 8:
                    type(["\u{7F}", "\u{08}"].randomElement(using: &random)!, into: &editor)
                    if cursor > 0 {
                        line.remove(at: cursor - 1)
                        cursor -= 1
                    }
                case 9:
                    type(Self.delete, into: &editor)
                    if cursor < line.count { line.remove(at: cursor) }
                case 10:
                    type("\u{0B}", into: &editor)
                    line.removeSubrange(cursor...)
                default:
                    type("\u{15}", into: &editor)
                    line.removeSubrange(..<cursor)
                    cursor = 0
                }
                XCTAssertEqual(editor.line, line, "seed \(random.seed)")
                XCTAssertEqual(editor.cursor, cursor, "seed \(random.seed)")
            }
        }
        for _ in 0..<200 {
            var editor = LineEditing(history: LineHistory(entries: ["one;", "two;"]))
            for _ in 0..<200 {
                _ = editor.feed(UInt8.random(in: 0...255, using: &random))
                XCTAssertTrue((0...editor.line.count).contains(editor.cursor), "seed \(random.seed)")
                XCTAssertFalse(editor.line.contains { $0 != "\t" && ($0.value < 0x20 || (0x7F..<0xA0).contains($0.value)) },
                    "seed \(random.seed)")
            }
        }
    }
}
