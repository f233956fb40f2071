import EddyEngine
import EddyFormats

/// A row a sink's store refused (a value out of a column's range, a constraint), as JSON, with the
/// store's reason. Sinks keep the rows they reject with the batch they commit, so that a replay of a
/// committed batch returns the same dead letters (see `Sink.write`).
public struct RejectedRow: Codable, Sendable, Hashable {
    public var reason: String
    public var row: String

    public init(reason: String, row: String) {
        self.reason = reason
        self.row = row
    }

    /// Row `row` of `batch` with `reason`.
    init(_ batch: RecordBatch, _ row: Int, reason: String) {
        var json: [UInt8] = []
        JSONLinesEncoder().encode(batch, rows: row..<(row + 1), into: &json)
        if json.last == 0x0A { json.removeLast() }
        self.init(reason: reason, row: String(decoding: json, as: UTF8.self))
    }

    static func deadLetters(_ rows: [RejectedRow], sink: String) -> [DeadLetter] {
        rows.map {
            DeadLetter(reason: .rejected, detail: "\(sink): \($0.reason)", source: sink, partition: nil, offset: nil, value: Array($0.row.utf8))
        }
    }
}
