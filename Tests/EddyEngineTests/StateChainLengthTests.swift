@testable import EddyEngine
import XCTest

/// When a compaction is due: at least the minimum number of deltas, as large as the snapshot
/// together, or 100 times the minimum whatever their size.
final class StateChainLengthTests: XCTestCase {
    func testACompactionIsDueWhenTheDeltasWeighAsMuchAsTheSnapshot() {
        var chain = StateChainLength(snapshotBatchId: 0, snapshotBytes: 1_000)
        for batch in 1...9 { chain.wrote(.delta(Array(repeating: 0, count: 300)), batchId: Int64(batch)) }
        XCTAssertFalse(chain.needsCompaction(minDeltas: 10), "9 deltas: fewer than the minimum")
        chain.wrote(.delta(Array(repeating: 0, count: 300)), batchId: 10)
        XCTAssertTrue(chain.needsCompaction(minDeltas: 10))
        XCTAssertFalse(chain.needsCompaction(minDeltas: 0), "0: no deltas, no compactions")

        // Small deltas over a large state: compacting early would rewrite the state for little.
        var large = StateChainLength(snapshotBatchId: 5, snapshotBytes: 1_000_000)
        for batch in 6...15 { large.wrote(.delta([1, 2, 3]), batchId: Int64(batch)) }
        XCTAssertFalse(large.needsCompaction(minDeltas: 10))
        for batch in 16...1_005 { large.wrote(.delta([1, 2, 3]), batchId: Int64(batch)) }
        XCTAssertTrue(large.needsCompaction(minDeltas: 10), "1000 deltas: the chain is long enough whatever its size")

        // A compaction of batch 1000 leaves the deltas after it; a snapshot written by a batch starts over.
        large.compacted(batchId: 1_000, bytes: 900_000)
        XCTAssertEqual(large, StateChainLength(snapshotBatchId: 1_000, snapshotBytes: 900_000, deltaBytes: [3, 3, 3, 3, 3]))
        large.compacted(batchId: 990, bytes: 1)
        XCTAssertEqual(large.snapshotBatchId, 1_000, "an older compaction changes nothing")
        large.wrote(.snapshot([1]), batchId: 1_006)
        XCTAssertEqual(large, StateChainLength(snapshotBatchId: 1_006, snapshotBytes: 1))
    }
}
