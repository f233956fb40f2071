import EddyCore
import EddyLog
import EddyWire
import Foundation
import NIOConcurrencyHelpers

/// A topic as the registry last saw it (a value: changes replace it in the registry): its id,
/// partitions, config overrides and the effective log config.
struct Topic: Sendable {
    let name: String
    let id: KafkaUUID
    fileprivate(set) var partitions: [Partition]
    fileprivate(set) var overrides: [String: String]
    fileprivate(set) var config: LogConfig
}

struct TopicError: Error, Sendable {
    let code: ErrorCode
    let message: String
}

/// `eddy-topics.json` holds what the broker cannot use. It refuses to start rather than guess: a
/// topic's overrides replaced by defaults could delete what retention.ms=-1 was keeping.
struct StoredTopicsError: Error, Sendable, CustomStringConvertible {
    let description: String
}

/// The broker's topics. Their list, ids, partition counts and config overrides are kept in
/// `<data>/eddy-topics.json` (rewritten atomically on every change); partition data lives in
/// `<data>/<topic>-<partition>/` as EddyLog lays it out.
final class TopicRegistry: @unchecked Sendable {
    private struct Stored: Codable {
        var name: String
        var id: String
        var partitions: Int32
        var configs: [String: String]
    }

    static let metadataFile = "eddy-topics.json"
    static let maxNameLength = 249

    private let lock = NIOLock()
    private var topics: [String: Topic] = [:]
    private let dataDirectory: String
    private let defaults: LogConfig
    private let clock: @Sendable () -> Int64

    init(dataDirectory: String, defaults: LogConfig, clock: @escaping @Sendable () -> Int64) throws {
        self.dataDirectory = dataDirectory
        self.defaults = defaults
        self.clock = clock
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = dataDirectory + "/" + Self.metadataFile
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let list: [Stored]
        do { list = try JSONDecoder().decode([Stored].self, from: data) } catch {
            throw StoredTopicsError(description: "cannot read the topic list \(path): \(error)")
        }
        for stored in list {
            let config: LogConfig
            do { config = try TopicConfigs.effective(stored.configs, defaults: defaults) } catch {
                throw StoredTopicsError(description: "\(path): the stored configs of topic \(stored.name) do not parse: \(error); "
                    + "correct or remove them by hand")
            }
            let partitions = try (0..<stored.partitions).map { try openPartition(stored.name, $0, config) }
            topics[stored.name] = Topic(name: stored.name, id: KafkaUUID(hex: stored.id) ?? .random(),
                                        partitions: partitions, overrides: stored.configs, config: config)
        }
    }

    private func openPartition(_ topic: String, _ index: Int32, _ config: LogConfig) throws -> Partition {
        let tp = TopicPartition(topic, PartitionID(index))
        let log = try PartitionLog.open(directory: "\(dataDirectory)/\(tp)", config: config, now: clock)
        return Partition(tp, log: log)
    }

    // MARK: Reading

    func topic(_ name: String) -> Topic? { lock.withLock { topics[name] } }

    func topic(id: KafkaUUID) -> Topic? { lock.withLock { topics.values.first { $0.id == id } } }

    var all: [Topic] { lock.withLock { topics.values.sorted { $0.name < $1.name } } }

    func partition(_ topic: String, _ index: Int32) -> Partition? {
        lock.withLock {
            guard let t = topics[topic], index >= 0, Int(index) < t.partitions.count else { return nil }
            return t.partitions[Int(index)]
        }
    }

    // MARK: Changing

    static func validateName(_ name: String) throws(TopicError) {
        guard !name.isEmpty, name != ".", name != "..", name.utf8.count <= maxNameLength,
              name.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw TopicError(code: .invalidTopic, message: "topic name \"\(name)\" is not 1 to \(maxNameLength) characters of [a-zA-Z0-9._-]")
        }
    }

    /// Creates a topic (or only checks that it could be, with `validateOnly`).
    @discardableResult
    func create(_ name: String, partitions: Int32, overrides: [String: String], validateOnly: Bool = false) throws -> Topic {
        try Self.validateName(name)
        guard partitions > 0 else { throw TopicError(code: .invalidPartitions, message: "partition count must be positive, not \(partitions)") }
        guard partitions <= 10_000 else { throw TopicError(code: .invalidPartitions, message: "at most 10000 partitions per topic") }
        let config: LogConfig
        do { config = try TopicConfigs.effective(overrides, defaults: defaults) } catch {
            throw TopicError(code: .invalidConfig, message: "\(error)")
        }
        return try lock.withLock {
            if topics[name] != nil { throw TopicError(code: .topicAlreadyExists, message: "topic \(name) already exists") }
            var topic = Topic(name: name, id: .random(), partitions: [], overrides: overrides, config: config)
            if validateOnly { return topic }
            topic.partitions = try (0..<partitions).map { try openPartition(name, $0, config) }
            topics[name] = topic
            try persistLocked()
            return topic
        }
    }

    func delete(_ name: String) throws {
        try lock.withLock {
            guard let topic = topics.removeValue(forKey: name) else {
                throw TopicError(code: .unknownTopicOrPartition, message: "no topic \(name)")
            }
            try persistLocked()
            for p in topic.partitions { try p.withLog { try $0.delete() } }
        }
    }

    func addPartitions(_ name: String, totalCount: Int32, validateOnly: Bool) throws {
        try lock.withLock {
            guard let topic = topics[name] else { throw TopicError(code: .unknownTopicOrPartition, message: "no topic \(name)") }
            let current = Int32(topic.partitions.count)
            guard totalCount > current else {
                throw TopicError(code: .invalidPartitions, message: "topic \(name) has \(current) partitions; the new count \(totalCount) must be larger")
            }
            guard totalCount <= 10_000 else { throw TopicError(code: .invalidPartitions, message: "at most 10000 partitions per topic") }
            if validateOnly { return }
            topics[name]!.partitions += try (current..<totalCount).map { try openPartition(name, $0, topic.config) }
            try persistLocked()
        }
    }

    /// Replaces a topic's overrides (AlterConfigs) or edits them (IncrementalAlterConfigs builds the
    /// new set), validating the whole result before anything changes.
    func setOverrides(_ name: String, validateOnly: Bool, _ change: ([String: String]) throws -> [String: String]) throws {
        try lock.withLock {
            guard let topic = topics[name] else { throw TopicError(code: .unknownTopicOrPartition, message: "no topic \(name)") }
            let overrides = try change(topic.overrides)
            let config: LogConfig
            do { config = try TopicConfigs.effective(overrides, defaults: defaults) } catch {
                throw TopicError(code: .invalidConfig, message: "\(error)")
            }
            if validateOnly { return }
            topics[name]!.overrides = overrides
            topics[name]!.config = config
            for p in topic.partitions { p.withLog { $0.config = config } }
            try persistLocked()
        }
    }

    private func persistLocked() throws {
        let stored = topics.values.sorted { $0.name < $1.name }.map {
            Stored(name: $0.name, id: $0.id.hex, partitions: Int32($0.partitions.count), configs: $0.overrides)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.replace(dataDirectory + "/" + Self.metadataFile, with: try encoder.encode(stored))
    }

    func closeAll() throws {
        for topic in all { for p in topic.partitions { try p.withLog { try $0.close() } } }
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
    }
}

extension KafkaUUID {
    static func random() -> KafkaUUID {
        var id = KafkaUUID(high: .random(in: 1...UInt64.max), low: .random(in: 0...UInt64.max))
        id.high &= ~(0xF << 12)
        id.high |= 4 << 12  // a version-4 UUID, as Kafka makes
        return id
    }

    var hex: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }

    init?(hex: String) {
        guard hex.count == 32, let h = UInt64(hex.prefix(16), radix: 16), let l = UInt64(hex.suffix(16), radix: 16) else { return nil }
        self.init(high: h, low: l)
    }
}
