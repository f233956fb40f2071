import EddyWire
import XCTest
@testable import EddyBroker

/// The driver around the coordinator: parked requests and shutdown.
final class GroupServiceTests: XCTestCase {
    func testShutdownAnswersParkedJoinsAndLaterEventsDoNotTrip() async throws {
        var settings = GroupCoordinatorSettings()
        settings.initialRebalanceDelayMs = 60_000  // the join stays parked
        let service = GroupService(settings: settings, clock: { 1_000 })
        let request = JoinRequest(groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "",
                                  groupInstanceId: "static-1", protocolType: "consumer",
                                  protocols: [GroupProtocol(name: "range", metadata: [1])], clientId: "c",
                                  clientHost: "/127.0.0.1", requireKnownMemberId: true)
        async let parked = service.join(request)
        // Once the join is parked, shut down: it is answered NOT_COORDINATOR.
        let isParked = try await eventually { service.parkedRequests == 1 }
        XCTAssertTrue(isParked, "the join parks")
        service.shutDown()
        let answer = await parked
        XCTAssertEqual(answer.errorCode, .notCoordinator)
        // A leave that would have answered the parked join must not find it missing.
        let left = service.leave(groupId: "g", members: [LeavingMember(memberId: "", groupInstanceId: "static-1")])
        XCTAssertEqual(left.errorCode, .none)
        service.tick()
        let again = await service.join(request)
        XCTAssertEqual(again.errorCode, .notCoordinator, "new requests after shutdown are refused")
    }

    /// The group timer sleeps to the coordinator's next deadline, so a session expires when it is
    /// due rather than up to a fixed tick later (librdkafka's admin tests wait exactly the session
    /// timeout, then delete the group).
    func testTheGroupTimerWakesAtTheNextDeadline() {
        XCTAssertEqual(GroupTimer.wait(nextDeadline: 10_037, now: 10_000), 37)
        XCTAssertEqual(GroupTimer.wait(nextDeadline: 10_000, now: 10_000), 1, "due now: at once")
        XCTAssertEqual(GroupTimer.wait(nextDeadline: 9_000, now: 10_000), 1)
        XCTAssertEqual(GroupTimer.wait(nextDeadline: 60_000, now: 10_000), GroupTimer.intervalMs, "a far deadline: a later one may come sooner")
        XCTAssertEqual(GroupTimer.wait(nextDeadline: nil, now: 10_000), GroupTimer.intervalMs)
    }
}
