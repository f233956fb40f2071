import EddyWire
@testable import EddyBroker
import XCTest

/// The join and sync phases: event → expected actions.
final class JoinSyncTests: XCTestCase {
    func testTwoStepJoinOfOneMemberWaitsForTheInitialDelay() {
        var d = Driver()
        let first = d.join(client: "c")
        XCTAssertEqual(first.actions, [.respondJoin(first.token, .failure(.memberIdRequired, memberId: "c-1"))])
        XCTAssertEqual(d.state(), .empty, "a pending id alone does not start a rebalance")

        let second = d.join(member: "c-1")
        XCTAssertEqual(second.actions, [])
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.coordinator.nextDeadline, 3000)
        XCTAssertEqual(d.advance(to: 2999), [])
        XCTAssertEqual(
            d.advance(to: 3000),
            [.respondJoin(second.token, joined("c-1", generation: 1, leader: "c-1", members: listed("c-1")))])
        XCTAssertEqual(d.state(), .completingRebalance)
    }

    func testThreeMembersJoiningDuringTheDelayExtendItAndOnlyTheLeaderGetsTheMembers() {
        var d = Driver()
        let a = d.joinNew(client: "a")
        d.now = 100
        let b = d.joinNew(client: "b")
        d.now = 200
        let c = d.joinNew(client: "c")
        XCTAssertEqual([a.actions, b.actions, c.actions], [[], [], []])
        XCTAssertEqual(d.advance(to: 3000), [], "new members joined: the delay is extended")
        XCTAssertEqual(d.coordinator.nextDeadline, 6000)
        XCTAssertEqual(
            d.advance(to: 6000),
            [
                .respondJoin(a.token, joined("a-1", generation: 1, leader: "a-1", members: listed("a-1", "b-2", "c-3"))),
                .respondJoin(b.token, joined("b-2", generation: 1, leader: "a-1")),
                .respondJoin(c.token, joined("c-3", generation: 1, leader: "a-1")),
            ])
    }

    func testInitialDelayIsCappedByTheRebalanceTimeout() {
        var d = Driver()
        let a = d.joinNew(client: "a", rebalance: 5000)
        d.now = 1000
        _ = d.joinNew(client: "b", rebalance: 5000)
        XCTAssertEqual(d.advance(to: 3000), [])
        XCTAssertEqual(d.coordinator.nextDeadline, 5000, "min(3000 + 3000, 0 + 5000)")
        d.now = 4000
        _ = d.joinNew(client: "c", rebalance: 5000)
        let answers = d.advance(to: 5000)
        XCTAssertEqual(answers.count, 3, "at the cap the phase ends although a member just joined")
        XCTAssertEqual(answers.first, .respondJoin(a.token, joined("a-1", generation: 1, leader: "a-1", members: listed("a-1", "b-2", "c-3"))))
    }

    func testWithoutInitialDelayTheJoinCompletesAtOnce() {
        var config = GroupCoordinatorConfig.test
        config.initialRebalanceDelayMs = 0
        var d = Driver(config)
        let a = d.joinNew(client: "a")
        XCTAssertEqual(a.actions, [.respondJoin(a.token, joined("a-1", generation: 1, leader: "a-1", members: listed("a-1")))])
    }

    func testOldClientIsAddedWithoutTheMemberIdRoundTrip() {
        var d = Driver()
        let j = d.join(client: "old", requireKnownMemberId: false)
        XCTAssertEqual(j.actions, [])
        XCTAssertEqual(
            d.advance(to: 3000), [.respondJoin(j.token, joined("old-1", generation: 1, leader: "old-1", members: listed("old-1")))])
    }

    func testSyncParksUntilTheLeaderSyncsThenEveryoneGetsTheirAssignment() {
        var d = Driver()
        let ids = ["a", "b", "c"].map { d.joinNew(client: $0).memberId }
        _ = d.advance(to: 3000)
        XCTAssertEqual(d.advance(to: 6000).count, 3)
        let b = d.sync(member: ids[1], generation: 1)
        let c = d.sync(member: ids[2], generation: 1)
        XCTAssertEqual([b.actions, c.actions], [[], []])
        XCTAssertEqual(d.state(), .completingRebalance)

        // The leader leaves c out: c gets an empty assignment.
        let a = d.sync(member: ids[0], generation: 1, assignments: [ids[0]: [1], ids[1]: [2], "stranger": [9]])
        XCTAssertEqual(
            a.actions,
            [.respondSync(a.token, synced([1])), .respondSync(b.token, synced([2])), .respondSync(c.token, synced([]))])
        XCTAssertEqual(d.state(), .stable)

        // In Stable a SyncGroup is answered at once.
        let again = d.sync(member: ids[1], generation: 1)
        XCTAssertEqual(again.actions, [.respondSync(again.token, synced([2]))])
    }

    func testSyncErrors() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)
        func syncError(_ s: (token: RequestToken, actions: [GroupAction])) -> ErrorCode? {
            guard case .respondSync(s.token, let r)? = s.actions.first else { return nil }
            return r.errorCode
        }
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 0)), .illegalGeneration)
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 2)), .illegalGeneration)
        XCTAssertEqual(syncError(d.sync(member: "nobody", generation: 1)), .unknownMemberId)
        XCTAssertEqual(syncError(d.sync("elsewhere", member: ids[1], generation: 1)), .unknownMemberId)
        XCTAssertEqual(syncError(d.sync("", member: ids[1], generation: 1)), .invalidGroupId)
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 1, protocolType: "connect")), .inconsistentGroupProtocol)
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 1, protocolName: "roundrobin")), .inconsistentGroupProtocol)
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 1, protocolType: "consumer", protocolName: "range")), ErrorCode.none)

        // The leader rejoins: PreparingRebalance answers SyncGroup with REBALANCE_IN_PROGRESS.
        _ = d.join(member: ids[0])
        XCTAssertEqual(syncError(d.sync(member: ids[1], generation: 1)), .rebalanceInProgress)
    }

    func testProtocolIsChosenByVoteAmongThoseEveryoneSupports() {
        func chosen(_ lists: [[GroupProtocol]]) -> String? {
            var d = Driver()
            for (i, protocols) in lists.enumerated() { _ = d.joinNew(client: "c\(i)", protocols: protocols) }
            _ = d.advance(to: 3000)
            _ = d.advance(to: 6000)
            return d.group()?.protocolName
        }
        let rr = proto("roundrobin"), range = proto("range"), sticky = proto("sticky")
        XCTAssertEqual(chosen([[rr, range], [rr, range], [range, rr]]), "roundrobin", "2 votes to 1")
        XCTAssertEqual(chosen([[rr, range], [range, rr], [range]]), "range", "only range is common")
        XCTAssertEqual(chosen([[sticky, rr, range], [rr, sticky]]), "sticky", "a tie goes to the first vote cast")
        XCTAssertEqual(chosen([[rr, sticky], [sticky, rr]]), "roundrobin")
    }

    func testLeaderGetsTheMetadataOfTheChosenProtocol() {
        var d = Driver()
        let a = d.joinNew(client: "a", protocols: [proto("range", [1]), proto("roundrobin", [2])])
        _ = d.joinNew(client: "b", protocols: [proto("roundrobin", [3])])
        _ = d.advance(to: 3000)
        let answers = d.advance(to: 6000)
        XCTAssertEqual(
            answers.first,
            .respondJoin(
                a.token,
                joined(
                    "a-1", generation: 1, leader: "a-1",
                    members: [
                        JoinResultMember(memberId: "a-1", groupInstanceId: nil, metadata: [2]),
                        JoinResultMember(memberId: "b-2", groupInstanceId: nil, metadata: [3]),
                    ],
                    protocolName: "roundrobin")))
    }

    func testInconsistentGroupProtocol() {
        var d = Driver()
        _ = d.stableGroup(count: 1)
        func error(_ j: (token: RequestToken, actions: [GroupAction])) -> ErrorCode? {
            guard case .respondJoin(j.token, let r)? = j.actions.first else { return nil }
            return r.errorCode
        }
        XCTAssertEqual(error(d.join(protocolType: "connect")), .inconsistentGroupProtocol)
        XCTAssertEqual(error(d.join(protocols: [proto("roundrobin")])), .inconsistentGroupProtocol)
        XCTAssertEqual(error(d.join("fresh", protocols: [])), .inconsistentGroupProtocol)
        XCTAssertEqual(error(d.join("fresh", protocolType: "")), .inconsistentGroupProtocol)
        XCTAssertNil(d.group("fresh"), "a failed first join leaves no group behind")
        XCTAssertEqual(error(d.join(protocols: [proto("roundrobin"), proto("range")])), .memberIdRequired)
    }

    func testInvalidSessionTimeoutAndGroupId() {
        var d = Driver()
        for (session, expected) in [(Int32(999), ErrorCode.invalidSessionTimeout), (60_001, .invalidSessionTimeout), (1000, .memberIdRequired)] {
            let j = d.join(session: session)
            XCTAssertEqual(j.actions, [.respondJoin(j.token, .failure(expected, memberId: expected == .memberIdRequired ? "c-1" : ""))])
        }
        let j = d.join("")
        XCTAssertEqual(j.actions, [.respondJoin(j.token, .failure(.invalidGroupId, memberId: ""))])
        let stale = d.join("unknown", member: "ghost")
        XCTAssertEqual(stale.actions, [.respondJoin(stale.token, .failure(.unknownMemberId, memberId: "ghost"))])
    }

    func testGroupMaxSizeReached() {
        var config = GroupCoordinatorConfig.test
        config.maxGroupSize = 2
        var d = Driver(config)
        _ = d.joinNew(client: "a")
        _ = d.joinNew(client: "b")
        let third = d.join(client: "c")
        XCTAssertEqual(third.actions, [.respondJoin(third.token, .failure(.groupMaxSizeReached, memberId: ""))])
        _ = d.advance(to: 3000)
        XCTAssertEqual(d.advance(to: 6000).count, 2)
        let late = d.join(client: "c")
        XCTAssertEqual(late.actions, [.respondJoin(late.token, .failure(.groupMaxSizeReached, memberId: ""))])
        XCTAssertEqual(d.group()?.members.count, 2)
    }

    func testRejoinInCompletingRebalanceWithSameMetadataRepeatsTheAnswer() {
        var d = Driver()
        let a = d.joinNew(client: "a")
        let b = d.joinNew(client: "b")
        _ = d.advance(to: 3000)
        _ = d.advance(to: 6000)
        let again = d.join(member: a.memberId)
        XCTAssertEqual(
            again.actions, [.respondJoin(again.token, joined("a-1", generation: 1, leader: "a-1", members: listed("a-1", "b-2")))])
        let follower = d.join(member: b.memberId)
        XCTAssertEqual(follower.actions, [.respondJoin(follower.token, joined("b-2", generation: 1, leader: "a-1"))])
        XCTAssertEqual(d.state(), .completingRebalance)

        // Changed metadata in CompletingRebalance: parked syncs are told to rejoin.
        let parked = d.sync(member: b.memberId, generation: 1)
        let changed = d.join(member: a.memberId, protocols: [proto("range", [7])])
        XCTAssertEqual(changed.actions, [.respondSync(parked.token, .failure(.rebalanceInProgress))])
        XCTAssertEqual(d.state(), .preparingRebalance)
    }

    func testStableFollowerRejoinWithSameMetadataIsAnsweredAtOnceButTheLeaderRebalances() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)
        let follower = d.join(member: ids[1])
        XCTAssertEqual(follower.actions, [.respondJoin(follower.token, joined(ids[1], generation: 1, leader: ids[0]))])
        XCTAssertEqual(d.state(), .stable)

        let leader = d.join(member: ids[0])
        XCTAssertEqual(leader.actions, [])
        XCTAssertEqual(d.state(), .preparingRebalance)
        XCTAssertEqual(d.coordinator.nextDeadline, d.now + 10_000, "the follower's session comes before the rebalance timeout")
        let rejoin = d.join(member: ids[1])
        XCTAssertEqual(
            rejoin.actions,
            [
                .respondJoin(leader.token, joined(ids[0], generation: 2, leader: ids[0], members: listed(ids[0], ids[1]))),
                .respondJoin(rejoin.token, joined(ids[1], generation: 2, leader: ids[0])),
            ])
    }

    func testSupersededJoinAndSyncAreAnswered() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)
        let first = d.join(member: ids[0])
        let second = d.join(member: ids[0])
        XCTAssertEqual(second.actions, [.respondJoin(first.token, .failure(.rebalanceInProgress, memberId: ids[0]))])
        let follower = d.join(member: ids[1])
        XCTAssertEqual(follower.actions.count, 2)
        let s1 = d.sync(member: ids[1], generation: 2)
        let s2 = d.sync(member: ids[1], generation: 2)
        XCTAssertEqual(s2.actions, [.respondSync(s1.token, .failure(.rebalanceInProgress))])
        XCTAssertEqual(d.sync(member: ids[0], generation: 2, assignments: [:]).actions.count, 2)
        XCTAssertEqual(d.unanswered, [])
    }
}
