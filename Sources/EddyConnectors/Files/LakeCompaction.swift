import EddyCore
import EddyEngine
import EddyParquet
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `eddy lake compact DIR`: merges the small files of each partition of a files-sink table into
/// files of about `targetFileBytes`, exactly once, while the query may still be writing.
///
/// 1. Under an exclusive lock (`_eddy_log/.compact.lock`; a second compaction is refused), the
///    leftovers of a compaction that crashed are removed: outputs no log entry names, and inputs of
///    a committed compaction still on disk.
/// 2. Per partition directory, runs of consecutive committed files smaller than the target (in the
///    log's order, files of batches younger than `minAge` left out) are merged, in order, into new
///    files `part-c<S>-<i>.<ext>` (temporary name, fsync, rename): Parquet files are decoded and
///    written again with the first input's codec and decimal precisions; JSON lines and CSV are
///    concatenated (CSV headers kept once).
/// 3. `_eddy_log/compact-<S>` is written atomically: from then on, readers of the log see the new
///    files instead of the old ones (the commit point); then the old files are deleted.
///
/// A crash before step 3 leaves files no reader of the log sees; after it, old files that the next
/// compaction deletes. Rows keep their order within a partition, so an update-mode table's "last
/// row per key wins" still holds when the key does not move between partitions.
public struct LakeCompaction {
    public struct Options: Sendable {
        /// Files smaller than this are merged into files of at most about this size.
        public var targetFileBytes = 128 << 20
        /// Files of batches committed less than this long ago are left alone (a streaming query that
        /// reads the table and keeps up then reads them as they were, not inside a merged file).
        public var minAgeSeconds: Double = 0

        public init(targetFileBytes: Int = 128 << 20, minAgeSeconds: Double = 0) {
            self.targetFileBytes = targetFileBytes
            self.minAgeSeconds = minAgeSeconds
        }
    }

    public struct Report: Sendable, Equatable {
        public var sequence: Int?
        public var filesMerged = 0
        public var filesWritten = 0
        public var rows = 0
        public var bytesBefore = 0
        public var bytesAfter = 0
        /// Files of crashed compactions removed first.
        public var leftoversRemoved = 0
    }

    public let table: String
    public let options: Options

    public init(table: String, options: Options = Options()) {
        self.table = table
        self.options = options
    }

    @discardableResult
    public func run(now: Date = Date()) throws -> Report {
        guard LakeLog.exists(table) else {
            throw LakeLogError("\(table) has no \(LakeLog.directoryName)/: it is not a table an Eddy files sink wrote")
        }
        let lock = try LakeCompactionLock(table)
        defer { lock.release() }
        var report = Report()
        let (batches, compactions) = try LakeLog.read(table)
        report.leftoversRemoved = try removeLeftovers(batches, compactions)
        let live = LakeLog.apply(compactions, to: batches.flatMap(\.files))
        let csvHeader = batches.first { $0.format == "csv" }?.header ?? false

        // Files of young batches stay as they are.
        var young: Set<String> = []
        if options.minAgeSeconds > 0 {
            for batch in batches {
                let path = LakeLog.directory(of: table) + "/\(batch.batchId)"
                let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
                if now.timeIntervalSince(modified) < options.minAgeSeconds { young.formUnion(batch.files.map(\.path)) }
            }
        }
        // Runs of consecutive small files per partition directory, in the log's order, each of at
        // most about the target size.
        var runs: [String: [[LakeLog.FileEntry]]] = [:]
        var runBytes: [String: Int] = [:]
        var order: [String] = []
        for file in live {
            let directory = Self.directory(of: file.path)
            if runs[directory] == nil {
                runs[directory] = [[]]
                runBytes[directory] = 0
                order.append(directory)
            }
            let small = file.bytes < options.targetFileBytes && !young.contains(file.path)
            let current = runs[directory]!.last!
            if !current.isEmpty && (!small || runBytes[directory]! + file.bytes > options.targetFileBytes) {
                runs[directory]!.append([])
                runBytes[directory] = 0
            }
            guard small else { continue }
            runs[directory]![runs[directory]!.count - 1].append(file)
            runBytes[directory]! += file.bytes
        }
        let sequence = (compactions.map(\.sequence).max() ?? 0) + 1
        var added: [LakeLog.FileEntry] = [], removed: [String] = [], moved: [LakeLog.Moved] = []
        for directory in order {
            for run in runs[directory]! where run.count >= 2 {
                let ext = (run[0].path as NSString).pathExtension
                let name = (directory.isEmpty ? "" : directory + "/") + "part-c" + Self.padded(sequence) + "-\(added.count).\(ext)"
                let (bytes, places) = try merge(run, into: name, csvHeader: csvHeader)
                moved += places
                added.append(LakeLog.FileEntry(path: name, rows: run.reduce(0) { $0 + $1.rows }, bytes: bytes))
                removed += run.map(\.path)
                report.filesMerged += run.count
                report.bytesBefore += run.reduce(0) { $0 + $1.bytes }
                report.bytesAfter += bytes
                report.rows += run.reduce(0) { $0 + $1.rows }
            }
        }
        guard !added.isEmpty else { return report }
        let entry = LakeLog.CompactionEntry(sequence: sequence, added: added, removed: removed, moved: moved)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.replace(LakeLog.directory(of: table) + "/\(LakeLog.compactionPrefix)\(sequence)", with: Array(try encoder.encode(entry)) + [0x0A])
        report.sequence = sequence
        report.filesWritten = added.count
        try deleteFiles(removed)
        return report
    }

    static func padded(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Removes what a crashed compaction left: outputs (`part-c<S>-…`) that no log entry names, and
    /// inputs of committed compactions still on disk.
    private func removeLeftovers(_ batches: [LakeLog.BatchEntry], _ compactions: [LakeLog.CompactionEntry]) throws -> Int {
        var removed = 0
        let stale = compactions.flatMap(\.removed).filter { FileManager.default.fileExists(atPath: table + "/" + $0) }
        try deleteFiles(stale)
        removed += stale.count
        let named = Set(compactions.flatMap { $0.added.map(\.path) })
        var directories = Set(batches.flatMap { $0.files.map { Self.directory(of: $0.path) } })
        directories.formUnion(named.map(Self.directory))
        var orphans: [String] = []
        for directory in directories {
            let path = directory.isEmpty ? table : table + "/" + directory
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix("part-c") {
                let relative = directory.isEmpty ? name : directory + "/" + name
                if !named.contains(relative) { orphans.append(relative) }
            }
        }
        try deleteFiles(orphans)
        return removed + orphans.count
    }

    private func deleteFiles(_ paths: [String]) throws {
        var directories: Set<String> = []
        for path in paths {
            let full = table + "/" + path
            if unlink(full) != 0 && errno != ENOENT { throw FileError("unlink", full, errno: errno) }
            directories.insert(DurableFile.parentDirectory(full))
        }
        for directory in directories { try DurableFile.syncDirectory(directory) }
    }

    /// Writes the rows of `files`, in order, to `name`; its size, and where each file's rows went.
    private func merge(_ files: [LakeLog.FileEntry], into name: String, csvHeader: Bool) throws -> (Int, [LakeLog.Moved]) {
        var output = try DurableFileWriter(table + "/" + name, temporary: FileSink.temporaryPath(table + "/" + name))
        var size = 0, rows = 0
        var moved: [LakeLog.Moved] = []
        if name.hasSuffix(".parquet") {
            var writer: ParquetWriter?
            for file in files {
                let reader = try ParquetReader(try Self.read(table + "/" + file.path))
                if writer == nil { writer = try ParquetWriter(schema: reader.schema, options: reader.writerOptions) }
                guard reader.schema == writer!.schema else {
                    throw LakeLogError("\(file.path) has the columns \(reader.schema), \(files[0].path) has \(writer!.schema): not merged")
                }
                for group in 0..<reader.rowGroupCount { try writer!.write(try reader.readRowGroup(group)) }
                moved.append(LakeLog.Moved(path: file.path, to: name, offset: 0, skipped: 0, firstRow: rows, rows: Int(reader.rowCount)))
                rows += Int(reader.rowCount)
            }
            let bytes = try writer!.finish()
            try output.write(bytes)
            size = bytes.count
        } else {
            for (index, file) in files.enumerated() {
                var bytes = try Self.read(table + "/" + file.path)
                var skipped = 0
                if index > 0 && csvHeader && name.hasSuffix(".csv"), let newline = bytes.firstIndex(of: 0x0A) {
                    skipped = newline + 1
                    bytes.removeSubrange(...newline)
                }
                guard bytes.last == 0x0A || bytes.isEmpty else {
                    throw LakeLogError("\(file.path) does not end with a line break: not merged")
                }
                moved.append(LakeLog.Moved(path: file.path, to: name, offset: size, skipped: skipped, firstRow: rows, rows: file.rows))
                try output.write(bytes)
                size += bytes.count
                rows += file.rows
            }
        }
        try output.commit()
        return (size, moved)
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let bytes = try DurableFile.read(path) else { throw LakeLogError("\(path) is missing") }
        return bytes
    }
}

/// The lock one compaction of a table holds (`_eddy_log/.compact.lock`, flock): a second one is
/// refused while it runs; the kernel releases it if the process dies.
public final class LakeCompactionLock {
    private var fd: Int32

    public init(_ table: String) throws {
        let path = LakeLog.directory(of: table) + "/.compact.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open", path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            fd = -1
            throw LakeLogError("another compaction of this table is running (\(path) is locked)")
        }
    }

    public func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}
