import EddyEngine

/// The pipelines of Eddy's use cases, written with the Swift API: the same queries as
/// `examples/*.sql` (tests compare their plans); `make bench-engine` runs them next to the SQL files.
public enum ExamplePipeline: String, Sendable, CaseIterable {
    /// Q_A: e-commerce revenue per category in 1-minute tumbling windows.
    case revenue
    /// Q_B (Nexmark-style): bids per auction in 10-second tumbling windows, count and highest price.
    case bids
    /// Fraud signals: per card, 5-minute windows sliding by 1 minute, count and total of transactions.
    case fraud
    /// IoT: per sensor, sessions of readings (30 s gap), max and average temperature.
    case sensors
    /// Q_C: per user (about a million of them), purchases and spending in 1-minute tumbling windows:
    /// high-cardinality state.
    case users

    /// The events the pipeline reads.
    public var input: EventGenerator.Kind {
        switch self {
        case .revenue: .purchases
        case .bids: .bids
        case .fraud: .transactions
        case .sensors: .sensors
        case .users: .purchases
        }
    }

    public var summary: String {
        switch self {
        case .revenue: "purchases → 1-minute tumbling windows by category: count, sum(amount), avg(amount)"
        case .bids: "bids → 10-second tumbling windows by auction: count, max(price)"
        case .fraud: "card transactions → 5-minute windows sliding by 1 minute by card: count, sum(amount), max(amount)"
        case .sensors: "sensor readings → 30-second-gap sessions by sensor: count, max and avg temperature"
        case .users: "purchases → 1-minute tumbling windows by user: count, sum(amount)"
        }
    }

    /// The pipeline from `source` (which must carry this pipeline's input schema) to `sink`.
    public func build(source: some SourceDescriptor, sink: some SinkDescriptor, mode: OutputMode = .append) -> StreamingPipeline {
        switch self {
        case .revenue:
            Pipeline.read(source)
                .withWatermark("event_time", delay: .seconds(10))
                .groupBy(.tumble("event_time", .minutes(1)), "category")
                .aggregate(.count(), .sum("amount", as: "revenue"), .avg("amount", as: "avg_amount"))
                .write(sink, mode: mode)
        case .bids:
            Pipeline.read(source)
                .withWatermark("date_time", delay: .seconds(10))
                .groupBy(.tumble("date_time", .seconds(10)), "auction")
                .aggregate(.count(as: "bids"), .max("price", as: "max_price"))
                .write(sink, mode: mode)
        case .fraud:
            Pipeline.read(source)
                .withWatermark("event_time", delay: .seconds(10))
                .groupBy(.hop("event_time", size: .minutes(5), slide: .minutes(1)), "card_id")
                .aggregate(.count(as: "transactions"), .sum("amount", as: "total"), .max("amount", as: "largest"))
                .write(sink, mode: mode)
        case .sensors:
            Pipeline.read(source)
                .withWatermark("event_time", delay: .seconds(10))
                .groupBy(.session("event_time", gap: .seconds(30)), "sensor_id")
                .aggregate(.count(as: "readings"), .max("temperature", as: "max_temperature"),
                           .avg("temperature", as: "avg_temperature"))
                .write(sink, mode: mode)
        case .users:
            Pipeline.read(source)
                .withWatermark("event_time", delay: .seconds(10))
                .groupBy(.tumble("event_time", .minutes(1)), "user_id")
                .aggregate(.count(as: "purchases"), .sum("amount", as: "spent"))
                .write(sink, mode: mode)
        }
    }
}
