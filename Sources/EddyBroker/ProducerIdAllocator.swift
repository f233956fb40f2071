import EddyCore
import EddyLog
import Foundation
import NIOConcurrencyHelpers

/// Hands out producer ids (InitProducerId) that are never reused, even across crashes: ids are
/// reserved in blocks of `blockSize`, and the end of the current block is written durably to
/// `<data>/eddy-producer-ids` (one decimal number) before any id of the block is given out. A crash
/// skips the rest of a block, as Kafka's block allocation does.
final class ProducerIdAllocator: Sendable {
    static let fileName = "eddy-producer-ids"
    static let blockSize: Int64 = 1000

    private let path: String
    private let state: NIOLockedValueBox<(next: Int64, reservedUpTo: Int64)>

    init(dataDirectory: String) throws {
        path = dataDirectory + "/" + Self.fileName
        var start: Int64 = 0
        if let data = FileManager.default.contents(atPath: path) {
            guard let text = String(data: data, encoding: .utf8),
                  let value = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), value >= 0 else {
                throw ProducerIdFileError(description: "\(path) does not hold a producer id; remove it only if no producer from before may come back")
            }
            start = value
        }
        state = NIOLockedValueBox((start, start))
    }

    /// A fresh producer id.
    func next() throws -> Int64 {
        try state.withLockedValue { s in
            if s.next >= s.reservedUpTo {
                let end = s.next + Self.blockSize
                try DurableFile.replace(path, with: Array("\(end)\n".utf8))
                s.reservedUpTo = end
            }
            defer { s.next += 1 }
            return s.next
        }
    }
}

struct ProducerIdFileError: Error, CustomStringConvertible {
    let description: String
}
