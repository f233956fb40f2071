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
            let digits = String(batchId)
            let name = "part-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits + "." + descriptor.format.rawValue
            let path = descriptor.directory + "/" + name
            byteCount = try writePart(batch, to: path)
            files.append(name)
        }
        let entry = ManifestEntry(batchId: batchId, files: files, rows: batch.count, bytes: byteCount)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(entry) else { throw .internal("cannot encode a manifest entry") }
        try EngineError.io(.execution) { () throws(FileError) in try DurableFile.replace(manifest, with: Array(json) + [0x0A]) }
    }
}

extension FileSink {
    /// Writes a part file, encoded and written a slice of rows at a time so a large batch never
    /// sits in memory as text; returns its size.
    private func writePart(_ batch: RecordBatch, to path: String) throws(EngineError) -> Int {
        if descriptor.format == .parquet {
            let bytes: [UInt8]
            do {
                var writer = try ParquetWriter(schema: batch.schema, options: descriptor.parquet)
                try writer.write(batch)
                bytes = try writer.finish()
            } catch {
                throw .execution("cannot write \(path) as Parquet: \(error)")
            }
            try EngineError.io(.execution) { () throws(FileError) in
                var file = try DurableFileWriter(path)
                try file.write(bytes)
                try file.commit()
            }
            return bytes.count
        }
        return try EngineError.io(.execution) { () throws(FileError) in try writeText(batch, to: path) }
    }

    private func writeText(_ batch: RecordBatch, to path: String) throws(FileError) -> Int {
        var file = try DurableFileWriter(path)
        var text: [UInt8] = []
        var byteCount = 0
        var row = 0
        while row < batch.count {
            let rows = row..<min(batch.count, row + Self.rowsPerWrite)
            switch descriptor.format {
            case .jsonLines: JSONLinesEncoder(options: descriptor.options).encode(batch, rows: rows, into: &text)
            case .csv: CSVEncoder(options: descriptor.options).encode(batch, rows: rows, into: &text)
            case .parquet: preconditionFailure("Parquet parts are written whole")
            }
            try file.write(text)
            byteCount += text.count
            text.removeAll(keepingCapacity: true)
            row = rows.upperBound
        }
        try file.commit()
        return byteCount
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
