import EddyCore
import EddyWire
import XCTest

@testable import EddyLog

/// The table against a reference model over random producers, epochs, retries, gaps, transactions,
/// markers, high watermarks, log start moves and expiry. The model restates the rules plainly: whole
/// histories instead of a five-batch window, sequences as Int64 modulo 2^31, brute-force last stable
/// offset and aborted lists, nothing pruned.
final class ProducerStateModelTests: XCTestCase {
    func testTableAgreesWithTheReferenceModel() throws {
        var rng = SeededRandom("ProducerStateModelTests.testTableAgreesWithTheReferenceModel")
        var simulation = Simulation()
        for step in 0..<4_000 {
            if let mismatch = simulation.step(&rng) {
                XCTFail("seed \(rng.seed), step \(step): \(mismatch)")
                return
            }
        }
        for (bytes, journalIndex) in simulation.snapshots {
            var (table, _) = try ProducerStateTable.restore(bytes)
            for op in simulation.journal[journalIndex...] { op.replay(on: &table) }
            XCTAssertEqual(table, simulation.table, "seed \(rng.seed): replay from journal entry \(journalIndex)")
        }
        XCTAssertGreaterThan(simulation.counts["duplicate", default: 0], 50, "seed \(rng.seed): \(simulation.counts)")
        XCTAssertGreaterThan(simulation.counts["aborted", default: 0], 10, "seed \(rng.seed): \(simulation.counts)")
        print("decisions: \(simulation.counts.sorted { $0.key < $1.key })")
    }
}

/// A decision without its message, so the table's and the model's compare.
private enum Verdict: Equatable {
    case accept, duplicate(BatchMetadata), reject(ErrorCode)

    init(_ check: ProducerCheck) {
        switch check {
        case .accept: self = .accept
        case .duplicate(let original): self = .duplicate(original)
        case .reject(let code, _): self = .reject(code)
        }
    }

    var name: String {
        switch self {
        case .accept: "accept"
        case .duplicate: "duplicate"
        case .reject(let code): code.name
        }
    }
}

private struct ModelProducer {
    var epoch: Int16
    var coordinatorEpoch: Int32 = -1
    var lastTimestamp: Int64 = -1
    var openTxn: Int64?
    var history: [BatchMetadata] = []  // every batch of the current epoch
}

private struct Model {
    static let sequences: Int64 = 1 << 31
    var producers: [Int64: ModelProducer] = [:]
    var completed: [CompletedTransaction] = []

    static func lastSeq(_ batch: AppendingBatch) -> Int32 {
        Int32((Int64(batch.baseSequence.rawValue) + Int64(batch.lastOffsetDelta)) % sequences)
    }

    func decide(_ batch: AppendingBatch) -> Verdict {
        let pid = batch.producerId.rawValue
        if pid < 0 { return .accept }
        if batch.baseSequence.rawValue < 0 || batch.lastOffsetDelta < 0 || batch.producerEpoch.rawValue < 0 {
            return .reject(.invalidRecord)
        }
        guard let p = producers[pid] else { return .accept }
        let epoch = batch.producerEpoch.rawValue, first = batch.baseSequence.rawValue, last = Self.lastSeq(batch)
        if epoch == p.epoch,
           let original = p.history.suffix(5).first(where: { $0.firstSeq.rawValue == first && $0.lastSeq.rawValue == last }) {
            return .duplicate(original)
        }
        if epoch < p.epoch { return .reject(.invalidProducerEpoch) }
        if epoch > p.epoch && first != 0 { return .reject(.outOfOrderSequenceNumber) }
        if epoch == p.epoch {
            let expected = p.history.last.map { (Int64($0.lastSeq.rawValue) + 1) % Self.sequences } ?? 0
            if Int64(first) != expected { return .reject(.outOfOrderSequenceNumber) }
        }
        if p.openTxn != nil && !batch.isTransactional { return .reject(.invalidTxnState) }
        return .accept
    }

    func decide(_ marker: TransactionMarker) -> Verdict {
        let pid = marker.producerId.rawValue
        if pid < 0 || marker.producerEpoch.rawValue < 0 { return .reject(.invalidRecord) }
        guard let p = producers[pid] else { return .accept }
        if marker.producerEpoch.rawValue < p.epoch { return .reject(.invalidProducerEpoch) }
        if marker.coordinatorEpoch.rawValue < p.coordinatorEpoch { return .reject(.transactionCoordinatorFenced) }
        return .accept
    }

    mutating func append(_ batch: AppendingBatch, first: Int64, last: Int64) {
        let pid = batch.producerId.rawValue
        guard pid >= 0 else { return }
        var p = producers[pid] ?? ModelProducer(epoch: batch.producerEpoch.rawValue)
        if p.epoch != batch.producerEpoch.rawValue {
            p.epoch = batch.producerEpoch.rawValue
            p.history = []
        }
        p.history.append(BatchMetadata(firstSeq: batch.baseSequence, lastSeq: ProducerSequence(Self.lastSeq(batch)),
                                       firstOffset: Offset(first), lastOffset: Offset(last), maxTimestamp: batch.maxTimestamp))
        p.lastTimestamp = batch.maxTimestamp.millis
        if batch.isTransactional && p.openTxn == nil { p.openTxn = first }
        producers[pid] = p
    }

    mutating func mark(_ marker: TransactionMarker, at offset: Int64) -> CompletedTransaction? {
        let pid = marker.producerId.rawValue
        var p = producers[pid] ?? ModelProducer(epoch: marker.producerEpoch.rawValue)
        var ended: CompletedTransaction?
        if let first = p.openTxn {
            ended = CompletedTransaction(producerId: marker.producerId, firstOffset: Offset(first), lastOffset: Offset(offset),
                                         isAborted: marker.controlType == .abort)
            completed.append(ended!)
        }
        if p.epoch != marker.producerEpoch.rawValue {
            p.epoch = marker.producerEpoch.rawValue
            p.history = []
        }
        p.coordinatorEpoch = marker.coordinatorEpoch.rawValue
        p.openTxn = nil
        p.lastTimestamp = marker.timestamp.millis
        producers[pid] = p
        return ended
    }

    func lastStableOffset(highWatermark: Int64) -> Int64 {
        let open = producers.values.compactMap(\.openTxn)
        let unreplicated = completed.filter { $0.lastOffset.rawValue >= highWatermark }.map(\.firstOffset.rawValue)
        return ([highWatermark] + open + unreplicated).min()!
    }

    func aborted(from: Int64, upTo: Int64) -> [AbortedTransaction] {
        completed.filter { $0.isAborted && $0.lastOffset.rawValue >= from && $0.firstOffset.rawValue < upTo }
            .map { AbortedTransaction(producerId: $0.producerId, firstOffset: $0.firstOffset, lastOffset: $0.lastOffset) }
    }

    mutating func expire(now: Int64, expirationMs: Int64) {
        producers = producers.filter { $0.value.openTxn != nil || now - $0.value.lastTimestamp < expirationMs }
    }
}

/// What a producer client believes: its id, epoch, next sequence, whether it is in a transaction,
/// and the batches it sent lately (which it may retry, even from an older epoch).
private struct Client {
    var pid: Int64
    var epoch: Int16 = 0
    var nextSeq = ProducerSequence.zero
    var coordinatorEpoch: Int32 = 0
    var inTxn = false
    var sent: [AppendingBatch] = []
}

/// One entry of the journal that replays the run after a snapshot.
private enum Op {
    case data(AppendingBatch, first: Offset, last: Offset)
    case marker(TransactionMarker, at: Offset)
    case highWatermark(Offset)
    case logStart(Offset)
    case expire(now: Timestamp)

    func replay(on table: inout ProducerStateTable) {
        switch self {
        case .data(let batch, let first, let last): table.replay(batch, firstOffset: first, lastOffset: last)
        case .marker(let marker, let offset): table.replay(marker, at: offset)
        case .highWatermark(let offset): table.highWatermarkAdvanced(to: offset)
        case .logStart(let offset): table.truncateHead(logStartOffset: offset)
        case .expire(let now): table.removeExpiredProducers(now: now, expirationMs: Simulation.expirationMs)
        }
    }
}

private struct Simulation {
    static let expirationMs: Int64 = 20_000
    var table = ProducerStateTable()
    var model = Model()
    var clients = (0..<4).map { Client(pid: 100 + Int64($0)) }
    var nextPid: Int64 = 200
    var logEnd: Int64 = 0
    var highWatermark: Int64 = 0
    var logStart: Int64 = 0
    var now: Int64 = 1_000
    var journal: [Op] = []
    var snapshots: [(bytes: [UInt8], journalIndex: Int)] = []
    var counts: [String: Int] = [:]
    var steps = 0

    /// One random event, then every comparison with the model; returns the first disagreement.
    mutating func step(_ rng: inout SeededRandom) -> String? {
        steps += 1
        now += Int64.random(in: 0...400, using: &rng)
        if steps % 500 == 0 { snapshots.append((table.snapshot(at: Offset(logEnd)), journal.count)) }
        let slot = Int.random(in: 0..<clients.count, using: &rng)
        var client = clients[slot]
        defer { clients[slot] = client }
        let timestamp = Timestamp(millis: now - Int64.random(in: 0...50, using: &rng))
        func batch(seq: ProducerSequence, records: Int32 = Int32.random(in: 1...5, using: &rng), txn: Bool? = nil) -> AppendingBatch {
            AppendingBatch(producerId: ProducerId(client.pid), producerEpoch: ProducerEpoch(client.epoch), baseSequence: seq,
                           lastOffsetDelta: records - 1, isTransactional: txn ?? client.inTxn, maxTimestamp: timestamp)
        }
        let roll = Int.random(in: 0..<100, using: &rng)
        switch roll {
        case 0..<40:
            let flip = Int.random(in: 0..<30, using: &rng) == 0
            return send(batch(seq: client.nextSeq, txn: client.inTxn != flip), &client)
        case 40..<55:
            guard let retry = client.sent.randomElement(using: &rng) else { return nil }
            return send(retry, &client)
        case 55..<60:
            return send(batch(seq: client.nextSeq.advanced(by: Int32.random(in: 1...3, using: &rng))), &client)
        case 60..<63:
            client.epoch += 1
            client.nextSeq = .zero
            client.inTxn = false
            return send(batch(seq: .zero), &client)
        case 63..<65:  // a producer the partition has never seen, possibly about to wrap its sequence
            client = Client(pid: nextPid, epoch: Int16.random(in: 0...3, using: &rng))
            nextPid += 1
            client.nextSeq = ProducerSequence(Int32.max - Int32.random(in: 0...12, using: &rng))
            return send(batch(seq: client.nextSeq), &client)
        case 65..<72:
            client.inTxn = true
            return send(batch(seq: client.nextSeq), &client)
        case 72..<84:
            return endTransaction(&client, &rng, timestamp: timestamp)
        case 84..<87:
            return send(AppendingBatch(producerId: .none, producerEpoch: ProducerEpoch(-1), baseSequence: ProducerSequence(-1),
                                       lastOffsetDelta: 2, maxTimestamp: timestamp), &client)
        case 87..<89:
            return send(batch(seq: ProducerSequence(-1)), &client)
        case 89..<94:
            // Often right at or after the newest marker: the edges of "replicated".
            highWatermark = max(highWatermark, [logEnd, logEnd - 1, Int64.random(in: highWatermark...logEnd, using: &rng)]
                .randomElement(using: &rng)!)
            table.highWatermarkAdvanced(to: Offset(highWatermark))
            journal.append(.highWatermark(Offset(highWatermark)))
        case 94..<97:
            logStart = Int64.random(in: logStart...highWatermark, using: &rng)
            table.truncateHead(logStartOffset: Offset(logStart))
            journal.append(.logStart(Offset(logStart)))
        default:
            table.removeExpiredProducers(now: Timestamp(millis: now), expirationMs: Self.expirationMs)
            model.expire(now: now, expirationMs: Self.expirationMs)
            journal.append(.expire(now: Timestamp(millis: now)))
        }
        return compare(&rng)
    }

    private mutating func send(_ batch: AppendingBatch, _ client: inout Client) -> String? {
        if batch.producerId.isIdempotent {
            client.sent.append(batch)
            if client.sent.count > 8 { client.sent.removeFirst() }
        }
        let verdict = Verdict(table.check(batch)), expected = model.decide(batch)
        counts[verdict.name, default: 0] += 1
        guard verdict == expected else { return "\(batch): table \(verdict), model \(expected)" }
        if verdict == .accept {
            let first = logEnd, last = logEnd + Int64(batch.lastOffsetDelta)
            table.recordAppend(batch, firstOffset: Offset(first), lastOffset: Offset(last))
            model.append(batch, first: first, last: last)
            journal.append(.data(batch, first: Offset(first), last: Offset(last)))
            logEnd = last + 1
            if batch.producerEpoch.rawValue == client.epoch && batch.producerId.rawValue == client.pid {
                client.nextSeq = batch.lastSequence.advanced(by: 1)
            }
        } else if case .duplicate = verdict, batch.producerEpoch.rawValue == client.epoch {
            client.nextSeq = batch.lastSequence.advanced(by: 1)
        }
        return nil
    }

    /// A COMMIT or ABORT from the coordinator: usually right, sometimes from a fenced producer epoch
    /// or coordinator, sometimes bumping the epoch (a timed-out transaction), sometimes for nothing.
    private mutating func endTransaction(_ client: inout Client, _ rng: inout SeededRandom, timestamp: Timestamp) -> String? {
        var epoch = client.epoch, coordinator = client.coordinatorEpoch
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: epoch -= 1
        case 1: coordinator -= 1
        case 2: coordinator += 1; client.coordinatorEpoch = coordinator
        case 3: epoch += 1; client.epoch = epoch; client.nextSeq = .zero
        default: break
        }
        let marker = TransactionMarker(producerId: ProducerId(client.pid), producerEpoch: ProducerEpoch(epoch),
                                       coordinatorEpoch: CoordinatorEpoch(coordinator),
                                       controlType: Bool.random(using: &rng) ? .commit : .abort, timestamp: timestamp)
        client.inTxn = false
        let verdict = Verdict(table.check(marker)), expected = model.decide(marker)
        counts["marker " + verdict.name, default: 0] += 1
        guard verdict == expected else { return "\(marker): table \(verdict), model \(expected)" }
        guard verdict == .accept else { return nil }
        let ended = table.recordMarker(marker, at: Offset(logEnd)), expectedEnd = model.mark(marker, at: logEnd)
        journal.append(.marker(marker, at: Offset(logEnd)))
        logEnd += 1
        if ended?.isAborted == true { counts["aborted", default: 0] += 1 }
        return ended == expectedEnd ? compare(&rng) : "\(marker): table ended \(String(describing: ended)), model \(String(describing: expectedEnd))"
    }

    /// Every observable answer of the table against the model, its invariants, and a snapshot round trip.
    private func compare(_ rng: inout SeededRandom) -> String? {
        if let violation = table.invariantViolation() { return "invariant: \(violation)" }
        guard table.producers.count == model.producers.count else {
            return "producers \(table.producers.keys.sorted()) vs model \(model.producers.keys.sorted())"
        }
        for (pid, expected) in model.producers {
            guard let entry = table.producers[ProducerId(pid)] else { return "producer \(pid) missing" }
            let same = entry.epoch.rawValue == expected.epoch && entry.coordinatorEpoch.rawValue == expected.coordinatorEpoch
                && entry.lastTimestamp.millis == expected.lastTimestamp && entry.ongoingTxnFirstOffset?.rawValue == expected.openTxn
                && entry.batches == Array(expected.history.suffix(ProducerStateTable.maxBatchesPerProducer))
            if !same { return "producer \(pid): \(entry) vs model \(expected)" }
        }
        let undecided = model.producers.values.compactMap(\.openTxn).min()
        guard table.firstUndecidedOffset?.rawValue == undecided else { return "first undecided \(String(describing: table.firstUndecidedOffset)) vs \(String(describing: undecided))" }
        for hw in [highWatermark, Int64.random(in: highWatermark...logEnd, using: &rng)] {
            let lso = table.lastStableOffset(highWatermark: Offset(hw)).rawValue, expected = model.lastStableOffset(highWatermark: hw)
            guard lso == expected else { return "LSO at HW \(hw): \(lso) vs model \(expected)" }
        }
        // What the table still keeps for the LSO: exactly the completed transactions whose markers
        // are not below the high watermark (which is never below the log start).
        let kept = model.completed.filter { $0.lastOffset.rawValue >= highWatermark }
        guard table.unreplicated == kept else { return "unreplicated \(table.unreplicated) vs model \(kept)" }
        let from = Int64.random(in: logStart...logEnd, using: &rng), upTo = Int64.random(in: from...logEnd + 1, using: &rng)
        let aborted = table.abortedTransactions(from: Offset(from), upTo: Offset(upTo)), expected = model.aborted(from: from, upTo: upTo)
        guard aborted == expected else { return "aborted in [\(from), \(upTo)): \(aborted) vs model \(expected)" }
        do {
            let (restored, offset) = try ProducerStateTable.restore(table.snapshot(at: Offset(logEnd)))
            guard restored == table, offset.rawValue == logEnd else { return "snapshot round trip differs" }
        } catch {
            return "snapshot refused: \(error)"
        }
        return nil
    }
}
