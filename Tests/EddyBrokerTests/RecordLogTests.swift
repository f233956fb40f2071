import EddyCore
import EddyLog
import EddyWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest

@testable import EddyBroker

/// The broker as a `RecordLog` (what the engine's log source reads): the same isolation rules as
/// Fetch, records as views, and offsets that always move on.
final class RecordLogTests: BrokerDirectoryTestCase {
    /// Offsets: a=0 b=1, x1=2 x2=3 (producer 7, aborted at 4), y=5 (producer 8, committed at 6),
    /// c=7 d=8 (one batch), z=9 (producer 9, still open: the last stable offset is 9), e=10.
    private func makeLog() throws -> Broker {
        let broker = try makeBroker()
        try broker.ensureTopic("t", partitions: 1)
        func batch(_ values: [String], producer: Int64 = -1) throws -> RecordBatch {
            try RecordBatch(try RecordBatch.encode(
                records: values.enumerated().map { Record(key: ByteBuffer(string: "k"), value: ByteBuffer(string: $0.element),
                                                          headers: [RecordHeader(key: "h", value: ByteBuffer(string: $0.element))],
                                                          offsetDelta: Int32($0.offset)) },
                baseTimestamp: Timestamp(millis: 1000), producerId: producer, producerEpoch: producer < 0 ? -1 : 0,
                baseSequence: producer < 0 ? -1 : 0, isTransactional: producer >= 0))
        }
        try XCTUnwrap(broker.topics.partition("t", 0)).withLog { log in
            _ = try log.append(try batch(["a", "b"]))
            _ = try log.append(try batch(["x1", "x2"], producer: 7))
            try log.appendMarker(producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: false)
            _ = try log.append(try batch(["y"], producer: 8))
            try log.appendMarker(producerId: 8, producerEpoch: 0, coordinatorEpoch: 0, commit: true)
            _ = try log.append(try batch(["c", "d"]))
            _ = try log.append(try batch(["z"], producer: 9))
            _ = try log.append(try batch(["e"]))
        }
        return broker
    }

    /// "offset:value" of every record of [from, to), read `maxBytes` at a time, and the offsets each
    /// call returned.
    private func readAll(_ log: any RecordLog, from: Int64, to: Int64, isolation: IsolationLevel,
                         maxBytes: Int = 1 << 20) throws -> (records: [String], nexts: [Int64]) {
        var records: [String] = []
        var nexts: [Int64] = []
        var offset = Offset(from)
        while offset < Offset(to) {
            let next = try log.read("t", partition: PartitionID(0), from: offset, to: Offset(to), maxBytes: maxBytes,
                                    isolation: isolation) { record in
                let value = record.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
                XCTAssertEqual(record.headers, [LogHeader(key: "h", value: Array(value.utf8))])
                XCTAssertEqual(record.key.map { Array($0) }, Array("k".utf8))
                records.append("\(record.offset):\(value)")
            }
            nexts.append(next.rawValue)
            if next == offset { break }
            offset = next
        }
        return (records, nexts)
    }

    func testReadCommittedStopsAtTheLastStableOffsetAndSkipsAbortedTransactions() throws {
        let broker = try makeLog()
        defer { try? broker.close() }
        XCTAssertEqual(broker.readableRanges("t", isolation: .readCommitted), [ReadableRange(start: Offset(0), end: Offset(9))])
        XCTAssertEqual(broker.readableRanges("t", isolation: .readUncommitted), [ReadableRange(start: Offset(0), end: Offset(11))])
        XCTAssertNil(broker.readableRanges("missing", isolation: .readCommitted))

        let committed = try readAll(broker, from: 0, to: 11, isolation: .readCommitted)
        XCTAssertEqual(committed.records, ["0:a", "1:b", "5:y", "7:c", "8:d"])
        XCTAssertEqual(committed.nexts, [9, 9], "up to the open transaction, then no further")
        let uncommitted = try readAll(broker, from: 0, to: 11, isolation: .readUncommitted)
        XCTAssertEqual(uncommitted.records, ["0:a", "1:b", "2:x1", "3:x2", "5:y", "7:c", "8:d", "9:z", "10:e"], "no markers")
        XCTAssertEqual(uncommitted.nexts, [11])
    }

    func testReadsStartAndEndInsideBatchesAndMoveOnOverSkippedBatches() throws {
        let broker = try makeLog()
        defer { try? broker.close() }
        XCTAssertEqual(try readAll(broker, from: 1, to: 8, isolation: .readCommitted).records, ["1:b", "5:y", "7:c"])
        // Only the aborted batch and its marker: nothing to show, but the offsets are read.
        let skipped = try readAll(broker, from: 2, to: 5, isolation: .readCommitted)
        XCTAssertEqual(skipped.records, [])
        XCTAssertEqual(skipped.nexts, [5])
        // One batch per call (a small maxBytes): every call moves on, the same records come out.
        let small = try readAll(broker, from: 0, to: 11, isolation: .readCommitted, maxBytes: 1)
        XCTAssertEqual(small.records, ["0:a", "1:b", "5:y", "7:c", "8:d"])
        XCTAssertEqual(small.nexts, [2, 4, 5, 6, 7, 9, 9])
    }

    func testAppendAndMissingPartitions() throws {
        let broker = try makeLog()
        defer { try? broker.close() }
        let first = try broker.append("fresh", partition: PartitionID(0), [LogAppend(key: nil, value: Array("v".utf8))])
        XCTAssertEqual(first, Offset(0))
        XCTAssertEqual(broker.partitionCount("fresh"), Int(broker.config.defaultPartitions), "created with the defaults")
        var values: [String?] = []
        _ = try broker.read("fresh", partition: PartitionID(0), from: Offset(0), to: Offset(1), maxBytes: 1 << 20,
                            isolation: .readUncommitted) { record in
            XCTAssertNil(record.key)
            values.append(record.value.map { String(decoding: $0, as: UTF8.self) })
        }
        XCTAssertEqual(values, ["v"])
        XCTAssertThrowsError(try broker.read("t", partition: PartitionID(1), from: Offset(0), to: Offset(1), maxBytes: 1,
                                             isolation: .readCommitted) { _ in }) { error in
            XCTAssertEqual((error as? RecordLogError)?.code, .unknownTopicOrPartition)
        }
        XCTAssertEqual(try broker.ensureTopic("t", partitions: 5), 1, "an existing topic keeps its partitions")
    }

    /// The engine's topic sinks write a micro-batch as one transaction of the broker in process: all
    /// its records become readable at read_committed together with the batch marker, stored in
    /// batches of at most `inProcessBatchBytesMax` bytes.
    func testInProcessTransactionsCommitWholeBatchesInBoundedBatches() throws {
        let broker = try makeBroker()
        defer { try? broker.close() }
        try broker.ensureTopic("out", partitions: 2)
        XCTAssertNil(try broker.committedBatch(writer: "w", topic: "out"))
        let rows = (0..<3000).map { index in
            (partition: PartitionID(Int32(index % 2)), record: LogAppend(key: Array("k\(index)".utf8), value: Array(repeating: UInt8(ascii: "x"), count: 1000)))
        }
        try broker.appendTransaction(writer: "w", topic: "out", batchId: 0, rows)
        try broker.appendTransaction(writer: "w", topic: "out", batchId: 1, Array(rows.prefix(10)))
        XCTAssertEqual(try broker.committedBatch(writer: "w", topic: "out"), 1)
        var count = 0
        for partition in Int32(0)..<2 {
            _ = try broker.read("out", partition: PartitionID(partition), from: Offset(0), to: Offset(10_000), maxBytes: 1 << 30,
                                isolation: .readCommitted) { _ in count += 1 }
            let sizes = try XCTUnwrap(broker.topics.partition("out", partition)).withLog { log in
                var sizes: [Int] = []
                _ = try log.read(from: Offset(0), maxBytes: 1 << 30, minOneBatch: true, isolation: .readUncommitted, below: nil)
                    .forEachVisibleBatch { batch in sizes.append(batch.bytes.readableBytes) }
                return sizes
            }
            XCTAssertGreaterThan(sizes.count, 3)
            XCTAssert(sizes.allSatisfy { $0 <= Broker.inProcessBatchBytesMax + 4096 }, "\(sizes)")
        }
        XCTAssertEqual(count, 3010)
    }
}
