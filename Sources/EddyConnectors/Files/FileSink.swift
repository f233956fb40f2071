import EddyCore
import EddyEngine
import EddyFormats
import EddyParquet
import Foundation

/// Writes each micro-batch's rows to a directory as JSON lines, CSV or Parquet, exactly once:
///
/// - batch N's rows go to `part-<N, 10 digits>.<ext>`, written to a temporary name, fsynced and
///   renamed, so a file is either whole or absent;
/// - then `_eddy_manifest/<N>` records the batch (file name, rows, bytes), again atomically;
/// - a batch whose manifest entry exists is ignored (a replay after a crash); a part file without a
///   manifest entry is left over from a crash before the manifest and is overwritten by the replay.
///
/// Readers take the files the manifest lists (Spark's `_spark_metadata` contract); every file in the
/// directory that is not hidden or a temporary is listed once the query has committed the batch. In
/// update mode rows are appended as they change; a reader keeps the last row per upsert key.
public struct FileSinkDescriptor: SinkDescriptor {
    public enum Format: String, Sendable {
        case jsonLines = "jsonl"
        case csv
        case parquet
    }

    public var directory: String
    public var format: Format
    public var options: EncodeOptions
    /// Parquet: codec, row group and page sizes.
    public var parquet = ParquetWriter.Options()
    /// A batch's output rolls over to a new part file once the current one holds this many bytes
    /// (Flink's `sink.rolling-policy.file-size`, default 128 MiB); checked every 8192 rows (JSON,
    /// CSV) or row group (Parquet).
    public var fileBytesMax = 128 << 20

    public var description: String { "files[\(directory), \(format.rawValue)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        try FileSink(self, context: context)
    }
}

extension SinkDescriptor where Self == FileSinkDescriptor {
    public static func files(_ directory: String, format: FileSinkDescriptor.Format = .jsonLines,
                             options: EncodeOptions = EncodeOptions(), parquet: ParquetWriter.Options = ParquetWriter.Options()) -> FileSinkDescriptor {
        FileSinkDescriptor(directory: directory, format: format, options: options, parquet: parquet)
    }
}

final class FileSink: Sink {
    struct ManifestEntry: Codable {
        var batchId: Int64
        var files: [String]
        var rows: Int
        var bytes: Int
    }

    /// Rows encoded per write of a part file.
    static let rowsPerWrite = 8192

    let descriptor: FileSinkDescriptor
    let context: SinkContext
    static let manifestDirectoryName = "_eddy_manifest"
    private var manifestDirectory: String { descriptor.directory + "/" + Self.manifestDirectoryName }

    init(_ descriptor: FileSinkDescriptor, context: SinkContext) throws(EngineError) {
        self.descriptor = descriptor
        self.context = context
        do {
            try FileManager.default.createDirectory(atPath: descriptor.directory + "/_eddy_manifest", withIntermediateDirectories: true)
        } catch {
            throw .configuration("cannot create the sink directory \(descriptor.directory): \(error.localizedDescription)")
        }
    }

    var description: String { descriptor.description }

    func lastCommittedBatch() throws(EngineError) -> Int64? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: manifestDirectory)) ?? []
        return names.compactMap { Int64($0) }.max()
    }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) {
        let manifest = "\(manifestDirectory)/\(batchId)"
        if FileManager.default.fileExists(atPath: manifest) { return }
        var files: [String] = []
        var byteCount = 0
        if !batch.isEmpty {
            (files, byteCount) = try writeParts(batch, batchId: batchId)
        }
        let entry = ManifestEntry(batchId: batchId, files: files, rows: batch.count, bytes: byteCount)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(entry) else { throw .internal("cannot encode a manifest entry") }
        try EngineError.io(.execution) { () throws(FileError) in try DurableFile.replace(manifest, with: Array(json) + [0x0A]) }
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

    /// Writes a batch's part files (rolling over at `fileBytesMax`); their names and total size.
    private func writeParts(_ batch: RecordBatch, batchId: Int64) throws(EngineError) -> ([String], Int) {
        if descriptor.format == .parquet { return try writeParquet(batch, batchId: batchId) }
        return try EngineError.io(.execution) { () throws(FileError) in try writeText(batch, batchId: batchId) }
    }

    /// Parquet files, a row group at a time: a file is closed once it holds `fileBytesMax` bytes.
    private func writeParquet(_ batch: RecordBatch, batchId: Int64) throws(EngineError) -> ([String], Int) {
        var names: [String] = []
        var byteCount = 0
        func save(_ writer: inout ParquetWriter) throws(EngineError) {
            let name = partName(batchId, names.count)
            let bytes: [UInt8]
            do { bytes = try writer.finish() } catch { throw .execution("cannot write \(name) as Parquet: \(error)") }
            try EngineError.io(.execution) { () throws(FileError) in
                var file = try DurableFileWriter(descriptor.directory + "/" + name)
                try file.write(bytes)
                try file.commit()
            }
            names.append(name)
            byteCount += bytes.count
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
        return (names, byteCount)
    }

    /// JSON-lines or CSV files, encoded and written a slice of rows at a time so a large batch never
    /// sits in memory as text; a file is closed once it holds `fileBytesMax` bytes.
    private func writeText(_ batch: RecordBatch, batchId: Int64) throws(FileError) -> ([String], Int) {
        var names = [partName(batchId, 0)]
        var file = try DurableFileWriter(descriptor.directory + "/" + names[0])
        var fileBytes = 0, byteCount = 0
        var text: [UInt8] = []
        var row = 0
        while row < batch.count {
            if fileBytes >= descriptor.fileBytesMax {
                try file.commit()
                names.append(partName(batchId, names.count))
                file = try DurableFileWriter(descriptor.directory + "/" + names[names.count - 1])
                fileBytes = 0
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
            byteCount += text.count
            text.removeAll(keepingCapacity: true)
            row = rows.upperBound
        }
        try file.commit()
        return (names, byteCount)
    }
}

/// Reads a file sink's committed output in batch order (tests, the demo, tools).
public enum FileSinkReader {
    /// The committed part files of `directory`, in batch order.
    public static func committedFiles(_ directory: String) throws -> [String] {
        let manifestDirectory = directory + "/_eddy_manifest"
        let ids = try FileManager.default.contentsOfDirectory(atPath: manifestDirectory).compactMap { Int64($0) }.sorted()
        var files: [String] = []
        for id in ids {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(manifestDirectory)/\(id)"))
            files += try JSONDecoder().decode(FileSink.ManifestEntry.self, from: data).files.map { directory + "/" + $0 }
        }
        return files
    }
}
