@testable import EddyEngine
import XCTest

/// Window assignment over a time column: (row, window start) pairs, late rows and NULL times, for every
/// window kind, including times before the epoch.
final class WindowAssignmentTests: XCTestCase {
    struct Assignment: Equatable {
        var pairs: [String]
        var late: [Int32]
        var nullTime: [Int32]
    }

    func assign(_ window: WindowSpec, _ times: [Int64?], watermark: Int64 = .min) throws -> Assignment {
        let column = Column.timestamp(times.map { $0 ?? 0 }, validity: times.contains(nil) ? Bitmap(times.map { $0 != nil }) : nil)
        var rows: [Int32] = [], starts: [Int64] = [], late: [Int32] = [], nullTime: [Int32] = []
        try WindowAssigner.assign(
            window: window, times: column, rowCount: times.count, watermark: watermark, pairRows: &rows, pairStarts: &starts,
            lateRows: &late, nullTimeRows: &nullTime)
        return Assignment(pairs: zip(rows, starts).map { "\($0.0)@\($0.1)" }, late: late, nullTime: nullTime)
    }

    func testTumblingFloorsNegativeTimes() throws {
        XCTAssertEqual(try assign(.tumbling(sizeMs: 10), [-11, -10, -1, 0, 9, 10, nil]),
            Assignment(pairs: ["0@-20", "1@-10", "2@-10", "3@0", "4@0", "5@10"], late: [], nullTime: [6]))
        XCTAssertEqual(try assign(.tumbling(sizeMs: 10, offsetMs: -3), [-4, -3, 6, 7]).pairs, ["0@-13", "1@-3", "2@-3", "3@7"])
    }

    func testTumblingLateWhenTheWindowEndIsAtOrBeforeTheWatermark() throws {
        XCTAssertEqual(try assign(.tumbling(sizeMs: 10), [5, 9, 10, 19], watermark: 10),
            Assignment(pairs: ["2@10", "3@10"], late: [0, 1], nullTime: []))
    }

    func testHoppingPairsPerWindowAndPartialLateness() throws {
        XCTAssertEqual(try assign(.hopping(sizeMs: 10, slideMs: 5), [-1, 5]).pairs, ["0@-10", "0@-5", "1@0", "1@5"])
        XCTAssertEqual(try assign(.hopping(sizeMs: 10, slideMs: 4), [1, 3, 9]).pairs,
            ["0@-8", "0@-4", "0@0", "1@-4", "1@0", "2@0", "2@4", "2@8"])
        XCTAssertEqual(try assign(.hopping(sizeMs: 10, slideMs: 5), [7, 3], watermark: 10),
            Assignment(pairs: ["0@5"], late: [1], nullTime: []))
    }

    func testCumulatingPairsAreTaggedByTheirEndsAndPartialLateness() throws {
        // Periods of 12 ms in steps of 4: a row at 5 is in [0, 8) and [0, 12); at -1 in [-12, 0) only.
        XCTAssertEqual(try assign(.cumulating(sizeMs: 12, stepMs: 4), [5, -1, 0, 11]).pairs,
            ["0@8", "0@12", "1@0", "2@4", "2@8", "2@12", "3@12"])
        // Watermark 8: [0, 8) has closed, [0, 12) has not; a row whose windows all closed is late.
        XCTAssertEqual(try assign(.cumulating(sizeMs: 12, stepMs: 4), [5, -1, nil], watermark: 8),
            Assignment(pairs: ["0@12"], late: [1], nullTime: [2]))
        XCTAssertEqual(WindowSpec.cumulating(sizeMs: 12, stepMs: 4).description, "cumulating 12 ms in steps of 4 ms")
        XCTAssertEqual(engineError { try WindowSpec.cumulating(sizeMs: 10, stepMs: 4).validate() }?.kind, .plan)
        XCTAssertEqual(engineError { try WindowSpec.cumulating(sizeMs: 4, stepMs: 8).validate() }?.kind, .plan)
        XCTAssertEqual(engineError { try WindowSpec.cumulating(sizeMs: 100_000, stepMs: 1).validate() }?.kind, .plan)
    }

    func testSessionsAreLateBeforeTheWatermark() throws {
        XCTAssertEqual(try assign(.session(gapMs: 5), [4, 5, nil, 6], watermark: 5),
            Assignment(pairs: ["1@5", "3@6"], late: [0], nullTime: [2]))
    }

    func testNoWindowIsNeverLate() throws {
        XCTAssertEqual(try assign(.none, [1, nil, -5], watermark: .max), Assignment(pairs: ["0@0", "2@0"], late: [], nullTime: [1]))
    }

    func testSpecValidationAndDescription() {
        XCTAssertEqual(WindowSpec.tumbling(sizeMs: 60_000).description, "tumbling 60000 ms")
        XCTAssertEqual(WindowSpec.hopping(sizeMs: 10, slideMs: 5).description, "hopping 10 ms every 5 ms")
        XCTAssertNoThrow(try WindowSpec.hopping(sizeMs: 10, slideMs: 3).validate())
        XCTAssertEqual(engineError { try WindowSpec.hopping(sizeMs: 10, slideMs: 11).validate() }?.kind, .plan)
        XCTAssertEqual(engineError { try WindowSpec.session(gapMs: 0).validate() }?.kind, .plan)
        XCTAssertEqual(engineError { try WindowSpec.tumbling(sizeMs: WindowSpec.maxDurationMs + 1).validate() }?.kind, .plan)
        XCTAssertTrue(WindowSpec.session(gapMs: 1).isSession)
        XCTAssertFalse(WindowSpec.none.isWindowed)
    }
}
