import EddyCore
import EddyWire
import NIOConcurrencyHelpers
import NIOCore

/// Drives the pure `GroupCoordinator` for the broker: one lock around it and the committed offsets,
/// the broker's clock, and the parked JoinGroup and SyncGroup requests, which wait on
/// continuations until an action answers them. `tick()` runs the coordinator's timers
/// (`GroupTimer` calls it); `shutDown()` answers every parked request so that graceful shutdown
/// never waits out a rebalance.
final class GroupService: @unchecked Sendable {
    typealias Coordinator = GroupCoordinator<RandomMemberIds<SystemRandomNumberGenerator>>

    private enum Waiter {
        case join(CheckedContinuation<JoinResult, Never>)
        case sync(CheckedContinuation<SyncResult, Never>)
    }

    private struct State {
        var coordinator: Coordinator
        var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
        /// Transactional offset commits not decided yet: producer id → group → offsets.
        var pendingTransactional: [Int64: [String: [TopicPartition: CommittedOffset]]] = [:]
        var waiting: [RequestToken: Waiter] = [:]
        var nextToken: RequestToken = 1
        var shutDown = false
    }

    private let lock = NIOLock()
    private var state: State
    private let clock: @Sendable () -> Int64

    init(settings: GroupCoordinatorSettings, clock: @escaping @Sendable () -> Int64) {
        var config = GroupCoordinatorConfig()
        config.minSessionTimeoutMs = settings.minSessionTimeoutMs
        config.maxSessionTimeoutMs = settings.maxSessionTimeoutMs
        config.initialRebalanceDelayMs = settings.initialRebalanceDelayMs
        config.maxGroupSize = settings.maxGroupSize
        self.state = State(coordinator: Coordinator(config: config))
        self.clock = clock
    }

    // MARK: Membership

    func join(_ request: JoinRequest) async -> JoinResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<JoinResult, Never>) in
            let answers = lock.withLock { () -> [(Waiter, GroupAction)] in
                guard !state.shutDown else { return [(.join(continuation), .respondJoin(0, .failure(.notCoordinator, memberId: request.memberId)))] }
                let token = takeToken(.join(continuation))
                return collect(state.coordinator.join(request, token: token, now: clock()))
            }
            answer(answers)
        }
    }

    func sync(_ request: SyncRequest) async -> SyncResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<SyncResult, Never>) in
            let answers = lock.withLock { () -> [(Waiter, GroupAction)] in
                guard !state.shutDown else { return [(.sync(continuation), .respondSync(0, .failure(.notCoordinator)))] }
                let token = takeToken(.sync(continuation))
                return collect(state.coordinator.sync(request, token: token, now: clock()))
            }
            answer(answers)
        }
    }

    func heartbeat(_ request: MemberHeartbeat) -> ErrorCode {
        lock.withLock { state.shutDown ? .notCoordinator : state.coordinator.heartbeat(request, now: clock()) }
    }

    func leave(groupId: String, members: [LeavingMember]) -> LeaveResult {
        let (result, answers) = lock.withLock { () -> (LeaveResult, [(Waiter, GroupAction)]) in
            let result = state.coordinator.leave(groupId: groupId, members: members, now: clock())
            return (result, collect(result.actions))
        }
        answer(answers)
        return result
    }

    /// When the coordinator's next timer is due (a member's session, a join or sync phase), if any.
    var nextDeadline: Int64? { lock.withLock { state.coordinator.nextDeadline } }

    /// Runs the coordinator's due timers (session expiry, end of join and sync phases).
    func tick() {
        let answers = lock.withLock { () -> [(Waiter, GroupAction)] in
            let now = clock()
            guard let due = state.coordinator.nextDeadline, due <= now else { return [] }
            return collect(state.coordinator.tick(now: now))
        }
        answer(answers)
    }

    /// Graceful shutdown: every parked request is answered NOT_COORDINATOR (the client looks for
    /// the coordinator again), and new ones are refused the same way.
    func shutDown() {
        let parked = lock.withLock { () -> [Waiter] in
            state.shutDown = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for waiter in parked {
            switch waiter {
            case .join(let c): c.resume(returning: .failure(.notCoordinator, memberId: ""))
            case .sync(let c): c.resume(returning: .failure(.notCoordinator))
            }
        }
    }

    // MARK: Admin

    func describe(groupId: String) -> GroupDescription? { lock.withLock { state.coordinator.describe(groupId: groupId) } }

    func list(statesFilter: Set<String>) -> [GroupListing] { lock.withLock { state.coordinator.list(statesFilter: statesFilter) } }

    /// DeleteGroups for one group; on NONE returns the partitions whose offsets the caller must
    /// tombstone in __consumer_offsets (they are gone from memory already).
    func delete(groupId: String) -> (ErrorCode, [TopicPartition]) {
        lock.withLock {
            let error = state.coordinator.delete(groupId: groupId)
            guard error == .none else { return (error, []) }
            let removed = state.offsets.removeValue(forKey: groupId).map { Array($0.keys) } ?? []
            return (error, removed)
        }
    }

    // MARK: Offsets

    /// OffsetDelete (KIP-496), as Kafka's coordinator rules it: an unknown group is
    /// GROUP_ID_NOT_FOUND; a consumer group with members keeps the offsets of topics its members
    /// subscribe to (GROUP_SUBSCRIBED_TO_TOPIC for those partitions; while it rebalances, when its
    /// subscriptions are not known, every partition is refused so); any other group with members is
    /// NON_EMPTY_GROUP. Returns the error, the partitions whose offsets were removed (the caller
    /// writes their tombstones) and the refused ones.
    func deleteOffsets(groupId: String, _ partitions: [TopicPartition]) -> (ErrorCode, removed: [TopicPartition], refused: [TopicPartition: ErrorCode]) {
        lock.withLock {
            guard let group = state.coordinator.describe(groupId: groupId), group.state != .dead else { return (.groupIdNotFound, [], [:]) }
            var eligible = partitions
            var refused: [TopicPartition: ErrorCode] = [:]
            if !group.members.isEmpty {
                guard group.protocolType == "consumer" else { return (.nonEmptyGroup, [], [:]) }
                let subscribed: Set<String>? = group.state == .stable ? Self.subscribedTopics(group.members) : nil
                eligible = partitions.filter { tp in subscribed.map { !$0.contains(tp.topic) } ?? false }
                for tp in partitions where !eligible.contains(tp) { refused[tp] = .groupSubscribedToTopic }
            }
            var removed: [TopicPartition] = []
            for tp in eligible where state.offsets[groupId]?.removeValue(forKey: tp) != nil { removed.append(tp) }
            if state.offsets[groupId]?.isEmpty == true {
                state.offsets[groupId] = nil
                state.coordinator.noteOffsetsRemoved(groupId: groupId)
            }
            return (.none, removed, refused)
        }
    }

    /// The topics the members' subscriptions name (Kafka's consumer protocol metadata; nil when one
    /// cannot be read).
    private static func subscribedTopics(_ members: [MemberDescription]) -> Set<String>? {
        var topics: Set<String> = []
        for member in members {
            var reader = WireReader(ByteBuffer(bytes: member.metadata))
            guard let version = try? reader.int16(), version >= 0,
                  let subscription = try? ConsumerProtocolSubscription(from: &reader, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
            else { return nil }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    func validateOffsetCommit(groupId: String, generationId: Int32, memberId: String, groupInstanceId: String?) -> ErrorCode {
        lock.withLock {
            state.shutDown ? .notCoordinator
                : state.coordinator.validateOffsetCommit(groupId: groupId, generationId: generationId, memberId: memberId,
                                                         groupInstanceId: groupInstanceId)
        }
    }

    /// The offsets are durable in __consumer_offsets: now they count.
    func offsetsCommitted(groupId: String, memberId: String, _ offsets: [TopicPartition: CommittedOffset]) {
        lock.withLock {
            state.offsets[groupId, default: [:]].merge(offsets) { _, new in new }
            state.coordinator.noteOffsetsCommitted(groupId: groupId, memberId: memberId, now: clock())
        }
    }

    /// The group's committed offsets: all of them, or those of `partitions`.
    func committed(groupId: String) -> [TopicPartition: CommittedOffset] {
        lock.withLock { state.offsets[groupId] ?? [:] }
    }

    /// TxnOffsetCommit: the offsets are in __consumer_offsets as transactional records; they count
    /// once the producer's transaction commits (`settleTransactionalOffsets`).
    func addPendingTransactional(producerId: Int64, groupId: String, _ offsets: [TopicPartition: CommittedOffset]) {
        lock.withLock { state.pendingTransactional[producerId, default: [:]][groupId, default: [:]].merge(offsets) { _, new in new } }
    }

    /// A COMMIT or ABORT marker reached `__consumer_offsets` partition `offsetsPartition`: the
    /// producer's pending offsets of the groups stored there become committed, or are dropped.
    func settleTransactionalOffsets(producerId: Int64, commit: Bool, offsetsPartition: Int, partitions: Int) {
        lock.withLock {
            guard let byGroup = state.pendingTransactional[producerId] else { return }
            for (group, offsets) in byGroup where OffsetRecords.partition(for: group, partitions: partitions) == offsetsPartition {
                if commit {
                    state.offsets[group, default: [:]].merge(offsets) { _, new in new }
                    state.coordinator.noteOffsetsCommitted(groupId: group, now: clock())
                }
                state.pendingTransactional[producerId]![group] = nil
            }
            if state.pendingTransactional[producerId]!.isEmpty { state.pendingTransactional[producerId] = nil }
        }
    }

    /// Whether an undecided transaction holds offsets for the group's partition (OffsetFetch with
    /// requireStable answers UNSTABLE_OFFSET_COMMIT then).
    func hasPendingTransactional(groupId: String, _ tp: TopicPartition) -> Bool {
        lock.withLock { state.pendingTransactional.values.contains { $0[groupId]?[tp] != nil } }
    }

    /// Every group with committed offsets (consumer lag).
    var allCommitted: [String: [TopicPartition: CommittedOffset]] { lock.withLock { state.offsets } }

    /// JoinGroup and SyncGroup requests parked until an action answers them.
    var parkedRequests: Int { lock.withLock { state.waiting.count } }

    /// At startup: one record of __consumer_offsets, in log order (later ones win; nil removes).
    func load(_ key: OffsetRecords.Key, _ value: CommittedOffset?) {
        lock.withLock {
            if let value {
                state.offsets[key.group, default: [:]][key.topicPartition] = value
            } else {
                state.offsets[key.group]?[key.topicPartition] = nil
                if state.offsets[key.group]?.isEmpty == true { state.offsets[key.group] = nil }
            }
        }
    }

    /// After `load`: the groups with offsets exist (as Empty) for ListGroups and commits.
    func finishLoading() {
        lock.withLock {
            for group in state.offsets.keys { state.coordinator.loadGroupWithOffsets(groupId: group) }
        }
    }

    /// At startup, a transactional commit whose transaction is undecided in the log (its marker
    /// will come from the transaction coordinator's recovery).
    func loadPending(producerId: Int64, _ key: OffsetRecords.Key, _ value: CommittedOffset) {
        lock.withLock { state.pendingTransactional[producerId, default: [:]][key.group, default: [:]][key.topicPartition] = value }
    }

    /// Forgets offsets of a deleted topic (their records stay until compaction meets newer ones).
    func topicDeleted(_ topic: String) {
        lock.withLock {
            for group in Array(state.offsets.keys) {
                state.offsets[group] = state.offsets[group]!.filter { $0.key.topic != topic }
                if state.offsets[group]!.isEmpty {
                    state.offsets[group] = nil
                    state.coordinator.noteOffsetsRemoved(groupId: group)
                }
            }
        }
    }

    // MARK: Plumbing (callers hold the lock)

    private func takeToken(_ waiter: Waiter) -> RequestToken {
        let token = state.nextToken
        state.nextToken += 1
        state.waiting[token] = waiter
        return token
    }

    /// Pairs each action with its waiter (removing it); answered outside the lock.
    private func collect(_ actions: [GroupAction]) -> [(Waiter, GroupAction)] {
        actions.compactMap { action in
            let token: RequestToken
            switch action {
            case .respondJoin(let t, _): token = t
            case .respondSync(let t, _): token = t
            }
            guard let waiter = state.waiting.removeValue(forKey: token) else {
                // After shutDown() every parked request was answered already.
                precondition(state.shutDown, "group coordinator answered token \(token) twice or never issued it")
                return nil
            }
            return (waiter, action)
        }
    }

    private func answer(_ answers: [(Waiter, GroupAction)]) {
        for (waiter, action) in answers {
            switch (waiter, action) {
            case (.join(let c), .respondJoin(_, let result)): c.resume(returning: result)
            case (.sync(let c), .respondSync(_, let result)): c.resume(returning: result)
            default: preconditionFailure("a JoinGroup answered as a SyncGroup or the reverse")
            }
        }
    }
}
