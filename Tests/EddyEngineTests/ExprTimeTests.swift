@testable import EddyEngine
import XCTest

final class ExprTimeTests: XCTestCase {
    /// Instants around year boundaries, a leap day and before the epoch.
    let instants = batch("ts", .timestamp, [
        T("2026-11-22T04:18:27.123Z"),
        T("2024-12-31T23:59:59.999Z"),
        T("2025-01-01T00:00:00.000Z"),
        T("2024-02-29T13:45:00.500Z"),
        T("1969-12-31T23:59:59.999Z"),
        T("1900-03-01T00:00:00.001Z"),
        N,
    ])

    func testDateTruncFixedUnits() {
        assertEval(.dateTrunc(.second, col("ts")), over: instants, [
            T("2026-11-22T04:18:27Z"), T("2024-12-31T23:59:59Z"), T("2025-01-01T00:00:00Z"), T("2024-02-29T13:45:00Z"),
            T("1969-12-31T23:59:59Z"), T("1900-03-01T00:00:00Z"), N,
        ], type: .timestamp)
        assertEval(.dateTrunc(.minute, col("ts")), over: instants, [
            T("2026-11-22T04:18:00Z"), T("2024-12-31T23:59:00Z"), T("2025-01-01T00:00:00Z"), T("2024-02-29T13:45:00Z"),
            T("1969-12-31T23:59:00Z"), T("1900-03-01T00:00:00Z"), N,
        ])
        assertEval(.dateTrunc(.hour, col("ts")), over: instants, [
            T("2026-11-22T04:00:00Z"), T("2024-12-31T23:00:00Z"), T("2025-01-01T00:00:00Z"), T("2024-02-29T13:00:00Z"),
            T("1969-12-31T23:00:00Z"), T("1900-03-01T00:00:00Z"), N,
        ])
        assertEval(.dateTrunc(.day, col("ts")), over: instants, [
            T("2026-11-22"), T("2024-12-31"), T("2025-01-01"), T("2024-02-29"), T("1969-12-31"), T("1900-03-01"), N,
        ])
    }

    func testDateTruncCalendarUnits() {
        // ISO weeks start on Monday: 2026-11-22 is a Sunday, 2024-12-31 a Tuesday, 1970-01-01 a Thursday.
        assertEval(.dateTrunc(.week, col("ts")), over: instants, [
            T("2026-11-16"), T("2024-12-30"), T("2024-12-30"), T("2024-02-26"), T("1969-12-29"), T("1900-02-26"), N,
        ])
        assertEval(.dateTrunc(.month, col("ts")), over: instants, [
            T("2026-11-01"), T("2024-12-01"), T("2025-01-01"), T("2024-02-01"), T("1969-12-01"), T("1900-03-01"), N,
        ])
        assertEval(.dateTrunc(.quarter, col("ts")), over: instants, [
            T("2026-10-01"), T("2024-10-01"), T("2025-01-01"), T("2024-01-01"), T("1969-10-01"), T("1900-01-01"), N,
        ])
        assertEval(.dateTrunc(.year, col("ts")), over: instants, [
            T("2026-01-01"), T("2024-01-01"), T("2025-01-01"), T("2024-01-01"), T("1969-01-01"), T("1900-01-01"), N,
        ])
    }

    func testExtract() {
        assertEval(.extract(.year, col("ts")), over: instants, [I(2026), I(2024), I(2025), I(2024), I(1969), I(1900), N], type: .int64)
        assertEval(.extract(.quarter, col("ts")), over: instants, [I(4), I(4), I(1), I(1), I(4), I(1), N])
        assertEval(.extract(.month, col("ts")), over: instants, [I(11), I(12), I(1), I(2), I(12), I(3), N])
        assertEval(.extract(.day, col("ts")), over: instants, [I(22), I(31), I(1), I(29), I(31), I(1), N])
        assertEval(.extract(.hour, col("ts")), over: instants, [I(4), I(23), I(0), I(13), I(23), I(0), N])
        assertEval(.extract(.minute, col("ts")), over: instants, [I(18), I(59), I(0), I(45), I(59), I(0), N])
        assertEval(.extract(.second, col("ts")), over: instants, [I(27), I(59), I(0), I(0), I(59), I(0), N])
        assertEval(.extract(.millisecond, col("ts")), over: instants, [I(27_123), I(59_999), I(0), I(500), I(59_999), I(1), N])
        // 0 = Sunday.
        assertEval(.extract(.dayOfWeek, col("ts")), over: instants, [I(0), I(2), I(3), I(4), I(3), I(4), N])
        // 2024 is a leap year (day 366 is December 31); 1900 is not (March 1 is day 60).
        assertEval(.extract(.dayOfYear, col("ts")), over: instants, [I(326), I(366), I(1), I(60), I(365), I(60), N])
        // Whole seconds, rounded down before the epoch.
        assertEval(.extract(.epoch, col("ts")), over: instants, [
            I(1_795_321_107), I(1_735_689_599), I(1_735_689_600), I(1_709_214_300), I(-1), I(-2_203_891_200), N,
        ])
    }

    func testEpochMillisConversions() {
        assertEval(Expr.toEpochMillis(col("ts")), over: instants, [
            I(1_795_321_107_123), I(1_735_689_599_999), I(1_735_689_600_000), I(1_709_214_300_500), I(-1), I(-2_203_891_199_999), N,
        ], type: .int64)
        let millis = batch("ms", .int64, [I(0), I(-86_400_000), N])
        assertEval(Expr.fromEpochMillis(col("ms")), over: millis, [T("1970-01-01"), T("1969-12-31"), N], type: .timestamp)
        assertEval(Expr.toEpochMillis(Expr.fromEpochMillis(col("ms"))), over: millis, [I(0), I(-86_400_000), N])
    }

    func testTimeFunctionsNeedTimestamps() {
        let schema = Schema([Field("n", .int64)])
        assertPlanError(.dateTrunc(.day, col("n")), schema, contains: "date_trunc needs TIMESTAMP, found BIGINT")
        assertPlanError(.extract(.year, col("n")), schema, contains: "extract needs TIMESTAMP")
        assertPlanError(Expr.toEpochMillis(col("n")), schema, contains: "to_epoch_millis needs TIMESTAMP")
    }

    func testFieldAndUnitNames() {
        XCTAssertEqual(DateField(sqlName: "DOW"), .dayOfWeek)
        XCTAssertEqual(DateField(sqlName: "years"), .year)
        XCTAssertEqual(DateField(sqlName: "milliseconds"), .millisecond)
        XCTAssertNil(DateField(sqlName: "fortnight"))
        XCTAssertEqual(DateTruncUnit(sqlName: "Quarter"), .quarter)
        XCTAssertEqual(ScalarFunction(sqlName: "TO_EPOCH_MILLIS"), .toEpochMillis)
    }
}
