/// What a reader of a log sees of transactions (Kafka's `isolation.level`). Fetch and ListOffsets
/// carry it as an int8 with these raw values; `RecordLog` readers pass it by name.
public enum IsolationLevel: Int8, Sendable, CustomStringConvertible {
    /// Every record up to the log end, transactional ones included whatever their outcome.
    case readUncommitted = 0
    /// Only records below the last stable offset, without those of aborted transactions.
    case readCommitted = 1

    /// The level a request's int8 names. Values other than 1 read uncommitted, as Eddy has always
    /// taken them (Kafka refuses them; no client sends one).
    public init(wireValue: Int8) {
        self = wireValue == IsolationLevel.readCommitted.rawValue ? .readCommitted : .readUncommitted
    }

    public var description: String {
        switch self {
        case .readUncommitted: "read_uncommitted"
        case .readCommitted: "read_committed"
        }
    }
}
