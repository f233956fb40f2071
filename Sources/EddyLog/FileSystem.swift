#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EddyCore
import NIOCore

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

    /// Replaces a small file so that after a crash it holds the old or the new contents (through
    /// EddyCore's one durable writer); with `directory` nil the caller's next directory fsync makes
    /// the rename durable.
    static func replaceDurably(_ path: String, _ bytes: ByteBuffer, directory: String?) throws {
        do {
            var file = try DurableFileWriter(path)
            try file.write(Array(bytes.readableBytesView))
            try file.commit(syncDirectory: false)
            if let directory { try DurableFile.syncDirectory(directory) }
        } catch {
            throw LogError(.io, error.description)
        }
    }

    /// Creates an empty file durably (the clean-shutdown marker).
    static func createDurably(_ path: String, directory: String) throws {
        let file = try LogFile.open(path, create: true, truncate: true)
        try file.sync()
        file.close()
        try syncDirectory(directory)
    }

    /// Renames a file over another (atomic); the caller fsyncs the directory.
    static func move(_ from: String, over to: String) throws {
        guard rename(from, to) == 0 else { throw error("rename", from) }
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw error("unlink", path) }
    }

    /// fsyncs a directory so that creates, renames and unlinks in it are durable.
    static func syncDirectory(_ path: String) throws {
        do { try DurableFile.syncDirectory(path) } catch { throw LogError(.io, error.description) }
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

    static func parentDirectory(_ path: String) -> String { DurableFile.parentDirectory(path) }

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
