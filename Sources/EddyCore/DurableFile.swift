#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file system call that failed: which call, on which path, and the system's reason.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var code: Int32

    public init(_ call: String, _ path: String, errno code: Int32) {
        self.call = call
        self.path = path
        self.code = code
    }

    public var description: String { "cannot \(call) \(path): \(String(cString: strerror(code))) (errno \(code))" }
}

/// A file written in pieces and made visible at once, durably: the pieces go to `<path>.tmp`, then
/// `commit()` fsyncs it, renames it over `path` and fsyncs the directory, so after a crash `path`
/// holds the old contents or the new, never a torn mix. A writer dropped without `commit()` closes
/// and removes its temporary file (a crash may leave one behind: readers ignore `.tmp` names, and
/// the next writer of the same path truncates it).
///
/// The one durable writer of the project: the log's metadata, the broker's topic list, checkpoints,
/// the files sink and the file source's list all go through it (or through `DurableFile.replace`).
public struct DurableFileWriter: ~Copyable {
    public let path: String
    private let temporary: String
    private var fd: Int32

    /// Writes to `temporary` (default `path` + `.tmp`, which must be in the same directory) until
    /// `commit` renames it to `path`.
    public init(_ path: String, temporary: String? = nil) throws(FileError) {
        self.path = path
        self.temporary = temporary ?? path + ".tmp"
        fd = open(self.temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("create", self.temporary, errno: errno) }
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        let code = Self.writeAll(fd, bytes)
        if code != 0 { throw FileError("write", temporary, errno: code) }
    }

    public mutating func write(_ bytes: [UInt8]) throws(FileError) {
        let code = bytes.withUnsafeBytes { Self.writeAll(fd, $0) }
        if code != 0 { throw FileError("write", temporary, errno: code) }
    }

    /// Writes every byte (write(2) may take fewer); returns 0 or the errno that stopped it.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var written = 0
        while written < bytes.count {
            let result = systemWrite(fd, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += result
        }
        return 0
    }

    /// Makes the file durable and visible under `path`. With `syncDirectory` false the caller fsyncs
    /// the directory itself (several renames in one directory share one fsync).
    public consuming func commit(syncDirectory: Bool = true) throws(FileError) {
        let descriptor = fd
        fd = -1
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            unlink(temporary)
            throw FileError("fsync", temporary, errno: code)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileError("rename \(temporary) to", path, errno: code)
        }
        if syncDirectory { try DurableFile.syncDirectory(DurableFile.parentDirectory(path)) }
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporary)
        }
    }
}

/// Whole small files that must survive a crash whole, and the directory fsync that makes creates,
/// renames and unlinks durable.
public enum DurableFile {
    /// Replaces `path` with `bytes` through a `DurableFileWriter`.
    public static func replace(_ path: String, with bytes: some Sequence<UInt8>, syncDirectory: Bool = true) throws(FileError) {
        var file = try DurableFileWriter(path)
        try file.write(Array(bytes))
        try file.commit(syncDirectory: syncDirectory)
    }

    /// The whole file, or nil when nothing exists at `path`; any other failure (a directory, no
    /// permission, an I/O error) throws with the path and the cause.
    public static func read(_ path: String) throws(FileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw FileError("open", path, errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError("read", path, errno: errno)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }

    /// fsyncs a directory so that creates, renames and unlinks in it are durable.
    public static func syncDirectory(_ path: String) throws(FileError) {
        let directory = path.isEmpty ? "." : path
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open directory", directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError("fsync directory", directory, errno: errno) }
    }

    /// The directory that holds `path` ("." for a bare name; "a/b/" names "a/b", whose parent is "a").
    public static func parentDirectory(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        while parts.count > 1, parts.last == "" { parts.removeLast() }
        guard parts.count > 1 else { return "." }
        parts.removeLast()
        let joined = parts.joined(separator: "/")
        return joined.isEmpty ? "/" : joined
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
private let systemRead = Darwin.read
#endif
