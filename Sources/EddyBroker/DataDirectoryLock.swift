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
    struct InUse: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: NIOLockedValueBox<Int32>

    init(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InUse(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK ? nil : String(cString: strerror(errno))
            close(fd)
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw InUse(description: reason.map { "cannot lock \(path): \($0)" }
                ?? "the data directory \(directory) is in use by another broker\(holder.isEmpty ? "" : " (process \(holder))"); stop it or choose another --data-dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        descriptor = NIOLockedValueBox(fd)
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
