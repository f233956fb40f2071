import EddyEngine
import Foundation

/// Rows for any schema, as Flink's datagen connector makes them: each column random (within a range,
/// or of a length) or a sequence, some NULL at a rate. Row i is the same in every run (its values are
/// drawn from a generator seeded by the seed and i), so a query over it replays exactly.
///
/// Timestamps are event times rather than Flink's "now minus a random age": row i is at
/// `start + i × 1000 / rows-per-second` ms (i ms without a rate), minus up to `max-past` of disorder,
/// so windows and watermarks behave the same in every run.
public struct RandomRows: RowGenerator {
    public enum Kind: Sendable, Hashable {
        case random
        case sequence(start: Int64, end: Int64)
    }

    /// How one column is made.
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: DataType
        public var kind: Kind = .random
        /// Numbers: the range, inclusive for integers and decimals (in whole units), [min, max) for
        /// doubles. A sequence counts whole units too.
        public var min: Double = 0
        public var max: Double = 1_000_000
        /// Strings: characters per value.
        public var length = 10
        /// Timestamps: the most a row's time lags its place in the sequence, in ms.
        public var maxPastMs: Int64 = 0
        public var nullRate: Double = 0

        public init(name: String, type: DataType) {
            self.name = name
            self.type = type
        }
    }

    public var columns: [Column]
    public var count: Int64
    public var seed: UInt64
    public var startMs: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
    /// Rows per second of event time (nil: one row per millisecond).
    public var rowsPerSecond: Int64?

    public init(columns: [Column], count: Int64, seed: UInt64) {
        self.columns = columns
        self.count = count
        self.seed = seed
    }

    public var schema: Schema { Schema(columns.map { Field($0.name, $0.type) }) }
    public var summary: String { "random, seed=\(seed), count=\(count)" }

    static let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    public func appendRow(_ index: Int64, to out: inout [UInt8]) {
        var random = EventRandom(seed: seed, index: index)
        out.append(UInt8(ascii: "{"))
        for (position, column) in columns.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            appendEscaped(column.name, to: &out)
            out.append(contentsOf: "\":".utf8)
            if column.nullRate > 0, random.unit() < column.nullRate {
                out.append(contentsOf: "null".utf8)
                continue
            }
            append(column, index: index, random: &random, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private func append(_ column: Column, index: Int64, random: inout EventRandom, to out: inout [UInt8]) {
        if case .sequence(let start, _) = column.kind {
            let value = start &+ index
            switch column.type {
            case .utf8:
                out.append(UInt8(ascii: "\""))
                appendInt(value, to: &out)
                out.append(UInt8(ascii: "\""))
            case .timestamp: appendInt(startMs &+ value, to: &out)
            case .decimal(let scale): appendDecimal(value &* Int64(pow(10, Double(scale))), scale: scale, to: &out)
            case .bool: out.append(contentsOf: (value % 2 == 0 ? "false" : "true").utf8)
            default: appendInt(value, to: &out)
            }
            return
        }
        switch column.type {
        case .bool:
            out.append(contentsOf: (random.below(2) == 0 ? "false" : "true").utf8)
        case .int64:
            let span = UInt64(column.max - column.min) + 1
            appendInt(Int64(column.min) + Int64(random.below(span)), to: &out)
        case .float64:
            out.append(contentsOf: String(column.min + random.unit() * (column.max - column.min)).utf8)
        case .decimal(let scale):
            let factor = pow(10, Double(scale))
            let low = Int64((column.min * factor).rounded()), high = Int64((column.max * factor).rounded())
            appendDecimal(low + Int64(random.below(UInt64(high - low) + 1)), scale: scale, to: &out)
        case .utf8:
            out.append(UInt8(ascii: "\""))
            for _ in 0..<column.length { out.append(Self.letters[random.below(UInt64(Self.letters.count))]) }
            out.append(UInt8(ascii: "\""))
        case .timestamp, .date:
            let lag = column.maxPastMs > 0 ? Int64(random.below(UInt64(column.maxPastMs) + 1)) : 0
            let offset = rowsPerSecond.map { index &* 1000 / $0 } ?? index
            let millis = startMs &+ offset &- lag
            // A DATE is the day of the time a TIMESTAMP would get, as days since 1970-01-01.
            appendInt(column.type == .date ? floorDivMod(millis, 86_400_000).0 : millis, to: &out)
        }
    }

    private func appendDecimal(_ unscaled: Int64, scale: Int, to out: inout [UInt8]) {
        out.append(contentsOf: formatDecimal(unscaled, scale: scale).utf8)
    }

    private func appendEscaped(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
    }
}
