import EddyLog
import Foundation
import EddyWire

/// The topic configs Eddy honours, each backed by a `LogConfig` field. A topic's effective config
/// is the broker's defaults with the topic's overrides applied; DescribeConfigs reports each with
/// its source, AlterConfigs validates values here.
struct TopicConfigKey: Sendable {
    /// Kafka's `DescribeConfigsResponse` config types.
    enum ValueType: Int8, Sendable {
        case boolean = 1, string = 2, int = 3, long = 5, double = 6, list = 7
    }

    let name: String
    let type: ValueType
    let documentation: String
    let read: @Sendable (LogConfig) -> String
    let write: @Sendable (inout LogConfig, String) throws(ConfigError) -> Void
}

struct ConfigError: Error, Sendable, CustomStringConvertible {
    let description: String
}

enum TopicConfigs {
    static let all: [TopicConfigKey] = [
        long("retention.ms", "How long a segment is kept after its newest record, in ms; -1 keeps forever.", min: -1, \.retentionMs),
        long("retention.bytes", "The size a partition is trimmed to by deleting old segments; -1 for no limit.", min: -1, \.retentionBytes),
        int("segment.bytes", "The size at which a segment is rolled.", min: 14, \.segmentBytes),
        long("segment.ms", "The age at which a segment is rolled, in ms.", min: 1, \.segmentMs),
        int("max.message.bytes", "The largest record batch a producer may send.", min: 0, \.maxMessageBytes),
        int("index.interval.bytes", "Log bytes between two offset index entries.", min: 0, \.indexIntervalBytes),
        int("segment.index.bytes", "The size of a segment's offset index; a full index rolls the segment.", min: 4096, \.segmentIndexBytes),
        long("flush.messages", "Messages appended before the log is fsynced regardless of acks.", min: 1, \.flushIntervalMessages),
        long("flush.ms", "Time after which unflushed data is fsynced regardless of acks, in ms.", min: 0, \.flushIntervalMs),
        TopicConfigKey(
            name: "cleanup.policy", type: .list, documentation: "delete, compact, or both (comma-separated).",
            read: { $0.cleanupPolicy },
            write: { config, value throws(ConfigError) in
                let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard !parts.isEmpty, parts.allSatisfy({ $0 == "delete" || $0 == "compact" }) else {
                    throw ConfigError(description: "cleanup.policy must be delete, compact or both, not \(value)")
                }
                config.cleanupPolicy = parts.joined(separator: ",")
            }
        ),
        long("delete.retention.ms", "How long a tombstone stays on a compacted topic after its first cleaning, in ms.", min: 0, \.deleteRetentionMs),
        TopicConfigKey(
            name: "min.cleanable.dirty.ratio", type: .double,
            documentation: "The share of a compacted log not yet cleaned at which a cleaning pass runs (0 to 1).",
            read: { String($0.minCleanableDirtyRatio) },
            write: { config, value throws(ConfigError) in
                guard let r = Double(value), r >= 0, r <= 1 else {
                    throw ConfigError(description: "min.cleanable.dirty.ratio must be a number from 0 to 1, not \(value)")
                }
                config.minCleanableDirtyRatio = r
            }
        ),
        TopicConfigKey(
            name: "preallocate", type: .boolean,
            documentation: "Reserve disk blocks ahead of appends, up to 16 MiB (Eddy's default true; Kafka's false).",
            read: { String($0.preallocate) },
            write: { config, value throws(ConfigError) in
                switch value.lowercased() {
                case "true": config.preallocate = true
                case "false": config.preallocate = false
                default: throw ConfigError(description: "preallocate must be true or false, not \(value)")
                }
            }
        ),
        TopicConfigKey(
            name: "message.timestamp.type", type: .string, documentation: "CreateTime (the producer's) or LogAppendTime (the broker's).",
            read: { $0.messageTimestampType == .logAppendTime ? "LogAppendTime" : "CreateTime" },
            write: { config, value throws(ConfigError) in
                switch value {
                case "CreateTime": config.messageTimestampType = .createTime
                case "LogAppendTime": config.messageTimestampType = .logAppendTime
                default: throw ConfigError(description: "message.timestamp.type must be CreateTime or LogAppendTime, not \(value)")
                }
            }
        ),
    ]

    static let byName: [String: TopicConfigKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The broker defaults with `overrides` applied; the first bad name or value throws.
    static func effective(_ overrides: [String: String], defaults: LogConfig) throws(ConfigError) -> LogConfig {
        var config = defaults
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let key = byName[name] else { throw ConfigError(description: "unknown topic config \(name)") }
            try key.write(&config, value)
        }
        return config
    }

    private static func long(_ name: String, _ doc: String, min: Int64, _ path: WritableKeyPath<LogConfig, Int64> & Sendable) -> TopicConfigKey {
        TopicConfigKey(
            name: name, type: .long, documentation: doc,
            read: { String($0[keyPath: path]) },
            write: { config, value throws(ConfigError) in
                guard let n = Int64(value), n >= min else { throw ConfigError(description: "\(name) must be an integer >= \(min), not \(value)") }
                config[keyPath: path] = n
            }
        )
    }

    private static func int(_ name: String, _ doc: String, min: Int, _ path: WritableKeyPath<LogConfig, Int> & Sendable) -> TopicConfigKey {
        TopicConfigKey(
            name: name, type: .int, documentation: doc,
            read: { String($0[keyPath: path]) },
            write: { config, value throws(ConfigError) in
                guard let n = Int(value), n >= min, n <= Int(Int32.max) else {
                    throw ConfigError(description: "\(name) must be an integer from \(min) to \(Int32.max), not \(value)")
                }
                config[keyPath: path] = n
            }
        )
    }
}
