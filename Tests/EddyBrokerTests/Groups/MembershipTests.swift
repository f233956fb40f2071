import EddyWire
@testable import EddyBroker
import XCTest

/// Heartbeats, departures, timers and static membership.
final class MembershipTests: XCTestCase {
    func testHeartbeatAnswersInEachState() {
        var d = Driver()
        let a = d.joinNew(client: "a")
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 0), .rebalanceInProgress)
        _ = d.advance(to: 3000)
        XCTAssertEqual(d.state(), .completingRebalance)
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 1), .none)
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 0), .illegalGeneration)
        _ = d.sync(member: a.memberId, generation: 1, assignments: [a.memberId: [1]])
        XCTAssertEqual(d.state(), .stable)
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 1), .none)
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 2), .illegalGeneration)
        XCTAssertEqual(d.heartbeat(member: "nobody", generation: 1), .unknownMemberId)
        XCTAssertEqual(d.heartbeat("other", member: a.memberId, generation: 1), .unknownMemberId)
        XCTAssertEqual(d.heartbeat("", member: a.memberId, generation: 1), .invalidGroupId)

        d.coordinator.noteOffsetsCommitted(groupId: "g", memberId: a.memberId, now: d.now)
        XCTAssertEqual(d.leave(member: a.memberId).memberErrors, [.none])
        XCTAssertEqual(d.state(), .empty)
        XCTAssertEqual(d.heartbeat(member: a.memberId, generation: 2), .unknownMemberId)
    }

    func testLeaveTriggersARebalanceAndTheOthersRejoinIntoTheNextGeneration() {
        var d = Driver()
        let ids = d.stableGroup(count: 3)
        let left = d.leave(member: ids[1])
        XCTAssertEqual(left, LeaveResult(errorCode: .none, memberErrors: [.none], actions: []))
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.heartbeat(member: ids[0], generation: 1), .rebalanceInProgress)
        XCTAssertEqual(d.heartbeat(member: ids[1], generation: 1), .unknownMemberId)

        let a = d.join(member: ids[0])
        XCTAssertEqual(a.actions, [])
        let c = d.join(member: ids[2])
        XCTAssertEqual(
            c.actions,
            [
                .respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0], ids[2]))),
                .respondJoin(c.token, joined(ids[2], generation: 2, leader: ids[0])),
            ])
    }

    func testLeavingCanCompleteTheJoinPhase() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)
        let a = d.join(member: ids[0])
        let left = d.leave(member: ids[1])
        XCTAssertEqual(
            left.actions, [.respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0])))])
    }

    func testALeavingMembersParkedRequestsAreAnsweredAndOthersAreToldToRejoin() {
        var d = Driver()
        let ids = ["a", "b", "c"].map { d.joinNew(client: $0).memberId }
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        let b = d.sync(member: ids[1], generation: 1)
        let c = d.sync(member: ids[2], generation: 1)
        let left = d.leave(member: ids[2])
        XCTAssertEqual(
            left.actions,
            [.respondSync(c.token, .failure(.unknownMemberId)), .respondSync(b.token, .failure(.rebalanceInProgress))])
        XCTAssertEqual(d.state(), .preparingRebalance)

        // A parked JoinGroup of a leaving member gets UNKNOWN_MEMBER_ID.
        let a = d.join(member: ids[0])
        XCTAssertEqual(d.leave(member: ids[0]).actions, [.respondJoin(a.token, .failure(.unknownMemberId, memberId: ""))])
        XCTAssertEqual(d.group()?.leaderId, ids[1], "the next member in join order leads")
    }

    func testBatchLeaveByInstanceIdWithPerMemberErrors() {
        var d = Driver()
        let a = d.join(client: "ca", instance: "a")
        let b = d.join(client: "cb", instance: "b")
        XCTAssertEqual([a.actions, b.actions], [[], []], "static members join without the member id round trip")
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        let result = d.leave([
            LeavingMember(memberId: "", groupInstanceId: "a"),
            LeavingMember(memberId: "b-1", groupInstanceId: "b"),
            LeavingMember(memberId: "", groupInstanceId: "zz"),
            LeavingMember(memberId: "nobody", groupInstanceId: nil),
        ])
        XCTAssertEqual(result.errorCode, .none)
        XCTAssertEqual(result.memberErrors, [.none, .fencedInstanceId, .unknownMemberId, .unknownMemberId])
        XCTAssertEqual(d.group()?.memberOrder, ["b-2"])
        XCTAssertEqual(d.leave([LeavingMember(memberId: "b-2", groupInstanceId: "b")]).memberErrors, [.none])
        XCTAssertNil(d.group(), "no members, no offsets: the group is gone")
        XCTAssertEqual(d.leave(member: "b-2"), LeaveResult(errorCode: .none, memberErrors: [.unknownMemberId], actions: []))
        XCTAssertEqual(d.leave("", member: "x").errorCode, .invalidGroupId)
    }

    func testSessionExpiryRemovesASilentMemberAndRebalances() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)  // now 6000; sessions run to 16000
        XCTAssertEqual(d.coordinator.nextDeadline, 16_000)
        XCTAssertEqual(d.advance(to: 12_000), [])
        XCTAssertEqual(d.heartbeat(member: ids[0], generation: 1), .none)
        XCTAssertEqual(d.advance(to: 16_000), [])
        XCTAssertEqual(d.group()?.memberOrder, [ids[0]])
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.heartbeat(member: ids[0], generation: 1), .rebalanceInProgress)
        let a = d.join(member: ids[0])
        XCTAssertEqual(a.actions, [.respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0])))])
    }

    func testRebalanceTimeoutRemovesMembersThatDidNotRejoin() {
        var d = Driver()
        let ids = d.stableGroup(count: 3)  // now 6000
        let a = d.join(member: ids[0])  // join phase ends at 36000
        XCTAssertEqual(d.advance(to: 7000), [])
        let b = d.join(member: ids[1])
        for t in stride(from: Int64(10_000), through: 28_000, by: 9000) {
            XCTAssertEqual(d.advance(to: t), [])
            XCTAssertEqual(d.heartbeat(member: ids[2], generation: 1), .rebalanceInProgress, "alive, but not rejoining")
        }
        XCTAssertEqual(d.coordinator.nextDeadline, 36_000)
        XCTAssertEqual(
            d.advance(to: 36_000),
            [
                .respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0], ids[1]))),
                .respondJoin(b.token, joined(ids[1], generation: 2, leader: ids[0])),
            ])
        XCTAssertEqual(d.heartbeat(member: ids[2], generation: 1), .unknownMemberId)
    }

    func testAMemberAwaitingItsJoinAnswerIsNotExpired() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)  // now 6000
        let a = d.join(member: ids[0])  // silent from now on, but parked
        XCTAssertEqual(d.advance(to: 14_000), [])
        XCTAssertEqual(d.heartbeat(member: ids[1], generation: 1), .rebalanceInProgress)
        XCTAssertEqual(d.advance(to: 20_000), [])
        XCTAssertEqual(d.group()?.memberOrder, ids, "past its session, still a member")
        let b = d.join(member: ids[1])
        XCTAssertEqual(b.actions.count, 2)
        XCTAssertEqual(b.actions.first, .respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0], ids[1]))))
        XCTAssertEqual(d.group()?.members[ids[0]]?.sessionDeadline, 30_000, "the session restarts with the answer")
    }

    func testANewMemberThatNeverGetsItsAnswerIsDroppedAfterTheNewMemberTimeout() {
        var config = GroupCoordinatorConfig.test
        config.newMemberJoinTimeoutMs = 5000
        var d = Driver(config)
        let ids = d.stableGroup(count: 1, session: 60_000)  // now 3000
        let b = d.joinNew(client: "b")  // rebalance until 33000; the leader does not rejoin
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.advance(to: 8000), [.respondJoin(b.token, .failure(.unknownMemberId, memberId: ""))])
        XCTAssertEqual(d.group()?.memberOrder, ids)
    }

    func testMembersThatNeverSyncAreRemovedAtTheEndOfTheSyncPhase() {
        var d = Driver()
        let a = d.joinNew(client: "a", session: 60_000)
        let b = d.joinNew(client: "b", session: 60_000)
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        XCTAssertEqual(d.group()?.syncDeadline, 36_000)
        _ = d.sync(member: a.memberId, generation: 1, assignments: [a.memberId: [1], b.memberId: [2]])
        XCTAssertEqual(d.state(), .stable)
        XCTAssertEqual(d.heartbeat(member: b.memberId, generation: 1), .none)
        XCTAssertEqual(d.advance(to: 36_000), [])
        XCTAssertEqual(d.group()?.memberOrder, [a.memberId])
        XCTAssertEqual(d.state(), .preparingRebalance)
    }

    func testStaticMemberRestartKeepsItsAssignmentWithoutRebalanceAndFencesTheOldId() {
        var d = Driver()
        _ = d.join(client: "ca", instance: "a")
        _ = d.join(client: "cb", instance: "b")
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        _ = d.sync(member: "b-2", generation: 1, instance: "b")
        _ = d.sync(member: "a-1", generation: 1, instance: "a", assignments: ["a-1": [1], "b-2": [2]])
        XCTAssertEqual(d.state(), .stable)

        let restart = d.join(client: "cb", instance: "b")
        XCTAssertEqual(restart.actions, [.respondJoin(restart.token, joined("b-3", generation: 1, leader: "a-1"))])
        XCTAssertEqual(d.state(), .stable, "no rebalance")
        let s = d.sync(member: "b-3", generation: 1, instance: "b")
        XCTAssertEqual(s.actions, [.respondSync(s.token, synced([2]))])

        XCTAssertEqual(d.heartbeat(member: "b-2", generation: 1, instance: "b"), .fencedInstanceId)
        XCTAssertEqual(d.heartbeat(member: "b-3", generation: 1, instance: "b"), .none)
        let old = d.sync(member: "b-2", generation: 1, instance: "b")
        XCTAssertEqual(old.actions, [.respondSync(old.token, .failure(.fencedInstanceId))])
        let oldJoin = d.join(member: "b-2", client: "cb", instance: "b")
        XCTAssertEqual(oldJoin.actions, [.respondJoin(oldJoin.token, .failure(.fencedInstanceId, memberId: "b-2"))])
        XCTAssertEqual(
            d.coordinator.validateOffsetCommit(groupId: "g", generationId: 1, memberId: "b-2", groupInstanceId: "b"), .fencedInstanceId)
        XCTAssertEqual(d.coordinator.describe(groupId: "g")?.members.map(\.memberId), ["a-1", "b-3"])
    }

    func testRestartedStaticLeaderIsNotToldItLeadsUnlessItCanSkipTheAssignment() {
        var d = Driver()
        _ = d.join(client: "ca", instance: "a")
        _ = d.join(client: "cb", instance: "b")
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        _ = d.sync(member: "a-1", generation: 1, instance: "a", assignments: ["a-1": [1], "b-2": [2]])

        let v8 = d.join(client: "ca", instance: "a")
        XCTAssertEqual(v8.actions, [.respondJoin(v8.token, joined("a-3", generation: 1, leader: "a-1"))])
        XCTAssertEqual(d.group()?.leaderId, "a-3")

        let v9 = d.join(client: "ca", instance: "a", skipAssignment: true)
        let members = [("a-4", "a"), ("b-2", "b")].map { JoinResultMember(memberId: $0.0, groupInstanceId: $0.1, metadata: [0]) }
        XCTAssertEqual(
            v9.actions, [.respondJoin(v9.token, joined("a-4", generation: 1, leader: "a-4", members: members, skipAssignment: true))])
        XCTAssertEqual(d.state(), .stable)
    }

    func testStaticRestartThatChangesTheChosenProtocolRebalances() {
        var d = Driver(GroupCoordinatorConfig(minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60_000, initialRebalanceDelayMs: 0))
        let first = d.join(client: "ca", instance: "a")
        XCTAssertEqual(first.actions.count, 1)
        _ = d.sync(member: "a-1", generation: 1, instance: "a", assignments: ["a-1": [1]])

        let inconsistent = d.join(client: "ca", instance: "a", protocols: [proto("roundrobin")])
        XCTAssertEqual(inconsistent.actions, [.respondJoin(inconsistent.token, .failure(.inconsistentGroupProtocol, memberId: ""))])

        let restart = d.join(client: "ca", instance: "a", protocols: [proto("roundrobin"), proto("range")])
        XCTAssertEqual(
            restart.actions,
            [
                .respondJoin(
                    restart.token,
                    joined(
                        "a-3", generation: 2, leader: "a-3",
                        members: [JoinResultMember(memberId: "a-3", groupInstanceId: "a", metadata: [0])], protocolName: "roundrobin"))
            ])
    }

    func testStaticMemberThatDoesNotRejoinKeepsItsPlaceUntilItsSessionEnds() {
        var d = Driver()
        _ = d.join(client: "ca", instance: "a", session: 20_000, rebalance: 10_000)
        _ = d.join(client: "cb", instance: "b", session: 60_000, rebalance: 10_000)
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        _ = d.sync(member: "a-1", generation: 1, instance: "a", assignments: [:])
        _ = d.sync(member: "b-2", generation: 1, instance: "b")
        let rejoin = d.join(member: "a-1", instance: "a", session: 20_000, rebalance: 10_000)  // ends at 16000
        let answers = d.advance(to: 16_000)
        XCTAssertEqual(
            answers,
            [
                .respondJoin(
                    rejoin.token,
                    joined(
                        "a-1", generation: 2, leader: "a-1",
                        members: [("a-1", "a"), ("b-2", "b")].map { JoinResultMember(memberId: $0.0, groupInstanceId: $0.1, metadata: [0]) }))
            ])
        XCTAssertEqual(d.group()?.memberOrder, ["a-1", "b-2"], "the static member stays in the new generation")
    }

    func testPendingMemberIdLapsesWhenNeverUsed() {
        var d = Driver()
        let first = d.join(client: "c", session: 10_000)
        XCTAssertEqual(first.actions, [.respondJoin(first.token, .failure(.memberIdRequired, memberId: "c-1"))])
        XCTAssertEqual(d.coordinator.list(), [GroupListing(groupId: "g", protocolType: "", state: .empty)])
        XCTAssertEqual(d.coordinator.nextDeadline, 10_000)
        XCTAssertEqual(d.advance(to: 10_000), [])
        XCTAssertEqual(d.coordinator.list(), [])
        XCTAssertNil(d.coordinator.nextDeadline)
        let late = d.join(member: "c-1")
        XCTAssertEqual(late.actions, [.respondJoin(late.token, .failure(.unknownMemberId, memberId: "c-1"))])
    }

    func testAPendingMemberHoldsTheJoinPhaseOpenUntilItJoinsOrLapses() {
        var d = Driver()
        let ids = d.stableGroup(count: 1)  // now 3000
        let x = d.join(client: "x")  // pending until 13000
        XCTAssertEqual(x.actions, [.respondJoin(x.token, .failure(.memberIdRequired, memberId: "x-2"))])
        let a = d.join(member: ids[0])
        XCTAssertEqual(a.actions, [], "waits for x")
        XCTAssertEqual(d.advance(to: 13_000), [.respondJoin(a.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0])))])
        XCTAssertEqual(d.state(), .completingRebalance)
    }

    func testAJoinPhaseLeftWithOnlyPendingIdsIsDueAtOnce() {
        var d = Driver()
        let ids = d.stableGroup(count: 1)  // now 3000
        _ = d.join(client: "x")  // pending
        _ = d.leave(member: ids[0])
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.coordinator.nextDeadline, d.now, "no members, so no rebalance timeout to wait for")
        XCTAssertEqual(d.advance(to: d.now), [])
        XCTAssertEqual(d.state(), .empty)
        XCTAssertEqual(d.group()?.generationId, 2)
        XCTAssertEqual(d.coordinator.nextDeadline, 13_000, "the pending id keeps the group until it lapses")
    }

    func testLastMemberLeavingLeavesAnEmptyGroupWithTheNextGeneration() {
        var d = Driver()
        let ids = d.stableGroup(count: 1)
        d.coordinator.noteOffsetsCommitted(groupId: "g", memberId: ids[0], now: d.now)
        _ = d.leave(member: ids[0])
        XCTAssertEqual(d.state(), .empty)
        XCTAssertEqual(d.group()?.generationId, 2)
        XCTAssertEqual(d.coordinator.list(), [GroupListing(groupId: "g", protocolType: "consumer", state: .empty)])
        XCTAssertNil(d.coordinator.nextDeadline)

        // The next member starts generation 3.
        let b = d.joinNew(client: "b")
        XCTAssertEqual(d.advance(to: d.now + 3000), [.respondJoin(b.token, joined(b.memberId, generation: 3, leader: b.memberId, members: listed(b.memberId)))])

        d.coordinator.noteOffsetsRemoved(groupId: "g")
        _ = d.leave(member: b.memberId)
        XCTAssertNil(d.group(), "Empty without offsets: dropped")
    }

    func testTwoGroupsRebalancingAtOnceDoNotInterfere() {
        var d = Driver()
        let a = d.joinNew("g1", client: "a")
        d.now = 1000
        let x = d.joinNew("g2", client: "x")
        XCTAssertEqual(d.coordinator.nextDeadline, 3000)
        XCTAssertEqual(d.advance(to: 3000), [.respondJoin(a.token, joined(a.memberId, generation: 1, leader: a.memberId, members: listed(a.memberId)))])
        XCTAssertEqual(d.state("g2"), .preparingRebalance)
        XCTAssertEqual(d.coordinator.nextDeadline, 4000)
        XCTAssertEqual(d.advance(to: 4000), [.respondJoin(x.token, joined(x.memberId, generation: 1, leader: x.memberId, members: listed(x.memberId)))])

        _ = d.sync("g1", member: a.memberId, generation: 1, assignments: [a.memberId: [1]])
        XCTAssertEqual(d.state("g1"), .stable)
        XCTAssertEqual(d.state("g2"), .completingRebalance)
        XCTAssertEqual(d.heartbeat("g2", member: a.memberId, generation: 1), .unknownMemberId, "members are per group")
        XCTAssertEqual(d.leave("g1", member: a.memberId).memberErrors, [.none])
        XCTAssertNil(d.group("g1"))
        XCTAssertEqual(d.state("g2"), .completingRebalance)
    }

    func testNextDeadlineFollowsTheEarliestTimer() {
        var d = Driver()
        XCTAssertNil(d.coordinator.nextDeadline)
        let a = d.joinNew(client: "a", session: 20_000)
        XCTAssertEqual(d.coordinator.nextDeadline, 3000, "initial delay (the new member's own limit is 300000)")
        _ = d.advance(to: 3000)
        XCTAssertEqual(d.coordinator.nextDeadline, 23_000, "session restarted by the join answer, before the sync phase ends at 33000")
        let parked = d.join("h", client: "p", session: 5000)  // a pending id in another group
        XCTAssertEqual(parked.actions.count, 1)
        XCTAssertEqual(d.coordinator.nextDeadline, 8000)
        _ = d.advance(to: 8000)
        XCTAssertEqual(d.coordinator.nextDeadline, 23_000)
        _ = d.sync(member: a.memberId, generation: 1, assignments: [:])  // at 8000
        XCTAssertEqual(d.coordinator.nextDeadline, 28_000, "sync phase over; only the session remains")
        // A lone leader's rejoin completes the new join phase at once.
        XCTAssertEqual(d.join(member: a.memberId, session: 20_000).actions.count, 1)
        XCTAssertEqual(d.state(), .completingRebalance)
        XCTAssertEqual(d.coordinator.nextDeadline, 28_000)
    }
}
