import NIOCore

/// A range of a segment file held in memory and refilled on demand, so that walking batch headers
/// costs one pread per window rather than one per batch, and a read's result is usually a slice of
/// the window it was found in.
struct FileWindow {
    let file: LogFile
    /// The bytes of the file that belong to the log; nothing at or past it is read.
    let end: Int
    private(set) var start = 0
    private(set) var bytes = ByteBuffer()

    init(file: LogFile, end: Int) {
        self.file = file
        self.end = end
    }

    func contains(_ position: Int, _ count: Int) -> Bool {
        position >= start && position + count <= start + bytes.readableBytes
    }

    /// Makes [position, position + count) available, reading `readAhead` bytes (at least `count`,
    /// at most up to `end`) from `position` when they are not in memory. Throws when the file is
    /// shorter than the log says: someone cut it under us.
    mutating func load(_ position: Int, count: Int, readAhead: Int) throws {
        precondition(position >= 0 && count >= 0 && position + count <= end, "window read \(position)+\(count) past \(end)")
        if contains(position, count) { return }
        let length = min(end - position, max(count, readAhead))
        let read = try file.read(at: position, count: length)
        guard read.readableBytes >= count else {
            throw LogError(.corruptMessage, "\(file.path) ends at \(position + read.readableBytes), the log expects \(end) bytes")
        }
        start = position
        bytes = read
    }

    func int64(at position: Int) -> Int64 { bytes.getInteger(at: bytes.readerIndex + position - start, endianness: .big)! }
    func int32(at position: Int) -> Int32 { bytes.getInteger(at: bytes.readerIndex + position - start, endianness: .big)! }

    func slice(_ position: Int, _ count: Int) -> ByteBuffer {
        precondition(contains(position, count), "slice \(position)+\(count) outside the window")
        return bytes.getSlice(at: bytes.readerIndex + position - start, length: count)!
    }
}
