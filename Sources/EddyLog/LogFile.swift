#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// An open file read and written with positioned system calls (pread, pwritev, fsync, ftruncate):
/// no Foundation and no hidden buffering on the hot path. Every failure becomes `LogError(.io)`
/// naming the call, the path and errno's text. The descriptor closes when the object goes away.
final class LogFile {
    let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        if fd >= 0 { _ = systemClose(fd) }
    }

    /// Opens `path` for reading and writing; `create` makes it if missing and `truncate` empties it.
    static func open(_ path: String, create: Bool = false, truncate: Bool = false) throws -> LogFile {
        var flags = O_RDWR | O_CLOEXEC
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        let fd = systemOpen(path, flags, 0o644)
        guard fd >= 0 else { throw FileSystem.error("open", path) }
        return LogFile(path: path, fd: fd)
    }

    func close() {
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }

    /// The file's size on disk (which may exceed the bytes the log owns after a failed write).
    func size() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystem.error("fstat", path) }
        return Int(info.st_size)
    }

    /// Up to `count` bytes from `position`; fewer only when the file ends first.
    func read(at position: Int, count: Int) throws -> ByteBuffer {
        precondition(position >= 0 && count >= 0, "read of \(count) bytes at \(position)")
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var done = 0
        while done < count {
            var failure: Int32 = 0
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { raw -> Int in
                let r = pread(fd, raw.baseAddress, count - done, off_t(position + done))
                if r < 0 { failure = errno }
                return max(r, 0)
            }
            if failure == EINTR { continue }
            if failure != 0 { throw FileSystem.error("pread", path, errno: failure) }
            if n == 0 { break }
            done += n
        }
        return buffer
    }

    /// Writes `head` then `tail` at `position` with pwritev, looping over short writes. With
    /// `limit`, stops after that many bytes (fault injection: a torn write).
    func write(_ head: ByteBuffer, _ tail: ByteBuffer, at position: Int, limit: Int = Int.max) throws {
        precondition(position >= 0, "write at \(position)")
        try head.withUnsafeReadableBytes { a in
            try tail.withUnsafeReadableBytes { b in
                let total = min(a.count + b.count, limit)
                var done = 0
                while done < total {
                    let n: Int = withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { iov in
                        var count: Int32 = 0
                        var remaining = total - done
                        if done < a.count {
                            let length = min(a.count - done, remaining)
                            iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: a.baseAddress! + done), iov_len: length)
                            remaining -= length
                            count = 1
                            if remaining > 0 {
                                iov[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress!), iov_len: remaining)
                                count = 2
                            }
                        } else {
                            iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress! + (done - a.count)), iov_len: remaining)
                            count = 1
                        }
                        return pwritev(fd, iov.baseAddress, count, off_t(position + done))
                    }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileSystem.error("pwritev", path)
                    }
                    guard n > 0 else { throw LogError(.io, "pwritev \(path): no progress") }
                    done += n
                }
            }
        }
    }

    /// Makes the file's data durable (F_FULLFSYNC on Darwin, where fsync stops at the drive's cache).
    func sync() throws {
        #if canImport(Darwin)
        guard fcntl(fd, F_FULLFSYNC) == 0 else { throw FileSystem.error("fcntl(F_FULLFSYNC)", path) }
        #else
        guard fsync(fd) == 0 else { throw FileSystem.error("fsync", path) }
        #endif
    }

    func truncate(to size: Int) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw FileSystem.error("ftruncate", path) }
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.open(path, flags, mode)
    #else
    Darwin.open(path, flags, mode)
    #endif
}

private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

/// Whole-file and directory operations the log needs beside its open files.
enum FileSystem {
    static func error(_ call: String, _ path: String, errno code: Int32 = errno) -> LogError {
        LogError(.io, "\(call) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The file's size, or nil when it does not exist.
    static func size(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// The file's modification time in epoch milliseconds, or nil when it does not exist.
    static func modificationTimeMs(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        return Int64(info.st_mtimespec.tv_sec) * 1000 + Int64(info.st_mtimespec.tv_nsec) / 1_000_000
        #else
        return Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        #endif
    }

    /// The whole file, or nil when it does not exist.
    static func readAll(_ path: String) throws -> ByteBuffer? {
        guard exists(path) else { return nil }
        let file = try LogFile.open(path)
        return try file.read(at: 0, count: try file.size())
    }

    /// Replaces the file's contents with write(2) only; durability is the caller's (see `syncFile`).
    static func writeAll(_ path: String, _ bytes: ByteBuffer) throws {
        let file = try LogFile.open(path, create: true, truncate: true)
        try file.write(bytes, ByteBuffer(), at: 0)
    }

    /// fsyncs a file by path (a fresh descriptor flushes the same inode).
    static func syncFile(_ path: String) throws {
        try LogFile.open(path).sync()
    }

    /// Replaces a small file so that after a crash it holds the old or the new contents: write a
    /// temporary file, fsync it, rename it over the old one, fsync the directory.
    static func replaceDurably(_ path: String, _ bytes: ByteBuffer, directory: String) throws {
        let temporary = path + ".tmp"
        let file = try LogFile.open(temporary, create: true, truncate: true)
        try file.write(bytes, ByteBuffer(), at: 0)
        try file.sync()
        file.close()
        guard rename(temporary, path) == 0 else { throw error("rename", temporary) }
        try syncDirectory(directory)
    }

    /// Creates an empty file durably (the clean-shutdown marker).
    static func createDurably(_ path: String, directory: String) throws {
        let file = try LogFile.open(path, create: true, truncate: true)
        try file.sync()
        file.close()
        try syncDirectory(directory)
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw error("unlink", path) }
    }

    /// fsyncs a directory so that creates, renames and unlinks in it are durable.
    static func syncDirectory(_ path: String) throws {
        let fd = systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw error("open", path) }
        defer { _ = systemClose(fd) }
        guard fsync(fd) == 0 else { throw error("fsync", path) }
    }

    /// Creates the directory and any missing parents; returns whether it had to create it.
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        if exists(path) { return false }
        let parent = parentDirectory(path)
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw error("mkdir", path) }
        if !parent.isEmpty { try syncDirectory(parent) }
        return true
    }

    static func parentDirectory(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        while parts.count > 1, parts.last == "" { parts.removeLast() }  // "a/b/" names "a/b"
        guard parts.count > 1 else { return "." }
        parts.removeLast()
        let joined = parts.joined(separator: "/")
        return joined.isEmpty ? "/" : joined
    }

    /// The names in a directory (without "." and "..").
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a directory and the files in it (partition directories hold no subdirectories).
    static func removeDirectory(_ path: String) throws {
        guard exists(path) else { return }
        for name in try list(path) { try remove(path + "/" + name) }
        guard rmdir(path) == 0 || errno == ENOENT else { throw error("rmdir", path) }
    }
}
