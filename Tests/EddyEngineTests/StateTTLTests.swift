import EddyEngine
import EddyTestSupport
import XCTest

/// State TTL of a plain group-by (`table.exec.state.ttl`): groups idle for the TTL (processing time)
/// are dropped, counted, restart when their key comes back, and survive snapshots, deltas and crashes.
final class StateTTLTests: XCTestCase {
    static let schema = Schema([Field("k", .utf8), Field("v", .int64)])

    func makeOperator(_ ttl: Int64?, restoring bytes: [UInt8]? = nil) throws -> WindowAggregateOperator {
        let aggregates: [AggregateSpec] = [.countStar(as: "n"), AggregateSpec(.sum, "v", as: "total")]
        if let bytes {
            return try WindowAggregateOperator(
                restoring: bytes, inputSchema: Self.schema, timeColumn: nil, keyColumns: ["k"], aggregates: aggregates,
                window: .none, mode: .update, stateBytesLimit: nil, stateTTLMs: ttl)
        }
        return try WindowAggregateOperator(
            inputSchema: Self.schema, timeColumn: nil, keyColumns: ["k"], aggregates: aggregates, window: .none, mode: .update,
            stateBytesLimit: nil, stateTTLMs: ttl)
    }

    func process(_ op: inout WindowAggregateOperator, at ms: Int64, _ keys: [String]) throws -> [[Value]] {
        op.currentTimeMs = ms
        try op.process(RecordBatch(schema: Self.schema, rows: keys.map { [.string($0), .int64(1)] }), watermarkMs: .min)
        return try op.emit(watermarkMs: .min).rows
    }

    func testIdleGroupsExpireAndStartAgain() throws {
        var op = try makeOperator(10_000)
        _ = try process(&op, at: 0, ["a", "b"])
        _ = try process(&op, at: 5_000, ["a"])
        XCTAssertEqual(op.expireIdle(nowMs: 10_000), 0, "10 s after b's update: the cutoff (0) is not past it")
        XCTAssertEqual(op.expireIdle(nowMs: 11_000), 1, "b, idle since 0")
        XCTAssertEqual(op.stateRows, 1)
        XCTAssertEqual(try process(&op, at: 12_000, ["b"]), [[.string("b"), .int64(1), .int64(1)]], "b starts again")
        XCTAssertEqual(op.expireIdle(nowMs: 16_000), 1, "a, idle since 5 s")
        XCTAssertEqual(op.numRowsExpired, 2)
        XCTAssertEqual(op.stateRows, 1)
        XCTAssertThrowsError(try makeOperator(0))
    }

    func testUpdateTimesSurviveASnapshot() throws {
        var op = try makeOperator(10_000)
        _ = try process(&op, at: 0, ["a"])
        _ = try process(&op, at: 5_000, ["b"])
        let bytes = op.snapshot()
        var restored = try makeOperator(10_000, restoring: bytes)
        XCTAssertEqual(restored.snapshot(), bytes)
        XCTAssertEqual(restored.expireIdle(nowMs: 11_000), 1, "a, idle since 0")
        // Without a TTL the times are dropped; a TTL over a state without times counts from the next check.
        let plain = try makeOperator(nil, restoring: bytes)
        XCTAssertEqual(plain.stateRows, 2)
        var later = try makeOperator(10_000, restoring: plain.snapshot())
        XCTAssertEqual(later.expireIdle(nowMs: 100_000), 0, "times unknown: the TTL counts from now")
        XCTAssertEqual(later.expireIdle(nowMs: 111_000), 2)
    }

    /// Expiry under deltas: random keys and times; the snapshot and the deltas after it rebuild the
    /// state byte for byte (update times included).
    func testDeltasCarryExpiry() throws {
        var random = SeededRandom("testDeltasCarryExpiry")
        for iteration in 0..<200 {
            let ttl = Int64.random(in: 2...12, using: &random) * 1_000
            var op = try makeOperator(ttl)
            var checkpoints = RandomCheckpoints(op)
            var now: Int64 = Int64.random(in: 0...100, using: &random) * 1_000
            let context = "seed \(random.seed), iteration \(iteration), ttl \(ttl)"
            for step in 0..<Int.random(in: 1...30, using: &random) {
                now += Int64.random(in: 0...4, using: &random) * 500
                let keys = (0..<Int.random(in: 0...6, using: &random)).map { _ in ["a", "b", "c", "d", "e", "f"].randomElement(using: &random)! }
                _ = try process(&op, at: now, keys)
                if Bool.random(using: &random) { _ = op.expireIdle(nowMs: now) }
                try checkpoints.take(&op, &random, restore: { try self.makeOperator(ttl, restoring: $0) }, "\(context), step \(step)")
            }
        }
    }

    /// Through the runtime: progress counts the expired groups, and a run crashed at every point of
    /// the protocol (deltas and compactions included) writes what the straight run writes.
    func testExpiryIsTheSameAfterACrashAtEveryPoint() throws {
        var options = QueryOptions()
        options.stateTTLMs = 5_000
        options.stateMinDeltasForSnapshot = 2
        let check = RecoveryCheck(inputs: [.init(Self.schema)], options: options) { inputs, sink in
            Pipeline.read(inputs[0]).groupBy("k").aggregate(.count(as: "n"), .sum("v", as: "total")).write(sink, mode: .update)
        }
        let report = try check.run { run in
            for (step, keys) in [["a", "b"], ["a"], ["a"], ["b"], ["a", "b"], [], ["a"]].enumerated() {
                run.inputs[0].add(keys.map { [.string($0), .int64(Int64(step))] })
                try run.runUntilIdle()
                run.advanceTime(by: .seconds(3))
            }
        }
        // b idles from 0 s to 9 s: expired at 6 s, so it counts from 1 again.
        XCTAssertTrue(report.output.rowsByBatch.values.contains { $0.contains([.string("b"), .int64(1), .int64(3)]) }, "\(report.output)")

        let input = MemoryStream(Self.schema)
        let driver = try TestDriver(
            Pipeline.read(input).groupBy("k").aggregate(.count(as: "n")).write(MemorySink(), mode: .update), options: options)
        input.add([[.string("a"), .int64(1)], [.string("b"), .int64(1)]])
        try driver.runBatch()
        driver.advanceTime(by: .seconds(7))
        input.add([[.string("a"), .int64(1)]])
        try driver.runBatch()
        XCTAssertEqual(driver.progress.map { $0.stateOperators.first?.customMetrics["numRowsExpiredByTTL"] }, [0, 1])
        XCTAssertEqual(driver.progress.last?.stateOperators.first?.numRowsTotal, 1)
    }
}
