import EddyCore
import EddyWire
@testable import EddyBroker
import XCTest

typealias TxnCoordinator = TransactionCoordinator<SequentialProducerIds>

extension TransactionCoordinatorConfig {
    /// Exact timers (checks every millisecond), a one-minute maximum timeout, ids expire after a day.
    static let test = TransactionCoordinatorConfig(
        maxTimeoutMs: 60_000, abortTimedOutCheckIntervalMs: 1, transactionalIdExpirationMs: 86_400_000,
        removeExpiredCheckIntervalMs: 1)
}

/// "topic-3" → TopicPartition("topic", 3).
func tp(_ name: String) -> TopicPartition {
    let dash = name.lastIndex(of: "-")!
    return TopicPartition(String(name[..<dash]), PartitionID(Int32(name[name.index(after: dash)...])!))
}

/// One line per action, so tests read as "event → expected actions" tables:
///
///     persist t1 PrepareCommit pid=1000 epoch=0 [a-0, b-1]
///     markers t1 COMMIT pid=1000 epoch=0 [a-0, b-1]
///     init NONE pid=1000 epoch=0
///     endTxn NONE
///
/// Persisted records are decoded, which also checks that every record the coordinator writes reads back.
func render(_ action: TxnAction) -> String {
    switch action {
    case .persist(let id, let key, let value):
        XCTAssertEqual(try TransactionLog.decodeKey(key), id)
        guard let value else { return "persist \(id) tombstone" }
        do {
            let md = try TransactionLog.decodeValue(value, transactionalId: id)
            return "persist \(id) \(md.state.name) pid=\(md.producerId) epoch=\(md.producerEpoch) \(list(md.summary.partitions))"
        } catch {
            return "persist \(id) unreadable: \(error)"
        }
    case .writeMarkers(let m):
        let kind = m.commit ? "COMMIT" : "ABORT"
        return "markers \(m.transactionalId) \(kind) pid=\(m.producerId) epoch=\(m.producerEpoch) \(list(m.partitions))"
    case .respondInitProducerId(_, let error, let producerId, let producerEpoch):
        return "init \(error.name) pid=\(producerId) epoch=\(producerEpoch)"
    case .respondEndTxn(_, let error):
        return "endTxn \(error.name)"
    }
}

func list(_ partitions: [TopicPartition]) -> String { "[" + partitions.map(\.description).joined(separator: ", ") + "]" }

/// Plays the broker: issues request tokens, keeps the clock, appends persisted records to an in-memory
/// __transaction_state, remembers the markers it was asked to write, and checks that each token is
/// answered exactly once, in the actions of its own call, after the persist it depends on.
struct TxnDriver {
    var coordinator: TxnCoordinator
    var now: Int64 = 0
    var log: [(key: [UInt8], value: [UInt8]?)] = []
    /// Markers asked for and not yet reported written, by transactional id.
    var pendingMarkers: [String: TxnMarkers] = [:]
    private var nextToken: RequestToken = 1

    init(_ config: TransactionCoordinatorConfig = .test, firstProducerId: Int64 = 1000) {
        coordinator = TxnCoordinator(config: config, producerIds: SequentialProducerIds(startingAt: firstProducerId))
    }

    private mutating func issueToken() -> RequestToken {
        defer { nextToken += 1 }
        return nextToken
    }

    /// Carries the actions out in order and renders them.
    mutating func carryOut(
        _ actions: [TxnAction], token: RequestToken? = nil, file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        var answered = 0
        for action in actions {
            switch action {
            case .persist(_, let key, let value):
                log.append((key, value))
            case .writeMarkers(let markers):
                XCTAssertNil(pendingMarkers[markers.transactionalId], "markers asked twice", file: file, line: line)
                pendingMarkers[markers.transactionalId] = markers
            case .respondInitProducerId(let t, _, _, _), .respondEndTxn(let t, _):
                XCTAssertEqual(t, token, "answer to a foreign token", file: file, line: line)
                answered += 1
            }
        }
        XCTAssertEqual(answered, token == nil ? 0 : 1, "each request is answered once", file: file, line: line)
        return actions.map(render)
    }

    mutating func initPid(
        _ id: String?, timeout: Int32 = 60_000, pid: Int64 = -1, epoch: Int16 = -1, version: Int16 = 4,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        let token = issueToken()
        let actions = coordinator.initProducerId(
            transactionalId: id, timeoutMs: timeout, producerId: pid, producerEpoch: epoch, requestVersion: version,
            now: now, token: token)
        return carryOut(actions, token: token, file: file, line: line)
    }

    /// The actions, then "answer <error>" (the answer goes out after them).
    mutating func add(
        _ id: String, _ pid: Int64, _ epoch: Int16, _ partitions: [String], version: Int16 = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        let (error, actions) = coordinator.addPartitions(
            transactionalId: id, producerId: pid, producerEpoch: epoch, partitions: partitions.map(tp),
            requestVersion: version, now: now)
        return carryOut(actions, file: file, line: line) + ["answer \(error.name)"]
    }

    mutating func addOffsets(
        _ id: String, _ pid: Int64, _ epoch: Int16, _ offsetsPartition: String = "__consumer_offsets-7", version: Int16 = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        let (error, actions) = coordinator.addOffsets(
            transactionalId: id, producerId: pid, producerEpoch: epoch, offsetsPartition: tp(offsetsPartition),
            requestVersion: version, now: now)
        return carryOut(actions, file: file, line: line) + ["answer \(error.name)"]
    }

    mutating func endTxn(
        _ id: String, _ pid: Int64, _ epoch: Int16, commit: Bool, version: Int16 = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        let token = issueToken()
        let actions = coordinator.endTxn(
            transactionalId: id, producerId: pid, producerEpoch: epoch, commit: commit, requestVersion: version, now: now,
            token: token)
        return carryOut(actions, token: token, file: file, line: line)
    }

    /// Reports the pending markers of `id` written.
    mutating func markersWritten(_ id: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertNotNil(pendingMarkers.removeValue(forKey: id), "no markers were pending for \(id)", file: file, line: line)
        return carryOut(coordinator.markersWritten(transactionalId: id, now: now), file: file, line: line)
    }

    /// Moves the clock and runs the timers.
    mutating func advance(to time: Int64, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        precondition(time >= now)
        now = time
        return carryOut(coordinator.tick(now: time), file: file, line: line)
    }

    /// The broker restarts: a new coordinator (the producer id counter survives, as the driver
    /// persists it) loads the log; markers in flight are lost.
    mutating func restart(file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        coordinator = TxnCoordinator(config: coordinator.config, producerIds: coordinator.producerIds)
        pendingMarkers = [:]
        return carryOut(try coordinator.load(records: log, now: now), file: file, line: line)
    }

    func state(_ id: String) -> TransactionState? { coordinator.describe(transactionalId: id)?.state }
    func md(_ id: String) -> TransactionMetadata? { coordinator.transactions[id] }
}
