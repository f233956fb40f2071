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
    public static let offsetMetadataTooLarge = ErrorCode(rawValue: 12)
    public static let coordinatorLoadInProgress = ErrorCode(rawValue: 14)
    public static let coordinatorNotAvailable = ErrorCode(rawValue: 15)
    public static let notCoordinator = ErrorCode(rawValue: 16)
    public static let invalidTopic = ErrorCode(rawValue: 17)
    public static let recordListTooLarge = ErrorCode(rawValue: 18)
    public static let invalidRequiredAcks = ErrorCode(rawValue: 21)
    public static let illegalGeneration = ErrorCode(rawValue: 22)
    public static let inconsistentGroupProtocol = ErrorCode(rawValue: 23)
    public static let invalidGroupId = ErrorCode(rawValue: 24)
    public static let unknownMemberId = ErrorCode(rawValue: 25)
    public static let invalidSessionTimeout = ErrorCode(rawValue: 26)
    public static let rebalanceInProgress = ErrorCode(rawValue: 27)
    public static let invalidCommitOffsetSize = ErrorCode(rawValue: 28)
    public static let topicAuthorizationFailed = ErrorCode(rawValue: 29)
    public static let groupAuthorizationFailed = ErrorCode(rawValue: 30)
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
    public static let outOfOrderSequenceNumber = ErrorCode(rawValue: 45)
    public static let duplicateSequenceNumber = ErrorCode(rawValue: 46)
    public static let invalidProducerEpoch = ErrorCode(rawValue: 47)
    public static let invalidTxnState = ErrorCode(rawValue: 48)
    public static let invalidProducerIdMapping = ErrorCode(rawValue: 49)
    public static let invalidTransactionTimeout = ErrorCode(rawValue: 50)
    public static let concurrentTransactions = ErrorCode(rawValue: 51)
    public static let transactionCoordinatorFenced = ErrorCode(rawValue: 52)
    public static let transactionalIdAuthorizationFailed = ErrorCode(rawValue: 53)
    public static let operationNotAttempted = ErrorCode(rawValue: 55)
    public static let kafkaStorageError = ErrorCode(rawValue: 56)
    public static let unknownProducerId = ErrorCode(rawValue: 59)
    public static let nonEmptyGroup = ErrorCode(rawValue: 68)
    public static let groupIdNotFound = ErrorCode(rawValue: 69)
    public static let fetchSessionIdNotFound = ErrorCode(rawValue: 70)
    public static let unknownLeaderEpoch = ErrorCode(rawValue: 75)
    public static let unsupportedCompressionType = ErrorCode(rawValue: 76)
    public static let memberIdRequired = ErrorCode(rawValue: 79)
    public static let groupMaxSizeReached = ErrorCode(rawValue: 81)
    public static let fencedInstanceId = ErrorCode(rawValue: 82)
    public static let groupSubscribedToTopic = ErrorCode(rawValue: 86)
    public static let invalidRecord = ErrorCode(rawValue: 87)
    public static let producerFenced = ErrorCode(rawValue: 90)
    public static let unknownTopicId = ErrorCode(rawValue: 100)
    public static let unstableOffsetCommit = ErrorCode(rawValue: 104)
    public static let transactionalIdNotFound = ErrorCode(rawValue: 105)
    public static let transactionAbortable = ErrorCode(rawValue: 120)

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
        case 12: "OFFSET_METADATA_TOO_LARGE"
        case 14: "COORDINATOR_LOAD_IN_PROGRESS"
        case 15: "COORDINATOR_NOT_AVAILABLE"
        case 16: "NOT_COORDINATOR"
        case 17: "INVALID_TOPIC_EXCEPTION"
        case 18: "RECORD_LIST_TOO_LARGE"
        case 21: "INVALID_REQUIRED_ACKS"
        case 22: "ILLEGAL_GENERATION"
        case 23: "INCONSISTENT_GROUP_PROTOCOL"
        case 24: "INVALID_GROUP_ID"
        case 25: "UNKNOWN_MEMBER_ID"
        case 26: "INVALID_SESSION_TIMEOUT"
        case 27: "REBALANCE_IN_PROGRESS"
        case 28: "INVALID_COMMIT_OFFSET_SIZE"
        case 29: "TOPIC_AUTHORIZATION_FAILED"
        case 30: "GROUP_AUTHORIZATION_FAILED"
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
        case 45: "OUT_OF_ORDER_SEQUENCE_NUMBER"
        case 46: "DUPLICATE_SEQUENCE_NUMBER"
        case 47: "INVALID_PRODUCER_EPOCH"
        case 48: "INVALID_TXN_STATE"
        case 49: "INVALID_PRODUCER_ID_MAPPING"
        case 50: "INVALID_TRANSACTION_TIMEOUT"
        case 51: "CONCURRENT_TRANSACTIONS"
        case 52: "TRANSACTION_COORDINATOR_FENCED"
        case 53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
        case 55: "OPERATION_NOT_ATTEMPTED"
        case 56: "KAFKA_STORAGE_ERROR"
        case 59: "UNKNOWN_PRODUCER_ID"
        case 68: "NON_EMPTY_GROUP"
        case 69: "GROUP_ID_NOT_FOUND"
        case 70: "FETCH_SESSION_ID_NOT_FOUND"
        case 75: "UNKNOWN_LEADER_EPOCH"
        case 76: "UNSUPPORTED_COMPRESSION_TYPE"
        case 79: "MEMBER_ID_REQUIRED"
        case 81: "GROUP_MAX_SIZE_REACHED"
        case 82: "FENCED_INSTANCE_ID"
        case 86: "GROUP_SUBSCRIBED_TO_TOPIC"
        case 87: "INVALID_RECORD"
        case 90: "PRODUCER_FENCED"
        case 100: "UNKNOWN_TOPIC_ID"
        case 104: "UNSTABLE_OFFSET_COMMIT"
        case 105: "TRANSACTIONAL_ID_NOT_FOUND"
        case 120: "TRANSACTION_ABORTABLE"
        default: "ERROR_\(rawValue)"
        }
    }
}
