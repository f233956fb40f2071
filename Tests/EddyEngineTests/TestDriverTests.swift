import EddyEngine
import XCTest

/// Pipelines through the test driver: rows in, time moved by hand, sink read back.
final class TestDriverTests: XCTestCase {
    static let schema = Schema([Field("t", .timestamp), Field("category", .utf8), Field("amount", .decimal(scale: 2))])
    static let minute: Int64 = 60_000

    func row(_ seconds: Int64, _ category: String, _ amount: String) -> [Value] {
        [.timestamp(seconds * 1000), .string(category), .decimal(amount)]
    }

    func revenue(_ input: MemoryStream, _ output: MemorySink, mode: OutputMode = .append) -> StreamingPipeline {
        Pipeline.read(input)
            .withWatermark("t", delay: .seconds(10))
            .groupBy(.tumble("t", .minutes(1)), "category")
            .aggregate(.count(), .sum("amount", as: "revenue"))
            .write(output, mode: mode)
    }

    func testAppendEmitsAWindowOnceTheWatermarkPassesItsEnd() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let driver = try TestDriver(revenue(input, output))

        input.add([row(5, "books", "10.00"), row(20, "books", "2.50"), row(30, "toys", "1.00")])
        try driver.runUntilIdle()
        XCTAssertEqual(output.drain(), [], "the first minute is still open")

        // Max event time 75 s → watermark 65 s ≥ 60 s: the first minute closes in the next batch.
        input.add([row(75, "books", "4.00")])
        try driver.runUntilIdle()
        XCTAssertEqual(output.drain(), [
            [.timestamp(0), .timestamp(Self.minute), .string("books"), .int64(2), .decimal("12.50")],
            [.timestamp(0), .timestamp(Self.minute), .string("toys"), .int64(1), .decimal("1.00")],
        ])
        let last = try XCTUnwrap(driver.progress.last)
        XCTAssertEqual(last.eventTime["watermark"], "1970-01-01T00:01:05.000Z")
        XCTAssertEqual(last.stateOperators.first?.numRowsTotal, 1, "only the second minute's group is left")
    }

    func testLateRowsAreDroppedAndCounted() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let driver = try TestDriver(revenue(input, output))
        input.add([row(5, "books", "1.00"), row(130, "books", "1.00")])
        try driver.runUntilIdle()  // watermark 120 s: minutes 0 and 1 closed
        input.add([row(50, "books", "9.99"), row(125, "books", "1.00")])
        try driver.runUntilIdle()
        XCTAssertEqual(driver.progress.compactMap(\.stateOperators.first?.numRowsDroppedByWatermark), [0, 0, 1],
                       "the row of the closed first minute is late (batch 1 moved the watermark)")
        input.add([row(10, "books", "1.00"), row(200, "books", "1.00")])
        try driver.runUntilIdle()
        // Per batch, as Spark reports them (the metrics and the dashboard add them up).
        XCTAssertEqual(driver.progress.compactMap(\.stateOperators.first?.numRowsDroppedByWatermark), [0, 0, 1, 1, 0])
        XCTAssertEqual(driver.progress.compactMap(\.stateOperators.first?.numRowsUpdated), [2, 0, 1, 1, 0])
        XCTAssertEqual(output.rows, [
            [.timestamp(0), .timestamp(Self.minute), .string("books"), .int64(1), .decimal("1.00")],
            [.timestamp(2 * Self.minute), .timestamp(3 * Self.minute), .string("books"), .int64(2), .decimal("2.00")],
        ])
    }

    func testLateRowsGoToTheDeadLetterOutputWhenAsked() throws {
        let input = MemoryStream(Self.schema)
        let letters = CollectingDeadLetters()
        var options = QueryOptions()
        options.deadLetters = letters
        options.deadLetterLateRows = true
        options.encodeRows = { batch in batch.rows.map { Array($0.map(\.description).joined(separator: ",").utf8) } }
        let driver = try TestDriver(revenue(input, MemorySink()), options: options)
        input.add([row(5, "books", "1.00"), row(130, "books", "1.00")])
        try driver.runUntilIdle()
        input.add([row(50, "toys", "9.99")])
        try driver.runUntilIdle()
        XCTAssertEqual(letters.letters.map(\.reason), [.late])
        XCTAssertEqual(letters.letters.map { String(decoding: $0.value, as: UTF8.self) }, ["1970-01-01T00:00:50.000Z,toys,9.99"])
        XCTAssertEqual(driver.progress.last?.numDeadLetterRows, ["late": 1])
    }

    func testUpdateModeEmitsChangedGroupsEachBatch() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let driver = try TestDriver(revenue(input, output, mode: .update))
        input.add([row(1, "books", "1.00"), row(2, "toys", "2.00")])
        try driver.runBatch()
        XCTAssertEqual(output.drain().count, 2)
        input.add([row(3, "books", "1.00")])
        try driver.runBatch()
        XCTAssertEqual(output.drain(), [[.timestamp(0), .timestamp(Self.minute), .string("books"), .int64(2), .decimal("2.00")]])
        XCTAssertEqual(output.context?.upsertKeys, ["window_start", "window_end", "category"])
    }

    func testCompleteModeReemitsTheWholeResult() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let pipeline = Pipeline.read(input).groupBy("category").aggregate(.count()).write(output, mode: .complete)
        let driver = try TestDriver(pipeline)
        input.add([row(1, "books", "1.00"), row(2, "toys", "2.00")])
        try driver.runBatch()
        input.add([row(3, "books", "1.00")])
        try driver.runBatch()
        XCTAssertEqual(output.rowsByBatch[1], [[.string("books"), .int64(2)], [.string("toys"), .int64(1)]])
    }

    func testCompleteModeAtTheEndOfABoundedInputEmitsEachGroupOnce() throws {
        let input = MemoryStream(Self.schema, bounded: true)
        let output = MemorySink()
        input.add([row(5, "books", "10.00"), row(20, "books", "2.50"), row(30, "toys", "1.00")])
        let driver = try TestDriver(Pipeline.read(input).withWatermark("t", delay: .seconds(10))
            .groupBy("category").aggregate(.count(), .sum("amount", as: "revenue")).write(output, mode: .complete))
        try driver.runUntilIdle()
        let last = try XCTUnwrap(output.rowsByBatch.max { $0.key < $1.key }?.value)
        XCTAssertEqual(last, [[.string("books"), .int64(2), .decimal("12.50")], [.string("toys"), .int64(1), .decimal("1.00")]],
                       "the batch that ends the input holds the whole result once")
    }

    func testFilterAndProjectionRunBeforeTheAggregate() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let pipeline = Pipeline.read(input)
            .filter(col("amount") >= lit(decimal: "2.00") && col("category").isIn(["books", "toys"]))
            .select(NamedExpr(col("category")), NamedExpr(col("amount") * lit(2), name: "doubled"))
            .write(output)
        let driver = try TestDriver(pipeline)
        input.add([row(1, "books", "1.00"), row(2, "toys", "2.00"), row(3, "games", "5.00"), row(4, "books", "3.50")])
        try driver.runBatch()
        XCTAssertEqual(output.rows, [[.string("toys"), .decimal("4.00")], [.string("books"), .decimal("7.00")]])
        XCTAssertTrue(try pipeline.physicalPlan().description.contains("Scan memory"))
    }

    func testBoundedInputFlushesOpenWindowsAtItsEnd() throws {
        let input = MemoryStream(Self.schema, bounded: true)
        let output = MemorySink()
        input.add([row(5, "books", "1.00"), row(70, "books", "2.00")])
        let driver = try TestDriver(revenue(input, output))
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.count, 2, "both minutes are emitted at the end of a bounded input")
        XCTAssertTrue(driver.execution.isFinished)
    }

    func testMalformedRecordsAreDeadLetteredAndThePipelineGoesOn() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        let letters = CollectingDeadLetters()
        var options = QueryOptions()
        options.deadLetters = letters
        let driver = try TestDriver(Pipeline.read(input).write(output), options: options)
        input.add([row(1, "books", "1.00")])
        input.addMalformed(Array("{oops".utf8), reason: "malformed JSON at byte 1")
        input.add([row(2, "books", "1.00")])
        try driver.runBatch()
        XCTAssertEqual(output.rows.count, 2)
        XCTAssertEqual(letters.letters.map(\.detail), ["malformed JSON at byte 1"])
        XCTAssertEqual(letters.letters.first?.offset, 1)
        XCTAssertEqual(driver.progress.last?.numDeadLetterRows, ["malformed": 1])
    }

    func testStateLimitFailsTheQueryWithAClearError() throws {
        let input = MemoryStream(Self.schema)
        let output = MemorySink()
        var options = QueryOptions()
        options.stateBytesLimit = 4096
        let driver = try TestDriver(Pipeline.read(input).groupBy("category").aggregate(.count()).write(output, mode: .update),
                                    options: options)
        input.add((0..<2000).map { row(Int64($0), "category-\($0)", "1.00") })
        XCTAssertThrowsError(try driver.runBatch()) { error in
            let engineError = error as? EngineError
            XCTAssertEqual(engineError?.kind, .limit)
            XCTAssertTrue(engineError?.message.contains("4096") ?? false, "\(error)")
        }
        // The failed batch may be half applied to the state: this execution runs nothing more, and
        // says how to go on, rather than plan the batch again over that state.
        input.add([row(0, "one-more", "1.00")])
        XCTAssertThrowsError(try driver.runBatch()) { error in
            XCTAssertTrue("\(error)".contains("start it again on its checkpoint"), "\(error)")
        }
        XCTAssertTrue(output.rows.isEmpty)
    }

    func testIdlePartitionStopsHoldingTheWatermarkBack() throws {
        let input = MemoryStream(Self.schema, partitions: 2)
        let output = MemorySink()
        let pipeline = Pipeline.read(input)
            .withWatermark("t", delay: .seconds(10), idleTimeout: .seconds(30))
            .groupBy(.tumble("t", .minutes(1)), "category").aggregate(.count())
            .write(output)
        let driver = try TestDriver(pipeline)
        input.add([row(5, "books", "1.00")], partition: 1)
        input.add([row(5, "books", "1.00"), row(100, "books", "1.00")], partition: 0)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows, [], "partition 1 (max 5 s) holds the watermark at -5 s")
        driver.advanceTime(by: .seconds(31))
        input.add([row(110, "books", "1.00")], partition: 0)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows, [[.timestamp(0), .timestamp(Self.minute), .string("books"), .int64(2)]],
                       "partition 1 went idle: partition 0 alone moves the watermark to 100 s")
    }

    func testExplainShowsLogicalAndPhysicalPlans() throws {
        let input = MemoryStream(Self.schema)
        let text = try revenue(input, MemorySink()).explain()
        XCTAssertTrue(text.contains("== Logical plan =="))
        XCTAssertTrue(text.contains("== Physical plan =="))
        XCTAssertTrue(text.contains("columns=[t, category, amount]"))
        XCTAssertTrue(text.contains("TUMBLE(t, INTERVAL '1' MINUTE)"))
    }

    func testPlanErrorsNameTheProblem() {
        let input = MemoryStream(Self.schema)
        XCTAssertThrowsError(try Pipeline.read(input).groupBy(.tumble("t", .minutes(1)), "category").aggregate(.count())
            .write(MemorySink()).physicalPlan()) { error in
            XCTAssertTrue("\(error)".contains("withWatermark"), "\(error)")
        }
        XCTAssertThrowsError(try Pipeline.read(input).groupBy("category").aggregate(.count()).write(MemorySink(), mode: .append)
            .physicalPlan()) { error in
            XCTAssertTrue("\(error)".contains("append mode"), "\(error)")
        }
        XCTAssertThrowsError(try Pipeline.read(input).filter(col("amout") > lit(1)).write(MemorySink()).physicalPlan()) { error in
            XCTAssertTrue("\(error)".contains("amout"), "\(error)")
        }
    }
}

final class CollectingDeadLetters: DeadLetterSink, @unchecked Sendable {
    private(set) var letters: [DeadLetter] = []
    var description: String { "collect" }
    func write(_ letters: [DeadLetter]) throws(EngineError) { self.letters += letters }
}
