#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EddyCore
import EddySQL
import Foundation

/// The terminal side of `eddy sql`'s prompt: raw mode, bytes in, redraws out. The keys, the line and
/// the history walk are `LineEditing`'s (EddySQL), a pure state machine; this driver reads standard
/// input a chunk at a time, feeds it byte by byte and carries out the actions. The statements
/// entered are kept in a `HistoryFile`.
///
/// The terminal is in raw mode only inside `readLine`, and every way out of it gives the original
/// mode back: a return (Enter, Ctrl-C, Ctrl-D, end of input), SIGINT, SIGTERM, SIGHUP or SIGQUIT
/// sent while waiting for a key (restored, then the signal's default action, as without the editor),
/// and `exit`. Statements run in the terminal's own mode, so their output and a Ctrl-C while a query
/// runs behave as they do without the editor.
///
/// The redraw is "\r", the prompt, the line, ESC[K (clear to the end of the row), then "\r", the
/// prompt and the line up to the cursor again, so the terminal itself puts the cursor after what it
/// drew (wide and combining characters included). It is right while the prompt and the line fit on
/// one terminal row: "\r" goes back to the start of the row the cursor is on, so a longer line that
/// wraps is redrawn from its last row and leaves stale copies of the earlier rows above (editing it
/// still works; only the picture suffers).
final class LineEditor {
    /// What `readLine` got.
    enum Input: Equatable {
        case line(String)
        /// Ctrl-C: the line, and any statement gathered so far, is dropped.
        case interrupted
        /// Ctrl-D on an empty line, or the end of standard input.
        case endOfInput
    }

    /// Bytes asked of one read(2): a paste arrives in a few reads rather than byte by byte.
    static let readChunkBytes = 256

    private var editing: LineEditing
    private var historyFile: HistoryFile?
    /// Bytes read but not fed yet: typed or pasted past an Enter, they belong to the next line.
    private var pending: ArraySlice<UInt8> = []

    /// An editor with the history of `historyFile` (nil: a history for this session only).
    init(historyFile: HistoryFile?) {
        var file = historyFile
        editing = LineEditing(history: file?.load() ?? LineHistory())
        self.historyFile = file
    }

    /// One line from the terminal, edited in raw mode after `prompt`. The line is redrawn once the
    /// input read so far is used up, so a paste is drawn once rather than once a character.
    func readLine(prompt: String) -> Input {
        fflush(nil)  // what `print` buffered comes before the prompt
        guard let rawMode = RawMode() else { return plainLine(prompt: prompt) }
        defer { rawMode.leave() }
        show(prompt)
        var stale = false  // the line changed since it was drawn
        while true {
            if stale && pending.isEmpty {
                draw(prompt: prompt, editing.text, cursorAfter: editing.textBeforeCursor)
                stale = false
            }
            guard let byte = nextByte() else { return .endOfInput }
            switch editing.feed(byte) {
            case .none:
                continue
            case .redraw:
                stale = true
            case .submit(let line):
                if stale { draw(prompt: prompt, line, cursorAfter: line) }
                show("\r\n")
                return .line(line)
            case .interrupt:
                show("^C\r\n")
                return .interrupted
            case .endOfInput:
                return .endOfInput
            case .clearScreen:
                show("\u{1B}[H\u{1B}[2J")
                draw(prompt: prompt, editing.text, cursorAfter: editing.textBeforeCursor)
                stale = false
            }
        }
    }

    /// Keeps a complete statement, typed over `lines`, in the history (one entry, the lines joined
    /// with spaces: `LineHistory.entry(joining:)`) and appends it to the history file.
    func remember(_ lines: [String]) {
        let entry = LineHistory.entry(joining: lines)
        guard editing.history.add(entry) else { return }
        historyFile?.append(entry, history: editing.history)
    }

    /// Draws `prompt` and `text` over the terminal's current row and leaves the cursor after
    /// `prompt` + `beforeCursor` (drawn again: the terminal knows how wide the characters are).
    private func draw(prompt: String, _ text: String, cursorAfter beforeCursor: String) {
        var output = "\r" + prompt + text + "\u{1B}[K"
        if beforeCursor.unicodeScalars.count < text.unicodeScalars.count { output += "\r" + prompt + beforeCursor }
        show(output)
    }

    /// The next input byte; nil at the end of input or when the terminal is gone.
    private func nextByte() -> UInt8? {
        if pending.isEmpty {
            var chunk = [UInt8](repeating: 0, count: Self.readChunkBytes)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count > 0 {
                    pending = chunk[0..<count]
                    break
                }
                if count < 0 && errno == EINTR { continue }
                return nil
            }
        }
        return pending.popFirst()
    }

    /// A line read the plain way, for a standard input that turned out not to take raw mode.
    private func plainLine(prompt: String) -> Input {
        show(prompt)
        guard let line = Swift.readLine(strippingNewline: true) else { return .endOfInput }
        return .line(line)
    }

    /// Writes to the terminal at once, past `print`'s buffer.
    private func show(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }  // the terminal is gone: nothing to show anything on
            bytes = bytes.dropFirst(count)
        }
    }
}

// MARK: - Raw mode

/// The terminal's mode before raw mode, where the signal handler and the exit hook can reach it.
nonisolated(unsafe) private var cookedMode = termios()
/// 1 while standard input is in raw mode; read by the signal handler.
nonisolated(unsafe) private var rawModeOn: sig_atomic_t = 0
nonisolated(unsafe) private var exitHookInstalled = false

/// Gives standard input its mode from before raw mode back, once. Async-signal-safe.
private func restoreCookedMode() {
    guard rawModeOn != 0 else { return }
    rawModeOn = 0
    _ = tcsetattr(STDIN_FILENO, TCSANOW, &cookedMode)
}

/// A signal while the prompt waits for a key: the terminal's mode back, a line break so the shell's
/// prompt starts a line, then the signal again with its default action. Async-signal-safe calls only.
private func restoreModeAndRaise(_ number: Int32) {
    restoreCookedMode()
    _ = write(STDOUT_FILENO, "\r\n", 2)
    signal(number, SIG_DFL)
    raise(number)
}

/// Standard input in raw mode from `init` to `leave()`: no echo, no line buffering, no signals from
/// Ctrl-C or Ctrl-\ (the editor takes them as keys), no flow control (Ctrl-S/Ctrl-Q) and no CR to LF
/// translation. Output processing stays on, so "\n" still starts a line. The original mode comes
/// back with TCSANOW, which keeps input typed ahead (TCSAFLUSH would drop it).
private struct RawMode {
    private typealias SignalHandler = @convention(c) (Int32) -> Void
    /// Signals that may end the process while it waits for a key; each restores the mode first.
    private static let signals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private let previousHandlers: [(Int32, SignalHandler?)]

    /// nil when standard input is not a terminal that takes raw mode.
    init?() {
        var mode = termios()
        guard tcgetattr(STDIN_FILENO, &mode) == 0 else { return nil }
        cookedMode = mode
        if !exitHookInstalled {
            exitHookInstalled = true
            atexit { restoreCookedMode() }
        }
        previousHandlers = Self.signals.map { number in
            let previous = signal(number, restoreModeAndRaise)
            // A signal the process was started ignoring (`nohup`, a background job) stays ignored.
            if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(number, SIG_IGN) }
            return (number, previous)
        }
        var raw = mode
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR | IGNCR | BRKINT | INPCK | ISTRIP)
        raw.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1  // read(2) returns as soon as one byte is there
            cc[Int(VTIME)] = 0
        }
        rawModeOn = 1  // before the change, so a signal in between restores (which is harmless)
        guard tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 else {
            leave()
            return nil
        }
    }

    /// The original mode back, then the signal handlers from before.
    func leave() {
        restoreCookedMode()
        for (number, handler) in previousHandlers { signal(number, handler) }
    }
}

// MARK: - History file

/// The history file of `eddy sql`'s prompt: `LineHistory`'s file form, one statement a line, the
/// newest last, at most `LineHistory.entriesMax` of them. It is `$EDDY_HISTORY` when that is set (set
/// and empty: no file, the history lasts the session), else `~/.eddy_history`; created with mode 0600.
///
/// Each new entry is appended (O_APPEND), so two sessions at once both keep theirs. When the file
/// would pass the limit it is rewritten in place with this session's last `entriesMax` entries
/// (in place keeps its mode and a symbolic link; a crash during that rewrite may lose the history,
/// which is only a convenience). The first failure to read or write the file prints one warning on
/// stderr and stops the file's use for the session; the prompt goes on with the history in memory.
struct HistoryFile {
    let path: String
    /// Lines the file holds as far as this session knows (those loaded and those appended).
    private var lineCount = 0
    /// False after a failure: nothing more is read or written.
    private var usable = true

    init(path: String) {
        self.path = path
    }

    /// The file named by `EDDY_HISTORY`, or `~/.eddy_history`; nil when `EDDY_HISTORY` is empty, or
    /// it is unset and there is no home directory.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> HistoryFile? {
        if let path = environment["EDDY_HISTORY"] { return path.isEmpty ? nil : HistoryFile(path: path) }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return HistoryFile(path: (home.hasSuffix("/") ? home : home + "/") + ".eddy_history")
    }

    /// The history the file holds; an empty one when there is no file yet, or it cannot be read.
    mutating func load() -> LineHistory {
        do throws(FileError) {
            guard let bytes = try DurableFile.read(path) else { return LineHistory() }
            let text = String(decoding: bytes, as: UTF8.self)
            lineCount = text.split(whereSeparator: \.isNewline).count
            return LineHistory(fileText: text)
        } catch {
            fail(error)
            return LineHistory()
        }
    }

    /// Writes `entry`, just added to `history`: appended, or the whole file again when it would hold
    /// more than the history's limit.
    mutating func append(_ entry: String, history: LineHistory) {
        guard usable else { return }
        do throws(FileError) {
            if lineCount + 1 > history.limit {
                try writeFile(history.fileText, flags: O_TRUNC)
                lineCount = history.entries.count
            } else {
                try writeFile(LineHistory.fileLine(entry), flags: O_APPEND)
                lineCount += 1
            }
        } catch {
            fail(error)
        }
    }

    private func writeFile(_ text: String, flags: Int32) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o600)
        guard fd >= 0 else { throw FileError("open", path, errno: errno) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileError("write", path, errno: count < 0 ? errno : EIO) }
            bytes = bytes.dropFirst(count)
        }
    }

    private mutating func fail(_ error: FileError) {
        usable = false
        let message = "eddy sql: warning: history file: \(error); the history is not saved this session\n"
        FileHandle.standardError.write(Data(message.utf8))
    }
}
