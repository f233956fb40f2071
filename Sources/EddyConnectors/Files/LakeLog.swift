import EddyCore
import EddyEngine
import Foundation

/// The log of a directory a files sink writes: `_eddy_log/`, as Spark's `_spark_metadata`. It is the
/// directory's truth: a file belongs to the table once an entry of the log names it.
///
/// - `_eddy_log/<N>`: batch N's files (paths relative to the directory, partition directories
///   included), their rows and bytes, and the rows the sink rejected (see `Sink.write`);
/// - `_eddy_log/compact-<S>`: compaction S replaced the files `removed` by the files `added`
///   (`eddy lake compact`); the same rows, in fewer files.
///
/// Each entry is one JSON object written whole (temporary name, fsync, rename), after the files it
/// names are durable; so a crash leaves either no entry (the files are ignored and overwritten or
/// deleted later) or an entry whose files are all there.
public enum LakeLog {
    public static let directoryName = "_eddy_log"
    static let compactionPrefix = "compact-"

    public struct FileEntry: Codable, Sendable, Hashable {
        /// Relative to the table's directory: `dt=2026-11-22/part-0000000007.parquet`.
        public var path: String
        public var rows: Int
        public var bytes: Int
    }

    public struct BatchEntry: Codable, Sendable {
        public var batchId: Int64
        /// The files' format (`jsonl`, `csv`, `parquet`) and whether CSV files start with a header.
        public var format: String
        public var header: Bool?
        public var files: [FileEntry]
        public var rejected: [RejectedRow]?
    }

    public struct CompactionEntry: Codable, Sendable {
        public var sequence: Int
        public var added: [FileEntry]
        public var removed: [String]
    }

    public static func directory(of table: String) -> String { table + "/" + directoryName }

    public static func exists(_ table: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory(of: table), isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The log's entries: batches by id, compactions by sequence.
    public static func read(_ table: String) throws -> (batches: [BatchEntry], compactions: [CompactionEntry]) {
        let log = directory(of: table)
        let names = try FileManager.default.contentsOfDirectory(atPath: log)
        var batches: [BatchEntry] = [], compactions: [CompactionEntry] = []
        let decoder = JSONDecoder()
        for name in names {
            if Int64(name) != nil {
                batches.append(try decode(BatchEntry.self, log + "/" + name, decoder))
            } else if name.hasPrefix(compactionPrefix), Int(name.dropFirst(compactionPrefix.count)) != nil {
                compactions.append(try decode(CompactionEntry.self, log + "/" + name, decoder))
            }
        }
        return (batches.sorted { $0.batchId < $1.batchId }, compactions.sorted { $0.sequence < $1.sequence })
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ path: String, _ decoder: JSONDecoder) throws -> T {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw LakeLogError("\(path) is not a log entry Eddy can read: \(error)")
        }
    }

    /// The table's files now, in order: batch order, a compaction's output where its first input was.
    public static func liveFiles(_ table: String) throws -> [FileEntry] {
        let (batches, compactions) = try read(table)
        return apply(compactions, to: batches.flatMap(\.files))
    }

    static func apply(_ compactions: [CompactionEntry], to files: [FileEntry]) -> [FileEntry] {
        var files = files
        for compaction in compactions {
            let removed = Set(compaction.removed)
            let at = files.firstIndex { removed.contains($0.path) } ?? files.count
            let before = files[..<at].filter { !removed.contains($0.path) }
            files = before + compaction.added + files[at...].filter { !removed.contains($0.path) }
        }
        return files
    }

    /// What a streaming reader that has taken `taken` reads next, in order: files of new batches; a
    /// file compacted before the reader took it is read through the compaction's output when none of
    /// that output's inputs was taken (otherwise rows would be read twice, and the reader stops with
    /// the error).
    static func filesToRead(_ table: String, taken: (String) -> Bool) throws -> [FileEntry] {
        let (batches, compactions) = try read(table)
        var replacedBy: [String: Int] = [:]  // a removed path → the index of the compaction that removed it
        for (index, compaction) in compactions.enumerated() {
            for path in compaction.removed { replacedBy[path] = index }
        }
        var result: [FileEntry] = []
        var outputsTaken: Set<Int> = []
        func resolve(_ file: FileEntry) throws {
            guard !taken(file.path) else { return }
            guard let index = replacedBy[file.path] else {
                result.append(file)
                return
            }
            guard !outputsTaken.contains(index) else { return }
            outputsTaken.insert(index)
            let compaction = compactions[index]
            if let read = compaction.removed.first(where: taken) {
                throw LakeLogError("""
                    \(table)/\(file.path) was compacted (\(compactionPrefix)\(compaction.sequence)) before this query read it, \
                    together with \(read), which it had read; compact with a larger --min-age so readers keep up
                    """)
            }
            // The output may itself have been compacted again.
            for added in compaction.added { try resolve(added) }
        }
        for batch in batches {
            for file in batch.files { try resolve(file) }
        }
        return result
    }
}

public struct LakeLogError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
