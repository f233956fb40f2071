import EddyEngine
import Foundation

/// Deterministic event streams for the use cases Eddy is built for, as JSON lines. The same kind, seed
/// and count always give the same bytes, so tests, benchmarks and the demo can be replayed and an
/// oracle (DuckDB) can read the very same input.
///
/// Event times start at `startMs` and increase evenly over `spanMs` across `count` events; a fraction
/// `disorderFraction` of events is shifted back by up to `maxDisorderMs` (out-of-order arrival).
public struct EventGenerator: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// E-commerce purchases: event_id, user_id, category, amount, country, event_time.
        case purchases
        /// Card transactions for fraud detection: txn_id, card_id, merchant, amount, country, event_time.
        case transactions
        /// IoT sensor readings: sensor_id, site, temperature, humidity, event_time.
        case sensors
        /// Nexmark bids: auction, bidder, price, channel, date_time.
        case bids
    }

    public struct Options: Sendable, Hashable {
        public var seed: UInt64 = 42
        /// Total events; the event-time span is spread over them.
        public var count: Int64 = 1_000_000
        public var startMs: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        public var spanMs: Int64 = 2 * 3_600_000
        public var disorderFraction: Double = 0.2
        public var maxDisorderMs: Int64 = 5000
        /// Fraction of lines replaced by malformed ones (to exercise dead-lettering).
        public var malformedFraction: Double = 0
        /// How much a few keys and categories dominate (power law): 0 draws them uniformly; at 1 the
        /// hottest 1 % of keys get a tenth of the events and the first categories most of the orders.
        public var skew: Double = 0

        public init() {}
    }

    public let kind: Kind
    public let options: Options

    public init(_ kind: Kind, options: Options = Options()) {
        self.kind = kind
        self.options = options
    }

    /// The schema a pipeline declares to read this kind.
    public var schema: Schema {
        switch kind {
        case .purchases:
            Schema([Field("event_id", .utf8), Field("user_id", .int64), Field("category", .utf8),
                    Field("amount", .decimal(scale: 2)), Field("country", .utf8), Field("event_time", .timestamp)])
        case .transactions:
            Schema([Field("txn_id", .utf8), Field("card_id", .int64), Field("merchant", .utf8),
                    Field("amount", .decimal(scale: 2)), Field("country", .utf8), Field("event_time", .timestamp)])
        case .sensors:
            Schema([Field("sensor_id", .utf8), Field("site", .utf8), Field("temperature", .float64),
                    Field("humidity", .float64), Field("event_time", .timestamp)])
        case .bids:
            Schema([Field("auction", .int64), Field("bidder", .int64), Field("price", .int64),
                    Field("channel", .utf8), Field("date_time", .timestamp)])
        }
    }

    /// Appends events `range` as JSON lines (each ending in a newline) to `output`.
    public func appendLines(_ range: Range<Int64>, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + range.count * 140)
        for index in range {
            appendEvent(index, to: &output)
            output.append(0x0A)
        }
    }

    /// Appends event `index` as one JSON object (no newline) and returns its key: the user (purchases),
    /// card (transactions), sensor (readings) or auction (bids) it belongs to; the index for a malformed line.
    @discardableResult
    public func appendEvent(_ index: Int64, to out: inout [UInt8]) -> Int64 {
        var random = EventRandom(seed: options.seed, index: index)
        if options.malformedFraction > 0, random.unit() < options.malformedFraction {
            appendMalformed(index, random: &random, to: &out)
            return index
        }
        let time = eventTime(index, random: &random)
        switch kind {
        case .purchases:
            out.append(contentsOf: #"{"event_id":""#.utf8)
            appendHex(random.next(), to: &out)
            out.append(contentsOf: #"","user_id":"#.utf8)
            let user = random.keyDraw(kind, skew: options.skew)
            appendInt(user, to: &out)
            out.append(contentsOf: #","category":""#.utf8)
            out.append(contentsOf: Self.categories[random.skewed(UInt64(Self.categories.count), options.skew)])
            out.append(contentsOf: #"","amount":"#.utf8)
            appendCents(Int64(random.below(49_951)) + 50, to: &out)
            out.append(contentsOf: #","country":""#.utf8)
            out.append(contentsOf: Self.countries[random.below(UInt64(Self.countries.count))])
            out.append(contentsOf: #"","event_time":"#.utf8)
            appendInt(time, to: &out)
            out.append(0x7D)
            return user
        case .transactions:
            out.append(contentsOf: #"{"txn_id":""#.utf8)
            appendHex(random.next(), to: &out)
            out.append(contentsOf: #"","card_id":"#.utf8)
            let card = random.keyDraw(kind, skew: options.skew)
            appendInt(card, to: &out)
            out.append(contentsOf: #","merchant":"merchant-"#.utf8)
            appendInt(Int64(random.below(5_000)), to: &out)
            out.append(contentsOf: #"","amount":"#.utf8)
            // Mostly small amounts, 1 % large ones (what fraud rules look for).
            let cents = random.below(100) == 0 ? Int64(random.below(900_000)) + 100_000 : Int64(random.below(20_000)) + 100
            appendCents(cents, to: &out)
            out.append(contentsOf: #","country":""#.utf8)
            out.append(contentsOf: Self.countries[random.below(UInt64(Self.countries.count))])
            out.append(contentsOf: #"","event_time":"#.utf8)
            appendInt(time, to: &out)
            out.append(0x7D)
            return card
        case .sensors:
            let sensor = random.keyDraw(kind, skew: options.skew)
            out.append(contentsOf: #"{"sensor_id":"sensor-"#.utf8)
            appendInt(sensor, to: &out)
            out.append(contentsOf: #"","site":"site-"#.utf8)
            appendInt(sensor % 40, to: &out)
            out.append(contentsOf: #"","temperature":"#.utf8)
            // Tenths of a degree around 21 °C; 0.5 % anomalies above 80 °C.
            let tenths = random.below(200) == 0 ? Int64(random.below(400)) + 800 : Int64(random.below(100)) + 160
            appendCents(tenths * 10, to: &out)
            out.append(contentsOf: #","humidity":"#.utf8)
            appendCents(Int64(random.below(6_000)) + 2_000, to: &out)
            out.append(contentsOf: #","event_time":"#.utf8)
            appendInt(time, to: &out)
            out.append(0x7D)
            return sensor
        case .bids:
            let auction = random.keyDraw(kind, skew: options.skew)
            out.append(contentsOf: #"{"auction":"#.utf8)
            appendInt(auction, to: &out)
            out.append(contentsOf: #","bidder":"#.utf8)
            appendInt(Int64(random.below(100_000)) + 1, to: &out)
            out.append(contentsOf: #","price":"#.utf8)
            appendInt(Int64(random.below(1_000_000)) + 100, to: &out)
            out.append(contentsOf: #","channel":""#.utf8)
            out.append(contentsOf: Self.channels[random.below(UInt64(Self.channels.count))])
            out.append(contentsOf: #"","date_time":"#.utf8)
            appendInt(time, to: &out)
            out.append(0x7D)
            return auction
        }
    }

    private func eventTime(_ index: Int64, random: inout EventRandom) -> Int64 {
        let count = max(options.count, 1)
        var time = options.startMs + Int64((Double(index) * Double(options.spanMs) / Double(count)).rounded(.down))
        if options.disorderFraction > 0, random.unit() < options.disorderFraction {
            time -= Int64(random.below(UInt64(options.maxDisorderMs) + 1))
        }
        return time
    }

    private func appendMalformed(_ index: Int64, random: inout EventRandom, to out: inout [UInt8]) {
        switch random.below(3) {
        case 0: out.append(contentsOf: #"{"event_id":"truncated"#.utf8)
        case 1: out.append(contentsOf: #"{"amount":"not a number","event_time":1}"#.utf8)
        default: out.append(contentsOf: "not json at all \(index)".utf8)
        }
    }

    static let categories: [[UInt8]] = [
        "electronics", "books", "clothing", "home", "garden", "toys", "sports", "beauty", "grocery", "automotive",
        "music", "movies", "games", "office", "pets", "baby", "health", "jewelry", "shoes", "tools",
        "kitchen", "furniture", "outdoor", "crafts", "software", "phones", "computers", "cameras", "audio", "watches",
        "bags", "luggage", "stationery", "party", "seasonal", "appliances", "lighting", "bedding", "bath", "decor",
        "fitness", "cycling", "camping", "fishing", "hunting", "collectibles", "art", "instruments", "tickets", "gifts",
    ].map { Array($0.utf8) }

    static let countries: [[UInt8]] = [
        "US", "DE", "FR", "GB", "IT", "ES", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "CZ", "AT",
        "CH", "IE", "PT", "GR", "HU", "RO", "BG", "HR", "SK", "SI", "JP", "KR", "CA", "AU", "BR",
    ].map { Array($0.utf8) }

    static let channels: [[UInt8]] = ["apple", "google", "facebook", "baidu", "direct"].map { Array($0.utf8) }
}

/// SplitMix64 seeded by (seed, event index): event i is the same however the stream is split.
struct EventRandom {
    private var state: UInt64

    init(seed: UInt64, index: Int64) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: index) &* 0xBF58_476D_1CE4_E5B9
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (Lemire's multiply-shift; the tiny bias is irrelevant for test data).
    mutating func below(_ bound: UInt64) -> Int {
        Int(next().multipliedFullWidth(by: bound).high)
    }

    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A number below `bound`: uniform at `skew` 0, else drawn as bound·u^(1+skew), so small numbers
    /// (the hot keys) come up far more often. Uniform draws use `below` alone, so skew 0 keeps the bytes.
    mutating func skewed(_ bound: UInt64, _ skew: Double) -> Int {
        guard skew > 0 else { return below(bound) }
        return min(Int(bound) - 1, Int(Double(bound) * Foundation.pow(unit(), 1 + skew)))
    }

    /// The entity a keyed event belongs to; bids favour 100 hot auctions half of the time (Nexmark's skew).
    mutating func keyDraw(_ kind: EventGenerator.Kind, skew: Double = 0) -> Int64 {
        switch kind {
        case .purchases: Int64(skewed(1_000_000, skew)) + 1
        case .transactions: Int64(skewed(100_000, skew)) + 1
        case .sensors: Int64(skewed(2_000, skew))
        case .bids: below(2) == 0 ? 1000 + Int64(below(100)) : 1000 + Int64(below(10_000))
        }
    }
}

@inline(__always)
func appendInt(_ value: Int64, to out: inout [UInt8]) {
    if value < 0 { out.append(0x2D) }
    var magnitude = value.magnitude
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
        repeat {
            buffer[19 - count] = UInt8(magnitude % 10) + 0x30
            magnitude /= 10
            count += 1
        } while magnitude > 0
        out.append(contentsOf: buffer[(20 - count)...])
    }
}

@inline(__always)
func appendCents(_ cents: Int64, to out: inout [UInt8]) {
    appendInt(cents / 100, to: &out)
    out.append(0x2E)
    let fraction = cents % 100
    out.append(UInt8(fraction / 10) + 0x30)
    out.append(UInt8(fraction % 10) + 0x30)
}

@inline(__always)
func appendHex(_ value: UInt64, to out: inout [UInt8]) {
    let digits: StaticString = "0123456789abcdef"
    digits.withUTF8Buffer { table in
        for shift in stride(from: 60, through: 0, by: -4) {
            out.append(table[Int((value >> UInt64(shift)) & 0xF)])
        }
    }
}
