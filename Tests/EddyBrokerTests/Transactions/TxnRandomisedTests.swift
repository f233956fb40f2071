import EddyCore
import EddyWire
import EddyTestSupport
@testable import EddyBroker
import Foundation
import XCTest

/// Random producers (two instances per transactional id, so they fence each other; some bump their
/// own epoch, KIP-360; a few misbehave) drive the coordinator through init/add/produce/offsets/end,
/// timeouts, expiry, marker writes and broker crashes in the middle of carrying out actions. The
/// partitions are modelled too (producer epochs and open transactions), so "no hanging
/// transaction" can be checked. The seed is printed; EDDY_SEED=<seed> replays it.
final class TxnRandomisedTests: XCTestCase {
    func testRandomProducersKeepTheInvariants() {
        let replay = ProcessInfo.processInfo.environment["EDDY_SEED"].flatMap { UInt64($0) }
        let seed = replay ?? UInt64.random(in: 0...UInt64.max)
        print("TransactionCoordinator randomised test seed: \(seed) (replay with EDDY_SEED=\(seed))")
        var seeds = SeededRandom(seed: seed)
        var stats = Stats()
        for run in 0..<30 {
            var simulation = Simulation(seed: seeds.next())
            simulation.run(steps: 2000, stopIf: { (self.testRun?.failureCount ?? 0) > 0 })
            if (testRun?.failureCount ?? 0) > 0 {
                return XCTFail("failed in run \(run) of seed \(seed); replay with EDDY_SEED=\(seed)")
            }
            stats.add(simulation.stats)
        }
        print("TransactionCoordinator randomised test: \(stats)")
        // The producers must get somewhere, or the invariants prove little.
        XCTAssertGreaterThan(stats.commits, 600)
        XCTAssertGreaterThan(stats.aborts, 250)
        XCTAssertGreaterThan(stats.timeouts, 100)
        XCTAssertGreaterThan(stats.fencingInits, 100)
        XCTAssertGreaterThan(stats.expiries, 20)
        XCTAssertGreaterThan(stats.crashes, 100)
        XCTAssertGreaterThan(stats.rotations, 5)
        XCTAssertGreaterThan(stats.produced, 2000)
    }
}


struct Stats: CustomStringConvertible {
    var commits = 0, aborts = 0, timeouts = 0, fencingInits = 0, expiries = 0, crashes = 0, rotations = 0, produced = 0

    mutating func add(_ o: Stats) {
        commits += o.commits; aborts += o.aborts; timeouts += o.timeouts; fencingInits += o.fencingInits
        expiries += o.expiries; crashes += o.crashes; rotations += o.rotations; produced += o.produced
    }

    var description: String {
        "\(commits) commits, \(aborts) aborts, \(timeouts) timeouts, \(fencingInits) fencing inits, \(expiries) expiries, "
            + "\(crashes) crashes, \(rotations) rotations, \(produced) records"
    }
}

private struct Simulation {
    struct Client {
        enum Phase: Equatable { case uninitialised, ready, inTransaction, ending(commit: Bool), fenced }
        let transactionalId: String
        /// Bumps its own epoch with InitProducerId(producerId, epoch) when it re-initialises.
        let kip360: Bool
        var producerId: Int64 = -1
        var epoch: Int16 = -1
        var phase = Phase.uninitialised
        /// Partitions AddPartitionsToTxn/AddOffsetsToTxn accepted for the current transaction.
        var added: Set<TopicPartition> = []
    }

    /// A decision EndTxn promised a client: the markers must carry it.
    struct Promise: Equatable { var producerId: Int64; var epoch: Int16; var commit: Bool }

    var rng: SeededRandom
    var coordinator: TxnCoordinator
    var now: Int64 = 0
    var log: [(key: [UInt8], value: [UInt8]?)] = []
    var pendingMarkers: [String: TxnMarkers] = [:]
    var clients: [Client] = []
    /// The partitions' producer state: the highest epoch seen per producer id, and the epoch of the
    /// producer's open transaction (data written, no marker yet).
    var partitionEpochs: [TopicPartition: [Int64: Int16]] = [:]
    var openTransactions: [TopicPartition: [Int64: Int16]] = [:]
    var promises: [String: Promise] = [:]
    var lastPersisted: [String: (producerId: Int64, epoch: Int16)] = [:]
    var crashProbability: Double
    var stats = Stats()
    let partitions = ["p-0", "p-1", "p-2", "q-0"].map(tp)
    let offsetsPartitions = ["__consumer_offsets-0", "__consumer_offsets-1"].map(tp)

    init(seed: UInt64) {
        rng = SeededRandom(seed: seed)
        let config = TransactionCoordinatorConfig(
            maxTimeoutMs: 3000, abortTimedOutCheckIntervalMs: [1, 250].randomElement(using: &rng)!,
            transactionalIdExpirationMs: 20_000, removeExpiredCheckIntervalMs: [1, 1000].randomElement(using: &rng)!)
        coordinator = TxnCoordinator(config: config, producerIds: SequentialProducerIds(startingAt: 1000))
        crashProbability = [0.0, 0.005, 0.02].randomElement(using: &rng)!
        for id in ["t0", "t1", "t2"] {
            clients.append(Client(transactionalId: id, kip360: false))
            clients.append(Client(transactionalId: id, kip360: Bool.random(using: &rng)))
        }
        // t2 starts near the end of its epochs, so producer ids rotate.
        let old = TransactionMetadata(
            transactionalId: "t2", producerId: 1, producerEpoch: 32_760, timeoutMs: 1000, state: .completeCommit,
            partitions: [], startTimestamp: 0, lastUpdateTimestamp: 0)
        log.append(TxnCoordinator.record(for: old))
        restart(crashed: false)
    }

    mutating func run(steps: Int, stopIf failed: () -> Bool) {
        for n in 0..<steps {
            step()
            checkInvariants(reloading: n % 20 == 0)
            if failed() { return }
        }
        drain()
    }

    // MARK: Steps

    mutating func step() {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<5: advanceTime()
        case 5..<20: writeSomeMarkers()
        case 20..<21: restart()
        default:
            let c = Int.random(in: 0..<clients.count, using: &rng)
            clientStep(c)
        }
    }

    mutating func clientStep(_ c: Int) {
        let roll = Int.random(in: 0..<100, using: &rng)
        switch clients[c].phase {
        case .uninitialised:
            initProducer(c)
        case .fenced:
            // A fenced instance restarts as a new one now and then.
            if roll < 20 {
                clients[c].producerId = -1
                clients[c].epoch = -1
                initProducer(c)
            }
        case .ready:
            if roll < 50 { add(c) } else if roll < 60 { addOffsets(c) } else if roll < 68 { initProducer(c) } else if roll < 70 {
                end(c, commit: Bool.random(using: &rng))  // misbehaving: nothing to end
            }
        case .inTransaction:
            if roll < 50 { produce(c) } else if roll < 60 { add(c) } else if roll < 65 { addOffsets(c) } else if roll < 72 {
                commitOffsets(c)
            } else if roll < 92 { end(c, commit: roll < 86) } else if roll < 94 { initProducer(c) }
        case .ending(let commit):
            end(c, commit: commit)
        }
    }

    mutating func initProducer(_ c: Int) {
        let client = clients[c]
        let bump = client.kip360 && client.producerId >= 0 && client.phase != .inTransaction
        let wasOngoing = coordinator.transactions[client.transactionalId]?.state == .ongoing
        let before = coordinator.transactions[client.transactionalId]
        let actions = coordinator.initProducerId(
            transactionalId: client.transactionalId, timeoutMs: Int32.random(in: 200...3000, using: &rng),
            producerId: bump ? client.producerId : -1, producerEpoch: bump ? client.epoch : -1,
            requestVersion: Int16.random(in: 3...5, using: &rng), now: now, token: 1)
        guard let delivered = carryOut(actions) else { return }
        guard case .respondInitProducerId(_, let error, let pid, let epoch)? = delivered.last(where: isResponse) else {
            return XCTFail("InitProducerId unanswered: \(delivered)")
        }
        switch error {
        case .none:
            let md = coordinator.transactions[client.transactionalId]!
            XCTAssertEqual([md.producerId, Int64(md.producerEpoch)], [pid, Int64(epoch)])
            XCTAssertEqual(md.state, .empty)
            if let before, before.producerId != pid { stats.rotations += 1 }
            clients[c].producerId = pid
            clients[c].epoch = epoch
            clients[c].phase = .ready
            clients[c].added = []
        case .concurrentTransactions:
            if wasOngoing { stats.fencingInits += 1 }
        case .producerFenced, .invalidProducerEpoch:
            XCTAssertTrue(bump, "fenced without giving an epoch")
            clients[c].phase = .fenced
        default:
            XCTFail("InitProducerId answered \(error)")
        }
    }

    mutating func add(_ c: Int) {
        let client = clients[c]
        let chosen = partitions.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
        let (error, actions) = coordinator.addPartitions(
            transactionalId: client.transactionalId, producerId: client.producerId, producerEpoch: client.epoch,
            partitions: chosen, requestVersion: Int16.random(in: 1...3, using: &rng), now: now)
        guard carryOut(actions) != nil else { return }
        handleAdd(c, Set(chosen), error)
    }

    mutating func addOffsets(_ c: Int) {
        let client = clients[c]
        let partition = offsetsPartitions.randomElement(using: &rng)!
        let (error, actions) = coordinator.addOffsets(
            transactionalId: client.transactionalId, producerId: client.producerId, producerEpoch: client.epoch,
            offsetsPartition: partition, requestVersion: Int16.random(in: 1...3, using: &rng), now: now)
        guard carryOut(actions) != nil else { return }
        handleAdd(c, [partition], error)
    }

    mutating func handleAdd(_ c: Int, _ added: Set<TopicPartition>, _ error: ErrorCode) {
        switch error {
        case .none:
            let md = coordinator.transactions[clients[c].transactionalId]!
            XCTAssertEqual(md.state, .ongoing)
            XCTAssertEqual([md.producerId, Int64(md.producerEpoch)], [clients[c].producerId, Int64(clients[c].epoch)])
            XCTAssertTrue(added.isSubset(of: md.partitions))
            clients[c].added.formUnion(added)
            clients[c].phase = .inTransaction
        case .concurrentTransactions:
            break
        case .producerFenced, .invalidProducerEpoch, .invalidProducerIdMapping:
            clients[c].phase = .fenced
        default:
            XCTFail("AddPartitions/AddOffsets answered \(error)")
        }
    }

    mutating func end(_ c: Int, commit: Bool) {
        let client = clients[c]
        let actions = coordinator.endTxn(
            transactionalId: client.transactionalId, producerId: client.producerId, producerEpoch: client.epoch,
            commit: commit, requestVersion: Int16.random(in: 0...3, using: &rng), now: now, token: 1)
        guard let delivered = carryOut(actions) else {
            if client.phase == .inTransaction { clients[c].phase = .ending(commit: commit) }
            return
        }
        guard case .respondEndTxn(_, let error)? = delivered.last(where: isResponse) else {
            return XCTFail("EndTxn unanswered: \(delivered)")
        }
        switch error {
        case .none:
            let md = coordinator.transactions[client.transactionalId]!
            XCTAssertEqual([md.producerId, Int64(md.producerEpoch)], [client.producerId, Int64(client.epoch)])
            let decided: Set<TransactionState> = commit ? [.prepareCommit, .completeCommit] : [.prepareAbort, .completeAbort]
            XCTAssertTrue(decided.contains(md.state))
            if case .persist = delivered.first {
                if commit { stats.commits += 1 } else { stats.aborts += 1 }
            }
            if delivered.contains(where: { if case .writeMarkers = $0 { true } else { false } }) {
                promises[client.transactionalId] = Promise(producerId: client.producerId, epoch: client.epoch, commit: commit)
            }
            clients[c].phase = .ready
            clients[c].added = []
        case .concurrentTransactions:
            if client.phase != .ready { clients[c].phase = .ending(commit: commit) }
        case .invalidTxnState:
            XCTAssertEqual(client.phase, .ready, "a well-behaved producer got INVALID_TXN_STATE")
        case .producerFenced, .invalidProducerEpoch, .invalidProducerIdMapping:
            clients[c].phase = .fenced
        default:
            XCTFail("EndTxn answered \(error)")
        }
    }

    /// A Produce of a transactional batch to a partition the client added.
    mutating func produce(_ c: Int) {
        // Sorted: a Set's order changes from process to process, and the seed must replay.
        let candidates = clients[c].added.filter { !offsetsPartitions.contains($0) }.sorted(by: TopicPartition.inOrder)
        guard let partition = candidates.randomElement(using: &rng) else { return }
        write(c, to: partition)
    }

    /// TxnOffsetCommit: checked by the coordinator, then a transactional write to the offsets partition.
    mutating func commitOffsets(_ c: Int) {
        let client = clients[c]
        let partition = offsetsPartitions.randomElement(using: &rng)!
        let error = coordinator.validateTxnOffsetCommit(
            transactionalId: client.transactionalId, producerId: client.producerId, producerEpoch: client.epoch,
            offsetsPartition: partition)
        switch error {
        case .none:
            XCTAssertTrue(client.added.contains(partition), "offsets accepted for a group not in the transaction")
            write(c, to: partition)
        case .invalidTxnState:
            let md = coordinator.transactions[client.transactionalId]!
            XCTAssertFalse(md.state == .ongoing && md.partitions.contains(partition))
        case .concurrentTransactions:
            break
        case .invalidProducerEpoch, .invalidProducerIdMapping:
            clients[c].phase = .fenced
        default:
            XCTFail("TxnOffsetCommit answered \(error)")
        }
    }

    /// The partition's side of a transactional write: a stale epoch is refused; otherwise the
    /// producer's transaction on the partition is open.
    mutating func write(_ c: Int, to partition: TopicPartition) {
        let client = clients[c]
        if client.epoch < partitionEpochs[partition]?[client.producerId] ?? -1 {
            clients[c].phase = .fenced
            return
        }
        let open = openTransactions[partition]?[client.producerId]
        XCTAssertTrue(open == nil || open == client.epoch, "\(partition): two open transactions of producer \(client.producerId)")
        partitionEpochs[partition, default: [:]][client.producerId] = client.epoch
        openTransactions[partition, default: [:]][client.producerId] = client.epoch
        stats.produced += 1
    }

    // MARK: The broker's side

    mutating func advanceTime() {
        if Int.random(in: 0..<4, using: &rng) == 0, let deadline = coordinator.nextDeadline, deadline > now {
            now = deadline
        } else {
            now += Int64.random(in: 0...400, using: &rng)
        }
        let actions = coordinator.tick(now: now)
        for case .persist(let id, _, let value) in actions {
            if let value {
                if try! TransactionLog.decodeValue(value, transactionalId: id).state == .prepareAbort { stats.timeouts += 1 }
            } else {
                stats.expiries += 1
            }
        }
        _ = carryOut(actions)
    }

    mutating func writeSomeMarkers() {
        guard let id = pendingMarkers.keys.sorted().randomElement(using: &rng) else { return }
        writeMarkers(id, crashPartWay: Double.random(in: 0..<1, using: &rng) < crashProbability)
    }

    mutating func writeMarkers(_ id: String, crashPartWay: Bool) {
        let m = pendingMarkers.removeValue(forKey: id)!
        if let promise = promises[id] {
            XCTAssertEqual([promise.producerId, Int64(promise.epoch)], [m.producerId, Int64(m.producerEpoch)])
            XCTAssertEqual(m.commit, promise.commit, "\(id): EndTxn promised \(promise.commit ? "commit" : "abort")")
        }
        let written = crashPartWay ? Array(m.partitions.prefix(Int.random(in: 0..<m.partitions.count, using: &rng))) : m.partitions
        for partition in written {
            let seen = partitionEpochs[partition]?[m.producerId] ?? -1
            XCTAssertGreaterThanOrEqual(m.producerEpoch, seen, "\(partition): marker with a stale epoch")
            partitionEpochs[partition, default: [:]][m.producerId] = m.producerEpoch
            openTransactions[partition]?[m.producerId] = nil
        }
        if crashPartWay { return restart() }
        promises[id] = nil
        _ = carryOut(coordinator.markersWritten(transactionalId: id, now: now))
    }

    /// Carries the actions out in order, as the driver would; nil if the broker crashed on the way
    /// (it restarted; the rest of the actions and the answer are lost).
    mutating func carryOut(_ actions: [TxnAction]) -> [TxnAction]? {
        for (index, action) in actions.enumerated() {
            if Double.random(in: 0..<1, using: &rng) < crashProbability {
                restart()
                return nil
            }
            switch action {
            case .persist(let id, let key, let value):
                log.append((key, value))
                if let value {
                    let md = try! TransactionLog.decodeValue(value, transactionalId: id)
                    if let last = lastPersisted[id] {
                        XCTAssertTrue(
                            md.producerId > last.producerId || md.producerId == last.producerId && md.producerEpoch >= last.epoch,
                            "\(id): (producer id, epoch) went back from \(last) to \(md.producerId), \(md.producerEpoch)")
                    }
                    lastPersisted[id] = (md.producerId, md.producerEpoch)
                }
            case .writeMarkers(let m):
                XCTAssertNil(pendingMarkers[m.transactionalId], "markers asked twice for \(m.transactionalId)")
                pendingMarkers[m.transactionalId] = m
            case .respondInitProducerId, .respondEndTxn:
                // An answer that depends on a persist comes after it.
                let firstPersist = actions.firstIndex { if case .persist = $0 { true } else { false } }
                XCTAssertLessThan(firstPersist ?? -1, index, "answer before its persist: \(actions.map(render))")
            }
        }
        return actions
    }

    /// The broker restarts: markers in flight are lost; the coordinator loads the log (the producer
    /// id counter survives).
    mutating func restart(crashed: Bool = true) {
        if crashed { stats.crashes += 1 }
        compactLog()
        pendingMarkers = [:]
        coordinator = TxnCoordinator(config: coordinator.config, producerIds: coordinator.producerIds)
        let actions = try! coordinator.load(records: log, now: now)
        let saved = crashProbability
        crashProbability = 0
        _ = carryOut(actions)
        crashProbability = saved
    }

    /// Log compaction, as __transaction_state has: the last record of each key (tombstones too).
    mutating func compactLog() {
        var last: [[UInt8]: Int] = [:]
        for (index, record) in log.enumerated() { last[record.key] = index }
        log = log.enumerated().filter { last[$0.element.key] == $0.offset }.map(\.element)
    }

    /// Time runs out for every transaction and every marker is written: nothing may stay open.
    mutating func drain() {
        crashProbability = 0
        for _ in 0..<3 {
            now += 10 * Int64(coordinator.config.maxTimeoutMs)
            _ = carryOut(coordinator.tick(now: now))
            while let id = pendingMarkers.keys.sorted().first { writeMarkers(id, crashPartWay: false) }
            checkInvariants()
        }
        XCTAssertTrue(openTransactions.values.allSatisfy(\.isEmpty), "hanging transactions: \(openTransactions)")
        XCTAssertTrue(promises.isEmpty, "decisions never carried out: \(promises)")
        XCTAssertTrue(coordinator.transactions.values.allSatisfy { $0.state.isExpirationAllowed })
    }

    // MARK: Invariants

    func checkInvariants(reloading: Bool = true) {
        // Markers are pending exactly for the transactions in Prepare*.
        for (id, md) in coordinator.transactions {
            XCTAssertEqual(md.state.isPreparing, pendingMarkers[id] != nil, "\(id) in \(md.state.name)")
            if let m = pendingMarkers[id] {
                XCTAssertEqual(m.partitions, md.partitions.sorted(by: TopicPartition.inOrder))
                XCTAssertEqual([m.producerId, Int64(m.producerEpoch)], [md.producerId, Int64(md.producerEpoch)])
            }
        }
        XCTAssertTrue(Set(pendingMarkers.keys).isSubset(of: coordinator.transactions.keys))
        // Every open transaction on a partition belongs to a transaction the coordinator will end
        // there: no hanging transactions.
        let byProducerId = Dictionary(coordinator.transactions.values.map { ($0.producerId, $0) }, uniquingKeysWith: { a, _ in a })
        for (partition, open) in openTransactions {
            for (producerId, epoch) in open {
                guard let md = byProducerId[producerId] else {
                    XCTFail("\(partition): open transaction of producer \(producerId), which no transactional id has")
                    continue
                }
                XCTAssertTrue(md.partitions.contains(partition), "\(partition) open but not in \(md.transactionalId)'s transaction")
                switch md.state {
                case .ongoing: XCTAssertEqual(epoch, md.producerEpoch)
                case .prepareCommit, .prepareAbort: XCTAssertLessThanOrEqual(epoch, md.producerEpoch)
                default: XCTFail("\(partition) open while \(md.transactionalId) is \(md.state.name)")
                }
            }
        }
        // Loading the log reproduces the state.
        guard reloading else { return }
        var reloaded = TxnCoordinator(config: coordinator.config, producerIds: SequentialProducerIds(startingAt: 0))
        _ = try! reloaded.load(records: log, now: now)
        XCTAssertEqual(reloaded.list(), coordinator.list())
    }
}

private func isResponse(_ action: TxnAction) -> Bool {
    switch action {
    case .respondInitProducerId, .respondEndTxn: true
    case .persist, .writeMarkers: false
    }
}
