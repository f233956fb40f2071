import EddyConnectors
import EddyEngine
import EddyFormats
import EddySQL
import Foundation

/// A setting that cannot be used, with the reason (the CLI and the server show it as it is).
public struct SettingError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// How a query of a SQL file runs, shared by `eddy run` and `eddy server`: the flags, then the
/// file's SETs, then the defaults.
public struct QuerySettings: Sendable {
    /// Read the input up to where it ends now, then stop (availableNow).
    public var bounded = false
    /// Trigger interval, over the file's SET (`eddy run --interval-ms`).
    public var intervalMs: Int64?
    /// Trigger interval when neither `intervalMs` nor the file's SET gives one (`eddy server --interval-ms`); else 1000 ms.
    public var defaultIntervalMs: Int64?
    public var maxBytesPerTrigger: Int64 = 24 << 20
    /// A directory (JSON lines) or kafka://HOST:PORT/TOPIC.
    public var deadLetters: String?

    public init() {}

    /// The trigger, read limit, state limit and dead letters, from these settings and the file's SETs.
    public func options(_ sets: [String: String]) throws(SettingError) -> QueryOptions {
        var options = QueryOptions()
        if bounded {
            options.trigger = .availableNow
        } else {
            var interval = intervalMs ?? defaultIntervalMs ?? 1000
            if intervalMs == nil, let text = sets["execution.checkpointing.interval"] {
                guard let parsed = TableOptions.parseDuration(text) else {
                    throw SettingError("SET 'execution.checkpointing.interval' = '\(text)': not a duration ('1 s', '500 ms')")
                }
                interval = parsed.milliseconds
            }
            options.trigger = .processingTime(intervalMs: interval)
        }
        options.readLimit = ReadLimit(maxBytes: maxBytesPerTrigger)
        if let text = sets["table.exec.state.max-bytes"] {
            guard let bytes = Int(text), bytes > 0 else {
                throw SettingError("SET 'table.exec.state.max-bytes' = '\(text)': not a positive number of bytes")
            }
            options.stateBytesLimit = bytes
        }
        if let text = sets["table.exec.state.ttl"] {
            guard let duration = TableOptions.parseDuration(text) else {
                throw SettingError("SET 'table.exec.state.ttl' = '\(text)': not a duration ('1 h', '30 min', '0' to keep state forever)")
            }
            options.stateTTLMs = duration.milliseconds > 0 ? duration.milliseconds : nil
        }
        if let text = sets["state.backend.incremental"] {
            switch text.lowercased() {
            case "true": break
            case "false": options.stateMinDeltasForSnapshot = 0
            default: throw SettingError("SET 'state.backend.incremental' = '\(text)': not 'true' or 'false'")
            }
        }
        if let text = sets["table.exec.state.min-deltas-for-snapshot"] {
            guard let count = Int(text), count > 0, count <= 10_000 else {
                throw SettingError("SET 'table.exec.state.min-deltas-for-snapshot' = '\(text)': not a number of batches from 1 to 10000")
            }
            if options.stateMinDeltasForSnapshot > 0 { options.stateMinDeltasForSnapshot = count }
        }
        if let deadLetters { try options.sendDeadLetters(to: deadLetters) }
        return options
    }

    /// A table's name as one directory name: characters other than letters, digits, `_`, `-` and
    /// `.` (and a name of dots) are percent-encoded, so no name reaches outside the checkpoint.
    public static func directoryName(_ name: String) -> String {
        var result = ""
        for byte in name.utf8 {
            let safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (byte == UInt8(ascii: ".") && name.contains { $0 != "." })
            result += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return result
    }
}

extension QueryOptions {
    /// Dead letters (malformed records, late rows and rows a sink refused, as JSON) into files under a
    /// directory, or to a topic of a Kafka-protocol cluster:
    /// `kafka://HOST:PORT[,HOST:PORT…]/TOPIC[?librdkafka.property=value&…]` (percent-encoded values;
    /// security settings, for example).
    public mutating func sendDeadLetters(to destination: String) throws(SettingError) {
        if destination.hasPrefix("kafka://") {
            var rest = destination.dropFirst("kafka://".count)
            var properties: [String: String] = [:]
            if let question = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: question)...].split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, let name = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding,
                          !name.isEmpty else {
                        throw SettingError("--dead-letters \(destination): '\(pair)' is not a property=value pair")
                    }
                    properties[name] = value
                }
                rest = rest[..<question]
            }
            guard let slash = rest.lastIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex else {
                throw SettingError("--dead-letters \(destination): a topic is kafka://HOST:PORT/TOPIC[?property=value&…]")
            }
            let servers = String(rest[..<slash]), topic = String(rest[rest.index(after: slash)...])
            properties["bootstrap.servers"] = servers
            do {
                deadLetters = try LogDeadLetterSink(log: ClusterLogs.shared.log(properties), topic: topic)
            } catch {
                throw SettingError("--dead-letters \(destination): \(error)")
            }
        } else {
            do {
                deadLetters = try FileDeadLetterSink(directory: destination)
            } catch {
                throw SettingError("--dead-letters \(destination): \(error)")
            }
        }
        setsAsideLateRowsAsJSON()
    }

    /// Late rows go to the dead-letter destination too, encoded as JSON objects.
    public mutating func setsAsideLateRowsAsJSON() {
        deadLetterLateRows = true
        encodeRows = { batch in
            var bytes: [UInt8] = []
            JSONLinesEncoder(options: EncodeOptions()).encode(batch, into: &bytes)
            return bytes.split(separator: 0x0A).map(Array.init)
        }
    }
}
