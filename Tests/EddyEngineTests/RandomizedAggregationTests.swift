import EddyEngine
import EddyTestSupport
import XCTest

/// Seeded random scenarios (window, mode, keys, aggregates, batches, watermarks): the operator against
/// the row-at-a-time model, and straight-through runs against runs snapshotted and restored at random
/// points. Each test prints its seed; `EDDY_SEED=<seed>` replays it.
final class RandomizedAggregationTests: XCTestCase {
    static let schema = Schema([
        Field("time", .timestamp), Field("c", .utf8), Field("u", .int64), Field("v", .int64),
        Field("d", .decimal(scale: 2)), Field("f", .float64), Field("b", .bool),
    ])

    struct Scenario: CustomStringConvertible {
        var window: WindowSpec
        var mode: OutputMode
        var timeColumn: String?
        var keys: [String]
        var aggregates: [AggregateSpec]

        func makeOperator(limit: Int? = nil) throws -> WindowAggregateOperator {
            try WindowAggregateOperator(
                inputSchema: RandomizedAggregationTests.schema, timeColumn: timeColumn, keyColumns: keys,
                aggregates: aggregates, window: window, mode: mode, stateBytesLimit: limit)
        }

        func restore(_ bytes: [UInt8]) throws -> WindowAggregateOperator {
            try WindowAggregateOperator(
                restoring: bytes, inputSchema: RandomizedAggregationTests.schema, timeColumn: timeColumn,
                keyColumns: keys, aggregates: aggregates, window: window, mode: mode, stateBytesLimit: nil)
        }

        var description: String {
            "\(window), \(mode), time \(timeColumn ?? "none"), keys \(keys), \(aggregates.map(\.description).joined(separator: ", "))"
        }
    }

    static func scenario(_ random: inout SeededRandom) -> Scenario {
        let windows: [WindowSpec] = [
            .none, .tumbling(sizeMs: 10_000), .tumbling(sizeMs: 10_000, offsetMs: 3_000), .hopping(sizeMs: 10_000, slideMs: 5_000),
            .hopping(sizeMs: 10_000, slideMs: 3_000), .hopping(sizeMs: 7_000, slideMs: 7_000), .session(gapMs: 4_000),
            .cumulating(sizeMs: 12_000, stepMs: 4_000), .cumulating(sizeMs: 5_000, stepMs: 5_000),
        ]
        let window = windows.randomElement(using: &random)!
        let modes: [OutputMode] = window.isWindowed ? [.append, .update, .complete] : [.update, .complete]
        let mode = modes.randomElement(using: &random)!
        let timeColumn: String? = window.isWindowed || Bool.random(using: &random) ? "time" : nil
        let keyChoices: [[String]] = [[], ["c"], ["c"], ["u"], ["c", "u"], ["b", "f"], ["f"], ["u", "c", "b"]]
        let keys = keyChoices.randomElement(using: &random)!
        var candidates: [AggregateSpec] = [.countStar(as: "")]
        for column in ["c", "u", "v", "d", "f", "b", "time"] {
            candidates.append(AggregateSpec(.count, column, as: ""))
            candidates.append(AggregateSpec(.countDistinct, column, as: ""))
            candidates.append(AggregateSpec(.min, column, as: ""))
            candidates.append(AggregateSpec(.max, column, as: ""))
            candidates.append(AggregateSpec(.first, column, as: ""))
            candidates.append(AggregateSpec(.last, column, as: ""))
        }
        for column in ["v", "d", "f"] {
            candidates.append(AggregateSpec(.sum, column, as: ""))
            candidates.append(AggregateSpec(.avg, column, as: ""))
        }
        var aggregates: [AggregateSpec] = []
        for index in 0..<Int.random(in: 1...6, using: &random) {
            var spec = candidates.randomElement(using: &random)!
            spec.outputName = "a\(index)"
            aggregates.append(spec)
        }
        return Scenario(window: window, mode: mode, timeColumn: timeColumn, keys: keys, aggregates: aggregates)
    }

    static func batch(_ random: inout SeededRandom, clock: inout Int64) -> [[Value]] {
        // Times on a 500 ms grid, so rows land exactly on window ends, session gaps and each other's times.
        clock += Int64.random(in: 0...6, using: &random) * 500
        let count = Int.random(in: 0...40, using: &random)
        return (0..<count).map { _ in
            func maybe(_ value: Value) -> Value { Int.random(in: 0..<6, using: &random) == 0 ? .null : value }
            let time = maybe(.timestamp(clock + Int64.random(in: -16...4, using: &random) * 500))
            let c = maybe(.string(["a", "b", "ab", "", "b"].randomElement(using: &random)!))
            let u = maybe(.int64(Int64.random(in: -2...3, using: &random)))
            let v = maybe(.int64(Int64.random(in: -100...100, using: &random)))
            let d = maybe(.decimal(Int64.random(in: -1_000...1_000, using: &random), scale: 2))
            let f = maybe(.float64([-0.0, 0.0, 1, -2, 3.5, 7].randomElement(using: &random)!))
            let b = maybe(.bool(Bool.random(using: &random)))
            return [time, c, u, v, d, f, b]
        }
    }

    /// Watermarks: mostly the largest event time seen minus a delay, sometimes a jump, never backwards.
    static func nextWatermark(_ random: inout SeededRandom, _ rows: [[Value]], maxTime: inout Int64, current: Int64) -> Int64 {
        for row in rows { if case .timestamp(let t) = row[0] { maxTime = max(maxTime, t) } }
        if maxTime == .min { return current }
        let delay = Int64.random(in: 0...12, using: &random) * 500
        let jump = Int.random(in: 0..<10, using: &random) == 0 ? Int64.random(in: 0...40, using: &random) * 500 : 0
        return max(current, maxTime - delay + jump)
    }

    func testMatchesTheRowAtATimeModel() throws {
        var random = SeededRandom("testMatchesTheRowAtATimeModel")
        for iteration in 0..<300 {
            let scenario = Self.scenario(&random)
            var op = try scenario.makeOperator()
            var model = ReferenceAggregator(
                schema: Self.schema, timeColumn: scenario.timeColumn, keyColumns: scenario.keys,
                aggregates: scenario.aggregates, window: scenario.window, mode: scenario.mode)
            var clock = Int64.random(in: -200...200, using: &random) * 500
            var maxTime = Int64.min
            var watermark = Int64.min
            let context = "seed \(random.seed), iteration \(iteration): \(scenario)"
            for step in 0..<Int.random(in: 1...25, using: &random) {
                let rows = Self.batch(&random, clock: &clock)
                try op.process(RecordBatch(schema: Self.schema, rows: rows), watermarkMs: watermark)
                let (late, nullTime) = model.process(rows, watermark: watermark)
                XCTAssertEqual(op.lateRows, late, "\(context), step \(step)")
                XCTAssertEqual(op.nullTimeRows, scenario.timeColumn == nil ? [] : nullTime, "\(context), step \(step)")
                watermark = Self.nextWatermark(&random, rows, maxTime: &maxTime, current: watermark)
                if Int.random(in: 0..<5, using: &random) > 0 {
                    let output = try op.emit(watermarkMs: watermark).rows
                    let expected = model.emit(watermark: watermark)
                    XCTAssertEqual(output, expected, "\(context), step \(step)")
                    if output != expected { return }
                    XCTAssertEqual(op.stateRows, model.stateRows, "\(context), step \(step)")
                }
            }
            XCTAssertEqual(op.flushAll().rows, model.flushAll(), context)
            XCTAssertEqual(op.stateRows, 0)
        }
    }

    func testSnapshotRestoreContinuesExactly() throws {
        var random = SeededRandom("testSnapshotRestoreContinuesExactly")
        for iteration in 0..<300 {
            let scenario = Self.scenario(&random)
            var straight = try scenario.makeOperator()
            var restored = try scenario.makeOperator()
            var clock = Int64.random(in: -200...200, using: &random) * 500
            var maxTime = Int64.min
            var watermark = Int64.min
            var restores = 0
            let context = "seed \(random.seed), iteration \(iteration): \(scenario)"
            func maybeRestore(_ random: inout SeededRandom, _ step: Int) throws {
                guard Int.random(in: 0..<3, using: &random) == 0 else { return }
                let bytes = restored.snapshot()
                XCTAssertEqual(bytes, straight.snapshot(), "equal states give equal snapshots: \(context), step \(step)")
                restored = try scenario.restore(bytes)
                restores += 1
            }
            for step in 0..<Int.random(in: 1...30, using: &random) {
                let batch = RecordBatch(schema: Self.schema, rows: Self.batch(&random, clock: &clock))
                try maybeRestore(&random, step)
                try straight.process(batch, watermarkMs: watermark)
                try restored.process(batch, watermarkMs: watermark)
                XCTAssertEqual(restored.lateRows, straight.lateRows, context)
                try maybeRestore(&random, step)
                watermark = Self.nextWatermark(&random, batch.rows, maxTime: &maxTime, current: watermark)
                if Int.random(in: 0..<5, using: &random) > 0 {
                    let expected = try straight.emit(watermarkMs: watermark)
                    let output = try restored.emit(watermarkMs: watermark)
                    XCTAssertEqual(output, expected, "\(context), step \(step)")
                    if output != expected { return }
                }
            }
            try maybeRestore(&random, -1)
            XCTAssertEqual(restored.flushAll(), straight.flushAll(), context)
            XCTAssertEqual(restored.numRowsTotal, straight.numRowsTotal)
            XCTAssertEqual(restored.numRowsUpdated, straight.numRowsUpdated)
            XCTAssertEqual(restored.numRowsDroppedByWatermark, straight.numRowsDroppedByWatermark)
        }
    }

    /// Incremental checkpoints: at random points a whole snapshot or a delta is taken; the newest
    /// snapshot with the deltas after it, applied in order, must give byte for byte the state the
    /// operator has, and an operator rebuilt that way and carried on must keep matching.
    func testDeltasRebuildTheState() throws {
        var random = SeededRandom("testDeltasRebuildTheState")
        for iteration in 0..<300 {
            let scenario = Self.scenario(&random)
            var op = try scenario.makeOperator()
            var checkpoints = RandomCheckpoints(op)
            var clock = Int64.random(in: -200...200, using: &random) * 500
            var maxTime = Int64.min
            var watermark = Int64.min
            let context = "seed \(random.seed), iteration \(iteration): \(scenario)"
            func checkpoint(_ random: inout SeededRandom, _ step: Int) throws {
                try checkpoints.take(&op, &random, restore: scenario.restore, "\(context), step \(step)")
            }
            let steps = Int.random(in: 1...30, using: &random)
            for step in 0..<steps {
                let batch = RecordBatch(schema: Self.schema, rows: Self.batch(&random, clock: &clock))
                try op.process(batch, watermarkMs: watermark)
                watermark = Self.nextWatermark(&random, batch.rows, maxTime: &maxTime, current: watermark)
                if Int.random(in: 0..<5, using: &random) > 0 { _ = try op.emit(watermarkMs: watermark) }
                if step == steps / 2 && Int.random(in: 0..<4, using: &random) == 0 { _ = op.flushAll() }
                if Int.random(in: 0..<4, using: &random) > 0 { try checkpoint(&random, step) }
            }
            _ = op.flushAll()
            try checkpoint(&random, -1)
        }
    }

    /// A delta applies only to the state it was taken from: skipping one is refused.
    func testADeltaOutOfOrderIsRefused() throws {
        let scenario = Scenario(window: .tumbling(sizeMs: 10_000), mode: .update, timeColumn: "time", keys: ["c"],
                                aggregates: [.countStar(as: "n")])
        var op = try scenario.makeOperator()
        let base = op.snapshot()
        var random = SeededRandom(seed: 3)
        var clock: Int64 = 0
        var deltas: [[UInt8]] = []
        for _ in 0..<2 {
            try op.process(RecordBatch(schema: Self.schema, rows: Self.batch(&random, clock: &clock) + [[.timestamp(clock), .string("a"), .null, .null, .null, .null, .null]]), watermarkMs: .min)
            deltas.append(op.checkpointDelta())
        }
        var rebuilt = try scenario.restore(base)
        XCTAssertThrowsError(try rebuilt.applyDelta(deltas[1])) { error in
            XCTAssertTrue("\(error)".contains("does not follow the state before it"), "\(error)")
        }
        rebuilt = try scenario.restore(base)
        try rebuilt.applyDelta(deltas[0])
        try rebuilt.applyDelta(deltas[1])
        XCTAssertEqual(rebuilt.snapshot(), op.snapshot())
    }
}
