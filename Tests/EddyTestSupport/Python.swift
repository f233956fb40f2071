import Foundation

/// Runs `script` with the project's Python (.venv, where scripts/setup.sh installs duckdb and
/// pyarrow), `input` on its standard input; its standard output. Throws `PythonUnavailable` when
/// there is no .venv (tests skip then) and `PythonFailed` with its standard error when it fails.
public func runPython(_ script: String, input: String = "", file: StaticString = #filePath) throws -> String {
    var root = URL(fileURLWithPath: "\(file)")
    while root.path != "/" && !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
        root.deleteLastPathComponent()
    }
    let python = root.appendingPathComponent(".venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else { throw PythonUnavailable() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script]
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Read both pipes while writing, so a large output cannot fill a pipe and stall the child.
    let output = DataBox(), errors = DataBox()
    let group = DispatchGroup()
    for (pipe, box) in [(stdout, output), (stderr, errors)] {
        group.enter()
        DispatchQueue.global().async {
            box.data = pipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
    }
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    group.wait()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw PythonFailed(message: String(decoding: errors.data, as: UTF8.self)) }
    return String(decoding: output.data, as: UTF8.self)
}

public struct PythonUnavailable: Error, CustomStringConvertible {
    public var description: String { "no .venv with duckdb and pyarrow: run scripts/setup.sh (make test does)" }
}

public struct PythonFailed: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "python failed: \(message)" }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}
