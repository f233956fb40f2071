import ArgumentParser
import EddyConnectors
import Foundation

/// `eddy lake`: tools for a directory an Eddy files sink writes (a table with `_eddy_log/`).
struct LakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lake",
        abstract: "Tools for a data-lake table written by the filesystem sink (a directory with _eddy_log/).",
        subcommands: [LakeCompactCommand.self]
    )
}

struct LakeCompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge the small files of each partition into larger ones, exactly once.",
        discussion: """
            Runs of consecutive files smaller than --target-file-size in one partition directory are \
            merged, in order, into files of about that size; the table's log (_eddy_log/compact-N) \
            switches readers to the new files atomically, then the old files are deleted. Safe while a \
            query writes the table, and streaming queries reading the table follow it (every row once). \
            Run it again after a crash: it removes what the crashed run left.
            """
    )

    @Argument(help: "The table's directory (the sink's 'path').")
    var directory: String

    @Option(help: "Merge files smaller than this into files of about this size (128MB, 1GB, 65536).")
    var targetFileSize = "128MB"

    @Option(help: "Leave the files of batches committed less than this many seconds ago.")
    var minAgeSeconds: Double = 0

    func validate() throws {
        guard let target = parseByteSize(targetFileSize), target >= 1024 else {
            throw ValidationError("--target-file-size is a size of at least 1 KiB such as 128MB, not '\(targetFileSize)'")
        }
        guard minAgeSeconds >= 0 else { throw ValidationError("--min-age-seconds must not be negative") }
    }

    func run() throws {
        let target = parseByteSize(targetFileSize) ?? 128 << 20
        let report: LakeCompaction.Report
        do {
            report = try LakeCompaction(table: directory, options: .init(targetFileBytes: target, minAgeSeconds: minAgeSeconds)).run()
        } catch {
            throw CommandFailure(description: "eddy lake compact: \(error)")
        }
        var lines: [String] = []
        if report.leftoversRemoved > 0 { lines.append("removed \(report.leftoversRemoved) files left by a crashed compaction") }
        if let sequence = report.sequence {
            lines.append("compact-\(sequence): \(report.filesMerged) files (\(report.bytesBefore) bytes) merged into \(report.filesWritten) (\(report.bytesAfter) bytes), \(report.rows) rows")
        } else {
            lines.append("nothing to compact: no partition has two consecutive files under \(targetFileSize)")
        }
        print(lines.joined(separator: "\n"))
    }
}
