import EddyConnectors
import EddyEngine
import EddySQL
import Foundation
import XCTest

/// A sqllogictest-style runner over `Tests/SQLLogic/*.slt`: statements that must succeed or fail
/// with a positioned error, and queries run over bounded files whose rows must match.
///
/// ```
/// # a comment
/// file data/purchases/1.jsonl            the lines up to a blank line, written under the test's directory
/// {"category": "books", "amount": 1.5, "event_time": "2026-01-01T00:00:10Z"}
///
/// statement ok
/// CREATE TABLE purchases (…) WITH ('connector' = 'filesystem', 'path' = 'data/purchases', 'format' = 'json')
///
/// statement error
/// SELECT amout FROM purchases
/// ----
/// line 1, column 8: unknown column `amout` in `purchases`; did you mean `amount`?
///
/// query rowsort                            (or `query`: rows in the order written)
/// SELECT category, amount FROM purchases
/// ----
/// +I[books, 1.50]
/// ```
///
/// A statement or query runs to the first blank line (or `----`). Queries run as `eddy run --bounded`
/// would, through the print sink. `EDDY_SLT_REWRITE=1 swift test --filter SQLLogicTests` writes the
/// actual results and errors into the files, to review as a diff.
final class SQLLogicTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SQLLogic").path

    func testEverySLTFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory).filter { $0.hasSuffix(".slt") }.sorted()
        XCTAssertFalse(files.isEmpty, "no .slt files in \(Self.directory)")
        for file in files {
            try SLTFile(path: Self.directory + "/" + file).run(rewrite: ProcessInfo.processInfo.environment["EDDY_SLT_REWRITE"] == "1")
        }
    }
}

/// One .slt file: its records, run in order in one session with a fresh working directory.
struct SLTFile {
    enum Kind: Equatable {
        case file(String)
        case statementOK
        case statementError
        case query(sorted: Bool)
    }

    struct Record {
        var kind: Kind
        /// The line of its header (1-based), for failure messages.
        var line: Int
        var body: [String]
        var expected: [String]?
    }

    let path: String
    let records: [Record]
    private let lines: [String]

    init(path: String) throws {
        self.path = path
        lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var records: [Record] = []
        var index = 0
        while index < lines.count {
            let header = lines[index].trimmingCharacters(in: .whitespaces)
            index += 1
            if header.isEmpty || header.hasPrefix("#") { continue }
            let kind: Kind
            switch header.split(separator: " ").first.map(String.init) {
            case "file": kind = .file(String(header.dropFirst(5)).trimmingCharacters(in: .whitespaces))
            case "statement" where header.hasSuffix("ok"): kind = .statementOK
            case "statement" where header.hasSuffix("error"): kind = .statementError
            case "query": kind = .query(sorted: header.hasSuffix("rowsort"))
            default: throw SLTError("\(path):\(index): unknown record `\(header)`")
            }
            var record = Record(kind: kind, line: index, body: [], expected: nil)
            while index < lines.count, !lines[index].isEmpty, lines[index] != "----" {
                record.body.append(lines[index])
                index += 1
            }
            if index < lines.count, lines[index] == "----" {
                index += 1
                var expected: [String] = []
                while index < lines.count, !lines[index].isEmpty {
                    expected.append(lines[index])
                    index += 1
                }
                record.expected = expected
            }
            records.append(record)
        }
        self.records = records
    }

    func run(rewrite: Bool) throws {
        let workspace = NSTemporaryDirectory() + "eddy-slt-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let printed = PrintedLines()
        let session = SQLSession(connectors: SQLConnectors.standard(output: { printed.append($0) }), bounded: true)
        var actuals: [Int: [String]] = [:]
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(workspace)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        for (number, record) in records.enumerated() {
            let where_ = "\((path as NSString).lastPathComponent):\(record.line)"
            let text = record.body.joined(separator: "\n")
            switch record.kind {
            case .file(let name):
                let url = URL(fileURLWithPath: workspace + "/" + name)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data((text + "\n").utf8).write(to: url)
            case .statementOK:
                do { try session.run(text) } catch { XCTFail("\(where_): \(error.rendered(in: text))") }
            case .statementError:
                do {
                    try session.run(text)
                    XCTFail("\(where_): ran without error")
                } catch {
                    let actual = error.description.split(separator: "\n").map(String.init)
                    actuals[number] = actual
                    if !rewrite { XCTAssertEqual(actual, record.expected ?? [], where_) }
                }
            case .query(let sorted):
                printed.clear()
                do {
                    // Bare SELECTs print (each on its own); other statements run as `eddy run` runs them.
                    var jobs: [SQLJob] = []
                    for statement in try Parser.parseScript(text) {
                        if case .query(let query) = statement {
                            jobs.append(try session.printJob(query))
                        } else if case .job(let job) = try session.execute(statement) {
                            jobs.append(job)
                        }
                    }
                    for job in jobs {
                        let driver = try TestDriver(job.pipeline)
                        try driver.runUntilIdle()
                    }
                } catch let error as SQLError {
                    XCTFail("\(where_): \(error.rendered(in: text))")
                    continue
                } catch {
                    XCTFail("\(where_): \(error)")
                    continue
                }
                var actual = printed.lines
                if sorted { actual.sort() }
                actuals[number] = actual
                if !rewrite { XCTAssertEqual(actual, record.expected ?? [], where_) }
            }
        }
        if rewrite { try write(actuals) }
    }

    /// Writes `actuals` as the expected blocks.
    func write(_ actuals: [Int: [String]]) throws {
        var output: [String] = []
        var index = 0
        for (number, record) in records.enumerated() {
            // Copy everything up to the end of the record's body, then the new expected block.
            let bodyEnd = record.line + record.body.count  // index of the line after the body (0-based)
            output += lines[index..<bodyEnd]
            index = bodyEnd
            if index < lines.count, lines[index] == "----" {
                index += 1
                while index < lines.count, !lines[index].isEmpty { index += 1 }
            }
            if let actual = actuals[number] { output += ["----"] + actual }
        }
        output += lines[index...]
        try output.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}

struct SLTError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class PrintedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    func clear() { lock.withLock { stored.removeAll() } }
}
