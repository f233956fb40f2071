import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// `<data>/.lock`, held with an exclusive `flock` while a broker has the directory open (Kafka keeps
/// a `.lock` in each log directory for the same reason): a second broker on the same directory would
/// recover, append and delete segments under the first one's feet. The holder's pid is written into
/// the file for the error message. The lock goes with the process (or `release()`), so a crashed
/// broker never leaves a stale lock behind.
final class DataDirectoryLock: Sendable {
    /// The directory cannot be created, opened or locked; the description names it and the cause.
    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: NIOLockedValueBox<Int32>

    init(_ directory: String) throws {
        try Self.makeDirectories(directory)
        let path = directory + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Unusable(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK ? nil : String(cString: strerror(errno))
            close(fd)
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw Unusable(description: reason.map { "cannot lock \(path): \($0)" }
                ?? "the data directory \(directory) is in use by another broker\(holder.isEmpty ? "" : " (process \(holder))"); stop it or choose another --data-dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        descriptor = NIOLockedValueBox(fd)
    }

    /// `mkdir -p`, with errors that name the path and the cause (Foundation's would print as an
    /// NSError dump).
    private static func makeDirectories(_ directory: String) throws {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                let cause = String(cString: strerror(errno))
                let at = prefix.hasSuffix(directory) ? "" : " (at \(prefix))"
                throw Unusable(description: "cannot create the data directory \(directory): \(cause)\(at)")
            }
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw Unusable(description: "cannot use the data directory \(directory): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Unusable(description: "cannot use the data directory \(directory): it is a file, not a directory")
        }
    }

    deinit { release() }

    /// Gives the directory up (closing the descriptor drops the flock); idempotent.
    func release() {
        descriptor.withLockedValue { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }
}
