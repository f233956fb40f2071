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
/// <dir>/state/<batchId>/<operator>     operator state after the batch, whole (binary, see StateFile)
/// <dir>/state/<batchId>/<operator>.delta  or what changed since the batch before (incremental)
/// <dir>/sources/<index>/               each source's own metadata (e.g. the file log)
/// ```
///
/// Every file is written to a temporary name, fsynced, renamed into place and the directory fsynced,
/// so a crash leaves either the old or the new file, never a torn one. Entries older than the last
/// `retainBatches` commits are deleted after each commit, except the snapshots and deltas the kept
/// batches restore from.
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

    /// Writes every operator's state after `batchId` (the directory appears whole, by rename): a
    /// whole snapshot as `<operator>`, a delta over the state after `batchId - 1` as
    /// `<operator>.delta`.
    public func writeState(_ batchId: Int64, _ states: [String: OperatorState]) throws(EngineError) {
        let final = "\(directory)/state/\(batchId)"
        let temporary = final + ".tmp"
        try Self.removeItem(temporary)
        try Self.makeDirectory(temporary)
        for (name, state) in states {
            switch state {
            case .snapshot(let bytes): try Self.writeStateFile(bytes, to: "\(temporary)/\(name)", syncDirectory: false)
            case .delta(let bytes): try Self.writeStateFile(bytes, to: "\(temporary)/\(name)\(Self.deltaSuffix)", syncDirectory: false)
            }
        }
        try Self.syncDirectory(temporary)
        try Self.removeItem(final)
        try Self.rename(temporary, final)
        try Self.syncDirectory(directory + "/state")
    }

    /// Adds a whole snapshot of `name` to the state after `batchId` (a compaction of its deltas); the
    /// file appears whole, by rename.
    public func writeSnapshot(_ batchId: Int64, operator name: String, _ bytes: [UInt8]) throws(EngineError) {
        try Self.writeStateFile(bytes, to: "\(directory)/state/\(batchId)/\(name)", syncDirectory: true)
    }

    /// What restores operator `name` to its state after `batchId`: the newest snapshot at or before it
    /// and the deltas after that snapshot, oldest first. Nil when `state/<batchId>` holds nothing for
    /// the operator; a checkpoint error when the chain back to a snapshot is broken or a file is damaged.
    public func readState(_ batchId: Int64, operator name: String) throws(EngineError) -> StateChain? {
        var deltas: [[UInt8]] = []
        var batch = batchId
        while batch >= 0 {
            let path = "\(directory)/state/\(batch)/\(name)"
            if let bytes = try Self.readFile(path) {
                return StateChain(snapshot: try StateFile.decode(bytes, path: path), snapshotBatchId: batch, deltas: deltas.reversed())
            }
            guard let bytes = try Self.readFile(path + Self.deltaSuffix) else { break }
            deltas.append(try StateFile.decode(bytes, path: path + Self.deltaSuffix))
            batch -= 1
        }
        if batch == batchId { return nil }
        throw .checkpoint("""
            state/\(batchId)/\(name) is a delta, and the chain back to a whole snapshot breaks at state/\(batch): \
            the checkpoint is damaged
            """)
    }

    static let deltaSuffix = ".delta"
    /// A directory for source number `index` to keep its own metadata in.
    public func sourceDirectory(_ index: Int) throws(EngineError) -> String {
        let path = "\(directory)/sources/\(index)"
        try Self.makeDirectory(path)
        return path
    }

    /// Deletes offsets, commits and state of batches older than the newest `retainBatches` commits,
    /// keeping the state those batches restore from: for each operator, the newest whole snapshot at
    /// or before the oldest kept batch and the deltas after it.
    public func purge(keepingFrom lastCommitted: Int64) throws(EngineError) {
        let oldest = lastCommitted - Int64(retainBatches) + 1
        for sub in ["offsets", "commits"] {
            for id in try batchIds(in: sub) where id < oldest {
                try Self.removeItem("\(directory)/\(sub)/\(id)")
            }
        }
        let stateBatches = try batchIds(in: "state")
        var keepState = oldest
        if let newest = stateBatches.last {
            for name in try operatorNames(newest) {
                // Deltas and snapshots of this operator from `oldest` back to the snapshot they need.
                var batch = Swift.min(oldest, newest)
                while batch > (stateBatches.first ?? 0), !FileManager.default.fileExists(atPath: "\(directory)/state/\(batch)/\(name)") {
                    batch -= 1
                }
                keepState = Swift.min(keepState, batch)
            }
        }
        // A compaction renames its snapshot in from another thread: make sure the rename is durable
        // before the state it replaces goes.
        let kept = "\(directory)/state/\(keepState)"
        if stateBatches.contains(where: { $0 < keepState }), FileManager.default.fileExists(atPath: kept) { try Self.syncDirectory(kept) }
        for id in stateBatches where id < keepState {
            try Self.removeItem("\(directory)/state/\(id)")
        }
    }

    /// The operators with state in `state/<batchId>`.
    private func operatorNames(_ batchId: Int64) throws(EngineError) -> [String] {
        let path = "\(directory)/state/\(batchId)"
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw .checkpoint("cannot list \(path): \(error.localizedDescription)")
        }
        return Set(names.filter { !$0.hasSuffix(".tmp") }.map { $0.hasSuffix(Self.deltaSuffix) ? String($0.dropLast(Self.deltaSuffix.count)) : $0 }).sorted()
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

    /// A `StateFile` (header, then the payload as it is) written atomically and durably.
    static func writeStateFile(_ payload: [UInt8], to path: String, syncDirectory: Bool) throws(EngineError) {
        try EngineError.io { () throws(FileError) in
            var file = try DurableFileWriter(path)
            try file.write(StateFile.header(payload))
            try file.write(payload)
            try file.commit(syncDirectory: syncDirectory)
        }
    }

    /// Writes `bytes` to `path` atomically and durably (EddyCore's `DurableFile`).
    static func writeFileSynced(_ bytes: [UInt8], to path: String) throws(EngineError) {
        try EngineError.io { () throws(FileError) in try DurableFile.replace(path, with: bytes) }
    }

    static func syncDirectory(_ path: String) throws(EngineError) {
        try EngineError.io { () throws(FileError) in try DurableFile.syncDirectory(path) }
    }
}

/// One operator's state after a batch, as the checkpoint stores it.
public enum OperatorState: Sendable, Equatable {
    /// The whole state.
    case snapshot([UInt8])
    /// What changed since the previous batch's state.
    case delta([UInt8])

    public var bytes: [UInt8] {
        switch self {
        case .snapshot(let bytes), .delta(let bytes): bytes
        }
    }

    public var isSnapshot: Bool {
        if case .snapshot = self { true } else { false }
    }
}

/// What restores an operator to its state after a batch: a whole snapshot (of batch
/// `snapshotBatchId`) and the deltas of the batches after it, oldest first.
public struct StateChain: Sendable {
    public var snapshot: [UInt8]
    public var snapshotBatchId: Int64
    public var deltas: [[UInt8]]
}
