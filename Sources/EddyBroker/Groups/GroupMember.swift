import EddyWire
/// One member of a classic group, as the coordinator remembers it between requests.
struct GroupMember: Equatable, Sendable {
    var memberId: String
    let groupInstanceId: String?
    let clientId: String
    let clientHost: String
    let protocolType: String
    /// In the member's order of preference.
    var protocols: [GroupProtocol]
    var sessionTimeoutMs: Int64
    /// Never below 1: a client's 0 or -1 is replaced by its session timeout, so the join-phase timer
    /// always lies in the future and the driver never spins on it.
    var rebalanceTimeoutMs: Int64
    var assignment: [UInt8] = []
    /// The member's JoinGroup parked until the join phase completes.
    var awaitingJoin: RequestToken?
    /// The member's SyncGroup parked until the leader's assignment arrives.
    var awaitingSync: RequestToken?
    /// Added by its first JoinGroup and not yet answered: bounded by `newMemberJoinTimeoutMs`
    /// instead of the session (it has no member id to heartbeat with).
    var isNew: Bool
    var sessionDeadline: Int64

    init(memberId: String, request r: JoinRequest, awaitingJoin: RequestToken, newMemberDeadline: Int64) {
        self.memberId = memberId
        self.groupInstanceId = r.groupInstanceId
        self.clientId = r.clientId
        self.clientHost = r.clientHost
        self.protocolType = r.protocolType
        self.protocols = r.protocols
        self.sessionTimeoutMs = Int64(r.sessionTimeoutMs)
        self.rebalanceTimeoutMs = Self.effectiveRebalanceTimeout(r)
        self.awaitingJoin = awaitingJoin
        self.isNew = true
        self.sessionDeadline = newMemberDeadline
    }

    static func effectiveRebalanceTimeout(_ r: JoinRequest) -> Int64 {
        Int64(r.rebalanceTimeoutMs > 0 ? r.rebalanceTimeoutMs : r.sessionTimeoutMs)
    }

    /// When this member is removed for silence, or nil while a parked request keeps it alive
    /// (Kafka does not expire members that are waiting on the coordinator).
    var expiryDeadline: Int64? {
        if isNew { return sessionDeadline }
        if awaitingJoin != nil || awaitingSync != nil { return nil }
        return sessionDeadline
    }

    /// Any sign of life restarts the session; a new member's join deadline is not extended.
    mutating func touch(now: Int64) {
        if !isNew { sessionDeadline = now + sessionTimeoutMs }
    }

    func supports(_ protocolName: String) -> Bool {
        protocols.contains { $0.name == protocolName }
    }

    func metadata(for protocolName: String?) -> [UInt8] {
        protocols.first { $0.name == protocolName }?.metadata ?? []
    }
}
