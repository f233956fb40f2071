import EddyEngine
import XCTest

/// The tracker driven by a manual clock: each step is (processing time, partition, max event time,
/// rows) followed by the expected watermark.
final class WatermarkTrackerTests: XCTestCase {
    func testNoneBeforeAnyData() throws {
        var tracker = try WatermarkTracker(delayMs: 1000)
        XCTAssertEqual(tracker.watermark(nowMs: 0), .min)
        tracker.observe(partition: 0, maxEventTimeMs: nil, rows: 0, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: 10), .min)
        tracker.observe(partition: 0, maxEventTimeMs: 5000, rows: 3, nowMs: 20)
        XCTAssertEqual(tracker.watermark(nowMs: 20), 4000)
    }

    func testMinimumOverPartitionsMinusDelay() throws {
        var tracker = try WatermarkTracker(delayMs: 1000)
        tracker.observe(partition: 0, maxEventTimeMs: 10_000, rows: 5, nowMs: 0)
        tracker.observe(partition: 1, maxEventTimeMs: 6_000, rows: 5, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: 0), 5_000)
        // An older batch on partition 0 does not lower its maximum.
        tracker.observe(partition: 0, maxEventTimeMs: 2_000, rows: 1, nowMs: 1)
        tracker.observe(partition: 1, maxEventTimeMs: 8_000, rows: 1, nowMs: 1)
        XCTAssertEqual(tracker.watermark(nowMs: 1), 7_000)
    }

    func testPartitionWithoutDataHoldsUntilIdle() throws {
        var tracker = try WatermarkTracker(delayMs: 0, idleTimeoutMs: 5_000)
        tracker.observe(partition: 0, maxEventTimeMs: 10_000, rows: 1, nowMs: 0)
        tracker.observe(partition: 1, maxEventTimeMs: nil, rows: 0, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: 1_000), .min, "partition 1 has no data and is not idle yet")
        tracker.observe(partition: 0, maxEventTimeMs: 12_000, rows: 1, nowMs: 4_999)
        XCTAssertEqual(tracker.watermark(nowMs: 4_999), .min)
        XCTAssertTrue(tracker.isIdle(partition: 1, nowMs: 5_000))
        XCTAssertEqual(tracker.watermark(nowMs: 5_000), 12_000, "idle partitions stop holding it back")
    }

    func testIdlePartitionExcludedAndReturns() throws {
        var tracker = try WatermarkTracker(delayMs: 100, idleTimeoutMs: 1_000)
        tracker.observe(partition: 0, maxEventTimeMs: 5_000, rows: 1, nowMs: 0)
        tracker.observe(partition: 1, maxEventTimeMs: 3_000, rows: 1, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: 0), 2_900)
        // Partition 1 goes quiet; partition 0 keeps going.
        tracker.observe(partition: 0, maxEventTimeMs: 9_000, rows: 1, nowMs: 900)
        tracker.observe(partition: 1, maxEventTimeMs: nil, rows: 0, nowMs: 900)
        XCTAssertEqual(tracker.watermark(nowMs: 999), 2_900)
        XCTAssertEqual(tracker.watermark(nowMs: 1_000), 8_900)
        // Partition 1 returns with old data: it counts again, but the watermark does not go back.
        tracker.observe(partition: 1, maxEventTimeMs: 4_000, rows: 2, nowMs: 1_100)
        XCTAssertFalse(tracker.isIdle(partition: 1, nowMs: 1_100))
        XCTAssertEqual(tracker.watermark(nowMs: 1_100), 8_900)
        tracker.observe(partition: 1, maxEventTimeMs: 20_000, rows: 2, nowMs: 1_200)
        tracker.observe(partition: 0, maxEventTimeMs: 15_000, rows: 2, nowMs: 1_200)
        XCTAssertEqual(tracker.watermark(nowMs: 1_200), 14_900)
    }

    func testAllIdleHolds() throws {
        var tracker = try WatermarkTracker(delayMs: 0, idleTimeoutMs: 1_000)
        tracker.observe(partition: 0, maxEventTimeMs: 5_000, rows: 1, nowMs: 0)
        tracker.observe(partition: 1, maxEventTimeMs: 7_000, rows: 1, nowMs: 500)
        XCTAssertEqual(tracker.watermark(nowMs: 500), 5_000)
        XCTAssertEqual(tracker.watermark(nowMs: 1_000), 7_000, "partition 0 idle")
        XCTAssertEqual(tracker.watermark(nowMs: 10_000), 7_000, "all idle: holds")
    }

    func testNeverIdleWithoutTimeout() throws {
        var tracker = try WatermarkTracker(delayMs: 0)
        tracker.observe(partition: 3, maxEventTimeMs: nil, rows: 0, nowMs: 0)
        tracker.observe(partition: 7, maxEventTimeMs: 9_000, rows: 1, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: .max), .min)
        XCTAssertFalse(tracker.isIdle(partition: 3, nowMs: .max))
    }

    func testDelayNearTheBottomDoesNotOverflow() throws {
        var tracker = try WatermarkTracker(delayMs: 10)
        tracker.observe(partition: 0, maxEventTimeMs: Int64.min + 5, rows: 1, nowMs: 0)
        XCTAssertEqual(tracker.watermark(nowMs: 0), .min)
    }

    func testStateRoundTrip() throws {
        var tracker = try WatermarkTracker(delayMs: 100, idleTimeoutMs: 1_000)
        tracker.observe(partition: 2, maxEventTimeMs: 5_000, rows: 1, nowMs: 10)
        tracker.observe(partition: 0, maxEventTimeMs: 3_000, rows: 1, nowMs: 20)
        tracker.observe(partition: 1, maxEventTimeMs: 4_000, rows: 1, nowMs: 30)
        XCTAssertEqual(tracker.watermark(nowMs: 1_025), 3_900, "partitions 0 and 2 are idle")
        let state = tracker.state
        XCTAssertEqual(state, [1, 3_900, 3, 0, 3_000, 20, 1, 4_000, 30, 2, 5_000, 10])
        var restored = try WatermarkTracker(delayMs: 100, idleTimeoutMs: 1_000, state: state)
        XCTAssertEqual(restored, tracker)
        XCTAssertEqual(restored.watermark(nowMs: 1_040), tracker.watermark(nowMs: 1_040))
    }

    func testCorruptStateIsACheckpointError() {
        for bad: [Int64] in [[], [2, 0, 0], [1, 0, 1], [1, 0, 1, 0, 0], [1, 0, -1], [1, 0, 2, 5, 0, 0, 5, 0, 0], [1, 0, Int64.max]] {
            XCTAssertEqual(engineError { _ = try WatermarkTracker(delayMs: 0, state: bad) }?.kind, .checkpoint, "\(bad)")
        }
    }

    func testConfigurationErrors() {
        XCTAssertEqual(engineError { _ = try WatermarkTracker(delayMs: -1) }?.kind, .configuration)
        XCTAssertEqual(engineError { _ = try WatermarkTracker(delayMs: 0, idleTimeoutMs: 0) }?.kind, .configuration)
    }
}
