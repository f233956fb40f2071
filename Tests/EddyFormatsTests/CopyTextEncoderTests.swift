import EddyEngine
import EddyFormats
import XCTest

/// PostgreSQL's COPY text format: escapes, NULLs and every type.
final class CopyTextEncoderTests: XCTestCase {
    func testEscapesNullsAndTypes() {
        let schema = Schema([Field("s", .utf8), Field("b", .bool), Field("x", .float64), Field("d", .decimal(scale: 2)), Field("day", .date),
                             Field("at", .timestamp), Field("n", .int64)])
        let batch = RecordBatch(schema: schema, rows: [
            [.string("tab\there\nline\\slash\rcr"), .bool(true), .float64(.nan), .decimal(-1250, scale: 2), .date(0), .timestamp(1500), .int64(-7)],
            [.null, .bool(false), .float64(-.infinity), .null, .null, .null, .null],
            [.string(""), .null, .float64(0.1), .decimal(5, scale: 2), .date(-1), .timestamp(-1), .int64(Int64.min)],
        ])
        var bytes: [UInt8] = []
        CopyTextEncoder().encode(batch, into: &bytes)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), """
            tab\\there\\nline\\\\slash\\rcr\tt\tNaN\t-12.50\t1970-01-01\t1970-01-01T00:00:01.500Z\t-7
            \\N\tf\t-Infinity\t\\N\t\\N\t\\N\t\\N
            \t\\N\t0.1\t0.05\t1969-12-31\t1969-12-31T23:59:59.999Z\t-9223372036854775808

            """)
    }
}
