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
        /// The partition columns of the table's directories (left out of the files).
        public var partitionBy: [String]?
    }

    public struct CompactionEntry: Codable, Sendable {
        public var sequence: Int
        public var added: [FileEntry]
        public var removed: [String]
        /// Where each removed file's rows are in the added files.
        public var moved: [Moved]
    }

    /// A compacted file's place in the file it was merged into: its bytes from `skipped` on (a CSV
    /// header is not copied) are the output's bytes from `offset` on; its rows are the output's rows
    /// from `firstRow` on (Parquet). A streaming reader that listed the file before the compaction
    /// deleted it reads it there.
    public struct Moved: Codable, Sendable, Hashable {
        public var path: String
        public var to: String
        public var offset: Int
        public var skipped: Int
        public var firstRow: Int
        public var rows: Int
    }

    public static func directory(of table: String) -> String { table + "/" + directoryName }

    public static func exists(_ table: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory(of: table), isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The log's entries: batches by id, compactions by sequence. Entries never change once written,
    /// so each is decoded once per process (a streaming reader looks at the log every trigger).
    public static func read(_ table: String) throws -> (batches: [BatchEntry], compactions: [CompactionEntry]) {
        let log = directory(of: table)
        if !FileManager.default.fileExists(atPath: log), FileManager.default.fileExists(atPath: table + "/_eddy_manifest") {
            throw LakeLogError(olderLayout(table))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: log)
        var batches: [BatchEntry] = [], compactions: [CompactionEntry] = []
        for name in names {
            if Int64(name) != nil {
                batches.append(try cached(log + "/" + name, \.batches))
            } else if name.hasPrefix(compactionPrefix), Int(name.dropFirst(compactionPrefix.count)) != nil {
                compactions.append(try cached(log + "/" + name, \.compactions))
            }
        }
        return (batches.sorted { $0.batchId < $1.batchId }, compactions.sorted { $0.sequence < $1.sequence })
    }

    /// The message for a table an Eddy before `_eddy_log/` wrote.
    static func olderLayout(_ table: String) -> String {
        "\(table) was written by an older Eddy (its log is _eddy_manifest/); write the results again into a new directory"
    }

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var batches: [String: BatchEntry] = [:]
        var compactions: [String: CompactionEntry] = [:]
    }
    private static let cache = Cache()

    private static func cached<T: Decodable>(_ path: String, _ slot: ReferenceWritableKeyPath<Cache, [String: T]>) throws -> T {
        if let known = cache.lock.withLock({ cache[keyPath: slot][path] }) { return known }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let entry: T
        do {
            entry = try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw LakeLogError("\(path) is not a log entry Eddy can read: \(error)")
        }
        cache.lock.withLock { cache[keyPath: slot][path] = entry }
        return entry
    }

    /// The partition columns the newest batch entry names (empty when none).
    static func partitionColumns(_ table: String) -> [String] {
        let log = directory(of: table)
        guard let newest = ((try? FileManager.default.contentsOfDirectory(atPath: log)) ?? []).compactMap({ Int64($0) }).max(),
              let entry = try? cached(log + "/\(newest)", \.batches) else { return [] }
        return entry.partitionBy ?? []
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

    /// What a streaming reader that has taken `taken` reads next, in order: the files of new
    /// batches. A file compacted away is read through the compaction's output when none of the other
    /// files merged into that output was taken (nor the output itself); otherwise by its own path,
    /// which `locate` resolves to its bytes or rows inside the output.
    static func filesToRead(_ table: String, taken: (String) -> Bool) throws -> [FileEntry] {
        let (batches, compactions) = try read(table)
        var movedTo: [String: Moved] = [:]
        var inputs: [String: [String]] = [:]  // an output → the files merged into it
        var outputs: [String: FileEntry] = [:]
        for compaction in compactions {
            for moved in compaction.moved {
                movedTo[moved.path] = moved
                inputs[moved.to, default: []].append(moved.path)
            }
            for added in compaction.added { outputs[added.path] = added }
        }
        // A file was read, or some of its rows were: it was taken, or a file merged into it was.
        var touchedMemo: [String: Bool] = [:]
        func touched(_ path: String) -> Bool {
            if let known = touchedMemo[path] { return known }
            let result = taken(path) || inputs[path, default: []].contains(where: touched)
            touchedMemo[path] = result
            return result
        }
        var result: [FileEntry] = []
        var emitted: Set<String> = []
        func resolve(_ file: FileEntry) {
            guard !taken(file.path), !emitted.contains(file.path) else { return }
            guard let moved = movedTo[file.path], let output = outputs[moved.to] else {
                result.append(file)
                emitted.insert(file.path)
                return
            }
            if taken(moved.to) || emitted.contains(moved.to) { return }  // read through the output
            if inputs[moved.to, default: []].contains(where: touched) {
                result.append(file)  // some rows of the output were read as other files: this one alone
                emitted.insert(file.path)
                return
            }
            resolve(output)
            emitted.insert(file.path)
        }
        for batch in batches {
            for file in batch.files { resolve(file) }
        }
        return result
    }

    /// Where a compacted file's content is now: the file that holds it (following later compactions)
    /// and the mapping (see `Moved`); nil when no compaction moved it.
    static func locate(_ table: String, _ path: String) throws -> Moved? {
        let (_, compactions) = try read(table)
        var movedTo: [String: Moved] = [:]
        for compaction in compactions { for moved in compaction.moved { movedTo[moved.path] = moved } }
        guard var location = movedTo[path] else { return nil }
        while let next = movedTo[location.to] {
            // `location`'s bytes from `offset` are `next.to`'s from `next.offset + offset - next.skipped`
            // when past the intermediate file's header; a file that opened the intermediate one (offset
            // 0) keeps its header as the intermediate's, which the next output drops in turn.
            if location.offset >= next.skipped {
                location.offset = next.offset + location.offset - next.skipped
            } else {
                location.offset = next.offset
                location.skipped = next.skipped
            }
            location.firstRow += next.firstRow
            location.to = next.to
        }
        return location
    }
}

public struct LakeLogError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
