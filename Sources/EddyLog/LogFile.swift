#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEddyShims
import NIOCore

/// An open file read and written with positioned system calls (pread, pwritev, fsync, ftruncate):
/// no Foundation and no hidden buffering on the hot path. Every failure becomes `LogError(.io)`
/// naming the call, the path and errno's text. The descriptor closes when the object goes away.
final class LogFile {
    let path: String
    private var fd: Int32
    /// `read` calls so far: tests check that a log read costs one.
    private(set) var reads = 0

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
        reads += 1
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
    /// On Linux fdatasync: it flushes the data and the metadata needed to read it back (the size),
    /// skipping only timestamps, as PostgreSQL's default wal_sync_method does.
    func sync() throws {
        #if canImport(Darwin)
        guard fcntl(fd, F_FULLFSYNC) == 0 else { throw FileSystem.error("fcntl(F_FULLFSYNC)", path) }
        #else
        guard fdatasync(fd) == 0 else { throw FileSystem.error("fdatasync", path) }
        #endif
    }

    /// Reserves disk blocks for `length` bytes from `position` without changing the file's size
    /// (fallocate with FALLOC_FL_KEEP_SIZE). False where the file system or platform cannot, or the
    /// disk is full: the caller writes without (a write then reports a full disk itself).
    func preallocate(at position: Int, length: Int) -> Bool {
        eddy_preallocate(fd, Int64(position), Int64(length)) == 0
    }

    /// Whether the file system holds more blocks for the file than its size needs (a reservation
    /// past the end, from `preallocate`). May say yes for a file whose metadata takes blocks of its own.
    func hasBlocksPastEnd() throws -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystem.error("fstat", path) }
        let blockSize = max(Int(info.st_blksize), 512)
        let needed = (Int(info.st_size) + blockSize - 1) / blockSize * blockSize
        return Int(info.st_blocks) * 512 > needed
    }

    /// Cuts the file to `size` bytes; on Linux this also frees blocks reserved past the end.
    func truncate(to size: Int) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw FileSystem.error("ftruncate", path) }
    }
}

func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.open(path, flags, mode)
    #else
    Darwin.open(path, flags, mode)
    #endif
}

func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
