import EddyEngine
import EddyTestSupport
import XCTest

/// The snapshot format as documented (header, checksum), and damaged snapshots: every truncation,
/// every single-bit flip, and corrupt payloads behind a valid checksum must fail with a checkpoint
/// error or restore a working operator — never crash.
final class SnapshotTests: XCTestCase {
    static let schema = RandomizedAggregationTests.schema

    static let aggregates: [AggregateSpec] = [
        .countStar(as: "n"), AggregateSpec(.sum, "d", as: "sum_d"), AggregateSpec(.avg, "v", as: "avg_v"),
        AggregateSpec(.min, "c", as: "min_c"), AggregateSpec(.max, "f", as: "max_f"), AggregateSpec(.min, "b", as: "min_b"),
        AggregateSpec(.first, "c", as: "first_c"), AggregateSpec(.last, "b", as: "last_b"),
        AggregateSpec(.countDistinct, "c", as: "distinct_c"), AggregateSpec(.countDistinct, "f", as: "distinct_f"),
        AggregateSpec(.sum, "f", as: "sum_f"),
    ]

    static func makeOperator(_ window: WindowSpec, _ mode: OutputMode = .update, keys: [String] = ["u", "c"], restoring bytes: [UInt8]? = nil) throws -> WindowAggregateOperator {
        if let bytes {
            return try WindowAggregateOperator(
                restoring: bytes, inputSchema: schema, timeColumn: "time", keyColumns: keys, aggregates: aggregates,
                window: window, mode: mode, stateBytesLimit: nil)
        }
        return try WindowAggregateOperator(
            inputSchema: schema, timeColumn: "time", keyColumns: keys, aggregates: aggregates, window: window, mode: mode,
            stateBytesLimit: nil)
    }

    static func rows(_ count: Int, seed: UInt64) -> RecordBatch {
        var random = SeededRandom(seed: seed)
        var clock: Int64 = 0
        return RecordBatch(schema: schema, rows: RandomizedAggregationTests.batch(&random, clock: &clock).prefix(count) + [])
    }

    /// An operator holding some of everything: strings, distinct sets, sessions or windows, changed flags.
    static func populated(_ window: WindowSpec) throws -> WindowAggregateOperator {
        var op = try makeOperator(window)
        var random = SeededRandom(seed: 7)
        var clock: Int64 = 0
        for _ in 0..<3 {
            try op.process(RecordBatch(schema: schema, rows: RandomizedAggregationTests.batch(&random, clock: &clock)), watermarkMs: .min)
        }
        return op
    }

    /// CRC-32C written independently of the engine's (bit by bit), to check the documented trailer.
    static func crc32c(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    static func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
        var fixed = bytes
        let crc = crc32c(fixed[0..<(fixed.count - 4)])
        for index in 0..<4 { fixed[fixed.count - 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
        return fixed
    }

    func testHeaderAndChecksumAsDocumented() throws {
        let bytes = try Self.populated(.session(gapMs: 4_000)).snapshot()
        XCTAssertEqual(Array(bytes[0..<4]), Array("EAGS".utf8))
        XCTAssertEqual(bytes[4], 1)
        XCTAssertEqual(bytes[5], 0)
        XCTAssertEqual(Array(bytes[6..<8]), [0, 0])
        let payload = bytes[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        XCTAssertEqual(payload, UInt64(bytes.count - 20))
        let stored = bytes[(bytes.count - 4)...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        XCTAssertEqual(stored, Self.crc32c(bytes[0..<(bytes.count - 4)]))
        XCTAssertEqual(bytes[16], 3, "window kind: session")
    }

    func testEmptyOperatorRoundTrips() throws {
        let op = try Self.makeOperator(.tumbling(sizeMs: 10_000))
        var restored = try Self.makeOperator(.tumbling(sizeMs: 10_000), restoring: op.snapshot())
        XCTAssertEqual(restored.snapshot(), op.snapshot())
        XCTAssertEqual(restored.flushAll().count, 0)
    }

    func testEveryTruncationIsACheckpointError() throws {
        for window in [WindowSpec.tumbling(sizeMs: 10_000), .session(gapMs: 4_000), .hopping(sizeMs: 10_000, slideMs: 3_000), .cumulating(sizeMs: 12_000, stepMs: 3_000)] {
            let bytes = try Self.populated(window).snapshot()
            XCTAssertGreaterThan(bytes.count, 500)
            for length in 0..<bytes.count {
                let error = engineError { _ = try Self.makeOperator(window, restoring: Array(bytes[0..<length])) }
                XCTAssertEqual(error?.kind, .checkpoint, "truncated to \(length) of \(bytes.count)")
            }
            XCTAssertEqual(engineError { _ = try Self.makeOperator(window, restoring: bytes + [0]) }?.kind, .checkpoint)
        }
    }

    func testEverySingleBitFlipIsACheckpointError() throws {
        let window = WindowSpec.session(gapMs: 4_000)
        let bytes = try Self.populated(window).snapshot()
        for position in bytes.indices {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[position] ^= 1 << bit
                let error = engineError { _ = try Self.makeOperator(window, restoring: damaged) }
                XCTAssertEqual(error?.kind, .checkpoint, "bit \(bit) of byte \(position)")
            }
        }
    }

    func testCorruptPayloadsBehindAValidChecksumNeverCrash() throws {
        var random = SeededRandom("testCorruptPayloadsBehindAValidChecksumNeverCrash")
        var refused = 0, accepted = 0
        for window in [WindowSpec.tumbling(sizeMs: 10_000), .session(gapMs: 4_000), .hopping(sizeMs: 10_000, slideMs: 3_000), .cumulating(sizeMs: 12_000, stepMs: 3_000), .none] {
            let bytes = try Self.populated(window).snapshot()
            for _ in 0..<1_500 {
                var damaged = bytes
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let position = Int.random(in: 16..<(bytes.count - 4), using: &random)
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: damaged[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                    case 1: damaged[position] = UInt8.random(in: 0...255, using: &random)
                    default: damaged[position] = [0, 1, 2, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
                    }
                }
                do {
                    var op = try Self.makeOperator(window, restoring: Self.withChecksum(damaged))
                    accepted += 1
                    // Whatever the restored state holds, the operator keeps working.
                    var clock: Int64 = 0
                    _ = try? op.process(RecordBatch(schema: Self.schema, rows: RandomizedAggregationTests.batch(&random, clock: &clock)), watermarkMs: 0)
                    _ = try? op.emit(watermarkMs: 5_000)
                    _ = op.snapshot()
                    _ = op.flushAll()
                } catch let error as EngineError {
                    XCTAssertEqual(error.kind, .checkpoint, "\(error)")
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, 0)
        print("corrupt payloads: \(refused) refused, \(accepted) accepted as another valid state")
    }

    func testRestoreRefusesAnotherAggregation() throws {
        let bytes = try Self.populated(.tumbling(sizeMs: 10_000)).snapshot()
        for window in [WindowSpec.tumbling(sizeMs: 20_000), .tumbling(sizeMs: 10_000, offsetMs: 1), .hopping(sizeMs: 10_000, slideMs: 5_000), .session(gapMs: 10_000)] {
            let error = engineError { _ = try Self.makeOperator(window, restoring: bytes) }
            XCTAssertEqual(error?.kind, .checkpoint, "\(window)")
            XCTAssertTrue(error?.message.contains("different aggregation") ?? false)
        }
        XCTAssertEqual(engineError { _ = try Self.makeOperator(.tumbling(sizeMs: 10_000), .append, restoring: bytes) }?.kind, .checkpoint)
        XCTAssertEqual(engineError { _ = try Self.makeOperator(.tumbling(sizeMs: 10_000), keys: ["c", "u"], restoring: bytes) }?.kind, .checkpoint)
        XCTAssertEqual(engineError { _ = try Self.makeOperator(.tumbling(sizeMs: 10_000), restoring: Array("not a snapshot at all".utf8)) }?.kind, .checkpoint)
        // An offset of a whole window is the same grid, and output names are not part of the state.
        XCTAssertNil(engineError { _ = try Self.makeOperator(.tumbling(sizeMs: 10_000, offsetMs: 10_000), restoring: bytes) })
        var renamed = Self.aggregates
        renamed[0].outputName = "orders"
        XCTAssertNil(engineError {
            _ = try WindowAggregateOperator(
                restoring: bytes, inputSchema: Self.schema, timeColumn: "time", keyColumns: ["u", "c"], aggregates: renamed,
                window: .tumbling(sizeMs: 10_000), mode: .update, stateBytesLimit: nil)
        })
    }

    func testRestoredOperatorContinuesLikeTheOriginal() throws {
        for window in [WindowSpec.tumbling(sizeMs: 10_000), .session(gapMs: 4_000), .hopping(sizeMs: 10_000, slideMs: 3_000), .cumulating(sizeMs: 12_000, stepMs: 3_000), .none] {
            var original = try Self.populated(window)
            var restored = try Self.makeOperator(window, restoring: original.snapshot())
            XCTAssertEqual(restored.stateRows, original.stateRows)
            XCTAssertEqual(restored.snapshot(), original.snapshot())
            var random = SeededRandom(seed: 99)
            var clock: Int64 = 5_000
            for step in 0..<5 {
                let batch = RecordBatch(schema: Self.schema, rows: RandomizedAggregationTests.batch(&random, clock: &clock))
                let watermark = Int64(step) * 3_000
                try original.process(batch, watermarkMs: watermark)
                try restored.process(batch, watermarkMs: watermark)
                XCTAssertEqual(try restored.emit(watermarkMs: watermark + 1_000), try original.emit(watermarkMs: watermark + 1_000))
            }
            XCTAssertEqual(restored.flushAll(), original.flushAll())
        }
    }
}
