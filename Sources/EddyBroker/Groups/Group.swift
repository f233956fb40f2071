import EddyWire
/// One classic consumer group: membership, generation, the rebalance protocol and its timers.
/// Mirrors Kafka's GroupCoordinator/GroupMetadata (3.x). Each event appends the answers it produces
/// to `out`; time is the caller's `now` (milliseconds).
///
/// States: Empty → PreparingRebalance (join phase: members (re)send JoinGroup) → CompletingRebalance
/// (sync phase: the leader sends the assignment) → Stable. A membership change in
/// CompletingRebalance or Stable starts a new join phase; losing every member ends in Empty.
struct Group: Sendable {
    let groupId: String
    let config: GroupCoordinatorConfig
    private(set) var state: GroupState = .empty
    private(set) var generationId: Int32 = 0
    /// Kept after the group empties, as Kafka does (ListGroups shows it).
    private(set) var protocolType: String?
    /// The protocol chosen for `generationId`; nil before the first generation and when Empty.
    private(set) var protocolName: String?
    private(set) var leaderId: String?
    private(set) var members: [String: GroupMember] = [:]
    /// Member ids in join order: deterministic answers, and the next leader when one leaves.
    private(set) var memberOrder: [String] = []
    /// group.instance.id → current member id of each static member.
    private(set) var staticMembers: [String: String] = [:]
    /// Ids handed out with MEMBER_ID_REQUIRED, with the time they lapse if never used.
    private(set) var pendingMembers: [String: Int64] = [:]
    /// Members of this generation whose SyncGroup has not arrived; removed at `syncDeadline`.
    private(set) var pendingSyncMembers: Set<String> = []
    /// Committed offsets exist, so the group outlives its members (as Empty).
    var hasOffsets = false

    /// End of the join phase (PreparingRebalance only).
    private(set) var joinDeadline: Int64?
    /// Set while the first rebalance of an Empty group holds the door open for more members.
    private var initialDelay: InitialDelay?
    /// End of the sync phase: members that never sent SyncGroup are then removed.
    private(set) var syncDeadline: Int64?
    /// The earliest timer of this group; refreshed by `settle`.
    private(set) var nextDeadline: Int64?

    private struct InitialDelay: Sendable {
        /// The delay never extends past this (start + max(rebalance timeout, delay)).
        var limit: Int64
        var newMemberAdded = false
    }

    init(groupId: String, config: GroupCoordinatorConfig) {
        self.groupId = groupId
        self.config = config
    }

    /// Nothing left worth keeping: no members, no offsets, no member ids waiting to be used.
    var isDisposable: Bool { state == .empty && !hasOffsets && pendingMembers.isEmpty }

    /// Largest rebalance timeout of the members: how long a join phase may last.
    var rebalanceTimeoutMs: Int64 { members.values.map(\.rebalanceTimeoutMs).max() ?? 0 }

    // MARK: JoinGroup

    mutating func join(
        _ r: JoinRequest, token: RequestToken, newMemberId: String, now: Int64, into out: inout [GroupAction]
    ) {
        if !acceptsJoiningMember(r.memberId) {
            // Kafka drops the refused member: with a shrunk size limit, the last to rejoin go.
            remove(r.memberId, answering: .unknownMemberId, into: &out)
            pendingMembers[r.memberId] = nil
            out.append(.respondJoin(token, .failure(.groupMaxSizeReached, memberId: "")))
        } else if r.memberId.isEmpty {
            joinNewMember(r, token: token, memberId: newMemberId, now: now, into: &out)
        } else {
            joinKnownMember(r, token: token, now: now, into: &out)
        }
        maybeCompleteJoin(now: now, into: &out)
    }

    /// Kafka counts members awaiting join while rebalancing (members that have not rejoined may
    /// be dropped at its end) and all members otherwise.
    private func acceptsJoiningMember(_ memberId: String) -> Bool {
        switch state {
        case .empty, .dead:
            return true
        case .preparingRebalance:
            return members[memberId]?.awaitingJoin != nil || awaitingJoinCount < config.maxGroupSize
        case .completingRebalance, .stable:
            return members[memberId] != nil || members.count < config.maxGroupSize
        }
    }

    private mutating func joinNewMember(
        _ r: JoinRequest, token: RequestToken, memberId: String, now: Int64, into out: inout [GroupAction]
    ) {
        guard supportsProtocols(r.protocolType, r.protocols) else {
            out.append(.respondJoin(token, .failure(.inconsistentGroupProtocol, memberId: "")))
            return
        }
        if let instanceId = r.groupInstanceId {
            if let oldMemberId = staticMembers[instanceId] {
                replaceStaticMember(instanceId, oldMemberId: oldMemberId, newMemberId: memberId, r, token: token, now: now, into: &out)
            } else {
                addMemberAndRebalance(r, memberId: memberId, token: token, now: now, into: &out)
            }
        } else if r.requireKnownMemberId {
            // KIP-394: hand out the id first, so a client that never comes back leaves no member behind.
            pendingMembers[memberId] = now + Int64(r.sessionTimeoutMs)
            out.append(.respondJoin(token, .failure(.memberIdRequired, memberId: memberId)))
        } else {
            addMemberAndRebalance(r, memberId: memberId, token: token, now: now, into: &out)
        }
    }

    private mutating func joinKnownMember(_ r: JoinRequest, token: RequestToken, now: Int64, into out: inout [GroupAction]) {
        let memberId = r.memberId
        func fail(_ error: ErrorCode) { out.append(.respondJoin(token, .failure(error, memberId: memberId))) }
        guard supportsProtocols(r.protocolType, r.protocols) else { return fail(.inconsistentGroupProtocol) }
        if pendingMembers[memberId] != nil {
            // Pending ids are only ever given to dynamic members.
            guard r.groupInstanceId == nil else { return fail(.unknownMemberId) }
            return addMemberAndRebalance(r, memberId: memberId, token: token, now: now, into: &out)
        }
        if let error = validateCurrentMember(memberId, r.groupInstanceId) { return fail(error) }
        let unchanged = members[memberId]!.protocols == r.protocols
        switch state {
        case .preparingRebalance:
            update(memberId, with: r, token: token, now: now, into: &out)
        case .completingRebalance where unchanged:
            // Probably lost the first answer: repeat it.
            members[memberId]!.touch(now: now)
            out.append(.respondJoin(token, joinResult(for: memberId, includeMembers: memberId == leaderId)))
        case .stable where unchanged && memberId != leaderId:
            members[memberId]!.touch(now: now)
            out.append(.respondJoin(token, joinResult(for: memberId, includeMembers: false)))
        case .completingRebalance, .stable:
            // New metadata, or the leader asking for a fresh assignment (e.g. topic metadata changed).
            update(memberId, with: r, token: token, now: now, into: &out)
            prepareRebalance(now: now, into: &out)
        case .empty, .dead:
            fail(.unknownMemberId)
        }
    }

    private mutating func addMemberAndRebalance(
        _ r: JoinRequest, memberId: String, token: RequestToken, now: Int64, into out: inout [GroupAction]
    ) {
        let member = GroupMember(
            memberId: memberId, request: r, awaitingJoin: token, newMemberDeadline: now + config.newMemberJoinTimeoutMs)
        if state == .preparingRebalance { initialDelay?.newMemberAdded = true }
        if members.isEmpty { protocolType = r.protocolType }
        precondition(protocolType == r.protocolType, "member joined with a foreign protocol type")
        if let instanceId = r.groupInstanceId {
            precondition(staticMembers[instanceId] == nil, "static member added twice")
            staticMembers[instanceId] = memberId
        }
        precondition(members[memberId] == nil, "member added twice")
        members[memberId] = member
        memberOrder.append(memberId)
        pendingMembers[memberId] = nil
        if leaderId == nil { leaderId = memberId }
        maybePrepareRebalance(now: now, into: &out)
    }

    /// A static member came back without its member id (a restart, KIP-345): it takes over the old
    /// member's place and assignment under a new id, and the old id is fenced.
    private mutating func replaceStaticMember(
        _ instanceId: String, oldMemberId: String, newMemberId: String, _ r: JoinRequest,
        token: RequestToken, now: Int64, into out: inout [GroupAction]
    ) {
        let previousLeader = leaderId
        var member = members.removeValue(forKey: oldMemberId)!
        // A parked request of the old incarnation is a duplicate client: fence it now.
        if let old = member.awaitingJoin { out.append(.respondJoin(old, .failure(.fencedInstanceId, memberId: oldMemberId))) }
        if let old = member.awaitingSync { out.append(.respondSync(old, .failure(.fencedInstanceId))) }
        member.awaitingJoin = nil
        member.awaitingSync = nil
        member.memberId = newMemberId
        members[newMemberId] = member
        memberOrder[memberOrder.firstIndex(of: oldMemberId)!] = newMemberId
        staticMembers[instanceId] = newMemberId
        if leaderId == oldMemberId { leaderId = newMemberId }
        if pendingSyncMembers.remove(oldMemberId) != nil { pendingSyncMembers.insert(newMemberId) }
        update(newMemberId, with: r, token: token, now: now, into: &out)

        switch state {
        case .stable where selectProtocol() == protocolName:
            // Nothing the assignment depends on changed: no rebalance; the member syncs and gets
            // its old assignment. Before v9 the old leader id is returned, so a restarted leader
            // does not run the assignor (the result would be ignored by a Stable group).
            let isLeader = leaderId == newMemberId
            var result = joinResult(for: newMemberId, includeMembers: r.supportSkippingAssignment && isLeader)
            if r.supportSkippingAssignment {
                result.skipAssignment = isLeader
            } else {
                result.leader = previousLeader ?? ""
            }
            members[newMemberId]!.awaitingJoin = nil
            out.append(.respondJoin(token, result))
        case .stable, .completingRebalance:
            // In CompletingRebalance the leader may be assigning to the old id: start over.
            prepareRebalance(now: now, into: &out)
        case .preparingRebalance:
            break
        case .empty, .dead:
            preconditionFailure("a group with a static member cannot be \(state)")
        }
    }

    /// New protocols and timeouts, a fresh session, and park the JoinGroup. A still-parked older
    /// JoinGroup of the same member is superseded (its client gave up on it); it is answered so no
    /// token leaks.
    private mutating func update(
        _ memberId: String, with r: JoinRequest, token: RequestToken, now: Int64, into out: inout [GroupAction]
    ) {
        if let old = members[memberId]!.awaitingJoin {
            out.append(.respondJoin(old, .failure(.rebalanceInProgress, memberId: memberId)))
        }
        members[memberId]!.protocols = r.protocols
        members[memberId]!.sessionTimeoutMs = Int64(r.sessionTimeoutMs)
        members[memberId]!.rebalanceTimeoutMs = GroupMember.effectiveRebalanceTimeout(r)
        members[memberId]!.touch(now: now)
        members[memberId]!.awaitingJoin = token
    }

    // MARK: Rebalance

    private mutating func maybePrepareRebalance(now: Int64, into out: inout [GroupAction]) {
        if state == .stable || state == .completingRebalance || state == .empty {
            prepareRebalance(now: now, into: &out)
        }
    }

    private mutating func prepareRebalance(now: Int64, into out: inout [GroupAction]) {
        if state == .completingRebalance {
            // The assignment being computed is for a membership that no longer exists.
            for id in memberOrder {
                members[id]!.assignment = []
                answerSync(id, .failure(.rebalanceInProgress), now: now, into: &out)
            }
        }
        pendingSyncMembers = []
        syncDeadline = nil
        if state == .empty && config.initialRebalanceDelayMs > 0 {
            let delay = config.initialRebalanceDelayMs
            joinDeadline = now + delay
            initialDelay = InitialDelay(limit: now + max(rebalanceTimeoutMs, delay))
        } else {
            joinDeadline = now + rebalanceTimeoutMs
            initialDelay = nil
        }
        state = .preparingRebalance
        maybeCompleteJoin(now: now, into: &out)
    }

    /// The join phase ends early once every member and every pending id has (re)joined, except
    /// during the initial delay, which always runs its course.
    private mutating func maybeCompleteJoin(now: Int64, into out: inout [GroupAction]) {
        guard state == .preparingRebalance, initialDelay == nil else { return }
        if awaitingJoinCount == members.count && pendingMembers.isEmpty {
            completeJoin(now: now, into: &out)
        }
    }

    private mutating func joinTimerFired(now: Int64, into out: inout [GroupAction]) {
        if let delay = initialDelay, delay.newMemberAdded, now < delay.limit {
            // Someone joined during the delay: others are probably on their way too.
            initialDelay!.newMemberAdded = false
            joinDeadline = min(now + config.initialRebalanceDelayMs, delay.limit)
            return
        }
        completeJoin(now: now, into: &out)
    }

    /// End of the join phase: drop dynamic members that did not rejoin, start the next
    /// generation, answer every parked JoinGroup (the leader gets the member list).
    private mutating func completeJoin(now: Int64, into out: inout [GroupAction]) {
        // Static members that did not rejoin keep their place until their session runs out.
        for id in memberOrder where members[id]!.awaitingJoin == nil && members[id]!.groupInstanceId == nil {
            remove(id, answering: .unknownMemberId, into: &out)
        }
        initialDelay = nil
        if !members.isEmpty && !electJoinedLeader() {
            // Only static members that have not rejoined remain: wait another round for them.
            joinDeadline = now + rebalanceTimeoutMs
            return
        }
        joinDeadline = nil
        generationId += 1
        if members.isEmpty {
            protocolName = nil
            state = .empty
            return
        }
        protocolName = selectProtocol()
        state = .completingRebalance
        let leaderId = self.leaderId!
        for id in memberOrder {
            if let token = members[id]!.awaitingJoin {
                members[id]!.awaitingJoin = nil
                out.append(.respondJoin(token, joinResult(for: id, includeMembers: id == leaderId)))
            }
            members[id]!.isNew = false
            members[id]!.touch(now: now)
        }
        pendingSyncMembers = Set(memberOrder)
        syncDeadline = now + rebalanceTimeoutMs
    }

    /// Keeps the leader if it rejoined, else picks the first member that did. False if none did.
    private mutating func electJoinedLeader() -> Bool {
        if let leaderId, members[leaderId]?.awaitingJoin != nil { return true }
        guard let joined = memberOrder.first(where: { members[$0]!.awaitingJoin != nil }) else { return false }
        leaderId = joined
        return true
    }

    /// Among the protocols every member supports, each member votes for its most preferred one;
    /// most votes wins, ties go to the protocol that got its first vote earliest (join order).
    func selectProtocol() -> String {
        let candidates = Set(members[memberOrder[0]]!.protocols.map(\.name)).filter { name in
            members.values.allSatisfy { $0.supports(name) }
        }
        precondition(!candidates.isEmpty, "group \(groupId) has no common protocol")
        var votes: [String: Int] = [:]
        var firstVoted: [String] = []
        for id in memberOrder {
            let vote = members[id]!.protocols.first { candidates.contains($0.name) }!.name
            if votes[vote] == nil { firstVoted.append(vote) }
            votes[vote, default: 0] += 1
        }
        let most = votes.values.max()!
        return firstVoted.first { votes[$0] == most }!
    }

    private func supportsProtocols(_ type: String, _ protocols: [GroupProtocol]) -> Bool {
        if state == .empty { return !type.isEmpty && !protocols.isEmpty }
        return type == protocolType && protocols.contains { p in members.values.allSatisfy { $0.supports(p.name) } }
    }

    private var awaitingJoinCount: Int { members.values.count { $0.awaitingJoin != nil } }

    private func joinResult(for memberId: String, includeMembers: Bool) -> JoinResult {
        let list = includeMembers ? memberOrder.map { id in
            JoinResultMember(memberId: id, groupInstanceId: members[id]!.groupInstanceId, metadata: members[id]!.metadata(for: protocolName))
        } : []
        return JoinResult(
            errorCode: .none, generationId: generationId, protocolType: protocolType, protocolName: protocolName,
            leader: leaderId ?? "", skipAssignment: false, memberId: memberId, members: list)
    }

    // MARK: SyncGroup

    mutating func sync(_ r: SyncRequest, token: RequestToken, now: Int64, into out: inout [GroupAction]) {
        func fail(_ error: ErrorCode) { out.append(.respondSync(token, .failure(error))) }
        if let error = validateCurrentMember(r.memberId, r.groupInstanceId) { return fail(error) }
        if r.generationId != generationId { return fail(.illegalGeneration) }
        if let type = r.protocolType, type != protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = r.protocolName, name != protocolName { return fail(.inconsistentGroupProtocol) }
        members[r.memberId]!.touch(now: now)
        switch state {
        case .empty, .dead:
            fail(.unknownMemberId)
        case .preparingRebalance:
            fail(.rebalanceInProgress)
        case .completingRebalance:
            if let old = members[r.memberId]!.awaitingSync {
                out.append(.respondSync(old, .failure(.rebalanceInProgress)))  // superseded
            }
            members[r.memberId]!.awaitingSync = token
            syncReceived(from: r.memberId)
            if r.memberId == leaderId { applyAssignment(r.assignments, now: now, into: &out) }
        case .stable:
            syncReceived(from: r.memberId)
            out.append(.respondSync(token, syncResult(for: r.memberId)))
        }
    }

    private mutating func syncReceived(from memberId: String) {
        pendingSyncMembers.remove(memberId)
        if pendingSyncMembers.isEmpty { syncDeadline = nil }
    }

    /// The leader's assignment: store it (members it left out get an empty one), answer every
    /// parked SyncGroup, and the group is Stable.
    private mutating func applyAssignment(_ assignments: [MemberAssignment], now: Int64, into out: inout [GroupAction]) {
        let byMember = Dictionary(assignments.map { ($0.memberId, $0.assignment) }, uniquingKeysWith: { _, last in last })
        for id in memberOrder { members[id]!.assignment = byMember[id] ?? [] }
        state = .stable
        for id in memberOrder { answerSync(id, syncResult(for: id), now: now, into: &out) }
    }

    private mutating func answerSync(_ memberId: String, _ result: SyncResult, now: Int64, into out: inout [GroupAction]) {
        guard let token = members[memberId]!.awaitingSync else { return }
        members[memberId]!.awaitingSync = nil
        // Its session was suspended while it waited; restart it from the answer.
        members[memberId]!.touch(now: now)
        out.append(.respondSync(token, result))
    }

    private func syncResult(for memberId: String) -> SyncResult {
        SyncResult(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: members[memberId]!.assignment)
    }

    // MARK: Heartbeat, LeaveGroup, offsets

    mutating func heartbeat(_ r: MemberHeartbeat, now: Int64) -> ErrorCode {
        if let error = validateCurrentMember(r.memberId, r.groupInstanceId) { return error }
        if r.generationId != generationId { return .illegalGeneration }
        switch state {
        case .empty, .dead:
            return .unknownMemberId
        case .preparingRebalance:
            members[r.memberId]!.touch(now: now)
            return .rebalanceInProgress
        case .completingRebalance, .stable:
            members[r.memberId]!.touch(now: now)
            return .none
        }
    }

    mutating func leave(_ leaving: LeavingMember, now: Int64, into out: inout [GroupAction]) -> ErrorCode {
        if leaving.memberId.isEmpty {
            // Removal by instance id alone (admin tools, KIP-345).
            guard let instanceId = leaving.groupInstanceId, let current = staticMembers[instanceId] else { return .unknownMemberId }
            removeMemberAndUpdateGroup(current, now: now, into: &out)
            return .none
        }
        if pendingMembers.removeValue(forKey: leaving.memberId) != nil {
            maybeCompleteJoin(now: now, into: &out)
            return .none
        }
        if let error = validateCurrentMember(leaving.memberId, leaving.groupInstanceId) { return error }
        removeMemberAndUpdateGroup(leaving.memberId, now: now, into: &out)
        return .none
    }

    /// Kafka's `validateOffsetCommit` followed by `doCommitOffsets`' state check.
    func validateOffsetCommit(generationId: Int32, memberId: String, groupInstanceId: String?, isTransactional: Bool) -> ErrorCode {
        if generationId < 0 && state == .empty {
            return .none  // admin client or a consumer without group management
        }
        if generationId >= 0 || !memberId.isEmpty || groupInstanceId != nil {
            if let error = validateCurrentMember(memberId, groupInstanceId) { return error }
            if generationId != self.generationId { return .illegalGeneration }
        } else if !isTransactional && state != .empty {
            return .unknownMemberId  // only members may commit to an active group
        }
        // A member of the new generation has no assignment yet. During PreparingRebalance the
        // previous generation may still commit; the heartbeat tells it to rejoin.
        if !isTransactional && state == .completingRebalance { return .rebalanceInProgress }
        return .none
    }

    /// A commit counts as a heartbeat for a member in Stable or PreparingRebalance (Kafka).
    mutating func offsetsCommitted(by memberId: String, now: Int64) {
        hasOffsets = true
        if state == .stable || state == .preparingRebalance { members[memberId]?.touch(now: now) }
    }

    mutating func restore(protocolType: String?, generationId: Int32) {
        precondition(state == .empty, "only an Empty group can be restored")
        self.protocolType = protocolType
        self.generationId = max(self.generationId, generationId)
        hasOffsets = true
    }

    // MARK: Timers

    mutating func tick(now: Int64, into out: inout [GroupAction]) {
        let lapsed = pendingMembers.filter { $0.value <= now }.keys
        if !lapsed.isEmpty {
            for id in lapsed { pendingMembers[id] = nil }
            maybeCompleteJoin(now: now, into: &out)
        }
        // Looked up afresh each time: an earlier removal may have ended a join phase, which drops
        // some members and restarts the sessions of the rest.
        for id in memberOrder {
            if let deadline = members[id]?.expiryDeadline, deadline <= now {
                removeMemberAndUpdateGroup(id, now: now, into: &out)
            }
        }
        // Sync before join: a sync expiry that empties the group opens a join phase due at once.
        if let deadline = syncDeadline, deadline <= now {
            syncTimerFired(now: now, into: &out)
        }
        if state == .preparingRebalance, let deadline = joinDeadline, deadline <= now {
            joinTimerFired(now: now, into: &out)
        }
    }

    /// Members that got their JoinGroup answer but never sent SyncGroup are gone: rebalance without them.
    private mutating func syncTimerFired(now: Int64, into out: inout [GroupAction]) {
        precondition(state == .completingRebalance || state == .stable)
        for id in memberOrder where pendingSyncMembers.contains(id) {
            remove(id, answering: .unknownMemberId, into: &out)
        }
        prepareRebalance(now: now, into: &out)
    }

    // MARK: Membership

    /// Checks that a request speaks for a current member. A static member's instance id must map
    /// to this member id; another id means a newer incarnation took over (FENCED_INSTANCE_ID).
    func validateCurrentMember(_ memberId: String, _ groupInstanceId: String?) -> ErrorCode? {
        if let instanceId = groupInstanceId {
            guard let current = staticMembers[instanceId] else { return .unknownMemberId }
            return current == memberId ? nil : .fencedInstanceId
        }
        return members[memberId] == nil ? .unknownMemberId : nil
    }

    /// Leave or expiry: remove the member, then rebalance without it.
    private mutating func removeMemberAndUpdateGroup(_ memberId: String, now: Int64, into out: inout [GroupAction]) {
        remove(memberId, answering: .unknownMemberId, into: &out)
        switch state {
        case .stable, .completingRebalance: prepareRebalance(now: now, into: &out)
        case .preparingRebalance: maybeCompleteJoin(now: now, into: &out)
        case .empty, .dead: break
        }
    }

    /// Removes a member from every table, answering its parked requests with `error`. No state change.
    private mutating func remove(_ memberId: String, answering error: ErrorCode, into out: inout [GroupAction]) {
        guard let member = members.removeValue(forKey: memberId) else { return }
        if let token = member.awaitingJoin { out.append(.respondJoin(token, .failure(error, memberId: ""))) }
        if let token = member.awaitingSync { out.append(.respondSync(token, .failure(error))) }
        memberOrder.removeAll { $0 == memberId }
        if let instanceId = member.groupInstanceId { staticMembers[instanceId] = nil }
        pendingSyncMembers.remove(memberId)
        if pendingSyncMembers.isEmpty { syncDeadline = nil }
        if leaderId == memberId { leaderId = memberOrder.first }
    }

    // MARK: Views

    var summary: GroupDescription {
        let stable = state == .stable
        return GroupDescription(
            groupId: groupId, state: state, protocolType: protocolType ?? "",
            protocolName: stable ? protocolName ?? "" : "",
            members: memberOrder.map { id in
                let m = members[id]!
                return MemberDescription(
                    memberId: id, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
                    metadata: stable ? m.metadata(for: protocolName) : [], assignment: stable ? m.assignment : [])
            })
    }

    /// Recomputes `nextDeadline` and checks the invariants; the coordinator calls it after every event.
    mutating func settle() {
        precondition(members.count == memberOrder.count && Set(memberOrder).count == memberOrder.count)
        precondition(members.isEmpty == (leaderId == nil) && leaderId.map { members[$0] != nil } ?? true, "leader is not a member")
        // A join phase may run on with no members (initial delay, pending ids); it then ends Empty.
        precondition(state != .empty || members.isEmpty, "an Empty group has no members")
        precondition(!members.isEmpty || state == .empty || state == .preparingRebalance, "a generation needs members")
        precondition((joinDeadline != nil) == (state == .preparingRebalance), "join timer runs iff rebalancing")
        precondition(initialDelay == nil || state == .preparingRebalance)
        precondition(pendingSyncMembers.isSubset(of: members.keys) && (pendingSyncMembers.isEmpty || syncDeadline != nil))
        precondition(syncDeadline == nil || state == .completingRebalance || state == .stable)
        precondition(state != .completingRebalance && state != .stable || protocolName != nil)
        precondition(staticMembers.allSatisfy { members[$0.value]?.groupInstanceId == $0.key }, "static member map out of step")
        var deadline = [joinDeadline, syncDeadline, pendingMembers.values.min()].compactMap { $0 }.min()
        for member in members.values {
            precondition(member.awaitingJoin == nil || state == .preparingRebalance, "JoinGroup parked outside the join phase")
            precondition(member.awaitingSync == nil || state == .completingRebalance, "SyncGroup parked outside the sync phase")
            if let d = member.expiryDeadline { deadline = min(deadline ?? d, d) }
        }
        nextDeadline = deadline
    }

    /// Every parked request, for invariant checks in tests.
    var parkedTokens: [RequestToken] {
        members.values.flatMap { [$0.awaitingJoin, $0.awaitingSync].compactMap { $0 } }
    }
}
