import EddyWire
@testable import EddyBroker
import XCTest

/// DescribeGroups, ListGroups, DeleteGroups and the OffsetCommit member checks.
final class AdminAndOffsetTests: XCTestCase {
    func testDescribeShowsMetadataAndAssignmentsOnlyWhenStable() {
        var d = Driver()
        let ids = d.stableGroup(count: 2)
        XCTAssertEqual(
            d.coordinator.describe(groupId: "g"),
            GroupDescription(
                groupId: "g", state: .stable, protocolType: "consumer", protocolName: "range",
                members: ids.enumerated().map { i, id in
                    MemberDescription(
                        memberId: id, groupInstanceId: nil, clientId: "c\(i)", clientHost: "/127.0.0.1", metadata: [0],
                        assignment: [UInt8(i)])
                }))
        _ = d.joinNew("h", client: "x")
        XCTAssertEqual(
            d.coordinator.describe(groupId: "h"),
            GroupDescription(
                groupId: "h", state: .preparingRebalance, protocolType: "consumer", protocolName: "",
                members: [MemberDescription(memberId: "x-3", groupInstanceId: nil, clientId: "x", clientHost: "/127.0.0.1", metadata: [], assignment: [])]))
        XCTAssertNil(d.coordinator.describe(groupId: "unknown"))
        XCTAssertEqual(GroupState.dead.name, "Dead")
    }

    func testListFiltersByStateWithoutCase() {
        var d = Driver()
        _ = d.stableGroup(count: 1)
        _ = d.joinNew("h", client: "x")
        d.coordinator.noteOffsetsCommitted(groupId: "offsets-only", now: d.now)
        let all = [
            GroupListing(groupId: "g", protocolType: "consumer", state: .stable),
            GroupListing(groupId: "h", protocolType: "consumer", state: .preparingRebalance),
            GroupListing(groupId: "offsets-only", protocolType: "", state: .empty),
        ]
        XCTAssertEqual(d.coordinator.list(), all)
        XCTAssertEqual(d.coordinator.list(statesFilter: ["stable", "EMPTY"]), [all[0], all[2]])
        XCTAssertEqual(d.coordinator.list(statesFilter: ["CompletingRebalance"]), [])
    }

    func testDeleteOnlyEmptyGroups() {
        var d = Driver()
        let ids = d.stableGroup(count: 1)
        XCTAssertEqual(d.coordinator.delete(groupId: "g"), .nonEmptyGroup)
        XCTAssertEqual(d.coordinator.delete(groupId: "unknown"), .groupIdNotFound)
        d.coordinator.noteOffsetsCommitted(groupId: "g", memberId: ids[0], now: d.now)
        _ = d.leave(member: ids[0])
        XCTAssertEqual(d.state(), .empty)
        XCTAssertEqual(d.coordinator.delete(groupId: "g"), .none)
        XCTAssertNil(d.group())
        XCTAssertEqual(d.coordinator.delete(groupId: "g"), .groupIdNotFound)
    }

    func testLoadedGroupsExistAsEmptyAndContinueTheirGenerations() {
        var d = Driver()
        d.coordinator.loadGroupWithOffsets(groupId: "g", protocolType: "consumer", generationId: 5)
        XCTAssertEqual(d.coordinator.list(), [GroupListing(groupId: "g", protocolType: "consumer", state: .empty)])
        let a = d.joinNew(client: "a")
        XCTAssertEqual(d.advance(to: 3000), [.respondJoin(a.token, joined(a.memberId, generation: 6, leader: a.memberId, members: listed(a.memberId)))])
    }

    func testOffsetCommitChecks() {
        var d = Driver()
        func check(_ generation: Int32, _ member: String, group: String = "g", instance: String? = nil, txn: Bool = false) -> ErrorCode {
            d.coordinator.validateOffsetCommit(
                groupId: group, generationId: generation, memberId: member, groupInstanceId: instance, isTransactional: txn)
        }
        // No group: only commits without group management pass.
        XCTAssertEqual(check(-1, ""), .none)
        XCTAssertEqual(check(3, "m"), .illegalGeneration)
        XCTAssertEqual(check(3, "m", txn: true), .unknownMemberId)
        XCTAssertEqual(check(-1, "", group: ""), .none, "the empty group id is allowed for commits")

        let ids = d.stableGroup(count: 2)
        XCTAssertEqual(check(1, ids[1]), .none)
        XCTAssertEqual(check(0, ids[1]), .illegalGeneration)
        XCTAssertEqual(check(2, ids[1]), .illegalGeneration)
        XCTAssertEqual(check(1, "stranger"), .unknownMemberId)
        XCTAssertEqual(check(-1, ""), .unknownMemberId, "an active group takes commits only from members")
        XCTAssertEqual(check(-1, "", txn: true), .none)
        XCTAssertEqual(check(1, ids[1], instance: "unknown-instance"), .unknownMemberId)

        // PreparingRebalance: the previous generation may still commit.
        let a = d.join(member: ids[0])
        XCTAssertEqual(check(1, ids[1]), .none)
        // CompletingRebalance: the new generation has no assignment yet.
        let b = d.join(member: ids[1])
        XCTAssertEqual(b.actions.count, 2)
        XCTAssertEqual(check(2, ids[1]), .rebalanceInProgress)
        XCTAssertEqual(check(2, ids[1], txn: true), .none)
        _ = a

        // Empty with offsets.
        d.coordinator.noteOffsetsCommitted(groupId: "g", memberId: ids[1], now: d.now)
        _ = d.leave("g", [LeavingMember(memberId: ids[0], groupInstanceId: nil), LeavingMember(memberId: ids[1], groupInstanceId: nil)])
        XCTAssertEqual(d.state(), .empty)
        XCTAssertEqual(check(-1, ""), .none)
        XCTAssertEqual(check(3, ids[1]), .unknownMemberId)
    }

    func testACommitCountsAsAHeartbeat() {
        var d = Driver()
        let ids = d.stableGroup(count: 1)  // now 3000, session until 13000
        XCTAssertEqual(d.advance(to: 10_000), [])
        d.coordinator.noteOffsetsCommitted(groupId: "g", memberId: ids[0], now: d.now)
        XCTAssertEqual(d.coordinator.nextDeadline, 20_000)
        XCTAssertEqual(d.advance(to: 13_000), [])
        XCTAssertEqual(d.state(), .stable)
    }

    func testRandomMemberIdsLookLikeUUIDs() {
        var ids = RandomMemberIds(SystemRandomNumberGenerator())
        let suffix = ids.nextSuffix()
        XCTAssertEqual(suffix.split(separator: "-").map(\.count), [8, 4, 4, 4, 12])
        XCTAssertEqual(Array(suffix)[14], "4", "version 4")
        XCTAssertTrue("89ab".contains(Array(suffix)[19]), "RFC 4122 variant")
        XCTAssertNotEqual(suffix, ids.nextSuffix())
        var coordinator = GroupCoordinator()
        let actions = coordinator.join(
            JoinRequest(
                groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: nil,
                protocolType: "consumer", protocols: [proto("range")], clientId: "client", clientHost: "h",
                requireKnownMemberId: true, reason: nil),
            token: 1, now: 0)
        guard case .respondJoin(1, let r)? = actions.first else { return XCTFail("no answer") }
        let _: any Sendable = coordinator  // the production coordinator can cross isolation domains
        XCTAssertTrue(r.memberId.hasPrefix("client-") && r.memberId.count == "client-".count + 36)
    }
}
