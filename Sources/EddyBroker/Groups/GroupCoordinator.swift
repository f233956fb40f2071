import EddyWire
/// The broker side of Kafka's classic consumer-group protocol for all groups this broker
/// coordinates: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups,
/// DeleteGroups, and the member checks of OffsetCommit.
///
/// A pure state machine (see STYLE.md, "state machines that return actions"): no I/O, no clock, no
/// threads. Every event takes `now` in milliseconds. JoinGroup and SyncGroup may be parked; their
/// answers come out, as `GroupAction`s, of whichever later event completes them (another member's
/// request, a LeaveGroup, or `tick`). The driver calls `tick(now:)` at `nextDeadline`.
///
/// Not here: persisting group metadata and offsets (the driver appends to __consumer_offsets and
/// reports back with `noteOffsetsCommitted`, `loadGroupWithOffsets`), authorization, and the
/// coordinator-loading errors (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR).
struct GroupCoordinator<MemberIds: MemberIdSource> {
    let config: GroupCoordinatorConfig
    /// Only live groups: a group is dropped once it is Empty with no offsets and no pending ids.
    private(set) var groups: [String: Group] = [:]
    private var memberIds: MemberIds

    init(config: GroupCoordinatorConfig = GroupCoordinatorConfig(), memberIds: MemberIds) {
        precondition(config.minSessionTimeoutMs > 0 && config.minSessionTimeoutMs <= config.maxSessionTimeoutMs)
        precondition(config.initialRebalanceDelayMs >= 0 && config.newMemberJoinTimeoutMs > 0 && config.maxGroupSize > 0)
        self.config = config
        self.memberIds = memberIds
    }

    /// The earliest moment `tick` has work to do, or nil when no timer is running. It can already
    /// have passed (a join phase that lost its last member while ids are pending is due at once);
    /// then tick at once. After `tick(now:)` it is always later than `now`.
    var nextDeadline: Int64? { groups.values.compactMap(\.nextDeadline).min() }

    // MARK: Events

    mutating func join(_ r: JoinRequest, token: RequestToken, now: Int64) -> [GroupAction] {
        func fail(_ error: ErrorCode) -> [GroupAction] { [.respondJoin(token, .failure(error, memberId: r.memberId))] }
        guard !r.groupId.isEmpty else { return fail(.invalidGroupId) }
        guard (config.minSessionTimeoutMs...config.maxSessionTimeoutMs).contains(r.sessionTimeoutMs) else {
            return fail(.invalidSessionTimeout)
        }
        // Only a member without an id may create a group; a stale id gets UNKNOWN_MEMBER_ID.
        guard groups[r.groupId] != nil || r.memberId.isEmpty else { return fail(.unknownMemberId) }
        let newMemberId = r.memberId.isEmpty ? "\(r.groupInstanceId ?? r.clientId)-\(memberIds.nextSuffix())" : ""
        var actions: [GroupAction] = []
        withGroup(r.groupId, creating: true) { $0.join(r, token: token, newMemberId: newMemberId, now: now, into: &actions) }
        return actions
    }

    mutating func sync(_ r: SyncRequest, token: RequestToken, now: Int64) -> [GroupAction] {
        guard !r.groupId.isEmpty else { return [.respondSync(token, .failure(.invalidGroupId))] }
        guard groups[r.groupId] != nil else { return [.respondSync(token, .failure(.unknownMemberId))] }
        var actions: [GroupAction] = []
        withGroup(r.groupId) { $0.sync(r, token: token, now: now, into: &actions) }
        return actions
    }

    /// Heartbeats are answered at once.
    mutating func heartbeat(_ r: MemberHeartbeat, now: Int64) -> ErrorCode {
        guard !r.groupId.isEmpty else { return .invalidGroupId }
        return withGroup(r.groupId) { $0.heartbeat(r, now: now) } ?? .unknownMemberId
    }

    /// LeaveGroup (v0-2: one member; v3+: a batch, possibly by instance id only). Departures can
    /// end a join phase or abort a sync phase, so parked requests may be answered.
    mutating func leave(groupId: String, members leaving: [LeavingMember], now: Int64) -> LeaveResult {
        guard !groupId.isEmpty else { return LeaveResult(errorCode: .invalidGroupId, memberErrors: [], actions: []) }
        guard groups[groupId] != nil else {
            return LeaveResult(errorCode: .none, memberErrors: leaving.map { _ in .unknownMemberId }, actions: [])
        }
        var actions: [GroupAction] = []
        let errors = withGroup(groupId) { group in leaving.map { group.leave($0, now: now, into: &actions) } }!
        return LeaveResult(errorCode: .none, memberErrors: errors, actions: actions)
    }

    /// Runs every timer that is due: session expiry, pending-id expiry, end of a join phase
    /// (rebalance timeout or initial delay), end of a sync phase.
    mutating func tick(now: Int64) -> [GroupAction] {
        var actions: [GroupAction] = []
        let due = groups.values.filter { ($0.nextDeadline ?? .max) <= now }.map(\.groupId).sorted()
        for groupId in due {
            withGroup(groupId) { $0.tick(now: now, into: &actions) }
            // Every timer set by a tick lies in the future, so the driver can never spin.
            precondition((groups[groupId]?.nextDeadline ?? .max) > now, "group \(groupId) still due after tick")
        }
        return actions
    }

    // MARK: Admin

    /// DescribeGroups. nil for an unknown group: Kafka answers such a group as state "Dead".
    func describe(groupId: String) -> GroupDescription? { groups[groupId]?.summary }

    /// ListGroups; `statesFilter` holds state names, compared without case; empty lists all.
    func list(statesFilter: Set<String> = []) -> [GroupListing] {
        let wanted = Set(statesFilter.map { $0.lowercased() })
        return groups.values
            .filter { wanted.isEmpty || wanted.contains($0.state.name.lowercased()) }
            .map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType ?? "", state: $0.state) }
            .sorted { $0.groupId < $1.groupId }
    }

    /// DeleteGroups for one group. On NONE the driver also deletes the group's offsets.
    mutating func delete(groupId: String) -> ErrorCode {
        guard let group = groups[groupId] else { return .groupIdNotFound }
        guard group.state == .empty else { return .nonEmptyGroup }
        groups[groupId] = nil
        return .none
    }

    // MARK: Offsets

    /// The group checks of OffsetCommit (and TxnOffsetCommit with `isTransactional`), as Kafka's
    /// `handleCommitOffsets`/`validateOffsetCommit`/`doCommitOffsets` make them. On NONE the driver
    /// stores the offsets and then calls `noteOffsetsCommitted`.
    func validateOffsetCommit(
        groupId: String, generationId: Int32, memberId: String, groupInstanceId: String?, isTransactional: Bool = false
    ) -> ErrorCode {
        if let group = groups[groupId] {
            return group.validateOffsetCommit(
                generationId: generationId, memberId: memberId, groupInstanceId: groupInstanceId, isTransactional: isTransactional)
        }
        // No group: a commit without group management creates one (as Empty). Otherwise a plain
        // commit is from a generation gone by; a transactional one is checked against the new
        // Empty group, where no member exists.
        if generationId < 0 { return .none }
        return isTransactional ? .unknownMemberId : .illegalGeneration
    }

    /// Offsets were stored for the group: it now outlives its members (ListGroups shows it as
    /// Empty). A commit by a member also counts as its heartbeat, as in Kafka.
    mutating func noteOffsetsCommitted(groupId: String, memberId: String = "", now: Int64) {
        withGroup(groupId, creating: true) { $0.offsetsCommitted(by: memberId, now: now) }
    }

    /// The group's last offsets expired or were deleted: an Empty group then goes away.
    mutating func noteOffsetsRemoved(groupId: String) {
        withGroup(groupId) { $0.hasOffsets = false }
    }

    /// At startup, for each group found in __consumer_offsets: it exists as Empty.
    mutating func loadGroupWithOffsets(groupId: String, protocolType: String? = nil, generationId: Int32 = 0) {
        withGroup(groupId, creating: true) { group in
            group.hasOffsets = true
            if group.state == .empty { group.restore(protocolType: protocolType, generationId: generationId) }
        }
    }

    // MARK: Plumbing

    /// Runs `body` on the group in place (no copy of its tables), then settles it: refreshes its
    /// timer, checks its invariants and drops it if nothing is left. nil if there is no such group.
    @discardableResult
    private mutating func withGroup<R>(_ groupId: String, creating: Bool = false, _ body: (inout Group) -> R) -> R? {
        if groups[groupId] == nil {
            guard creating else { return nil }
            groups[groupId] = Group(groupId: groupId, config: config)
        }
        let result = body(&groups[groupId]!)
        groups[groupId]!.settle()
        if groups[groupId]!.isDisposable { groups[groupId] = nil }
        return result
    }
}

extension GroupCoordinator: Sendable where MemberIds: Sendable {}

extension GroupCoordinator where MemberIds == RandomMemberIds<SystemRandomNumberGenerator> {
    /// The production coordinator: member ids carry random UUIDs.
    init(config: GroupCoordinatorConfig = GroupCoordinatorConfig()) {
        self.init(config: config, memberIds: RandomMemberIds(SystemRandomNumberGenerator()))
    }
}
