import EddyCore
import EddyEngine
import EddyFormats
import EddyParquet
import Foundation
import Logging
import SQLiteNIO

/// A sink whose newest rows can be read back for people to look at (eddy server's results of a
/// query, after a restart, when the server has seen no row yet). Reads are bounded by `limit`.
public protocol PeekableSink: SinkDescriptor {
    /// At most `limit` of the newest rows the store holds, as JSON objects, oldest first.
    func newestRows(_ limit: Int) throws -> [String]
}

extension SQLiteSinkDescriptor: PeekableSink {
    /// The last `limit` rows by rowid (the order they were inserted in; upserts keep their rowid).
    public func newestRows(_ limit: Int) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let connection = try SQLiteConnection.open(storage: .file(path: path), logger: Logger(label: "eddy.sqlite.peek")).wait()
        defer { try? connection.close().wait() }
        let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let rows: [SQLiteRow]
        do {
            rows = try connection.query("SELECT * FROM \(quoted) ORDER BY rowid DESC LIMIT ?", [.integer(limit)]).wait()
        } catch {
            return []  // no such table yet
        }
        return rows.reversed().map { row in
            "{" + row.columns.map { column in
                let value: String
                switch column.data {
                case .integer(let i): value = String(i)
                case .float(let d): value = d.isFinite ? String(d) : "null"
                case .text(let t): value = jsonText(t)
                case .blob(let b): value = jsonText(Data(b.readableBytesView).base64EncodedString())
                case .null: value = "null"
                }
                return jsonText(column.name) + ":" + value
            }.joined(separator: ",") + "}"
        }
    }
}

extension FileSinkDescriptor: PeekableSink {
    /// The largest file read back for a peek.
    public static let peekFileBytesMax = 64 << 20

    /// The last rows of the newest committed files, JSON lines and Parquet (CSV files are passed over:
    /// their text needs the table's schema to become rows again).
    public func newestRows(_ limit: Int) throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory + "/_eddy_log") else { return [] }
        var rows: [String] = []
        for path in try FileSinkReader.committedFiles(directory).reversed() where rows.count < limit {
            // Files are read whole: one past the cap (a big compacted file) is passed over.
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size <= Self.peekFileBytesMax, let data = FileManager.default.contents(atPath: path) else { continue }
            var lines: [String]
            switch format {
            case .jsonLines:
                lines = data.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            case .parquet:
                let batch = try ParquetReader(Array(data)).readAll()
                var bytes: [UInt8] = []
                JSONLinesEncoder().encode(batch, rows: max(0, batch.count - limit)..<batch.count, into: &bytes)
                lines = bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            case .csv:
                continue
            }
            rows = Array(lines.suffix(limit - rows.count)) + rows
        }
        return rows
    }
}

extension LogSinkDescriptor: PeekableSink {
    /// The newest JSON values of the topic (read_committed), across its partitions by timestamp.
    public func newestRows(_ limit: Int) throws -> [String] {
        guard valueFormat == .json, let ranges = try log.readableRanges(topic, isolation: .readCommitted) else { return [] }
        var found: [(Int64, String)] = []
        for (index, range) in ranges.enumerated() {
            // The newest `limit` offsets, then twice as many, … while they hold fewer rows (transaction
            // markers and other clients' records take offsets too), at most 16 times.
            var window = Int64(limit)
            var rows: [(Int64, String)] = []
            for _ in 0..<16 {
                rows = []
                let start = max(range.start.rawValue, range.end.rawValue - window)
                var from = start
                while from < range.end.rawValue {
                    let next = try log.read(topic, partition: PartitionID(Int32(index)), from: Offset(from), to: range.end, maxBytes: 1 << 20,
                                            isolation: .readCommitted) { record in
                        // Any client may write to the topic: only JSON objects are rows.
                        if let value = record.value, let first = value.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }),
                           first == UInt8(ascii: "{"), (try? JSONSerialization.jsonObject(with: Data(value))) is [String: Any] {
                            rows.append((record.timestamp.millis, String(decoding: value, as: UTF8.self)))
                        }
                    }
                    guard next.rawValue > from else { break }
                    from = next.rawValue
                }
                if rows.count >= limit || start == range.start.rawValue { break }
                window *= 2
            }
            found += rows
        }
        return found.sorted { $0.0 < $1.0 }.suffix(limit).map(\.1)
    }
}

/// A JSON string literal.
private func jsonText(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}
