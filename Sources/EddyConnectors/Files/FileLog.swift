import EddyCore
import EddyEngine
import Foundation

/// The files a file source has taken in, in the order it takes them, with their sizes: the source's
/// offsets are byte positions in the concatenation of these files, so the log must never change
/// behind an offset. Kept in `<checkpoint>/sources/0/files` as JSON lines, appended (and fsynced)
/// before any offset that reaches into a new file is written.
///
/// Files must be complete when they appear in the directory (write elsewhere and rename into it, as
/// with Spark's file source) and never change afterwards; a file that shrinks or disappears while
/// still needed fails the query with a clear error.
struct FileLog {
    struct Entry: Codable, Hashable {
        var name: String
        var size: Int64
        /// Byte position of the file's first byte in the concatenation.
        var start: Int64
    }

    private(set) var entries: [Entry] = []
    private var names: Set<String> = []
    private let path: String?

    init(path: String?) throws(EngineError) {
        self.path = path
        guard let path else { return }
        let stored = try EngineError.io(.checkpoint) { () throws(FileError) in try DurableFile.read(path) }
        guard let data = stored else { return }
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line)) else {
                throw .checkpoint("\(path) has a damaged line: \(String(decoding: line, as: UTF8.self))")
            }
            entries.append(entry)
            names.insert(entry.name)
        }
    }

    var totalBytes: Int64 { entries.last.map { $0.start + $0.size } ?? 0 }

    func contains(_ name: String) -> Bool { names.contains(name) }

    /// Appends new files (durably when the log has a path).
    mutating func append(_ files: [(name: String, size: Int64)]) throws(EngineError) {
        guard !files.isEmpty else { return }
        var added: [Entry] = []
        var start = totalBytes
        for file in files {
            added.append(Entry(name: file.name, size: file.size, start: start))
            start += file.size
        }
        if let path {
            // The whole list is rewritten from memory (never re-read), so a file that became
            // unreadable cannot turn into a shorter list.
            var bytes: [UInt8] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for entry in entries + added {
                guard let line = try? encoder.encode(entry) else { throw .internal("cannot encode a file log entry") }
                bytes += Array(line) + [0x0A]
            }
            try EngineError.io { () throws(FileError) in try DurableFile.replace(path, with: bytes) }
        }
        entries += added
        for entry in added { names.insert(entry.name) }
    }

    /// The entry holding byte `position` (the last entry whose start is at or before it).
    func entryIndex(containing position: Int64) -> Int? {
        var low = 0, high = entries.count - 1, found: Int?
        while low <= high {
            let middle = (low + high) / 2
            if entries[middle].start <= position { found = middle; low = middle + 1 } else { high = middle - 1 }
        }
        return found
    }
}
