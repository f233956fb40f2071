import EddyCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The checkpoint directory of one query (Spark's layout):
///
/// ```
/// <dir>/metadata                       CheckpointMetadata (JSON)
/// <dir>/offsets/<batchId>              OffsetLogEntry (JSON), written before the batch runs
/// <dir>/commits/<batchId>              CommitLogEntry (JSON), written when the batch is done
/// <dir>/state/<batchId>/<operator>     operator state after the batch (binary, see StateFile)
/// <dir>/sources/<index>/               each source's own metadata (e.g. the file log)
/// ```
///
/// Every file is written to a temporary name, fsynced, renamed into place and the directory fsynced,
/// so a crash leaves either the old or the new file, never a torn one. Entries older than the last
/// `retainBatches` commits are deleted after each commit.
public final class CheckpointStore: @unchecked Sendable {
    public let directory: String
    public let retainBatches: Int

    public init(directory: String, retainBatches: Int = 20) throws(EngineError) {
        precondition(retainBatches >= 1, "a checkpoint keeps at least one batch")
        self.directory = directory
        self.retainBatches = retainBatches
        for sub in ["", "/offsets", "/commits", "/state", "/sources"] {
            try Self.makeDirectory(directory + sub)
        }
    }

    // MARK: metadata

    public func readMetadata() throws(EngineError) -> CheckpointMetadata? {
        try readJSON(CheckpointMetadata.self, at: directory + "/metadata")
    }

    public func writeMetadata(_ metadata: CheckpointMetadata) throws(EngineError) {
        try writeJSON(metadata, to: directory + "/metadata")
    }

    // MARK: offsets and commits

    public func offsetBatches() throws(EngineError) -> [Int64] { try batchIds(in: "offsets") }
    public func commitBatches() throws(EngineError) -> [Int64] { try batchIds(in: "commits") }

    public func readOffsets(_ batchId: Int64) throws(EngineError) -> OffsetLogEntry {
        guard let entry = try readJSON(OffsetLogEntry.self, at: "\(directory)/offsets/\(batchId)") else {
            throw .checkpoint("offsets/\(batchId) is missing from \(directory)")
        }
        return entry
    }

    public func writeOffsets(_ entry: OffsetLogEntry) throws(EngineError) {
        try writeJSON(entry, to: "\(directory)/offsets/\(entry.batchId)")
    }

    public func readCommit(_ batchId: Int64) throws(EngineError) -> CommitLogEntry {
        guard let entry = try readJSON(CommitLogEntry.self, at: "\(directory)/commits/\(batchId)") else {
            throw .checkpoint("commits/\(batchId) is missing from \(directory)")
        }
        return entry
    }

    public func writeCommit(_ entry: CommitLogEntry) throws(EngineError) {
        try writeJSON(entry, to: "\(directory)/commits/\(entry.batchId)")
    }

    // MARK: state

    /// Writes every operator's state after `batchId` (the directory appears whole, by rename).
    public func writeState(_ batchId: Int64, _ snapshots: [String: [UInt8]]) throws(EngineError) {
        let final = "\(directory)/state/\(batchId)"
        let temporary = final + ".tmp"
        try Self.removeItem(temporary)
        try Self.makeDirectory(temporary)
        for (name, bytes) in snapshots {
            try Self.writeFileSynced(StateFile.encode(bytes), to: "\(temporary)/\(name)")
        }
        try Self.syncDirectory(temporary)
        try Self.removeItem(final)
        try Self.rename(temporary, final)
        try Self.syncDirectory(directory + "/state")
    }

    public func readState(_ batchId: Int64, operator name: String) throws(EngineError) -> [UInt8]? {
        let path = "\(directory)/state/\(batchId)/\(name)"
        guard let bytes = try Self.readFile(path) else { return nil }
        return try StateFile.decode(bytes, path: path)
    }

    /// A directory for source number `index` to keep its own metadata in.
    public func sourceDirectory(_ index: Int) throws(EngineError) -> String {
        let path = "\(directory)/sources/\(index)"
        try Self.makeDirectory(path)
        return path
    }

    /// Deletes offsets, commits and state of batches older than the newest `retainBatches` commits.
    public func purge(keepingFrom lastCommitted: Int64) throws(EngineError) {
        let oldest = lastCommitted - Int64(retainBatches) + 1
        for sub in ["offsets", "commits", "state"] {
            for id in try batchIds(in: sub) where id < oldest {
                try Self.removeItem("\(directory)/\(sub)/\(id)")
            }
        }
    }

    // MARK: files

    private func batchIds(in sub: String) throws(EngineError) -> [Int64] {
        let path = "\(directory)/\(sub)"
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).compactMap { Int64($0) }.sorted()
        } catch {
            throw .checkpoint("cannot list \(path): \(error.localizedDescription)")
        }
    }

    private func readJSON<T: Decodable>(_ type: T.Type, at path: String) throws(EngineError) -> T? {
        guard let bytes = try Self.readFile(path) else { return nil }
        return try ControlJSON.decode(T.self, from: bytes, path: path)
    }

    private func writeJSON<T: Encodable>(_ value: T, to path: String) throws(EngineError) {
        try Self.writeFileSynced(ControlJSON.encode(value) + [0x0A], to: path)
    }

    static func makeDirectory(_ path: String) throws(EngineError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .checkpoint("cannot create directory \(path): \(error.localizedDescription)")
        }
    }

    static func removeItem(_ path: String) throws(EngineError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw .checkpoint("cannot remove \(path): \(error.localizedDescription)")
        }
    }

    static func rename(_ from: String, _ to: String) throws(EngineError) {
        guard Glibc.rename(from, to) == 0 else {
            throw .checkpoint("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }

    static func readFile(_ path: String) throws(EngineError) -> [UInt8]? {
        try EngineError.io { () throws(FileError) in try DurableFile.read(path) }
    }

    /// Writes `bytes` to `path` atomically and durably (EddyCore's `DurableFile`).
    static func writeFileSynced(_ bytes: [UInt8], to path: String) throws(EngineError) {
        try EngineError.io { () throws(FileError) in try DurableFile.replace(path, with: bytes) }
    }

    static func syncDirectory(_ path: String) throws(EngineError) {
        try EngineError.io { () throws(FileError) in try DurableFile.syncDirectory(path) }
    }
}
