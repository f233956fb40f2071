import EddyCore
import EddyEngine
import Foundation

/// Dead letters as JSON lines appended to `<directory>/dead-letters.jsonl`: reason, detail, source,
/// partition, offset, the record's bytes as text (invalid UTF-8 replaced), and the query, batch and
/// index that identify it. At least once: a replayed batch appends its letters again, with the same
/// query, batch and index (readers can drop repeats by them).
public final class FileDeadLetterSink: DeadLetterSink, @unchecked Sendable {
    let path: String
    private let handle: FileHandle

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/dead-letters.jsonl"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw EngineError.configuration("cannot open \(path) for dead letters")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    public var description: String { "files[\(path)]" }

    struct Line: Encodable {
        var reason: String
        var detail: String
        var source: String
        var partition: String
        var offset: Int64?
        var value: String
        var queryId: String?
        var batchId: Int64?
        var index: Int?
    }

    public func write(_ letters: [DeadLetter]) throws(EngineError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for letter in letters {
            let line = Line(reason: letter.reason.rawValue, detail: letter.detail, source: letter.source,
                            partition: letter.partition.map { String($0.rawValue) } ?? "", offset: letter.offset, value: String(decoding: letter.value, as: UTF8.self),
                            queryId: letter.queryId, batchId: letter.batchId, index: letter.index)
            guard let json = try? encoder.encode(line) else { continue }
            bytes += Array(json) + [0x0A]
        }
        do {
            try handle.write(contentsOf: Data(bytes))
            try handle.synchronize()
        } catch {
            throw .execution("cannot append dead letters to \(path): \(error.localizedDescription)")
        }
    }
}
