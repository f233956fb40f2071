import EddyCore
import EddyWire
import Foundation
import XCTest

@testable import EddyLog

/// One thing that happens to a partition, written the way the tests' tables read.
enum ProducerEvent {
    /// A data batch of `records` records from producer `pid` (-1: not idempotent).
    case send(Int64, epoch: Int16, seq: Int32, records: Int32 = 1, txn: Bool = false)
    case commit(Int64, epoch: Int16, coordinator: Int32 = 0)
    case abort(Int64, epoch: Int16, coordinator: Int32 = 0)

    var isMarker: Bool {
        if case .send = self { return false }
        return true
    }
}

/// What the partition did with an event.
enum ProducerOutcome: Equatable, CustomStringConvertible {
    /// Appended at these offsets.
    case appended(ClosedRange<Int64>)
    /// A retry answered with the original batch's offsets; nothing appended.
    case duplicate(ClosedRange<Int64>)
    case rejected(ErrorCode)
    /// A marker appended at this offset that ended the producer's transaction `first...marker`.
    case committed(ClosedRange<Int64>)
    case aborted(ClosedRange<Int64>)
    /// A marker appended at this offset while the producer had no transaction open here.
    case marked(Int64)

    var description: String {
        switch self {
        case .appended(let r): "appended(\(r))"
        case .duplicate(let r): "duplicate(\(r))"
        case .rejected(let code): "rejected(\(code))"
        case .committed(let r): "committed(\(r))"
        case .aborted(let r): "aborted(\(r))"
        case .marked(let o): "marked(\(o))"
        }
    }
}

/// A record of what the log holds, for replaying it after a snapshot.
enum ProducerLogEntry {
    case data(AppendingBatch, first: Offset, last: Offset)
    case marker(TransactionMarker, at: Offset)
}

/// A partition reduced to what the table needs: a log end offset and the entries appended, driven
/// the way the broker will drive it (check, append, record).
struct TestPartition {
    var table = ProducerStateTable()
    var logEnd: Int64 = 0
    var log: [ProducerLogEntry] = []
    /// The timestamp put on batches and markers.
    var clock: Int64 = 1_000

    mutating func handle(_ event: ProducerEvent) -> ProducerOutcome {
        switch event {
        case .send(let pid, let epoch, let seq, let records, let txn):
            let batch = AppendingBatch(producerId: ProducerId(pid), producerEpoch: ProducerEpoch(epoch),
                                       baseSequence: ProducerSequence(seq), lastOffsetDelta: records - 1,
                                       isTransactional: txn, maxTimestamp: Timestamp(millis: clock))
            return send(batch)
        case .commit(let pid, let epoch, let coordinator), .abort(let pid, let epoch, let coordinator):
            let marker = TransactionMarker(producerId: ProducerId(pid), producerEpoch: ProducerEpoch(epoch),
                                           coordinatorEpoch: CoordinatorEpoch(coordinator),
                                           controlType: { if case .commit = event { .commit } else { .abort } }(),
                                           timestamp: Timestamp(millis: clock))
            return mark(marker)
        }
    }

    mutating func send(_ batch: AppendingBatch) -> ProducerOutcome {
        let before = table
        switch table.check(batch) {
        case .accept:
            precondition(table == before, "check changed the table")
            let first = Offset(logEnd), last = Offset(logEnd + Int64(batch.lastOffsetDelta))
            table.recordAppend(batch, firstOffset: first, lastOffset: last)
            log.append(.data(batch, first: first, last: last))
            logEnd = last.rawValue + 1
            return .appended(first.rawValue...last.rawValue)
        case .duplicate(let original):
            return .duplicate(original.firstOffset.rawValue...original.lastOffset.rawValue)
        case .reject(let code, _):
            return .rejected(code)
        }
    }

    mutating func mark(_ marker: TransactionMarker) -> ProducerOutcome {
        if case .reject(let code, _) = table.check(marker) { return .rejected(code) }
        let offset = Offset(logEnd)
        let completed = table.recordMarker(marker, at: offset)
        log.append(.marker(marker, at: offset))
        logEnd += 1
        guard let completed else { return .marked(offset.rawValue) }
        let range = completed.firstOffset.rawValue...completed.lastOffset.rawValue
        return completed.isAborted ? .aborted(range) : .committed(range)
    }
}

extension XCTestCase {
    /// Runs "event → expected outcome" rows against `partition`, checking the table's invariants after
    /// each; a failure names its row.
    func play(_ rows: [(ProducerEvent, ProducerOutcome)], on partition: inout TestPartition,
             file: StaticString = #filePath, line: UInt = #line) {
        for (index, (event, expected)) in rows.enumerated() {
            let outcome = partition.handle(event)
            XCTAssertEqual(outcome, expected, "row \(index): \(event)", file: file, line: line)
            XCTAssertNil(partition.table.invariantViolation(), "row \(index)", file: file, line: line)
        }
    }

    @discardableResult
    func play(_ rows: [(ProducerEvent, ProducerOutcome)], file: StaticString = #filePath, line: UInt = #line) -> TestPartition {
        var partition = TestPartition()
        play(rows, on: &partition, file: file, line: line)
        return partition
    }
}

extension ProducerStateTable {
    /// Replays log entries the way a restart does after restoring a snapshot.
    mutating func replay(_ entries: some Sequence<ProducerLogEntry>) {
        for entry in entries {
            switch entry {
            case .data(let batch, let first, let last): replay(batch, firstOffset: first, lastOffset: last)
            case .marker(let marker, let offset): replay(marker, at: offset)
            }
        }
    }
}
