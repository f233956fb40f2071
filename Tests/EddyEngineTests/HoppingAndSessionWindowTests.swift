import EddyEngine
import XCTest

/// Hopping windows (size a multiple of the slide and not) and session windows (merging within a batch,
/// across batches, and a row bridging two sessions).
final class HoppingAndSessionWindowTests: XCTestCase {
    func totals(_ window: WindowSpec, keys: [String] = [], mode: OutputMode = .append) throws -> WindowAggregateOperator {
        try WindowAggregateOperator(
            inputSchema: purchases, timeColumn: "time", keyColumns: keys,
            aggregates: [.countStar(as: "n"), AggregateSpec(.sum, "amount", as: "total")],
            window: window, mode: mode, stateBytesLimit: nil)
    }

    func testHoppingSizeAMultipleOfTheSlide() throws {
        var op = try totals(.hopping(sizeMs: 10_000, slideMs: 5_000))
        XCTAssertEqual(try op.run([
            purchase("00:00:03", "x", "1.00"),
            purchase("00:00:07", "x", "2.00"),
            purchase("00:00:12", "x", "4.00"),
        ], watermark: nil), "")
        XCTAssertEqual(try op.run([
            purchase("00:00:08", "x", "8.00"),  // [0, 10) has closed, [5, 15) still open: counted there only
            purchase("00:00:04", "x", "16.00"),  // [-5, 5) and [0, 10) both closed: late
        ], watermark: "00:00:10"), """
            -00:00:05 | 00:00:05 | 1 | 1.00
            00:00:00 | 00:00:10 | 2 | 3.00
            """)
        XCTAssertEqual(op.lateRows, [1])
        XCTAssertEqual(try op.run([], watermark: "00:00:15"), "00:00:05 | 00:00:15 | 3 | 14.00")
        XCTAssertEqual(render(op.flushAll()), "00:00:10 | 00:00:20 | 1 | 4.00")
    }

    func testHoppingSizeNotAMultipleOfTheSlide() throws {
        // Size 10 s, slide 4 s: starts at multiples of 4 s; a row is in two or three windows.
        var op = try totals(.hopping(sizeMs: 10_000, slideMs: 4_000))
        _ = try op.run([
            purchase("00:00:01", "x", "1.00"),  // [-8, 2) [-4, 6) [0, 10)
            purchase("00:00:03", "x", "2.00"),  // [-4, 6) [0, 10)
            purchase("00:00:09", "x", "4.00"),  // [0, 10) [4, 14) [8, 18)
        ], watermark: nil)
        XCTAssertEqual(render(op.flushAll()), """
            -00:00:08 | 00:00:02 | 1 | 1.00
            -00:00:04 | 00:00:06 | 2 | 3.00
            00:00:00 | 00:00:10 | 3 | 7.00
            00:00:04 | 00:00:14 | 1 | 4.00
            00:00:08 | 00:00:18 | 1 | 4.00
            """)
    }

    func testCumulatingWindowsGrowByStepAndCloseInTurn() throws {
        // Periods of 30 s reported every 10 s: [0, 10), [0, 20), [0, 30), then [30, 40), …
        var op = try totals(.cumulating(sizeMs: 30_000, stepMs: 10_000), keys: ["category"])
        XCTAssertEqual(try op.run([
            purchase("00:00:03", "x", "1.00"),
            purchase("00:00:15", "x", "2.00"),
            purchase("00:00:25", "y", "4.00"),
            purchase("00:00:31", "x", "8.00"),
        ], watermark: nil), "")
        XCTAssertEqual(try op.run([
            purchase("00:00:05", "x", "16.00"),  // [0, 10) and [0, 20) have closed: counted in [0, 30) only
        ], watermark: "00:00:20"), """
            00:00:00 | 00:00:10 | x | 1 | 1.00
            00:00:00 | 00:00:20 | x | 2 | 3.00
            """)
        XCTAssertEqual(op.lateRows, [])
        // Every window of the first period has closed: late.
        XCTAssertEqual(try op.run([purchase("00:00:09", "y", "32.00")], watermark: "00:00:30"), """
            00:00:00 | 00:00:30 | x | 3 | 19.00
            00:00:00 | 00:00:30 | y | 1 | 4.00
            """)
        XCTAssertEqual(op.lateRows, [0])
        XCTAssertEqual(render(op.flushAll()), """
            00:00:30 | 00:00:40 | x | 1 | 8.00
            00:00:30 | 00:00:50 | x | 1 | 8.00
            00:00:30 | 00:01:00 | x | 1 | 8.00
            """)
    }

    func testHoppingWithKeysInUpdateMode() throws {
        var op = try totals(.hopping(sizeMs: 10_000, slideMs: 5_000), keys: ["category"], mode: .update)
        XCTAssertEqual(try op.run([purchase("00:00:07", "b", "1.00"), purchase("00:00:02", "a", "2.00")], watermark: nil), """
            -00:00:05 | 00:00:05 | a | 1 | 2.00
            00:00:00 | 00:00:10 | a | 1 | 2.00
            00:00:00 | 00:00:10 | b | 1 | 1.00
            00:00:05 | 00:00:15 | b | 1 | 1.00
            """)
        XCTAssertEqual(try op.run([purchase("00:00:06", "a", "4.00")], watermark: "00:00:05"), """
            00:00:00 | 00:00:10 | a | 2 | 6.00
            00:00:05 | 00:00:15 | a | 1 | 4.00
            """)
        XCTAssertEqual(op.stateRows, 4, "[-5, 5) evicted")
    }

    func testSessionsWithinOneBatch() throws {
        var op = try totals(.session(gapMs: 10_000), keys: ["user"])
        _ = try op.run([
            purchase("00:00:30", "x", "1.00", user: 1),
            purchase("00:00:00", "x", "2.00", user: 1),
            purchase("00:00:03", "x", "4.00", user: 2),
            purchase("00:00:05", "x", "8.00", user: 1),
        ], watermark: nil)
        XCTAssertEqual(op.stateRows, 3)
        XCTAssertEqual(render(op.flushAll()), """
            00:00:03 | 00:00:13 | 2 | 1 | 4.00
            00:00:00 | 00:00:15 | 1 | 2 | 10.00
            00:00:30 | 00:00:40 | 1 | 1 | 1.00
            """)
    }

    func testSessionsGrowAcrossBatchesAndCloseAtLastPlusGap() throws {
        var op = try totals(.session(gapMs: 10_000), keys: ["user"])
        XCTAssertEqual(try op.run([purchase("00:00:00", "x", "1.00", user: 1)], watermark: nil), "")
        XCTAssertEqual(try op.run([purchase("00:00:08", "x", "2.00", user: 1)], watermark: "00:00:05"), "")
        XCTAssertEqual(try op.run([purchase("00:00:18", "x", "4.00", user: 1)], watermark: "00:00:17"), "", "touching [0, 18) at its end merges")
        XCTAssertEqual(try op.run([], watermark: "00:00:27.999"), "")
        XCTAssertEqual(try op.run([purchase("00:00:20", "x", "8.00", user: 1)], watermark: "00:00:28"), "00:00:00 | 00:00:28 | 1 | 3 | 7.00")
        XCTAssertEqual(op.lateRows, [0], "before the watermark: late")
        XCTAssertEqual(op.stateRows, 0)
    }

    func testARowBetweenTwoSessionsMergesAllThree() throws {
        var op = try totals(.session(gapMs: 10_000), keys: ["user"])
        _ = try op.run([purchase("00:00:00", "x", "1.00", user: 1), purchase("00:00:18", "x", "2.00", user: 1)], watermark: nil)
        XCTAssertEqual(op.stateRows, 2)
        _ = try op.run([purchase("00:00:09", "x", "4.00", user: 1)], watermark: "00:00:05")
        XCTAssertEqual(op.stateRows, 1)
        XCTAssertEqual(try op.run([], watermark: "00:00:28"), "00:00:00 | 00:00:28 | 1 | 3 | 7.00")
    }

    func testSessionsInUpdateMode() throws {
        var op = try totals(.session(gapMs: 10_000), keys: ["user"], mode: .update)
        XCTAssertEqual(try op.run([purchase("00:00:00", "x", "1.00", user: 1), purchase("00:00:30", "x", "2.00", user: 2)], watermark: nil), """
            00:00:00 | 00:00:10 | 1 | 1 | 1.00
            00:00:30 | 00:00:40 | 2 | 1 | 2.00
            """)
        XCTAssertEqual(try op.run([purchase("00:00:05", "x", "4.00", user: 1)], watermark: "00:00:01"), "00:00:00 | 00:00:15 | 1 | 2 | 5.00")
        XCTAssertEqual(try op.run([], watermark: "00:00:15"), "")
        XCTAssertEqual(op.stateRows, 1, "user 1's session closed and was evicted")
    }

    func testSessionBridgedBySeveralRowsOfOneBatchOutOfOrder() throws {
        var op = try totals(.session(gapMs: 5_000), keys: ["category"])
        _ = try op.run([
            purchase("00:00:00", "a", "1.00"), purchase("00:00:20", "a", "1.00"), purchase("00:00:40", "a", "1.00"),
        ], watermark: nil)
        XCTAssertEqual(op.stateRows, 3)
        _ = try op.run([
            purchase("00:00:35", "a", "1.00"), purchase("00:00:05", "a", "1.00"), purchase("00:00:15", "a", "1.00"),
            purchase("00:00:10", "a", "1.00"), purchase("00:00:30", "a", "1.00"), purchase("00:00:25", "a", "1.00"),
        ], watermark: nil)
        XCTAssertEqual(render(op.flushAll()), "00:00:00 | 00:00:45 | a | 9 | 9.00")
    }

    // MARK: the whole pipeline, three ways: straight, restarted after every batch, crashed at every point

    func testHoppingTotalsAreTheSameAfterACrashAtEveryPoint() throws {
        let check = RecoveryCheck(inputs: [.init(purchases, partitions: 2)]) { inputs, sink in
            Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(2), idleTimeout: .seconds(30))
                .groupBy(.hop("time", size: .seconds(10), slide: .seconds(4)), "category")
                .aggregate(.count(as: "n"), .sum("amount", as: "total"), .max("amount", as: "largest"))
                .write(sink, mode: .update)
        }
        let report = try check.run { run in
            let orders = run.inputs[0]
            orders.add([purchase("00:00:03", "x", "1.00"), purchase("00:00:07", "y", "2.00")], partition: 0)
            orders.add([purchase("00:00:05", "x", "4.00")], partition: 1)
            try run.runUntilIdle()
            run.advanceTime(by: .seconds(5))
            orders.add([purchase("00:00:12", "x", "8.00")], partition: 0)
            try run.runUntilIdle()
            // Partition 1 goes quiet: past the idle timeout it stops holding the watermark back.
            run.advanceTime(by: .seconds(40))
            orders.add([purchase("00:00:30", "y", "16.00")], partition: 0)
            try run.runUntilIdle()
            run.advanceTime(by: .seconds(1))
            try run.runUntilIdle()
        }
        XCTAssertGreaterThanOrEqual(report.batches, 3)
        XCTAssertEqual(Set(report.crashPoints.map(\.point)), Set(MicroBatchProtocol.CrashPoint.allCases))
        XCTAssertFalse(report.output.rowsByBatch.isEmpty)
    }

    func testSessionsMergingAcrossBatchesAreTheSameAfterACrashAtEveryPoint() throws {
        for mode in [OutputMode.append, .update] {
            let check = RecoveryCheck(inputs: [.init(purchases, partitions: 2)]) { inputs, sink in
                Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(5))
                    .groupBy(.session("time", gap: .seconds(10)), "user")
                    .aggregate(.count(as: "n"), .sum("amount", as: "total"))
                    .write(sink, mode: mode)
            }
            let report = try check.run { run in
                let clicks = run.inputs[0]
                clicks.add([purchase("00:00:01", "a", "1.00", user: 1), purchase("00:00:18", "a", "2.00", user: 1)], partition: 0)
                clicks.add([purchase("00:00:02", "a", "4.00", user: 2)], partition: 1)
                try run.runUntilIdle()
                // Bridges user 1's two sessions into one.
                clicks.add([purchase("00:00:09", "a", "8.00", user: 1)], partition: 1)
                clicks.add([purchase("00:00:20", "a", "16.00", user: 2)], partition: 0)
                try run.runUntilIdle()
                clicks.add([purchase("00:01:30", "a", "32.00", user: 1)], partition: 0)
                clicks.add([purchase("00:01:40", "a", "64.00", user: 2)], partition: 1)
                try run.runUntilIdle()
            }
            XCTAssertGreaterThanOrEqual(report.batches, 3, "\(mode)")
            let rows = report.output.rowsByBatch.values.flatMap { $0 }
            let merged: [Value] = [ts("00:00:01"), ts("00:00:28"), .int64(1), .int64(3), dec("11.00")]
            XCTAssertTrue(rows.contains(merged), "\(mode): user 1's bridged session \(report.output)")
        }
    }

    func testTheCheckNamesARunThatDiffers() throws {
        let check = RecoveryCheck(inputs: [.init(purchases)]) { inputs, sink in
            Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(0))
                .groupBy(.tumble("time", .seconds(10)), "category").aggregate(.count(as: "n")).write(sink)
        }
        XCTAssertThrowsError(try check.run { run in
            run.inputs[0].add([purchase("00:00:01", "a", "1.00")])
            try run.runUntilIdle()
            // A script that adds more after a restart: the output differs, and the check says where.
            run.inputs[0].add([purchase("00:00:05", run.restarts == 0 ? "a" : "b", "1.00"), purchase("00:00:25", "a", "1.00")])
            try run.runUntilIdle()
        }) { error in
            XCTAssertTrue("\(error)".hasPrefix("checkpointed, restarted after every batch: batch 3 wrote"), "\(error)")
        }
    }
}
