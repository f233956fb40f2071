import EddyServer
import EddyEngine
import XCTest

/// The event hub never makes a publisher wait: a slow subscriber loses its oldest events (counted),
/// at most `subscribersMax` streams open, and none after the server began stopping.
final class EventHubTests: XCTestCase {
    func testASlowSubscriberLosesItsOldestEventsAndPublishingNeverWaits() async {
        let hub = EventHub()
        guard let stream = hub.subscribe() else { return XCTFail("no stream") }
        let published = EventHub.bufferedEventsMax + 10
        for n in 0..<published { hub.publish(ServerEvent(name: "progress", json: "{\"n\":\(n)}")) }
        XCTAssertEqual(hub.dropped, 10)
        hub.finishAll()
        var seen: [String] = []
        for await event in stream { seen.append(event.json) }
        XCTAssertEqual(seen.count, EventHub.bufferedEventsMax)
        XCTAssertEqual(seen.first, "{\"n\":10}", "the oldest ten went")
        XCTAssertEqual(seen.last, "{\"n\":\(published - 1)}")
    }

    func testStreamsAreLimitedAndNoneOpensOnceStopping() async {
        let hub = EventHub()
        var streams: [AsyncStream<ServerEvent>] = []
        for _ in 0..<EventHub.subscribersMax {
            guard let stream = hub.subscribe() else { return XCTFail("refused below the limit") }
            streams.append(stream)
        }
        XCTAssertNil(hub.subscribe(), "past subscribersMax")
        XCTAssertEqual(hub.subscriberCount, EventHub.subscribersMax)
        streams.removeAll()  // the streams end: their places free up
        XCTAssertEqual(hub.subscriberCount, 0)
        XCTAssertNotNil(hub.subscribe())
        hub.finishAll()
        XCTAssertNil(hub.subscribe(), "the server is stopping")
    }

    func testEventsAreEncodedAsServerSentEvents() {
        XCTAssertEqual(ServerEvent(name: "rows", json: "{\"a\":1}").encoded, "event: rows\ndata: {\"a\":1}\n\n")
    }

    func testTableNamesBecomeOneDirectoryName() {
        XCTAssertEqual(QuerySettings.directoryName("revenue_by-cat.v1"), "revenue_by-cat.v1")
        XCTAssertEqual(QuerySettings.directoryName("../x/y"), "..%2Fx%2Fy")
        XCTAssertEqual(QuerySettings.directoryName(".."), "%2E%2E")
    }

    func testADeadLetterTopicTakesClientPropertiesAsAQueryString() {
        func refusal(_ destination: String) -> String? {
            var options = QueryOptions()
            do {
                try options.sendDeadLetters(to: destination)
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(refusal("kafka://127.0.0.1:9/letters?acks"), "--dead-letters kafka://127.0.0.1:9/letters?acks: 'acks' is not a property=value pair")
        XCTAssertEqual(refusal("kafka://127.0.0.1:9?acks=all"), "--dead-letters kafka://127.0.0.1:9?acks=all: a topic is kafka://HOST:PORT/TOPIC[?property=value&…]")
        // Passed to librdkafka verbatim, decoded: an unknown property is librdkafka's error.
        XCTAssert(refusal("kafka://127.0.0.1:9/letters?no.such%2Eproperty=1")?.contains("no.such.property") == true,
                  refusal("kafka://127.0.0.1:9/letters?no.such%2Eproperty=1") ?? "accepted")
    }

    func testIncrementalStateSettings() throws {
        let settings = QuerySettings()
        XCTAssertEqual(try settings.options([:]).stateMinDeltasForSnapshot, 10)
        XCTAssertEqual(try settings.options(["table.exec.state.min-deltas-for-snapshot": "3"]).stateMinDeltasForSnapshot, 3)
        XCTAssertEqual(try settings.options(["state.backend.incremental": "FALSE", "table.exec.state.min-deltas-for-snapshot": "3"]).stateMinDeltasForSnapshot, 0)
        XCTAssertThrowsError(try settings.options(["state.backend.incremental": "yes"])) { error in
            XCTAssertEqual("\(error)", "SET 'state.backend.incremental' = 'yes': not 'true' or 'false'")
        }
        XCTAssertThrowsError(try settings.options(["table.exec.state.min-deltas-for-snapshot": "0"]))
        XCTAssertEqual(try settings.options(["table.exec.state.ttl": "1 h"]).stateTTLMs, 3_600_000)
        XCTAssertNil(try settings.options(["table.exec.state.ttl": "0"]).stateTTLMs)
        XCTAssertThrowsError(try settings.options(["table.exec.state.ttl": "soon"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("SET 'table.exec.state.ttl' = 'soon': not a duration"), "\(error)")
        }
    }
}
