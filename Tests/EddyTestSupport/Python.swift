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

/// Runs a command (found on PATH) to its end: its exit status and its output (stdout and stderr
/// together). Spawned and waited for directly (posix_spawn, waitpid): Foundation's `Process` can
/// miss the exit of a child that started a daemon.
public func runCommand(_ arguments: [String]) -> (status: Int32, output: String) {
    let outputPath = NSTemporaryDirectory() + "eddy-command-\(UUID().uuidString).out"
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    guard spawned == 0 else { return (-1, "cannot start \(arguments.first ?? ""): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS, spelled out (the macros are not imported).
    let exited = status & 0x7F == 0
    return (exited ? (status >> 8) & 0xFF : -1, output)
}

/// `text` as a Python string literal.
public func pythonString(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
}
