import EddyCore

/// Names of the files in a partition directory, as Kafka lays them out: each segment is
/// `<base offset, 20 digits zero-padded>.log` with its `.index` and `.timeindex` beside it.
enum SegmentFileName {
    enum Kind: String, CaseIterable {
        case log, index, timeindex
    }

    /// DeleteRecords' log start offset (`OffsetCheckpointFile` format).
    static let logStartOffset = "log-start-offset"
    /// The base offset of the oldest segment that may hold unflushed data (`OffsetCheckpointFile`).
    static let recoveryPoint = "recovery-point-offset"
    /// The end of the last compaction pass: the next one's first dirty offset (`OffsetCheckpointFile`).
    static let cleanerCheckpoint = "cleaner-offset-checkpoint"
    /// Written by `close()` after everything is durable, removed by `open`.
    static let cleanShutdown = ".clean-shutdown"

    static func name(_ base: Offset, _ kind: Kind) -> String {
        let digits = String(base.rawValue)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "." + kind.rawValue
    }

    /// The base offset and kind of a segment file's name, or nil for any other name.
    static func parse(_ name: String) -> (base: Offset, kind: Kind)? {
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let stem = name[..<dot]
        guard stem.count == 20, stem.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int64(stem), let kind = Kind(rawValue: String(name[name.index(after: dot)...]))
        else { return nil }
        return (Offset(value), kind)
    }
}
