import EddyWire
/// Supplies the unique part of new member ids; Kafka names members `clientId + "-" + UUID`
/// (static members: `groupInstanceId + "-" + UUID`). A value, so the coordinator stays a value
/// and tests stay deterministic.
protocol MemberIdSource {
    mutating func nextSuffix() -> String
}

/// Production ids: random version-4 UUIDs in the usual 8-4-4-4-12 form.
struct RandomMemberIds<Generator: RandomNumberGenerator>: MemberIdSource {
    var generator: Generator

    init(_ generator: Generator) { self.generator = generator }

    mutating func nextSuffix() -> String {
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0b11 << 62)) | (0b10 << 62)  // RFC 4122 variant
        let hex = hexDigits(high, count: 16) + hexDigits(low, count: 16)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex[hex.index(hex.startIndex, offsetBy: range.lowerBound)..<hex.index(hex.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }

    private func hexDigits(_ value: UInt64, count: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: count - digits.count) + digits
    }
}

extension RandomMemberIds: Sendable where Generator: Sendable {}

/// Test ids: 1, 2, 3, … so member ids read `client-1`, `client-2`.
struct SequentialMemberIds: MemberIdSource, Sendable {
    var next: UInt64 = 1

    mutating func nextSuffix() -> String {
        defer { next += 1 }
        return String(next)
    }
}
