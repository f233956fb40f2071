import EddyCore
import EddyWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest

@testable import EddyBroker

/// Broker metadata that cannot be read or written fails loudly, naming what and why, instead of
/// being replaced by defaults or reported as something else.
final class DurableMetadataTests: BrokerDirectoryTestCase {
    /// A stored override that no longer parses would otherwise silently become the default: a topic
    /// kept forever (retention.ms=-1) would start deleting at the default 7 days.
    func testAStoredTopicConfigThatDoesNotParseStopsTheBrokerNamingThePathAndTheCause() throws {
        let broker = try makeBroker()
        try broker.topics.create("kept", partitions: 1, overrides: ["retention.ms": "-1"])
        try broker.close()
        let path = directory + "/" + TopicRegistry.metadataFile
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(stored.contains("\"-1\""), stored)
        try stored.replacingOccurrences(of: "\"-1\"", with: "\"forever\"").write(toFile: path, atomically: true, encoding: .utf8)

        XCTAssertThrowsError(try makeBroker()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), message)
            XCTAssertTrue(message.contains("kept"), message)
            XCTAssertTrue(message.contains("retention.ms"), message)
        }
    }

    /// Auto-creation that fails on disk is answered with the real cause (KAFKA_STORAGE_ERROR and
    /// the error), not UNKNOWN_TOPIC_OR_PARTITION.
    func testAProduceWhoseAutoCreationFailsGetsTheCause() async throws {
        let broker = try makeBroker()
        defer { try? broker.close() }
        // A file where the partition's directory must go.
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/fresh-0", contents: Data("x".utf8)))
        let answer = try await BrokerTests.produce(broker, topic: "fresh", values: ["a"])
        XCTAssertEqual(answer.errorCode, ErrorCode.kafkaStorageError.rawValue)
        let message = try XCTUnwrap(answer.errorMessage)
        XCTAssertTrue(message.contains("fresh"), message)
        XCTAssertTrue(message.contains("fresh-0"), message)
        XCTAssertNil(broker.topics.topic("fresh"), "nothing half-created")
    }
}
