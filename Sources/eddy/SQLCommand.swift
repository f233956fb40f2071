import ArgumentParser
import EddyConnectors
import EddyCore
import EddyEngine
import EddySQL
import Foundation

/// `eddy sql`: SQL statements from `-e`, `-f FILE` or standard input (a prompt when it is a
/// terminal), each run to the end of the input present now: a SELECT prints its rows as a table,
/// an INSERT writes what the query makes of that input. `eddy run` runs queries continuously.
struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL statements over the data present now and print SELECT results as tables.",
        discussion: """
            Statements come from -e, from -f FILE, or from standard input (an `eddy>` prompt on a terminal; \
            a statement ends with `;` and may span lines). The prompt edits lines (arrows, Home/End, Ctrl-A/E/U/K/W, \
            Ctrl-C drops the statement, Ctrl-D quits) and keeps a history (Up/Down) in $EDDY_HISTORY, by default \
            ~/.eddy_history (EDDY_HISTORY= keeps none). Tables are declared as in `eddy run` (docs/sql.md); \
            each SELECT or INSERT reads its sources up to where they end now (windows close at the end) and \
            stops, so nothing is checkpointed. For continuous queries use `eddy run FILE.sql`.
            """
    )

    @Option(name: .customShort("e"), help: "Statements to run.")
    var execute: String?

    @Option(name: .customShort("f"), help: "A file of statements to run.")
    var file: String?

    @Option(help: "Most rows a SELECT prints (the count of all rows is printed after them).")
    var maxRows = 1000

    func validate() throws {
        if execute != nil && file != nil { throw ValidationError("give -e or -f, not both") }
        guard maxRows > 0 else { throw ValidationError("--max-rows must be positive") }
    }

    func run() throws {
        let shell = SQLShell(maxRows: maxRows)
        if let execute {
            guard shell.run(execute, source: "-e") else { throw ExitCode(2) }
        } else if let file {
            let script = try SQLScript(path: file, bounded: true)
            guard shell.run(script.text, source: file) else { throw ExitCode(2) }
        } else if isatty(STDIN_FILENO) == 1 {
            shell.prompt()
        } else {
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            guard shell.run(text, source: "stdin") else { throw ExitCode(2) }
        }
    }
}

/// Runs statements one at a time in one session; prints results and errors.
final class SQLShell {
    let session = SQLSession(connectors: SQLConnectors.standard(), bounded: true)
    let maxRows: Int

    init(maxRows: Int) {
        self.maxRows = maxRows
    }

    /// Runs every statement of `text`; false after the first error (printed with its line and caret).
    func run(_ text: String, source: String) -> Bool {
        do {
            for statement in try Parser.parseScript(text) { try execute(statement) }
            return true
        } catch let error as SQLError {
            FileHandle.standardError.write(Data("eddy sql: \(error.rendered(in: text, file: source))\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("eddy sql: \(error)\n".utf8))
        }
        return false
    }

    /// The interactive prompt: lines are gathered until one ends a statement with `;`. When standard
    /// input and output are both terminals, lines are read with the `LineEditor` (line editing,
    /// history in `HistoryFile.fromEnvironment()`, Ctrl-C drops the statement being typed); otherwise
    /// with `readLine`.
    func prompt() {
        print("eddy sql \(EddyVersion.current): statements end with `;`; Ctrl-D quits.")
        let terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        let editor = terminal ? LineEditor(historyFile: HistoryFile.fromEnvironment()) : nil
        var lines: [String] = []
        input: while true {
            let prompt = lines.isEmpty ? "eddy> " : "   -> "
            let line: String
            if let editor {
                switch editor.readLine(prompt: prompt) {
                case .line(let text): line = text
                case .interrupted:
                    lines = []
                    continue input
                case .endOfInput: break input
                }
            } else {
                FileHandle.standardOutput.write(Data(prompt.utf8))
                guard let text = readLine(strippingNewline: true) else { break input }
                line = text
            }
            lines.append(line)
            let buffer = lines.joined(separator: "\n")
            let trimmed = buffer.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { lines = []; continue }
            if ["quit", "exit", "\\q"].contains(trimmed.lowercased()) { break }
            guard trimmed.hasSuffix(";") else { continue }
            editor?.remember(lines)
            _ = run(buffer, source: "input")
            lines = []
        }
        print("")
    }

    func execute(_ statement: Statement) throws {
        switch statement {
        case .query(let query):
            try select(query)
        case .insert:
            guard case .job(let job) = try session.execute(statement) else { return }
            let rows = try runToEnd(job.pipeline)
            print("wrote \(rows) row\(rows == 1 ? "" : "s") into `\(job.name)`")
        case .createTable(let definition) where definition.query != nil:
            guard case .job(let job) = try session.execute(statement) else { return }
            let rows = try runToEnd(job.pipeline)
            print("created `\(job.name)` and wrote \(rows) row\(rows == 1 ? "" : "s")")
        default:
            switch try session.execute(statement) {
            case .message(let text), .explain(let text): if !text.isEmpty { print(text) }
            case .job: break
            }
        }
    }

    /// Runs a SELECT over the input present now and prints its result as a table.
    func select(_ query: Query) throws {
        let bound = try session.bind(query)
        let sink = MemorySink()
        // An updating result is shown as it stands at the end: the complete result of the last batch.
        let mode: OutputMode = bound.mode == .update ? .complete : .append
        let pipeline = StreamingPipeline(plan: .sink(bound.plan, LogicalSink(sink, mode: mode)))
        _ = try runToEnd(pipeline)
        let rows = mode == .complete ? (sink.rowsByBatch.max { $0.key < $1.key }?.value ?? []) : sink.rows
        print(Self.table(bound.schema.names, rows, maxRows: maxRows))
    }

    /// Runs a pipeline until its bounded input is read; returns the rows its sink took.
    func runToEnd(_ pipeline: StreamingPipeline) throws -> Int64 {
        var options = QueryOptions()
        options.trigger = .availableNow
        let execution = try pipeline.makeExecution(checkpoint: nil, options: options)
        try execution.start(nowMs: wallClockMillis())
        var rows: Int64 = 0
        while let progress = try execution.runBatch(nowMs: wallClockMillis()) { rows += progress.sink.numOutputRows }
        try execution.plan.sink.close()
        return rows
    }

    /// Rows as a boxed table, at most `maxRows` of them, and the row count.
    static func table(_ names: [String], _ rows: [[Value]], maxRows: Int) -> String {
        let shown = rows.prefix(maxRows).map { $0.map(\.description) }
        var widths = names.map(\.count)
        for row in shown { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        func line(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: " | ") + " |"
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        var lines = [rule, line(names), rule] + shown.map(line) + [rule]
        let more = rows.count > maxRows ? " (\(maxRows) shown)" : ""
        lines.append("\(rows.count) row\(rows.count == 1 ? "" : "s")\(more)")
        return lines.joined(separator: "\n")
    }
}
