/// Kafka's error codes, as they travel in responses (never thrown across the wire). Only the codes
/// Eddy sends or clients commonly send back are named; any other value is still representable.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let unknownServerError = ErrorCode(rawValue: -1)
    public static let none = ErrorCode(rawValue: 0)
    public static let offsetOutOfRange = ErrorCode(rawValue: 1)
    public static let corruptMessage = ErrorCode(rawValue: 2)
    public static let unknownTopicOrPartition = ErrorCode(rawValue: 3)
    public static let invalidFetchSize = ErrorCode(rawValue: 4)
    public static let leaderNotAvailable = ErrorCode(rawValue: 5)
    public static let notLeaderOrFollower = ErrorCode(rawValue: 6)
    public static let requestTimedOut = ErrorCode(rawValue: 7)
    public static let messageTooLarge = ErrorCode(rawValue: 10)
    public static let invalidTopic = ErrorCode(rawValue: 17)
    public static let recordListTooLarge = ErrorCode(rawValue: 18)
    public static let invalidRequiredAcks = ErrorCode(rawValue: 21)
    public static let topicAuthorizationFailed = ErrorCode(rawValue: 29)
    public static let invalidTimestamp = ErrorCode(rawValue: 32)
    public static let unsupportedVersion = ErrorCode(rawValue: 35)
    public static let topicAlreadyExists = ErrorCode(rawValue: 36)
    public static let invalidPartitions = ErrorCode(rawValue: 37)
    public static let invalidReplicationFactor = ErrorCode(rawValue: 38)
    public static let invalidReplicaAssignment = ErrorCode(rawValue: 39)
    public static let invalidConfig = ErrorCode(rawValue: 40)
    public static let invalidRequest = ErrorCode(rawValue: 42)
    public static let unsupportedForMessageFormat = ErrorCode(rawValue: 43)
    public static let policyViolation = ErrorCode(rawValue: 44)
    public static let kafkaStorageError = ErrorCode(rawValue: 56)
    public static let unsupportedCompressionType = ErrorCode(rawValue: 76)
    public static let invalidRecord = ErrorCode(rawValue: 87)
    public static let unknownTopicId = ErrorCode(rawValue: 100)

    public var description: String { "\(name) (\(rawValue))" }

    public var name: String {
        switch rawValue {
        case -1: "UNKNOWN_SERVER_ERROR"
        case 0: "NONE"
        case 1: "OFFSET_OUT_OF_RANGE"
        case 2: "CORRUPT_MESSAGE"
        case 3: "UNKNOWN_TOPIC_OR_PARTITION"
        case 4: "INVALID_FETCH_SIZE"
        case 5: "LEADER_NOT_AVAILABLE"
        case 6: "NOT_LEADER_OR_FOLLOWER"
        case 7: "REQUEST_TIMED_OUT"
        case 10: "MESSAGE_TOO_LARGE"
        case 17: "INVALID_TOPIC_EXCEPTION"
        case 18: "RECORD_LIST_TOO_LARGE"
        case 21: "INVALID_REQUIRED_ACKS"
        case 29: "TOPIC_AUTHORIZATION_FAILED"
        case 32: "INVALID_TIMESTAMP"
        case 35: "UNSUPPORTED_VERSION"
        case 36: "TOPIC_ALREADY_EXISTS"
        case 37: "INVALID_PARTITIONS"
        case 38: "INVALID_REPLICATION_FACTOR"
        case 39: "INVALID_REPLICA_ASSIGNMENT"
        case 40: "INVALID_CONFIG"
        case 42: "INVALID_REQUEST"
        case 43: "UNSUPPORTED_FOR_MESSAGE_FORMAT"
        case 44: "POLICY_VIOLATION"
        case 56: "KAFKA_STORAGE_ERROR"
        case 76: "UNSUPPORTED_COMPRESSION_TYPE"
        case 87: "INVALID_RECORD"
        case 100: "UNKNOWN_TOPIC_ID"
        default: "ERROR_\(rawValue)"
        }
    }
}
