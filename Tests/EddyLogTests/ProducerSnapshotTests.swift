import EddyCore
import EddyWire
import XCTest

@testable import EddyLog

/// A partition with a bit of everything: idempotent and transactional producers, wraparound, an
/// epoch bump, open, committed and aborted transactions.
private func busyPartition() -> TestPartition {
    var partition = TestPartition()
    let events: [ProducerEvent] = [
        .send(1, epoch: 0, seq: 0, records: 3),
        .send(2, epoch: 5, seq: Int32.max - 1, records: 4, txn: true),
        .send(1, epoch: 0, seq: 3),
        .send(3, epoch: 0, seq: 0, txn: true),
        .abort(2, epoch: 5, coordinator: 9),
        .send(1, epoch: 1, seq: 0, records: 2),
        .send(2, epoch: 5, seq: 2, txn: true),
        .commit(3, epoch: 0, coordinator: 2),
        .commit(4, epoch: 0, coordinator: 1),
        .send(-1, epoch: -1, seq: -1, records: 5),
        .send(1, epoch: 1, seq: 2), .send(1, epoch: 1, seq: 3), .send(1, epoch: 1, seq: 4),
        .send(1, epoch: 1, seq: 5), .send(1, epoch: 1, seq: 6),
        .send(3, epoch: 0, seq: 1, records: 2, txn: true),
        .abort(3, epoch: 0, coordinator: 2),
    ]
    for event in events {
        partition.clock += 10
        guard case .appended = partition.handle(event) else {
            if event.isMarker { continue }  // markers answer committed/aborted/marked
            preconditionFailure("busy partition refused \(event)")
        }
    }
    partition.table.highWatermarkAdvanced(to: Offset(12))
    return partition
}

final class ProducerSnapshotTests: XCTestCase {
    func testRoundTripGivesAnEqualTableThatDecidesTheSame() throws {
        let partition = busyPartition()
        XCTAssertEqual(partition.table.producers.count, 4)
        XCTAssertEqual(partition.table.aborted.count, 2)
        XCTAssertFalse(partition.table.unreplicated.isEmpty)
        XCTAssertNotNil(partition.table.firstUndecidedOffset)

        let bytes = partition.table.snapshot(at: Offset(partition.logEnd))
        let (restored, offset) = try ProducerStateTable.restore(bytes)
        XCTAssertEqual(offset, Offset(partition.logEnd))
        XCTAssertEqual(restored, partition.table)
        XCTAssertEqual(restored.snapshot(at: offset), bytes, "equal tables give equal bytes")

        var original = partition
        var copy = partition
        copy.table = restored
        let next: [ProducerEvent] = [
            .send(1, epoch: 1, seq: 2), .send(1, epoch: 1, seq: 6), .send(1, epoch: 1, seq: 7),
            .send(1, epoch: 0, seq: 0, records: 3), .send(2, epoch: 5, seq: 3, txn: true),
            .send(2, epoch: 5, seq: 4), .send(2, epoch: 5, seq: 4, txn: true), .commit(2, epoch: 5, coordinator: 8),
            .commit(2, epoch: 5, coordinator: 9), .send(3, epoch: 0, seq: 3), .send(9, epoch: 0, seq: 77),
        ]
        for event in next {
            XCTAssertEqual(copy.handle(event), original.handle(event), "\(event)")
        }
        XCTAssertEqual(copy.table, original.table)
        XCTAssertEqual(restored.lastStableOffset(highWatermark: Offset(13)), partition.table.lastStableOffset(highWatermark: Offset(13)))
    }

    func testEmptyTableRoundTrip() throws {
        let bytes = ProducerStateTable().snapshot(at: Offset(0))
        XCTAssertEqual(bytes.count, ProducerStateTable.snapshotHeaderSize + 4 + 4 + 4)
        let (table, offset) = try ProducerStateTable.restore(bytes)
        XCTAssertEqual(table, ProducerStateTable())
        XCTAssertEqual(offset, Offset(0))
    }

    func testEverySingleByteCorruptionIsRefused() {
        let bytes = busyPartition().table.snapshot(at: Offset(40))
        var refusals: [String: Int] = [:]
        for index in bytes.indices {
            for delta in 1...255 {
                var damaged = bytes
                damaged[index] &+= UInt8(delta)
                do {
                    _ = try ProducerStateTable.restore(damaged)
                    XCTFail("byte \(index) + \(delta) accepted")
                    return
                } catch {
                    refusals["\(error.code)", default: 0] += 1
                }
            }
        }
        XCTAssertEqual(refusals.values.reduce(0, +), bytes.count * 255)
        XCTAssertEqual(refusals["unknownVersion"], 2 * 255)
        XCTAssertNotNil(refusals["checksumMismatch"])
    }

    func testEveryTruncationAndAnyExtraByteIsRefused() {
        let bytes = busyPartition().table.snapshot(at: Offset(40))
        for count in 0..<bytes.count {
            XCTAssertThrowsError(try ProducerStateTable.restore(Array(bytes.prefix(count)))) { error in
                XCTAssertEqual((error as? ProducerSnapshotError)?.code, .truncated, "first \(count) bytes")
            }
        }
        XCTAssertThrowsError(try ProducerStateTable.restore(bytes + [0])) { error in
            XCTAssertEqual((error as? ProducerSnapshotError)?.code, .malformed)
        }
    }

    func testUnknownVersionIsRefused() {
        var bytes = ProducerStateTable().snapshot(at: Offset(0))
        bytes[1] = 2
        XCTAssertThrowsError(try ProducerStateTable.restore(bytes)) { error in
            XCTAssertEqual((error as? ProducerSnapshotError)?.code, .unknownVersion)
        }
    }

    /// Contents that pass the checksum but that `snapshot` could never have written.
    func testImpossibleContentsAreRefusedEvenWithAGoodChecksum() {
        func snapshot(_ build: (inout SnapshotWriter) -> Void) -> [UInt8] {
            var out = SnapshotWriter()
            out.put(ProducerStateTable.snapshotVersion)
            out.put(UInt32(0))
            out.put(Int32(0))
            out.put(Int64(100))
            build(&out)
            out.patch(Int32(out.bytes.count), at: 6)
            out.patch(CRC32C.checksum(out.bytes[6...]), at: 2)
            return out.bytes
        }
        func producer(_ out: inout SnapshotWriter, id: Int64, ongoing: Int64 = -1, batches: Int8 = 0) {
            out.put(id); out.put(Int16(0)); out.put(Int32(-1)); out.put(Int64(5)); out.put(ongoing); out.put(batches)
            for i in 0..<Int64(batches) {
                out.put(Int32(i)); out.put(Int32(i)); out.put(i); out.put(i); out.put(Int64(5))
            }
        }
        let cases: [(String, [UInt8])] = [
            ("six batches", snapshot { out in
                out.put(Int32(1)); producer(&out, id: 1, batches: 6); out.put(Int32(0)); out.put(Int32(0))
            }),
            ("a producer twice", snapshot { out in
                out.put(Int32(2)); producer(&out, id: 1); producer(&out, id: 1); out.put(Int32(0)); out.put(Int32(0))
            }),
            ("two transactions open at one offset", snapshot { out in
                out.put(Int32(2)); producer(&out, id: 1, ongoing: 7); producer(&out, id: 2, ongoing: 7)
                out.put(Int32(0)); out.put(Int32(0))
            }),
            ("a negative producer id", snapshot { out in
                out.put(Int32(1)); producer(&out, id: -1); out.put(Int32(0)); out.put(Int32(0))
            }),
            ("a count larger than the bytes", snapshot { out in
                out.put(Int32(1_000_000)); out.put(Int32(0)); out.put(Int32(0))
            }),
            ("a negative count", snapshot { out in out.put(Int32(-1)); out.put(Int32(0)); out.put(Int32(0)) }),
            ("aborted out of marker order", snapshot { out in
                out.put(Int32(0)); out.put(Int32(2))
                for marker in [Int64(9), 8] { out.put(Int64(1)); out.put(Int64(1)); out.put(marker) }
                out.put(Int32(0))
            }),
            ("an aborted flag of 2", snapshot { out in
                out.put(Int32(0)); out.put(Int32(0)); out.put(Int32(1))
                out.put(Int64(1)); out.put(Int64(1)); out.put(Int64(2)); out.put(Int8(2))
            }),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try ProducerStateTable.restore(bytes), name) { error in
                XCTAssertEqual((error as? ProducerSnapshotError)?.code, .malformed, name)
            }
        }
    }

    /// A restart restores the snapshot and replays the log from its offset: whatever the cut, the
    /// table equals the one that recorded everything straight through.
    func testReplayAfterRestoreEqualsTheStraightThroughTable() throws {
        var straight = busyPartition()
        straight.table.highWatermarkAdvanced(to: Offset(0))  // undo nothing: HW only prunes below itself
        var built = ProducerStateTable()
        var snapshots: [(bytes: [UInt8], entries: Int)] = [(built.snapshot(at: Offset(0)), 0)]
        for (index, entry) in straight.log.enumerated() {
            built.replay(CollectionOfOne(entry))
            let end: Offset = switch entry {
            case .data(_, _, let last): Offset(last.rawValue + 1)
            case .marker(_, let at): Offset(at.rawValue + 1)
            }
            snapshots.append((built.snapshot(at: end), index + 1))
        }
        built.highWatermarkAdvanced(to: Offset(12))
        XCTAssertEqual(built, straight.table, "replaying the whole log")
        for (bytes, entries) in snapshots {
            var (table, _) = try ProducerStateTable.restore(bytes)
            table.replay(straight.log[entries...])
            table.highWatermarkAdvanced(to: Offset(12))
            XCTAssertEqual(table, straight.table, "snapshot after \(entries) log entries")
        }
    }
}
