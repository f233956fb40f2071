import EddyWire
// Requests, results and actions of the classic group coordinator. These are the coordinator's own
// plain values, not wire messages: a handler converts the decoded request into one of these and the
// result back, so the state machine stays free of protocol versions (except where the semantics
// differ by version: `requireKnownMemberId`, `supportSkippingAssignment`, SyncGroup v5 checks).

/// Limits from the broker configuration (`group.min.session.timeout.ms` and friends).
struct GroupCoordinatorConfig: Sendable, Equatable {
    var minSessionTimeoutMs: Int32 = 6000
    var maxSessionTimeoutMs: Int32 = 1_800_000
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an Empty group waits for
    /// more members. 0 turns the delay off.
    var initialRebalanceDelayMs: Int64 = 3000
    var maxGroupSize: Int = Int.max
    /// A member's first JoinGroup may wait this long at most (Kafka's NewMemberJoinTimeoutMs), so a
    /// client that gave up and retried does not leave a ghost member holding a rebalance open.
    var newMemberJoinTimeoutMs: Int64 = 300_000
}

/// The driver's name for a request whose answer may be deferred (a parked JoinGroup or SyncGroup).
/// Every token handed to the coordinator is answered exactly once by a `GroupAction`.
typealias RequestToken = UInt64

/// What the driver must do. Answers to parked requests come out of whichever event completed them.
enum GroupAction: Equatable, Sendable {
    case respondJoin(RequestToken, JoinResult)
    case respondSync(RequestToken, SyncResult)
}

/// Kafka's classic group states; `name` is what DescribeGroups and ListGroups show.
enum GroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    /// Never stored: the coordinator drops dead groups. Kept for rendering unknown groups the way
    /// Kafka's DescribeGroups does.
    case dead = "Dead"

    var name: String { rawValue }
}

/// One entry of a member's protocol list, in the member's order of preference.
struct GroupProtocol: Equatable, Sendable {
    var name: String
    var metadata: [UInt8]
}

struct JoinRequest: Equatable, Sendable {
    var groupId: String
    var sessionTimeoutMs: Int32
    /// JoinGroup v0 has none; the driver passes the session timeout then.
    var rebalanceTimeoutMs: Int32
    /// "" when the client does not know its member id yet.
    var memberId: String
    /// nil for a dynamic member; set for a static one (KIP-345).
    var groupInstanceId: String?
    var protocolType: String
    var protocols: [GroupProtocol]
    var clientId: String
    var clientHost: String
    /// JoinGroup v4+: a new dynamic member first gets an id and MEMBER_ID_REQUIRED (KIP-394).
    var requireKnownMemberId: Bool
    /// JoinGroup v9+: a restarted static leader is told to skip the assignor (KIP-814).
    var supportSkippingAssignment: Bool = false
    /// The client's reason (v8+), for the driver's log only.
    var reason: String?
}

struct JoinResultMember: Equatable, Sendable {
    var memberId: String
    var groupInstanceId: String?
    /// The member's metadata for the group's chosen protocol.
    var metadata: [UInt8]
}

struct JoinResult: Equatable, Sendable {
    var errorCode: ErrorCode
    var generationId: Int32
    /// nil in error answers (JoinGroup v7+ sends null; older versions need "").
    var protocolType: String?
    var protocolName: String?
    var leader: String
    var skipAssignment: Bool
    var memberId: String
    /// The whole group for the leader; empty for everyone else.
    var members: [JoinResultMember]

    static func failure(_ errorCode: ErrorCode, memberId: String) -> JoinResult {
        JoinResult(
            errorCode: errorCode, generationId: -1, protocolType: nil, protocolName: nil, leader: "",
            skipAssignment: false, memberId: memberId, members: [])
    }
}

struct MemberAssignment: Equatable, Sendable {
    var memberId: String
    var assignment: [UInt8]
}

struct SyncRequest: Equatable, Sendable {
    var groupId: String
    var generationId: Int32
    var memberId: String
    var groupInstanceId: String?
    /// SyncGroup v5; nil when not sent.
    var protocolType: String?
    var protocolName: String?
    /// Only the leader's is non-empty.
    var assignments: [MemberAssignment]
}

struct SyncResult: Equatable, Sendable {
    var errorCode: ErrorCode
    var protocolType: String?
    var protocolName: String?
    var assignment: [UInt8]

    static func failure(_ errorCode: ErrorCode) -> SyncResult {
        SyncResult(errorCode: errorCode, protocolType: nil, protocolName: nil, assignment: [])
    }
}

struct MemberHeartbeat: Equatable, Sendable {
    var groupId: String
    var generationId: Int32
    var memberId: String
    var groupInstanceId: String?
}

/// One member of a LeaveGroup request (v0-2 carry exactly one, with no instance id).
struct LeavingMember: Equatable, Sendable {
    var memberId: String
    var groupInstanceId: String?
}

struct LeaveResult: Equatable, Sendable {
    var errorCode: ErrorCode
    /// One per leaving member, in request order; empty when `errorCode` is not NONE.
    var memberErrors: [ErrorCode]
    /// Parked requests the departures answered or completed.
    var actions: [GroupAction]
}

struct MemberDescription: Equatable, Sendable {
    var memberId: String
    var groupInstanceId: String?
    var clientId: String
    var clientHost: String
    /// Metadata of the chosen protocol and the assignment; both empty unless the group is Stable.
    var metadata: [UInt8]
    var assignment: [UInt8]
}

struct GroupDescription: Equatable, Sendable {
    var groupId: String
    var state: GroupState
    var protocolType: String
    /// The chosen protocol; "" unless the group is Stable (as Kafka reports it).
    var protocolName: String
    var members: [MemberDescription]
}

struct GroupListing: Equatable, Sendable {
    var groupId: String
    var protocolType: String
    var state: GroupState
}
