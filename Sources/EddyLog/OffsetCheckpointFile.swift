import EddyCore
import NIOCore

/// A small file holding one offset, replaced atomically (write a temporary file, fsync, rename,
/// fsync the directory) so a crash leaves the old value or the new one, never a mix.
///
/// Format (ASCII, like Kafka's checkpoint files but for one partition):
///
///     0\n           version
///     <offset>\n    the offset in decimal
///
/// A file that does not parse is reported and ignored, never trusted.
struct OffsetCheckpointFile {
    let path: String
    let directory: String

    static let version = "0"

    /// The stored offset, nil when the file is missing; throws `corruptMessage` when it does not parse.
    func read() throws -> Offset? {
        guard var bytes = try FileSystem.readAll(path) else { return nil }
        let text = bytes.readString(length: bytes.readableBytes) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3, lines[0] == Self.version, lines[2].isEmpty, let value = Int64(lines[1]), value >= 0 else {
            throw LogError(.corruptMessage, "\(path) does not hold a version-0 offset checkpoint")
        }
        return Offset(value)
    }

    /// Replaces the file. With `syncDirectory` false the caller fsyncs the directory itself (until
    /// then a crash may leave the old value, never a broken one).
    func write(_ offset: Offset, syncDirectory: Bool = true) throws {
        precondition(offset.rawValue >= 0, "checkpoint of negative offset \(offset)")
        try FileSystem.replaceDurably(path, ByteBuffer(string: "\(Self.version)\n\(offset.rawValue)\n"),
                                      directory: syncDirectory ? directory : nil)
    }
}
