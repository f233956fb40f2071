import EddyCore
import EddyEngine
import EddyFormats
import EddyParquet
import Foundation

/// Writes each micro-batch's rows to a directory as JSON lines, CSV or Parquet, exactly once:
///
/// - batch N's rows go to `part-<N, 10 digits>.<ext>` (and `part-<N>-<i>` when the batch rolls over
///   to more files), each written under a temporary name, fsynced and renamed, so a file is either
///   whole or absent; with `partitionBy`, into Hive-style directories (`dt=2026-11-22/hour=13/`, see
///   `HivePartition`) and without the partition columns;
/// - then `_eddy_log/<N>` records the batch (files, rows, bytes, rejected rows), again atomically
///   (see `LakeLog`);
/// - a batch whose log entry exists is skipped (a replay after a crash); a part file without a log
///   entry is left over from a crash before the entry and is overwritten by the replay.
///
/// Readers take the files the log lists (Spark's `_spark_metadata` contract). Parquet rows that a
/// column cannot hold (a NULL in a NOT NULL column, a decimal with more digits than its declared
/// precision) are rejected: left out, kept in the log entry, and returned as dead letters. In update
/// mode rows are appended as they change; a reader keeps the last row per upsert key.
public struct FileSinkDescriptor: SinkDescriptor {
    public enum Format: String, Sendable {
        case jsonLines = "jsonl"
        case csv
        case parquet
    }

    public var directory: String
    public var format: Format
    public var options: EncodeOptions
    /// Parquet: codec, row group and page sizes, decimal precisions.
    public var parquet = ParquetWriter.Options()
    /// A batch's output rolls over to a new part file once the current one holds this many bytes
    /// (Flink's `sink.rolling-policy.file-size`, default 128 MiB); checked every 8192 rows (JSON,
    /// CSV) or row group (Parquet).
    public var fileBytesMax = 128 << 20
    /// Hive-style partition directories by these columns, in order (SQL's `PARTITIONED BY`).
    public var partitionBy: [String] = []

    public var description: String { "files[\(directory), \(format.rawValue)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        try FileSink(self, context: context)
    }
}

extension SinkDescriptor where Self == FileSinkDescriptor {
    public static func files(_ directory: String, format: FileSinkDescriptor.Format = .jsonLines,
                             options: EncodeOptions = EncodeOptions(), parquet: ParquetWriter.Options = ParquetWriter.Options(),
                             partitionBy: [String] = []) -> FileSinkDescriptor {
        FileSinkDescriptor(directory: directory, format: format, options: options, parquet: parquet, partitionBy: partitionBy)
    }
}

final class FileSink: Sink {
    /// Rows encoded per write of a part file.
    static let rowsPerWrite = 8192
    /// The most partition directories one batch may write (Hive's `hive.exec.max.dynamic.partitions`).
    static let partitionsPerBatchMax = 1000
    /// The longest directory name most file systems take.
    static let directoryNameBytesMax = 255

    /// A part file is written as `.<name>.tmp` beside it: hidden, so that tools listing the directory
    /// (pyarrow, DuckDB, Spark skip names starting with `.` or `_`) never see a half-written file.
    static func temporaryPath(_ path: String) -> String {
        let directory = DurableFile.parentDirectory(path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return (path.contains("/") ? directory + "/" : "") + "." + name + ".tmp"
    }

    let descriptor: FileSinkDescriptor
    let context: SinkContext
    private let logDirectory: String
    /// The columns written into the files (all but the partition columns).
    private let fileColumns: [Int]

    init(_ descriptor: FileSinkDescriptor, context: SinkContext) throws(EngineError) {
        self.descriptor = descriptor
        self.context = context
        logDirectory = LakeLog.directory(of: descriptor.directory)
        for name in descriptor.partitionBy where context.schema.index(of: name) == nil {
            throw .configuration("partition column \(name) is not a column of the query's result (\(context.schema.names.joined(separator: ", ")))")
        }
        fileColumns = context.schema.fields.indices.filter { !descriptor.partitionBy.contains(context.schema.fields[$0].name) }
        guard !fileColumns.isEmpty else { throw .configuration("every column is a partition column; the files need at least one other") }
        if !FileManager.default.fileExists(atPath: logDirectory), FileManager.default.fileExists(atPath: descriptor.directory + "/_eddy_manifest") {
            throw .configuration(LakeLog.olderLayout(descriptor.directory))
        }
        do {
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw .configuration("cannot create the sink directory \(descriptor.directory): \(error.localizedDescription)")
        }
        try removeUncommittedParts()
    }

    /// Part files of batches after the last committed one, and half-written temporaries, are left
    /// over from a crash: the replay may write fewer files (another rolling size) or none (a changed
    /// query), so they are deleted before it, wherever they are in the partition directories.
    /// Compaction's files (`part-c…`) are not the sink's and are left alone.
    private func removeUncommittedParts() throws(EngineError) {
        let last = try lastCommittedBatch() ?? -1
        func batch(of name: String) -> Int64? {
            var name = Substring(name)
            if name.hasPrefix(".") { name = name.dropFirst() }
            guard name.hasPrefix("part-") else { return nil }
            return Int64(name.dropFirst(5).prefix { $0.isNumber })
        }
        var stale: [String] = []
        func walk(_ directory: String) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name != LakeLog.directoryName {
                let path = directory + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    if name.contains("=") { walk(path) }
                } else if let id = batch(of: name), id > last || name.hasPrefix(".") {
                    stale.append(path)
                }
            }
        }
        walk(descriptor.directory)
        for path in stale where unlink(path) != 0 && errno != ENOENT {
            throw .execution("cannot remove \(path), left over from a crash: \(String(cString: strerror(errno)))")
        }
    }

    var description: String { descriptor.description }

    func lastCommittedBatch() throws(EngineError) -> Int64? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []
        return names.compactMap { Int64($0) }.max()
    }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        let entryPath = "\(logDirectory)/\(batchId)"
        if let stored = try EngineError.io(.execution, { () throws(FileError) in try DurableFile.read(entryPath) }) {
            guard let entry = try? JSONDecoder().decode(LakeLog.BatchEntry.self, from: Data(stored)) else {
                throw .execution("\(entryPath) is damaged: the sink's log cannot say what batch \(batchId) wrote")
            }
            return RejectedRow.deadLetters(entry.rejected ?? [], sink: description)
        }
        let (accepted, rejected) = screen(batch)
        let groups = descriptor.partitionBy.isEmpty ? [] : HivePartition.split(accepted, by: descriptor.partitionBy)
        guard groups.count <= Self.partitionsPerBatchMax else {
            throw .execution("batch \(batchId) writes \(groups.count) partition directories into \(descriptor.directory), more than \(Self.partitionsPerBatchMax): partition by coarser columns")
        }
        if let first = rejected.first, !context.setsRowsAside || rejected.count > SinkContext.rejectedRowsMax {
            let count = rejected.count > SinkContext.rejectedRowsMax ? "more than \(SinkContext.rejectedRowsMax) rows" : "a row"
            throw .execution("\(description) cannot hold \(count) of batch \(batchId): \(first.reason)"
                + (context.setsRowsAside ? "; the query and the table disagree" : "; give the query a dead-letter destination to set such rows aside"))
        }
        var files: [LakeLog.FileEntry] = []
        if !accepted.isEmpty {
            if descriptor.partitionBy.isEmpty {
                files = try writeParts(accepted, batchId: batchId, in: "")
            } else {
                let projected = fileColumns.count == accepted.schema.count ? nil : fileColumns
                for (directory, rows) in groups {
                    try makeDirectory(directory)
                    let part = accepted.take(rows)
                    files += try writeParts(projected.map { part.select($0) } ?? part, batchId: batchId, in: directory + "/")
                }
            }
        }
        let entry = LakeLog.BatchEntry(batchId: batchId, format: descriptor.format.rawValue,
                                       header: descriptor.format == .csv ? descriptor.options.includeHeader : nil,
                                       files: files, rejected: rejected.isEmpty ? nil : rejected,
                                       partitionBy: descriptor.partitionBy.isEmpty ? nil : descriptor.partitionBy)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(entry) else { throw .internal("cannot encode a log entry") }
        try EngineError.io(.execution) { () throws(FileError) in try DurableFile.replace(entryPath, with: Array(json) + [0x0A]) }
        return RejectedRow.deadLetters(rejected, sink: description)
    }

    /// The rows the files can hold, and the others with the reason: a partition value too long for
    /// a directory name; in Parquet, a NULL in a NOT NULL column, a decimal with more digits than its
    /// column's declared precision. JSON and CSV take every value.
    private func screen(_ batch: RecordBatch) -> (RecordBatch, [RejectedRow]) {
        guard !batch.isEmpty else { return (batch, []) }
        var reasons: [Int: String] = [:]
        for name in descriptor.partitionBy {
            guard let column = batch.column(name) else { continue }
            for row in 0..<batch.count {
                let segment = HivePartition.segment(name, HivePartition.text(column, row))
                if segment.utf8.count > Self.directoryNameBytesMax && reasons[row] == nil {
                    reasons[row] = "the partition directory \(segment.prefix(40))… is \(segment.utf8.count) bytes; a directory name holds at most \(Self.directoryNameBytesMax)"
                }
            }
        }
        guard descriptor.format == .parquet || !reasons.isEmpty else { return (batch, []) }
        for (index, field) in batch.schema.fields.enumerated() where descriptor.format == .parquet {
            let column = batch.columns[index]
            if !field.nullable && column.validity != nil {
                for row in 0..<batch.count where column.isNull(row) && reasons[row] == nil {
                    reasons[row] = "column \(field.name) is NOT NULL but the value is NULL"
                }
            }
            if case .decimal(let scale) = field.type, let precision = descriptor.parquet.decimalPrecision[field.name] {
                let range = DecimalRange(precision: precision)
                guard case .int64(let values) = column.values else { continue }
                for row in 0..<batch.count where reasons[row] == nil && !column.isNull(row) && !range.contains(values[row]) {
                    reasons[row] = "column \(field.name) is DECIMAL(\(precision), \(scale)); \(formatDecimal(values[row], scale: scale)) has more digits"
                }
            }
        }
        guard !reasons.isEmpty else { return (batch, []) }
        var keep = Bitmap(count: batch.count, value: true)
        var rejected: [RejectedRow] = []
        for row in reasons.keys.sorted() {
            keep.clear(row)
            rejected.append(RejectedRow(batch, row, reason: reasons[row]!))
        }
        return (batch.filter(keep), rejected)
    }

    /// Creates a partition directory (and its parents) durably: each new level's parent is fsynced.
    private func makeDirectory(_ relative: String) throws(EngineError) {
        var path = descriptor.directory
        for part in relative.split(separator: "/") {
            let parent = path
            path += "/" + part
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue { continue }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            } catch {
                throw .execution("cannot create the partition directory \(path): \(error.localizedDescription)")
            }
            try EngineError.io(.execution) { () throws(FileError) in try DurableFile.syncDirectory(parent) }
        }
    }
}

extension FileSink {
    /// The `index`-th part file of batch `batchId`: `part-<batch, 10 digits>.<ext>`, then
    /// `part-<batch>-<index>.<ext>` when the batch rolls over to more files.
    private func partName(_ batchId: Int64, _ index: Int) -> String {
        let digits = String(batchId)
        let base = "part-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
        return base + (index == 0 ? "" : "-\(index)") + "." + descriptor.format.rawValue
    }

    /// Writes a batch's part files into `prefix` (a partition directory and `/`, or empty), rolling
    /// over at `fileBytesMax`; the files with their rows and sizes.
    private func writeParts(_ batch: RecordBatch, batchId: Int64, in prefix: String) throws(EngineError) -> [LakeLog.FileEntry] {
        if descriptor.format == .parquet { return try writeParquet(batch, batchId: batchId, in: prefix) }
        return try EngineError.io(.execution) { () throws(FileError) in try writeText(batch, batchId: batchId, in: prefix) }
    }

    /// Parquet files, a row group at a time: a file is closed once it holds `fileBytesMax` bytes.
    private func writeParquet(_ batch: RecordBatch, batchId: Int64, in prefix: String) throws(EngineError) -> [LakeLog.FileEntry] {
        var files: [LakeLog.FileEntry] = []
        func save(_ writer: inout ParquetWriter) throws(EngineError) {
            let name = prefix + partName(batchId, files.count)
            let bytes: [UInt8]
            do { bytes = try writer.finish() } catch { throw .execution("cannot write \(name) as Parquet: \(error)") }
            try EngineError.io(.execution) { () throws(FileError) in
                var file = try DurableFileWriter(descriptor.directory + "/" + name, temporary: Self.temporaryPath(descriptor.directory + "/" + name))
                try file.write(bytes)
                try file.commit()
            }
            files.append(LakeLog.FileEntry(path: name, rows: writer.rowCount, bytes: bytes.count))
        }
        do {
            var writer = try ParquetWriter(schema: batch.schema, options: descriptor.parquet)
            let groupRows = descriptor.parquet.rowGroupRows
            var row = 0
            while row < batch.count {
                let end = min(batch.count, row + groupRows)
                try writer.write(row == 0 && end == batch.count ? batch : batch.take((row..<end).map { Int32($0) }))
                row = end
                if writer.bytesWritten >= descriptor.fileBytesMax && row < batch.count {
                    try save(&writer)
                    writer = try ParquetWriter(schema: batch.schema, options: descriptor.parquet)
                }
            }
            try save(&writer)
        } catch let error as EngineError {
            throw error
        } catch {
            throw .execution("cannot write \(descriptor.directory) as Parquet: \(error)")
        }
        return files
    }

    /// JSON-lines or CSV files, encoded and written a slice of rows at a time so a large batch never
    /// sits in memory as text; a file is closed once it holds `fileBytesMax` bytes.
    private func writeText(_ batch: RecordBatch, batchId: Int64, in prefix: String) throws(FileError) -> [LakeLog.FileEntry] {
        var files: [LakeLog.FileEntry] = []
        var name = prefix + partName(batchId, 0)
        var file = try DurableFileWriter(descriptor.directory + "/" + name, temporary: Self.temporaryPath(descriptor.directory + "/" + name))
        var fileBytes = 0, fileRows = 0
        var text: [UInt8] = []
        var row = 0
        while row < batch.count {
            if fileBytes >= descriptor.fileBytesMax {
                try file.commit()
                files.append(LakeLog.FileEntry(path: name, rows: fileRows, bytes: fileBytes))
                name = prefix + partName(batchId, files.count)
                file = try DurableFileWriter(descriptor.directory + "/" + name, temporary: Self.temporaryPath(descriptor.directory + "/" + name))
                fileBytes = 0
                fileRows = 0
                // Every CSV file starts with its header.
                if descriptor.format == .csv && descriptor.options.includeHeader { CSVEncoder(options: descriptor.options).encodeHeader(batch.schema, into: &text) }
            }
            let rows = row..<min(batch.count, row + Self.rowsPerWrite)
            switch descriptor.format {
            case .jsonLines: JSONLinesEncoder(options: descriptor.options).encode(batch, rows: rows, into: &text)
            case .csv: CSVEncoder(options: descriptor.options).encode(batch, rows: rows, into: &text)
            case .parquet: preconditionFailure("Parquet parts are written by writeParquet")
            }
            try file.write(text)
            fileBytes += text.count
            fileRows += rows.count
            text.removeAll(keepingCapacity: true)
            row = rows.upperBound
        }
        try file.commit()
        files.append(LakeLog.FileEntry(path: name, rows: fileRows, bytes: fileBytes))
        return files
    }
}

/// Reads a file sink's committed output (tests, the demo, tools).
public enum FileSinkReader {
    /// The table's files now (through the log, compactions applied), as full paths in batch order.
    public static func committedFiles(_ directory: String) throws -> [String] {
        try LakeLog.liveFiles(directory).map { directory + "/" + $0.path }
    }
}
