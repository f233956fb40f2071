@testable import EddyEngine
import XCTest

/// DATE_FORMAT patterns against what Java's SimpleDateFormat (Flink's DATE_FORMAT) prints in UTC.
final class DateFormatPatternTests: XCTestCase {
    func format(_ iso: String, _ pattern: String) throws -> String {
        let millis = try TextParsing.parse(iso, TextParsing.timestamp)
        var bytes: [UInt8] = []
        try DateFormatPattern(pattern).append(millis, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func testEveryLetter() throws {
        let time = "2026-03-07T09:05:08.123Z"
        XCTAssertEqual(try format(time, "yyyy-MM-dd HH:mm:ss.SSS"), "2026-03-07 09:05:08.123")
        XCTAssertEqual(try format(time, "yy/M/d H:m:s"), "26/3/7 9:5:8")
        XCTAssertEqual(try format(time, "MMM MMMM EEE EEEE"), "Mar March Sat Saturday")
        XCTAssertEqual(try format(time, "D h a"), "66 9 AM")
        XCTAssertEqual(try format(time, "S SS"), "1 12")
        XCTAssertEqual(try format("2026-12-31T00:30:00Z", "D hh:mm a"), "365 12:30 AM")
        XCTAssertEqual(try format("2024-12-31T12:00:00Z", "D h a"), "366 12 PM")
        XCTAssertEqual(try format("1969-12-31T23:59:59.999Z", "yyyy-MM-dd'T'HH:mm:ss.SSS EEE"), "1969-12-31T23:59:59.999 Wed")
    }

    func testQuotesAndLiterals() throws {
        XCTAssertEqual(try format("2026-03-07T09:05:08Z", "'week of' yyyy, 'o''clock' HH''"), "week of 2026, o'clock 09'")
        XCTAssertEqual(try format("2026-03-07T09:05:08Z", "yyyy年MM月"), "2026年03月")
    }

    func testUnknownLettersAndUnclosedQuotesAreRefused() {
        for pattern in ["yyyy-MM-dd z", "HH:mm X", "w", "'open"] {
            XCTAssertEqual(engineError { _ = try DateFormatPattern(pattern) }?.kind, .plan, pattern)
        }
    }
}
