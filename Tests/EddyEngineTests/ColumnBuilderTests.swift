import EddyEngine
import XCTest

final class ColumnBuilderTests: XCTestCase {
    func testNullsAppearOnlyWhenAppended() {
        var builder = ColumnBuilder(.int64)
        for value in 0..<100 { builder.append(Int64(value)) }
        let plain = builder.finish()
        XCTAssertNil(plain.validity)
        XCTAssertEqual(plain.int64s, (0..<100).map { Int64($0) })

        for value in 0..<70 { builder.append(Int64(value)) }
        builder.appendNull()
        builder.append(Int64(71))
        let withNull = builder.finish()
        XCTAssertEqual(withNull.count, 72)
        XCTAssertEqual(withNull.nullCount, 1)
        XCTAssertTrue(withNull.isNull(70))
        XCTAssertFalse(withNull.isNull(69))
        XCTAssertFalse(withNull.isNull(71))
    }

    func testTruncateUndoesARecord() {
        var builder = ColumnBuilder(.utf8)
        builder.append("a")
        builder.appendNull()
        builder.append("bcd")
        builder.truncate(to: 1)
        builder.append("e")
        let column = builder.finish()
        XCTAssertEqual((0..<2).map { column.value(at: $0) }, [.string("a"), .string("e")])
        XCTAssertEqual(column.nullCount, 0)
    }

    func testTakeFilterConcatenate() {
        let batch = RecordBatch(
            schema: Schema([Field("k", .utf8), Field("v", .decimal(scale: 2))]),
            rows: [[.string("x"), .decimal("1.50")], [.null, .decimal("-0.05")], [.string("z"), .null]])
        XCTAssertEqual(batch.take([2, 0]).rows, [[.string("z"), .null], [.string("x"), .decimal("1.50")]])
        XCTAssertEqual(batch.filter(Bitmap([false, true, true])).rows.count, 2)
        let both = RecordBatch.concatenate([batch, batch], schema: batch.schema)
        XCTAssertEqual(both.count, 6)
        XCTAssertEqual(both.row(4), [.null, .decimal("-0.05")])
        XCTAssertEqual(Value.decimal("-0.05").description, "-0.05")
        XCTAssertEqual(batch.table, "k    | v\nx    | 1.50\nNULL | -0.05\nz    | NULL")
    }

    func testCalendar() {
        XCTAssertEqual(formatTimestamp(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(formatTimestamp(1_795_321_107_123), "2026-11-22T04:18:27.123Z")
        XCTAssertEqual(formatTimestamp(-1), "1969-12-31T23:59:59.999Z")
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = civilFromDays(days)
            XCTAssertEqual(daysFromCivil(y, m, d), days)
        }
    }
}

final class ColumnBuilderTruncateTests: XCTestCase {
    /// Bytes pushed for an unfinished value are dropped by truncate even when no row is removed.
    func testTruncateDropsAnUnfinishedValue() {
        var builder = ColumnBuilder(.utf8)
        builder.append("ab")
        builder.pushByte(0x78)
        builder.truncate(to: 1)
        builder.append("c")
        let column = builder.finish()
        XCTAssertEqual(column.value(at: 1), .string("c"))
    }

    /// A truncate that removes the only null leaves no validity bitmap behind.
    func testNoBitmapWithoutNulls() {
        var builder = ColumnBuilder(.int64)
        builder.append(Int64(1))
        builder.appendNull()
        builder.truncate(to: 1)
        builder.append(Int64(2))
        XCTAssertEqual(builder.finish(), Column.int64([1, 2]))
    }
}
