import EddyEngine
import XCTest

/// Every aggregate over NULLs, decimal exactness and overflow, count distinct across types, first/last
/// ties, NaN ordering.
final class AggregateFunctionTests: XCTestCase {
    static let values = Schema([
        Field("time", .timestamp), Field("k", .utf8), Field("i", .int64), Field("d", .decimal(scale: 2)),
        Field("f", .float64), Field("s", .utf8), Field("b", .bool), Field("t", .timestamp),
    ])

    func groupBy(_ aggregates: [AggregateSpec], mode: OutputMode = .update, schema: Schema = values) throws -> WindowAggregateOperator {
        try WindowAggregateOperator(
            inputSchema: schema, timeColumn: "time", keyColumns: ["k"], aggregates: aggregates,
            window: .none, mode: mode, stateBytesLimit: nil)
    }

    func testEveryAggregateWithNulls() throws {
        let aggregates: [AggregateSpec] = [
            .countStar(as: "n"), AggregateSpec(.count, "i", as: "count_i"),
            AggregateSpec(.sum, "i", as: "sum_i"), AggregateSpec(.avg, "i", as: "avg_i"),
            AggregateSpec(.min, "i", as: "min_i"), AggregateSpec(.max, "i", as: "max_i"),
            AggregateSpec(.sum, "d", as: "sum_d"), AggregateSpec(.avg, "d", as: "avg_d"),
            AggregateSpec(.min, "d", as: "min_d"), AggregateSpec(.max, "d", as: "max_d"),
            AggregateSpec(.sum, "f", as: "sum_f"), AggregateSpec(.avg, "f", as: "avg_f"),
            AggregateSpec(.min, "f", as: "min_f"), AggregateSpec(.max, "f", as: "max_f"),
            AggregateSpec(.min, "s", as: "min_s"), AggregateSpec(.max, "s", as: "max_s"),
            AggregateSpec(.min, "b", as: "min_b"), AggregateSpec(.max, "b", as: "max_b"),
            AggregateSpec(.min, "t", as: "min_t"), AggregateSpec(.max, "t", as: "max_t"),
            AggregateSpec(.first, "s", as: "first_s"), AggregateSpec(.last, "s", as: "last_s"),
            AggregateSpec(.first, "i", as: "first_i"), AggregateSpec(.last, "d", as: "last_d"),
            AggregateSpec(.first, "b", as: "first_b"), AggregateSpec(.last, "f", as: "last_f"),
            AggregateSpec(.countDistinct, "s", as: "distinct_s"),
        ]
        var op = try groupBy(aggregates)
        XCTAssertEqual(op.outputSchema.fields.map(\.type.description).joined(separator: " "), """
            TEXT BIGINT BIGINT BIGINT DOUBLE BIGINT BIGINT DECIMAL(18,2) DOUBLE DECIMAL(18,2) DECIMAL(18,2) DOUBLE DOUBLE \
            DOUBLE DOUBLE TEXT TEXT BOOLEAN BOOLEAN TIMESTAMP TIMESTAMP TEXT TEXT BIGINT DECIMAL(18,2) BOOLEAN DOUBLE BIGINT
            """)
        XCTAssertEqual(op.outputSchema.fields.filter { !$0.nullable }.map(\.name), ["n", "count_i", "distinct_s"])
        let null = Value.null
        let output = try op.run([
            [ts("00:00:01"), .string("a"), .int64(5), dec("1.50"), .float64(0.5), .string("pear"), .bool(true), ts("00:10:00")],
            [ts("00:00:03"), .string("a"), null, null, null, null, null, null],
            [ts("00:00:02"), .string("a"), .int64(-3), dec("2.25"), .float64(2.0), .string("apple"), .bool(false), ts("00:05:00")],
            [ts("00:00:04"), .string("n"), null, null, null, null, null, null],
        ], watermark: nil)
        XCTAssertEqual(output, """
            a | 3 | 2 | 2 | 1.0 | -3 | 5 | 3.75 | 1.875 | 1.50 | 2.25 | 2.5 | 1.25 | 0.5 | 2.0 | apple | pear | false | true | 00:05:00 | 00:10:00 | pear | apple | 5 | 2.25 | true | 2.0 | 2
            n | 1 | 0 | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | NULL | 0
            """)
    }

    func testDecimalSumsAreExact() throws {
        var op = try groupBy([AggregateSpec(.sum, "d", as: "sum_d"), AggregateSpec(.sum, "f", as: "sum_f"), AggregateSpec(.avg, "d", as: "avg_d")])
        let rows = (0..<10).map { _ in [ts("00:00:01"), .string("a"), .null, dec("0.10"), .float64(0.1), .null, .null, .null] as [Value] }
        XCTAssertEqual(try op.run(rows, watermark: nil), "a | 1.00 | 0.9999999999999999 | 0.1")
        var negative = try groupBy([AggregateSpec(.sum, "d", as: "sum_d"), AggregateSpec(.avg, "d", as: "avg_d")])
        XCTAssertEqual(try negative.run([
            [ts("00:00:01"), .string("a"), .null, dec("-0.05"), .null, .null, .null, .null],
            [ts("00:00:01"), .string("a"), .null, dec("0.20"), .null, .null, .null, .null],
        ], watermark: nil), "a | 0.15 | 0.075")
    }

    func testExactSumOverflowFailsTheOperator() throws {
        var op = try groupBy([AggregateSpec(.sum, "i", as: "sum_i")])
        let big = Value.int64(1 << 62)
        let error = engineError {
            _ = try op.run([
                [ts("00:00:01"), .string("a"), big, .null, .null, .null, .null, .null],
                [ts("00:00:02"), .string("a"), big, .null, .null, .null, .null, .null],
            ], watermark: nil)
        }
        XCTAssertEqual(error?.kind, .execution)
        XCTAssertTrue(error?.message.contains("sum(i) AS sum_i overflowed BIGINT") ?? false, "\(String(describing: error))")
        XCTAssertEqual(engineError { _ = try op.emit(watermarkMs: 0) }, error, "the operator refuses further work")
        XCTAssertEqual(op.flushAll().count, 0)

        var decimal = try groupBy([AggregateSpec(.sum, "d", as: "sum_d")])
        let largest = Value.decimal(Int64.max, scale: 2)
        XCTAssertEqual(engineError {
            _ = try decimal.run([
                [ts("00:00:01"), .string("a"), .null, largest, .null, .null, .null, .null],
                [ts("00:00:02"), .string("a"), .null, dec("0.01"), .null, .null, .null, .null],
            ], watermark: nil)
        }?.kind, .execution)
    }

    func testAverageOfHugeIntegersDoesNotOverflow() throws {
        var op = try groupBy([AggregateSpec(.avg, "i", as: "avg_i"), AggregateSpec(.avg, "d", as: "avg_d")])
        let rows = (0..<4).map { _ in [ts("00:00:01"), .string("a"), .int64(.max), .decimal(.max, scale: 2), .null, .null, .null, .null] as [Value] }
        XCTAssertEqual(try op.run(rows, watermark: nil), "a | \(Double(Int64.max)) | \(Double(Int64.max) / 100)")
    }

    func testCountDistinctForEveryType() throws {
        var op = try groupBy([
            AggregateSpec(.countDistinct, "i", as: "i"), AggregateSpec(.countDistinct, "d", as: "d"),
            AggregateSpec(.countDistinct, "f", as: "f"), AggregateSpec(.countDistinct, "s", as: "s"),
            AggregateSpec(.countDistinct, "b", as: "b"), AggregateSpec(.countDistinct, "t", as: "t"),
        ])
        let otherNaN = Double(bitPattern: Double.nan.bitPattern | 0x1234)
        func row(_ i: Value, _ d: Value, _ f: Value, _ s: Value, _ b: Value, _ t: Value) -> [Value] {
            [ts("00:00:01"), .string("a"), i, d, f, s, b, t]
        }
        XCTAssertEqual(try op.run([
            row(.int64(1), dec("1.00"), .float64(0.0), .string("a"), .bool(true), ts("00:00:01")),
            row(.int64(1), dec("1.00"), .float64(-0.0), .string("a"), .bool(true), ts("00:00:01")),
            row(.int64(2), dec("1.01"), .float64(.nan), .string("b"), .bool(false), ts("00:00:02")),
            row(.null, .null, .float64(otherNaN), .string(""), .null, .null),
            row(.null, .null, .float64(1.5), .null, .null, .null),
            row(.null, .null, .null, .null, .null, .null),
        ], watermark: nil), "a | 2 | 2 | 3 | 3 | 2 | 2")
        XCTAssertEqual(try op.run([row(.int64(3), dec("1.00"), .float64(1.5), .string("c"), .bool(true), ts("00:00:03"))], watermark: nil),
            "a | 3 | 2 | 3 | 4 | 2 | 3", "sets persist across batches")
    }

    func testFirstAndLastTies() throws {
        var op = try groupBy([AggregateSpec(.first, "s", as: "first"), AggregateSpec(.last, "s", as: "last")])
        func row(_ time: String, _ s: String) -> [Value] { [ts(time), .string("a"), .null, .null, .null, .string(s), .null, .null] }
        XCTAssertEqual(try op.run([row("00:00:05", "x"), row("00:00:05", "y")], watermark: nil), "a | x | y")
        XCTAssertEqual(try op.run([row("00:00:05", "z")], watermark: nil), "a | x | z", "equal times: first keeps the earliest arrival, last takes the latest")
        XCTAssertEqual(try op.run([row("00:00:03", "w"), row("00:00:04", "v")], watermark: nil), "a | w | z")
    }

    func testFloatExtremesOrderNaNLast() throws {
        var op = try groupBy([AggregateSpec(.min, "f", as: "min"), AggregateSpec(.max, "f", as: "max")])
        func row(_ f: Double) -> [Value] { [ts("00:00:01"), .string("a"), .null, .null, .float64(f), .null, .null, .null] }
        XCTAssertEqual(try op.run([row(1), row(.nan), row(-2), row(.infinity)], watermark: nil), "a | -2.0 | nan")
    }

    func testPlainGroupByInUpdateAndCompleteModes() throws {
        let schema = Schema([Field("category", .utf8), Field("amount", .decimal(scale: 2))])
        for mode in [OutputMode.update, .complete] {
            var op = try WindowAggregateOperator(
                inputSchema: schema, timeColumn: nil, keyColumns: ["category"],
                aggregates: [.countStar(as: "n"), AggregateSpec(.sum, "amount", as: "total")],
                window: .none, mode: mode, stateBytesLimit: nil)
            XCTAssertEqual(op.outputSchema.names, ["category", "n", "total"])
            XCTAssertEqual(try op.run([[.string("books"), dec("1.00")], [.string("games"), dec("2.00")], [.string("books"), dec("3.00")]], watermark: nil), """
                books | 2 | 4.00
                games | 1 | 2.00
                """)
            XCTAssertEqual(try op.run([[.string("games"), dec("1.00")]], watermark: "01:00:00"),
                mode == .update ? "games | 2 | 3.00" : "books | 2 | 4.00\ngames | 2 | 3.00")
            XCTAssertEqual(try op.run([], watermark: "02:00:00"), mode == .update ? "" : "books | 2 | 4.00\ngames | 2 | 3.00")
            XCTAssertEqual(op.stateRows, 2, "a plain group-by never evicts")
            XCTAssertEqual(render(op.flushAll()), mode == .update ? "" : "books | 2 | 4.00\ngames | 2 | 3.00")
            XCTAssertEqual(op.stateRows, 0)
        }
    }

    func testGlobalAggregateWithoutKeys() throws {
        var op = try WindowAggregateOperator(
            inputSchema: purchases, timeColumn: "time", keyColumns: [], aggregates: [.countStar(as: "n")],
            window: .tumbling(sizeMs: 60_000), mode: .append, stateBytesLimit: nil)
        _ = try op.run([purchase("00:00:01", "a", "1.00"), purchase("00:00:02", nil, nil), purchase("00:01:02", "b", "1.00")], watermark: nil)
        XCTAssertEqual(render(op.flushAll()), "00:00:00 | 00:01:00 | 2\n00:01:00 | 00:02:00 | 1")
    }

    func testMultiColumnKeysOrderColumnByColumnWithNullsFirst() throws {
        var op = try WindowAggregateOperator(
            inputSchema: Self.values, timeColumn: nil, keyColumns: ["b", "f", "i", "s"], aggregates: [.countStar(as: "n")],
            window: .none, mode: .complete, stateBytesLimit: nil)
        func row(_ b: Value, _ f: Value, _ i: Value, _ s: Value) -> [Value] { [.null, .null, i, .null, f, s, b, .null] }
        XCTAssertEqual(try op.run([
            row(.bool(true), .float64(1), .int64(1), .string("b")),
            row(.bool(true), .float64(1), .int64(1), .string("ab")),
            row(.bool(false), .float64(.nan), .null, .string("x")),
            row(.bool(false), .float64(-0.0), .int64(-5), .null),
            row(.bool(false), .float64(0.0), .int64(-5), .null),
            row(.null, .float64(3), .int64(1), .string("x")),
            row(.bool(false), .float64(-1), .int64(7), .string("x")),
            row(.bool(true), .float64(1), .int64(1), .string("b")),
        ], watermark: nil), """
            NULL | 3.0 | 1 | x | 1
            false | -1.0 | 7 | x | 1
            false | 0.0 | -5 | NULL | 2
            false | nan | NULL | x | 1
            true | 1.0 | 1 | ab | 1
            true | 1.0 | 1 | b | 2
            """)
    }

    func testPlanErrors() throws {
        func planError(
            time: String? = "time", keys: [String] = ["k"], aggregates: [AggregateSpec] = [.countStar(as: "n")],
            window: WindowSpec = .tumbling(sizeMs: 1000), mode: OutputMode = .append
        ) -> EngineError? {
            engineError {
                _ = try WindowAggregateOperator(
                    inputSchema: Self.values, timeColumn: time, keyColumns: keys, aggregates: aggregates,
                    window: window, mode: mode, stateBytesLimit: nil)
            }
        }
        XCTAssertEqual(planError(keys: ["nope"])?.kind, .plan)
        XCTAssertEqual(planError(time: "nope")?.kind, .plan)
        XCTAssertEqual(planError(time: "k")?.kind, .plan, "a TEXT event time")
        XCTAssertEqual(planError(time: nil)?.kind, .plan, "a window needs a time column")
        XCTAssertEqual(planError(window: .none)?.kind, .plan, "append needs a window")
        XCTAssertNil(planError(window: .none, mode: .update))
        XCTAssertEqual(planError(aggregates: [AggregateSpec(.sum, "s", as: "x")])?.kind, .plan)
        XCTAssertEqual(planError(aggregates: [AggregateSpec(.avg, "b", as: "x")])?.kind, .plan)
        XCTAssertEqual(planError(aggregates: [AggregateSpec(.sum, "t", as: "x")])?.kind, .plan)
        XCTAssertEqual(planError(aggregates: [AggregateSpec(.countDistinct, nil, as: "x")])?.kind, .plan)
        XCTAssertEqual(planError(aggregates: [AggregateSpec(.max, "nope", as: "x")])?.kind, .plan)
        XCTAssertEqual(planError(aggregates: [.countStar(as: "k")])?.kind, .plan, "duplicate output name")
        XCTAssertEqual(planError(aggregates: [.countStar(as: "window_end")])?.kind, .plan)
        XCTAssertEqual(planError(window: .hopping(sizeMs: 1000, slideMs: 2000))?.kind, .plan)
        XCTAssertEqual(planError(window: .hopping(sizeMs: 100_000, slideMs: 1))?.kind, .plan)
        XCTAssertEqual(planError(window: .tumbling(sizeMs: 0))?.kind, .plan)
        XCTAssertEqual(planError(window: .session(gapMs: -1))?.kind, .plan)
        XCTAssertEqual(engineError {
            _ = try WindowAggregateOperator(
                inputSchema: Self.values, timeColumn: "time", keyColumns: [], aggregates: [.countStar(as: "n")],
                window: .none, mode: .update, stateBytesLimit: 0)
        }?.kind, .configuration)
    }

    func testBatchWithAnotherSchemaIsAnExecutionError() throws {
        var op = try groupBy([.countStar(as: "n")])
        let other = RecordBatch(schema: Schema([Field("time", .timestamp), Field("k", .int64)]), rows: [[ts("00:00:01"), .int64(1)]])
        XCTAssertEqual(engineError { try op.process(other, watermarkMs: 0) }?.kind, .execution)
    }

    func testEventTimesOutOfRangeAreAnExecutionError() throws {
        var op = try groupBy([.countStar(as: "n")])
        XCTAssertEqual(engineError {
            _ = try op.run([[.timestamp(.max), .string("a"), .null, .null, .null, .null, .null, .null]], watermark: nil)
        }?.kind, .execution)
    }

    func testStateLimitExceeded() throws {
        var op = try WindowAggregateOperator(
            inputSchema: purchases, timeColumn: "time", keyColumns: ["user"], aggregates: [.countStar(as: "n")],
            window: .tumbling(sizeMs: 60_000), mode: .append, stateBytesLimit: 64 * 1024, name: "orders per user")
        _ = try op.run((0..<100).map { purchase("00:00:01", "x", "1.00", user: Int64($0)) }, watermark: nil)
        let error = engineError { _ = try op.run((0..<10_000).map { purchase("00:00:01", "x", "1.00", user: Int64($0)) }, watermark: nil) }
        XCTAssertEqual(error?.kind, .limit)
        let message = error?.message ?? ""
        XCTAssertTrue(message.hasPrefix("state of orders per user holds "), message)
        XCTAssertTrue(message.contains("past its limit of 65536 (state.bytes.max)"), message)
        XCTAssertTrue(message.contains("raise the limit"), message)
        XCTAssertGreaterThan(op.stateBytes, 64 * 1024)
        XCTAssertEqual(op.stateRows, 10_000)
    }
}
