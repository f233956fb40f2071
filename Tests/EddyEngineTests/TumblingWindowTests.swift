import EddyEngine
import XCTest

/// Tumbling windows in append mode: input batches, watermarks given by hand, the rows each emit gives.
final class TumblingWindowTests: XCTestCase {
    func revenuePerMinute(_ mode: OutputMode = .append, window: WindowSpec = .tumbling(sizeMs: 60_000)) throws -> WindowAggregateOperator {
        try WindowAggregateOperator(
            inputSchema: purchases, timeColumn: "time", keyColumns: ["category"],
            aggregates: [.countStar(as: "orders"), AggregateSpec(.sum, "amount", as: "revenue")],
            window: window, mode: mode, stateBytesLimit: nil)
    }

    func testWindowsCloseAtTheWatermark() throws {
        var op = try revenuePerMinute()
        XCTAssertEqual(op.outputSchema.description, "(window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, category TEXT, orders BIGINT NOT NULL, revenue DECIMAL(18,2))")
        XCTAssertEqual(try op.run([
            purchase("00:00:10", "books", "12.50"),
            purchase("00:00:20", "games", "5.00"),
            purchase("00:00:50", "books", "2.50"),
            purchase("00:01:05", "books", "1.00"),
        ], watermark: nil), "")
        XCTAssertEqual(op.stateRows, 3)
        XCTAssertEqual(try op.run([
            purchase("00:00:59", "games", "1.00"),  // its window ends at the watermark: late
            purchase("00:01:30", "books", "3.00"),
        ], watermark: "00:01:00"), """
            00:00:00 | 00:01:00 | books | 2 | 15.00
            00:00:00 | 00:01:00 | games | 1 | 5.00
            """)
        XCTAssertEqual(op.lateRows, [0])
        XCTAssertEqual(op.numRowsDroppedByWatermark, 1)
        XCTAssertEqual(op.stateRows, 1, "the closed window was evicted")
        XCTAssertEqual(try op.run([], watermark: "00:01:59.999"), "")
        XCTAssertEqual(try op.run([], watermark: "00:02:00"), "00:01:00 | 00:02:00 | books | 2 | 4.00")
        XCTAssertEqual(op.stateRows, 0)
        XCTAssertEqual(op.numRowsTotal, 6)
    }

    func testTimesBeforeTheEpochUseFloorDivision() throws {
        var op = try revenuePerMinute()
        XCTAssertEqual(try op.run([
            purchase("-00:00:00.001", "books", "1.00"),
            purchase("-00:01:00", "books", "2.00"),
            purchase("-00:01:00.001", "books", "4.00"),
            purchase("00:00:00", "books", "8.00"),
        ], watermark: nil), "")
        XCTAssertEqual(render(op.flushAll()), """
            -00:02:00 | -00:01:00 | books | 1 | 4.00
            -00:01:00 | 00:00:00 | books | 2 | 3.00
            00:00:00 | 00:01:00 | books | 1 | 8.00
            """)
    }

    func testOffsetShiftsTheGrid() throws {
        var op = try revenuePerMinute(window: .tumbling(sizeMs: 60_000, offsetMs: 15_000))
        _ = try op.run([purchase("00:00:10", "books", "1.00"), purchase("00:00:15", "books", "2.00")], watermark: nil)
        XCTAssertEqual(render(op.flushAll()), """
            -00:00:45 | 00:00:15 | books | 1 | 1.00
            00:00:15 | 00:01:15 | books | 1 | 2.00
            """)
    }

    func testNullKeysAreAGroupAndSortFirst() throws {
        var op = try revenuePerMinute()
        _ = try op.run([
            purchase("00:00:01", "toys", "1.00"),
            purchase("00:00:02", nil, "2.00"),
            purchase("00:00:03", "", "4.00"),
            purchase("00:00:04", nil, nil),
            purchase("00:00:05", "books", "8.00"),
        ], watermark: nil)
        XCTAssertEqual(render(op.flushAll()), """
            00:00:00 | 00:01:00 | NULL | 2 | 2.00
            00:00:00 | 00:01:00 |  | 1 | 4.00
            00:00:00 | 00:01:00 | books | 1 | 8.00
            00:00:00 | 00:01:00 | toys | 1 | 1.00
            """)
    }

    func testNullEventTimesAreDroppedAndCountedApart() throws {
        var op = try revenuePerMinute()
        try op.process(RecordBatch(schema: purchases, rows: [
            [.null, .string("books"), dec("1.00"), .int64(1)],
            purchase("00:00:01", "books", "2.00"),
            [.null, .string("games"), dec("4.00"), .int64(1)],
        ]), watermarkMs: .min)
        XCTAssertEqual(op.nullTimeRows, [0, 2])
        XCTAssertEqual(op.numRowsWithNullTime, 2)
        XCTAssertEqual(op.numRowsDroppedByWatermark, 0)
        XCTAssertEqual(render(op.flushAll()), "00:00:00 | 00:01:00 | books | 1 | 2.00")
    }

    func testWatermarkNeverMovesBackwards() throws {
        var op = try revenuePerMinute()
        _ = try op.run([purchase("00:00:10", "books", "1.00")], watermark: "00:01:00")
        XCTAssertEqual(try op.run([purchase("00:00:20", "books", "1.00")], watermark: "00:00:00"), "")
        XCTAssertEqual(op.lateRows, [0], "judged against 00:01:00, the largest watermark seen")
        XCTAssertEqual(op.watermarkMs, ms("00:01:00"))
    }

    func testUpdateModeEmitsChangedGroupsThenEvicts() throws {
        var op = try revenuePerMinute(.update)
        XCTAssertEqual(try op.run([
            purchase("00:00:10", "books", "1.00"),
            purchase("00:00:20", "games", "2.00"),
        ], watermark: nil), """
            00:00:00 | 00:01:00 | books | 1 | 1.00
            00:00:00 | 00:01:00 | games | 1 | 2.00
            """)
        XCTAssertEqual(try op.run([purchase("00:00:30", "games", "3.00"), purchase("00:01:10", "books", "4.00")], watermark: nil), """
            00:00:00 | 00:01:00 | games | 2 | 5.00
            00:01:00 | 00:02:00 | books | 1 | 4.00
            """)
        XCTAssertEqual(try op.run([], watermark: "00:01:00"), "", "nothing changed; the first window is evicted silently")
        XCTAssertEqual(op.stateRows, 1)
        XCTAssertEqual(try op.run([purchase("00:00:40", "games", "9.00")], watermark: "00:01:00"), "")
        XCTAssertEqual(op.lateRows, [0])
        XCTAssertEqual(op.numRowsUpdated, 4)
        XCTAssertEqual(op.numRowsUpdatedLastBatch, 0)
    }

    func testCompleteModeKeepsEverythingAndDropsNothing() throws {
        var op = try revenuePerMinute(.complete)
        XCTAssertEqual(try op.run([purchase("00:00:10", "books", "1.00")], watermark: nil), "00:00:00 | 00:01:00 | books | 1 | 1.00")
        XCTAssertEqual(try op.run([purchase("00:01:10", "books", "2.00")], watermark: "00:05:00"), """
            00:00:00 | 00:01:00 | books | 1 | 1.00
            00:01:00 | 00:02:00 | books | 1 | 2.00
            """)
        XCTAssertEqual(try op.run([purchase("00:00:30", "books", "4.00")], watermark: "00:06:00"), """
            00:00:00 | 00:01:00 | books | 2 | 5.00
            00:01:00 | 00:02:00 | books | 1 | 2.00
            """)
        XCTAssertEqual(op.numRowsDroppedByWatermark, 0)
        XCTAssertEqual(op.stateRows, 2)
    }

    func testEvictionKeepsStateBounded() throws {
        var op = try revenuePerMinute()
        var bytesAfterWarmup = 0
        for minute in 0..<200 {
            var rows: [[Value]] = []
            for category in 0..<50 {
                rows.append([.timestamp(Int64(minute) * 60_000 + Int64(category) * 100), .string("category-\(category)"), dec("1.00"), .int64(1)])
            }
            let emitted = try op.run(rows, watermark: clock(Int64(minute) * 60_000))
            XCTAssertEqual(emitted.split(separator: "\n").count, minute == 0 ? 0 : 50)
            XCTAssertEqual(op.stateRows, 50)
            if minute == 10 { bytesAfterWarmup = op.stateBytes }
        }
        // Array capacities follow malloc's usable sizes, which depend on the heap's history (other
        // tests in the process), so a few bytes of slack per array are allowed; keeping even one
        // group per closed window would add more than 190 × 100 bytes.
        XCTAssertLessThanOrEqual(op.stateBytes, bytesAfterWarmup + 1024, "freed groups are reused; state does not grow with time")
        XCTAssertEqual(op.flushAll().count, 50)
        XCTAssertEqual(op.stateRows, 0)
    }

    func testManyKeysGoThroughTheGeneralPath() throws {
        // More distinct categories per batch than the dictionary takes: the general path must agree.
        var op = try revenuePerMinute()
        var rows: [[Value]] = []
        for index in 0..<5000 {
            rows.append(purchase("00:00:\(10 + index % 40)", "c\(index % 2500)", "0.01"))
        }
        _ = try op.run(rows, watermark: nil)
        let output = op.flushAll()
        XCTAssertEqual(output.count, 2500)
        XCTAssertEqual(output.row(0), [ts("00:00:00"), ts("00:01:00"), .string("c0"), .int64(2), dec("0.02")])
        XCTAssertEqual(output.row(2499)[2], .string("c999"))
    }

    // MARK: the whole pipeline, three ways: straight, restarted after every batch, crashed at every point

    func testRevenuePerMinuteIsTheSameAfterACrashAtEveryPoint() throws {
        for mode in [OutputMode.append, .update, .complete] {
            let check = RecoveryCheck(inputs: [.init(purchases, partitions: 2)]) { inputs, sink in
                Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(10))
                    .groupBy(.tumble("time", .minutes(1)), "category")
                    .aggregate(.count(as: "orders"), .sum("amount", as: "revenue"), .avg("amount"))
                    .write(sink, mode: mode)
            }
            let report = try check.run { run in
                let orders = run.inputs[0]
                orders.add([purchase("00:00:10", "books", "12.50"), purchase("00:00:20", "games", "5.00")], partition: 0)
                orders.add([purchase("00:00:50", "books", "2.50")], partition: 1)
                try run.runUntilIdle()
                orders.add([purchase("00:01:05", "books", "1.00")], partition: 0)
                orders.addMalformed(Array("{\"time\": 12".utf8), reason: "unexpected end of input", partition: 1)
                orders.add([purchase("00:01:30", "games", "3.00")], partition: 1)
                try run.runUntilIdle()
                orders.add([purchase("00:01:40", "books", "4.00")], partition: 0)
                orders.add([purchase("00:01:50", "games", "6.00")], partition: 1)
                try run.runUntilIdle()
                // The watermark is 01:30 now: [00:00, 00:01) has closed and this row is late.
                orders.add([purchase("00:00:40", "books", "7.00"), purchase("00:02:30", "books", "1.00")], partition: 0)
                orders.add([purchase("00:02:45", "games", "1.00")], partition: 1)
                try run.runUntilIdle()
            }
            XCTAssertGreaterThanOrEqual(report.batches, 6, "\(mode)")
            XCTAssertEqual(Set(report.crashPoints.map(\.point)), Set(MicroBatchProtocol.CrashPoint.allCases), "\(mode)")
            XCTAssertEqual(report.crashPoints.count, report.batches * MicroBatchProtocol.CrashPoint.allCases.count, "\(mode)")
            XCTAssertEqual(report.output.deadLetters.map(\.detail), ["unexpected end of input"], "\(mode)")
            let rows = report.output.rowsByBatch.values.flatMap { $0 }
            let closed: [Value] = [ts("00:00:00"), ts("00:01:00"), .string("books"), .int64(2), dec("15.00"), .float64(7.5)]
            XCTAssertTrue(rows.contains(closed), "\(mode): \(report.output)")
            if mode == .append {
                XCTAssertEqual(rows.count, 4, "[00:00, 00:01) and [00:01, 00:02) have closed: \(report.output)")
            }
        }
    }

    func testABoundedInputReadInSmallBatchesIsTheSameAfterACrashAtEveryPoint() throws {
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxRecords: 2)
        let check = RecoveryCheck(inputs: [.init(purchases, partitions: 3, bounded: true)], options: options) { inputs, sink in
            Pipeline.read(inputs[0]).withWatermark("time", delay: .seconds(0))
                .groupBy(.tumble("time", .seconds(30)), "category").aggregate(.count(as: "orders")).write(sink)
        }
        let report = try check.run { run in
            for second in 0..<12 {
                run.inputs[0].add([purchase("00:00:\(second * 5 < 10 ? "0" : "")\(second * 5)", second % 2 == 0 ? "books" : "games", "1.00")],
                                  partition: second % 3)
            }
            try run.runUntilIdle()
        }
        XCTAssertGreaterThanOrEqual(report.batches, 6, "two records a batch")
        // The batch that reaches the end of the bounded input flushes every open window.
        XCTAssertEqual(report.output.rowsByBatch.values.flatMap { $0 }.map { $0[3] }.reduce(0) { $0 + ($1 == .int64(0) ? 0 : Int($1.description)!) }, 12)
    }
}
