import EddyEngine

/// A table's `WITH (...)` options, with where each was written, so a connector's complaint points at
/// the option. Keys are matched exactly, as Flink matches them.
public struct TableOptions: Sendable {
    public let entries: [TableOption]
    /// Where the table was declared (for a missing option).
    public let location: SourceLocation

    public init(_ entries: [TableOption], location: SourceLocation) {
        self.entries = entries
        self.location = location
    }

    public subscript(key: String) -> String? {
        entries.last(where: { $0.key == key })?.value
    }

    public func location(of key: String) -> SourceLocation {
        entries.last(where: { $0.key == key })?.location ?? location
    }

    /// The value of `key`, or an error naming it.
    public func required(_ key: String, _ purpose: String) throws(SQLError) -> String {
        guard let value = self[key] else { throw SQLError("option '\(key)' is required: \(purpose)", at: location) }
        return value
    }

    public func integer(_ key: String, in range: ClosedRange<Int64> = 0...Int64.max) throws(SQLError) -> Int64? {
        guard let text = self[key] else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw SQLError("option '\(key)' must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'", at: location(of: key))
        }
        return value
    }

    /// `key`'s value among `choices`, or an error listing them.
    public func choice(_ key: String, _ choices: [String], default fallback: String? = nil) throws(SQLError) -> String? {
        guard let value = self[key] else { return fallback }
        guard choices.contains(value) else {
            throw SQLError("option '\(key)' must be one of \(choices.map { "'\($0)'" }.joined(separator: ", ")), got '\(value)'", at: location(of: key))
        }
        return value
    }

    /// A duration as Flink writes it: `10 s`, `500ms`, `1 min`, `2h`, or a number of milliseconds.
    public func duration(_ key: String) throws(SQLError) -> Interval? {
        guard let text = self[key] else { return nil }
        guard let interval = Self.parseDuration(text) else {
            throw SQLError("option '\(key)' must be a duration such as '10 s', '500 ms' or '1 min', got '\(text)'", at: location(of: key))
        }
        return interval
    }

    /// `10 s`, `500ms`, `1 min`, `2h`, `1 day`, or a number of milliseconds; nil for anything else.
    public static func parseDuration(_ text: String) -> Interval? {
        let trimmed = text.filter { $0 != " " }.lowercased()
        let digits = trimmed.prefix(while: \.isNumber)
        guard let amount = Int64(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count)
        let factors: [String: Int64] = [
            "": 1, "ms": 1, "milli": 1, "millis": 1, "millisecond": 1, "milliseconds": 1,
            "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
            "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000, "m": 60_000,
            "h": 3_600_000, "hour": 3_600_000, "hours": 3_600_000, "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
        ]
        guard let factor = factors[String(unit)] else { return nil }
        let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
        return overflow ? nil : .milliseconds(product)
    }
}

/// What a connector is handed to open a table: its declared columns (physical and metadata, in
/// engine types), its key, options, and how the run reads it.
public struct TableDefinition: Sendable {
    public var name: String
    /// The columns the connector produces (physical and metadata), in declared order.
    public var schema: Schema
    /// Metadata columns: column name → metadata key (`timestamp`, `partition`, `offset`, `headers`).
    public var metadata: [String: String]
    public var primaryKey: [String]?
    public var options: TableOptions
    /// The run reads sources up to where they end now (`eddy run --bounded`).
    public var bounded: Bool
    public var location: SourceLocation
    /// `PARTITIONED BY` columns, in order (only connectors with `partitionable` accept them).
    public var partitionKeys: [String] = []
    /// DECIMAL(p, s) columns by name → p (the engine keeps 18 digits; stores can use p).
    public var decimalPrecision: [String: Int] = [:]
}

/// How a sink takes a query's changes (Flink's changelog modes, Spark's output modes).
public enum SinkMode: String, Sendable, Hashable {
    /// Only inserts: windows once final, rows of a query without aggregation.
    case append
    /// Upserts by the table's primary key.
    case update
    /// The whole result again each batch.
    case complete
}

/// One `connector` of `CREATE TABLE … WITH ('connector' = name)`: turns a definition into the engine's
/// source and sink descriptors. Adding a connector is one registration in `ConnectorRegistry`.
public protocol TableConnector: Sendable {
    var name: String { get }
    /// Every option key the connector reads (the others are refused with the nearest known key).
    var optionKeys: Set<String> { get }
    /// Prefixes of further option keys the connector checks itself (datagen's `fields.`).
    var optionPrefixes: [String] { get }
    /// Metadata keys a source offers (`METADATA FROM 'key'`).
    var metadataKeys: Set<String> { get }
    /// Takes `PARTITIONED BY` (the filesystem connector's Hive-style directories).
    var partitionable: Bool { get }
    /// Checks the options when the table is created (so a mistake is reported at its CREATE TABLE).
    func validate(_ table: TableDefinition) throws(SQLError)
    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor
    /// The sink, for a query whose result changes as `mode` says (refuse a mode it cannot take).
    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor
}

extension TableConnector {
    public var optionPrefixes: [String] { [] }
    public var metadataKeys: Set<String> { [] }
    public var partitionable: Bool { false }

    public func validate(_ table: TableDefinition) throws(SQLError) {}

    public func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        throw SQLError("connector '\(name)' is a sink only; it cannot be read", at: table.location)
    }

    public func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        throw SQLError("connector '\(name)' is a source only; it cannot be written", at: table.location)
    }
}

/// The connectors `CREATE TABLE` can name.
public struct ConnectorRegistry: Sendable {
    public private(set) var connectors: [String: any TableConnector] = [:]

    public init(_ connectors: [any TableConnector] = []) {
        for connector in connectors { register(connector) }
    }

    public mutating func register(_ connector: any TableConnector) {
        connectors[connector.name] = connector
    }

    public func connector(for options: TableOptions) throws(SQLError) -> any TableConnector {
        let name = try options.required("connector", "it names where the table's rows live (\(known))")
        guard let connector = connectors[name] else {
            var message = "unknown connector '\(name)'"
            if let near = nearestName(to: name, in: connectors.keys) { message += "; did you mean '\(near)'?" }
            throw SQLError(message + " Connectors: \(known).", at: options.location(of: "connector"))
        }
        for option in options.entries where option.key != "connector" && !connector.optionKeys.contains(option.key)
            && !Self.commonOptions.contains(option.key) && !connector.optionPrefixes.contains(where: { option.key.hasPrefix($0) }) {
            var message = "connector '\(name)' has no option '\(option.key)'"
            if let near = nearestName(to: option.key, in: connector.optionKeys) { message += "; did you mean '\(near)'?" }
            throw SQLError(message + " Options: \(connector.optionKeys.sorted().joined(separator: ", ")).", at: option.location)
        }
        return connector
    }

    private var known: String { connectors.keys.sorted().joined(separator: ", ") }

    /// Options every source table takes: how long a quiet partition holds the watermark back.
    public static let commonOptions: Set<String> = ["scan.watermark.idle-timeout"]
}
