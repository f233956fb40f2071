import EddyTestSupport
import EddyWire
@testable import EddyBroker
import Foundation
import XCTest

/// Random clients (mostly well behaved, sometimes not) drive the coordinator across a few groups;
/// the invariants are checked after every step. The seed is printed; EDDY_SEED=<seed> replays it.
final class GroupRandomisedTests: XCTestCase {
    func testRandomClientsKeepTheInvariants() {
        let replay = ProcessInfo.processInfo.environment["EDDY_SEED"].flatMap { UInt64($0) }
        let seed = replay ?? UInt64.random(in: 0...UInt64.max)
        print("GroupCoordinator randomised test seed: \(seed) (replay with EDDY_SEED=\(seed))")
        var seeds = SeededRandom(seed: seed)
        var statesSeen: Set<GroupState> = []
        var assignmentsDelivered = 0
        for run in 0..<40 {
            var simulation = Simulation(seed: seeds.next())
            simulation.run(steps: 1500, stopIf: { (self.testRun?.failureCount ?? 0) > 0 })
            if (testRun?.failureCount ?? 0) > 0 {
                return XCTFail("failed in run \(run) of seed \(seed); replay with EDDY_SEED=\(seed)")
            }
            statesSeen.formUnion(simulation.statesSeen)
            assignmentsDelivered += simulation.assignmentsDelivered
        }
        // The random clients must get somewhere, or the invariants above prove little.
        XCTAssertEqual(statesSeen, [.empty, .preparingRebalance, .completingRebalance, .stable])
        XCTAssertGreaterThan(assignmentsDelivered, 1000)
    }
}


private struct Simulation {
    enum Phase { case idle, joining, joined, syncing, stable }

    struct Client {
        let group: String
        let clientId: String
        let instance: String?
        let session: Int32
        let rebalance: Int32
        var protocols: [GroupProtocol]
        var memberId = ""
        var generation: Int32 = -1
        var phase = Phase.idle
        /// The request the client is waiting on; answers to older ones are stale.
        var waitingOn: RequestToken?
        var leaderOf: [String] = []
    }

    var rng: SeededRandom
    var d: Driver
    var clients: [Client] = []
    var owner: [RequestToken: Int] = [:]
    var generations: [String: Int32] = [:]
    var statesSeen: Set<GroupState> = []
    var assignmentsDelivered = 0
    let groupIds = ["g0", "g1", "g2"]

    init(seed: UInt64) {
        rng = SeededRandom(seed: seed)
        let delays: [Int64] = [0, 50, 300]
        let sizes = [2, 3, Int.max]
        let config = GroupCoordinatorConfig(
            minSessionTimeoutMs: 100, maxSessionTimeoutMs: 10_000, initialRebalanceDelayMs: delays.randomElement(using: &rng)!,
            maxGroupSize: sizes.randomElement(using: &rng)!, newMemberJoinTimeoutMs: 4000)
        d = Driver(config)
        for group in groupIds {
            for i in 0..<3 {
                let isStatic = Int.random(in: 0..<3, using: &rng) == 0
                clients.append(
                    Client(
                        group: group, clientId: "\(group)c\(i)", instance: isStatic ? "\(group)i\(i)" : nil,
                        session: Int32.random(in: 300...3000, using: &rng), rebalance: Int32.random(in: 0...4000, using: &rng),
                        protocols: randomProtocols()))
            }
        }
    }

    mutating func randomProtocols() -> [GroupProtocol] {
        let all = [proto("range", [1]), proto("roundrobin", [2]), proto("sticky", [3])]
        return Array(all.shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng)))
    }

    /// `stopIf` ends the run at its first failure, so the report stays readable.
    mutating func run(steps: Int, stopIf failed: () -> Bool) {
        for _ in 0..<steps {
            step()
            checkInvariants()
            if failed() { return }
        }
        drain()
    }

    // MARK: Steps

    mutating func step() {
        let i = Int.random(in: 0..<clients.count, using: &rng)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<45: wellBehaved(i)
        case 45..<53: join(i, memberId: [clients[i].memberId, "", "garbage"].randomElement(using: &rng)!)
        case 53..<60: leave(i)
        case 60..<64: sync(i, generation: Int32.random(in: -1...3, using: &rng) + clients[i].generation)
        case 64..<67: if clients[i].instance != nil { join(i, memberId: "") }  // a static member restarts
        case 67..<69: clients[i].protocols = randomProtocols()
        case 69..<72: offsets(i)
        case 72..<73: _ = d.coordinator.delete(groupId: clients[i].group)
        default: advanceTime()
        }
    }

    mutating func wellBehaved(_ i: Int) {
        let c = clients[i]
        switch c.phase {
        case .idle: join(i, memberId: c.memberId)
        case .joined: sync(i, generation: c.generation)
        case .joining, .syncing, .stable:
            let error = d.heartbeat(c.group, member: c.memberId, generation: c.generation, instance: c.instance)
            guard c.phase == .stable else { return }
            switch error {
            case .none: break
            case .unknownMemberId, .fencedInstanceId: clients[i].memberId = ""; clients[i].phase = .idle
            default: clients[i].phase = .idle
            }
        }
    }

    mutating func join(_ i: Int, memberId: String) {
        let c = clients[i]
        let (token, actions) = d.join(
            c.group, member: memberId, client: c.clientId, instance: c.instance, protocols: c.protocols, session: c.session,
            rebalance: c.rebalance, requireKnownMemberId: Int.random(in: 0..<5, using: &rng) > 0,
            skipAssignment: Bool.random(using: &rng))
        owner[token] = i
        clients[i].waitingOn = token
        clients[i].phase = .joining
        handle(actions)
    }

    mutating func sync(_ i: Int, generation: Int32) {
        let c = clients[i]
        var assignments: [String: [UInt8]] = [:]
        for member in c.leaderOf where Int.random(in: 0..<10, using: &rng) > 0 { assignments[member] = [UInt8.random(in: 0...255, using: &rng)] }
        let (token, actions) = d.sync(c.group, member: c.memberId, generation: generation, instance: c.instance, assignments: assignments)
        owner[token] = i
        clients[i].waitingOn = token
        clients[i].phase = .syncing
        handle(actions)
    }

    mutating func leave(_ i: Int) {
        var leaving = [LeavingMember(memberId: clients[i].memberId, groupInstanceId: clients[i].instance)]
        if clients[i].instance != nil && Bool.random(using: &rng) { leaving[0].memberId = "" }  // by instance id
        let others = clients.indices.filter { clients[$0].group == clients[i].group && $0 != i }
        if let j = others.randomElement(using: &rng), Bool.random(using: &rng) {
            leaving.append(LeavingMember(memberId: clients[j].memberId, groupInstanceId: clients[j].instance))
            clients[j].phase = .idle
        }
        let result = d.leave(clients[i].group, leaving)
        XCTAssertEqual(result.memberErrors.count, leaving.count)
        clients[i].phase = .idle
        clients[i].memberId = ""
        handle(result.actions)
    }

    mutating func offsets(_ i: Int) {
        let c = clients[i]
        let error = d.coordinator.validateOffsetCommit(
            groupId: c.group, generationId: Bool.random(using: &rng) ? c.generation : -1, memberId: c.memberId,
            groupInstanceId: c.instance, isTransactional: Bool.random(using: &rng))
        if error == .none { d.coordinator.noteOffsetsCommitted(groupId: c.group, memberId: c.memberId, now: d.now) }
        if Int.random(in: 0..<4, using: &rng) == 0 { d.coordinator.noteOffsetsRemoved(groupId: c.group) }
    }

    mutating func advanceTime() {
        let jump = Int.random(in: 0..<10, using: &rng) == 0
        let target = jump ? (d.coordinator.nextDeadline ?? d.now) : d.now + Int64.random(in: 0...600, using: &rng)
        handle(d.advance(to: max(target, d.now)))
        if let next = d.coordinator.nextDeadline {
            XCTAssertGreaterThan(next, d.now, "a timer is still due after tick")
        }
    }

    /// Once the clients fall silent, only timers run: every parked request must get its answer
    /// and every member must eventually go.
    mutating func drain() {
        for _ in 0..<500 {
            guard let next = d.coordinator.nextDeadline else { break }
            handle(d.advance(to: next))
            checkInvariants()
        }
        XCTAssertEqual(owner, [:], "requests never answered")
        XCTAssertEqual(d.coordinator.groups.values.filter { $0.state != .empty }.map(\.groupId), [], "members never expired")
    }

    // MARK: Answers

    mutating func handle(_ actions: [GroupAction]) {
        for action in actions {
            switch action {
            case .respondJoin(let token, let r):
                guard let i = owner.removeValue(forKey: token) else { return XCTFail("unknown token \(token)") }
                if r.errorCode == .none {
                    XCTAssertTrue(r.members.isEmpty || r.members.contains { $0.memberId == r.memberId }, "leader not in its list")
                    XCTAssertTrue(r.members.isEmpty || r.leader == r.memberId, "member list sent to a follower")
                    // A batch leave can end two generations in one call, so "<=", not "==".
                    XCTAssertTrue(r.generationId > 0 && r.generationId <= d.group(clients[i].group)?.generationId ?? .max)
                }
                guard clients[i].waitingOn == token else { continue }
                clients[i].waitingOn = nil
                switch r.errorCode {
                case .none:
                    clients[i].memberId = r.memberId
                    clients[i].generation = r.generationId
                    clients[i].leaderOf = r.members.map(\.memberId)
                    clients[i].phase = .joined
                case .memberIdRequired:
                    clients[i].memberId = r.memberId
                    clients[i].phase = .idle
                case .rebalanceInProgress:
                    clients[i].phase = .idle
                default:
                    clients[i].memberId = ""
                    clients[i].phase = .idle
                }
            case .respondSync(let token, let r):
                if r.errorCode == .none { assignmentsDelivered += 1 }
                guard let i = owner.removeValue(forKey: token) else { return XCTFail("unknown token \(token)") }
                guard clients[i].waitingOn == token else { continue }
                clients[i].waitingOn = nil
                switch r.errorCode {
                case .none: clients[i].phase = .stable
                case .unknownMemberId, .fencedInstanceId: clients[i].memberId = ""; clients[i].phase = .idle
                default: clients[i].phase = .idle
                }
            }
        }
    }

    // MARK: Invariants

    mutating func checkInvariants() {
        statesSeen.formUnion(d.coordinator.groups.values.map(\.state))
        let parked = d.coordinator.groups.values.flatMap(\.parkedTokens)
        XCTAssertEqual(parked.count, Set(parked).count, "a token parked twice")
        XCTAssertEqual(Set(parked), Set(owner.keys), "outstanding requests are exactly the parked ones")
        XCTAssertEqual(Set(owner.keys), d.unanswered)
        for group in d.coordinator.groups.values {
            if let leader = group.leaderId { XCTAssertNotNil(group.members[leader]) }
            XCTAssertEqual(group.memberOrder.count, group.members.count)
            if group.state == .stable {
                XCTAssertTrue(group.parkedTokens.isEmpty)
                XCTAssertNotNil(group.protocolName)
                XCTAssertEqual(d.coordinator.describe(groupId: group.groupId)?.members.count, group.members.count)
            }
            if let previous = generations[group.groupId] {
                XCTAssertGreaterThanOrEqual(group.generationId, previous, "generation went back")
            }
            generations[group.groupId] = group.generationId
        }
        for id in generations.keys where d.coordinator.groups[id] == nil { generations[id] = nil }
    }
}
