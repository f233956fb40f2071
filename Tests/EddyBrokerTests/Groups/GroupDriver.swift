import EddyWire
@testable import EddyBroker
import XCTest

typealias Coordinator = GroupCoordinator<SequentialMemberIds>

extension GroupCoordinatorConfig {
    /// Small numbers that read well in tests: sessions 1-60 s, 3 s initial delay.
    static let test = GroupCoordinatorConfig(
        minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60_000, initialRebalanceDelayMs: 3000, maxGroupSize: .max,
        newMemberJoinTimeoutMs: 300_000)
}

func proto(_ name: String, _ metadata: [UInt8] = [0]) -> GroupProtocol { GroupProtocol(name: name, metadata: metadata) }

/// The expected answer to a successful JoinGroup.
func joined(
    _ memberId: String, generation: Int32, leader: String, members: [JoinResultMember] = [], protocolName: String = "range",
    skipAssignment: Bool = false
) -> JoinResult {
    JoinResult(
        errorCode: .none, generationId: generation, protocolType: "consumer", protocolName: protocolName, leader: leader,
        skipAssignment: skipAssignment, memberId: memberId, members: members)
}

func listed(_ ids: String..., metadata: [UInt8] = [0]) -> [JoinResultMember] {
    ids.map { JoinResultMember(memberId: $0, groupInstanceId: nil, metadata: metadata) }
}

func synced(_ assignment: [UInt8], protocolName: String = "range") -> SyncResult {
    SyncResult(errorCode: .none, protocolType: "consumer", protocolName: protocolName, assignment: assignment)
}

/// Plays the broker's request handler: hands out request tokens, keeps the clock, and checks that
/// no token is answered twice or answered without having been issued.
struct Driver {
    var coordinator: Coordinator
    var now: Int64 = 0
    private var nextToken: RequestToken = 1
    private(set) var unanswered: Set<RequestToken> = []

    init(_ config: GroupCoordinatorConfig = .test) {
        coordinator = Coordinator(config: config, memberIds: SequentialMemberIds())
    }

    mutating func issueToken() -> RequestToken {
        defer { nextToken += 1 }
        unanswered.insert(nextToken)
        return nextToken
    }

    mutating func record(_ actions: [GroupAction], file: StaticString = #filePath, line: UInt = #line) -> [GroupAction] {
        for action in actions {
            let token: RequestToken
            switch action {
            case .respondJoin(let t, _), .respondSync(let t, _): token = t
            }
            XCTAssertNotNil(unanswered.remove(token), "token \(token) answered twice or never issued", file: file, line: line)
        }
        return actions
    }

    mutating func join(
        _ group: String = "g", member: String = "", client: String = "c", instance: String? = nil,
        protocols: [GroupProtocol] = [proto("range")], protocolType: String = "consumer", session: Int32 = 10_000,
        rebalance: Int32 = 30_000, requireKnownMemberId: Bool = true, skipAssignment: Bool = false
    ) -> (token: RequestToken, actions: [GroupAction]) {
        let request = JoinRequest(
            groupId: group, sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, memberId: member,
            groupInstanceId: instance, protocolType: protocolType, protocols: protocols, clientId: client,
            clientHost: "/127.0.0.1", requireKnownMemberId: requireKnownMemberId, supportSkippingAssignment: skipAssignment,
            reason: nil)
        let token = issueToken()
        return (token, record(coordinator.join(request, token: token, now: now)))
    }

    /// Both steps of a KIP-394 join; returns the member id and the parked (or answered) second join.
    mutating func joinNew(
        _ group: String = "g", client: String = "c", protocols: [GroupProtocol] = [proto("range")],
        session: Int32 = 10_000, rebalance: Int32 = 30_000, file: StaticString = #filePath, line: UInt = #line
    ) -> (memberId: String, token: RequestToken, actions: [GroupAction]) {
        let first = join(group, client: client, protocols: protocols, session: session, rebalance: rebalance)
        guard case .respondJoin(first.token, let r)? = first.actions.first, r.errorCode == .memberIdRequired else {
            XCTFail("expected MEMBER_ID_REQUIRED, got \(first.actions)", file: file, line: line)
            return ("", 0, [])
        }
        let second = join(group, member: r.memberId, client: client, protocols: protocols, session: session, rebalance: rebalance)
        return (r.memberId, second.token, second.actions)
    }

    mutating func sync(
        _ group: String = "g", member: String, generation: Int32, instance: String? = nil,
        assignments: [String: [UInt8]] = [:], protocolType: String? = nil, protocolName: String? = nil
    ) -> (token: RequestToken, actions: [GroupAction]) {
        let request = SyncRequest(
            groupId: group, generationId: generation, memberId: member, groupInstanceId: instance,
            protocolType: protocolType, protocolName: protocolName,
            assignments: assignments.sorted { $0.key < $1.key }.map { MemberAssignment(memberId: $0.key, assignment: $0.value) })
        let token = issueToken()
        return (token, record(coordinator.sync(request, token: token, now: now)))
    }

    mutating func heartbeat(_ group: String = "g", member: String, generation: Int32, instance: String? = nil) -> ErrorCode {
        coordinator.heartbeat(
            MemberHeartbeat(groupId: group, generationId: generation, memberId: member, groupInstanceId: instance), now: now)
    }

    mutating func leave(_ members: [LeavingMember]) -> LeaveResult { leave("g", members) }

    mutating func leave(_ group: String, _ members: [LeavingMember]) -> LeaveResult {
        var result = coordinator.leave(groupId: group, members: members, now: now)
        result.actions = record(result.actions)
        return result
    }

    mutating func leave(_ group: String = "g", member: String) -> LeaveResult {
        leave(group, [LeavingMember(memberId: member, groupInstanceId: nil)])
    }

    /// Moves the clock and runs the timers.
    mutating func advance(to time: Int64) -> [GroupAction] {
        precondition(time >= now)
        now = time
        return record(coordinator.tick(now: time))
    }

    func state(_ group: String = "g") -> GroupState? { coordinator.describe(groupId: group)?.state }
    func group(_ id: String = "g") -> Group? { coordinator.groups[id] }

    /// Builds a Stable group of `count` dynamic members (clients c0, c1, …) that joined at `now`,
    /// each assigned `[index]`. Returns the member ids in join order; the first is the leader.
    mutating func stableGroup(
        _ group: String = "g", count: Int, session: Int32 = 10_000, rebalance: Int32 = 30_000,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        var ids: [String] = []
        for i in 0..<count {
            let (id, _, actions) = joinNew(group, client: "c\(i)", session: session, rebalance: rebalance, file: file, line: line)
            XCTAssertEqual(actions, [], file: file, line: line)
            ids.append(id)
        }
        var answers = advance(to: now + coordinator.config.initialRebalanceDelayMs)
        if answers.isEmpty { answers = advance(to: coordinator.nextDeadline!) }  // the delay was extended
        XCTAssertEqual(answers.count, count, file: file, line: line)
        let generation = group_(group).generationId
        for id in ids.dropFirst() {
            XCTAssertEqual(sync(group, member: id, generation: generation).actions, [], file: file, line: line)
        }
        let assignments = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($0.element, [UInt8($0.offset)]) })
        let done = sync(group, member: ids[0], generation: generation, assignments: assignments).actions
        XCTAssertEqual(done.count, count, file: file, line: line)
        XCTAssertEqual(state(group), .stable, file: file, line: line)
        return ids
    }

    private func group_(_ id: String) -> Group { coordinator.groups[id]! }
}
