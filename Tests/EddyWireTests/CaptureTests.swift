import Foundation
import NIOCore
import XCTest

@testable import EddyWire

/// Golden bytes from real clients (kcat/librdkafka 2.0, confluent-kafka/librdkafka 2.16,
/// kafka-python, aiokafka), recorded by scripts/capture: every request decodes, matches what the
/// recorder saw, and re-encodes to the same bytes; every Produce carries the five records sent.
final class CaptureTests: XCTestCase {
    struct Capture {
        var client: String
        var codec: String
        var directory: String
        var files: [[String: Any]]
        var explicitTimestamps: Bool
    }

    private func loadManifest() throws -> (root: URL, captures: [Capture], records: [[String: Any]]) {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("captures")
        let data = try Data(contentsOf: root.appendingPathComponent("manifest.json"))
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try XCTUnwrap(manifest["captures"] as? [[String: Any]])
        let captures = list.map {
            Capture(client: $0["client"] as! String, codec: $0["codec"] as! String, directory: $0["directory"] as! String,
                    files: $0["files"] as! [[String: Any]], explicitTimestamps: $0["explicit_timestamps"] as? Bool ?? false)
        }
        return (root, captures, try XCTUnwrap(manifest["records"] as? [[String: Any]]))
    }

    func testEveryCapturedRequestDecodesAndReencodesToTheSameBytes() throws {
        let (root, captures, _) = try loadManifest()
        XCTAssertEqual(Set(captures.map(\.client)), ["kcat", "confluent-kafka", "kafka-python", "aiokafka"])
        var frames = 0
        for capture in captures {
            for file in capture.files {
                let name = "\(capture.directory)/\(file["file"] as! String)"
                let bytes = try Data(contentsOf: root.appendingPathComponent(name))
                let payload = try KafkaFrame.payload(of: ByteBuffer(bytes: bytes))  // exactly one frame
                let request = try KafkaFrame.decodeRequest(payload)
                XCTAssertEqual(Int(request.header.requestApiKey), file["api_key"] as? Int, name)
                XCTAssertEqual(Int(request.header.requestApiVersion), file["api_version"] as? Int, name)
                XCTAssertEqual(Int(request.header.correlationId), file["correlation_id"] as? Int, name)
                XCTAssertEqual(request.header.clientId, file["client_id"] as? String, name)
                let key = try XCTUnwrap(request.apiKey, name)
                let reencoded = try reencode(key.requestType, request)
                XCTAssertEqual(Array(reencoded.readableBytesView), Array(bytes), "\(name) re-encoding differs")
                frames += 1
            }
        }
        XCTAssertGreaterThanOrEqual(frames, 60)
    }

    private func reencode<R: KafkaRequest>(_: R.Type, _ request: RequestFrame) throws -> ByteBuffer {
        let version = request.header.requestApiVersion
        let body = try R.decode(request.body, version: version)
        var w = WireWriter()
        w.int32(0)
        try request.header.encode(to: &w, version: request.headerVersion)
        try body.encode(to: &w, version: version)
        w.buffer.setInteger(Int32(w.buffer.readableBytes - 4), at: 0, endianness: .big)
        return w.buffer
    }

    func testEveryCapturedProduceCarriesTheRecordsSentWithItsCodec() throws {
        let (root, captures, expected) = try loadManifest()
        var produces = 0
        for capture in captures {
            for file in capture.files where file["api_key"] as? Int == Int(ApiKey.produce.rawValue) {
                let name = "\(capture.directory)/\(file["file"] as! String)"
                let stream = ByteBuffer(bytes: try Data(contentsOf: root.appendingPathComponent(name)))
                let request = try KafkaFrame.decodeRequest(try KafkaFrame.payload(of: stream, maxFrameBytes: 1 << 20))
                let produce = try ProduceRequest.decode(request.body, version: request.header.requestApiVersion)
                let records = try XCTUnwrap(produce.topicData.first?.partitionData.first?.records, name)
                let batches = try RecordBatch.batches(in: records)
                XCTAssertEqual(batches.count, 1, name)
                for batch in batches {
                    try batch.validate()
                    XCTAssertEqual(batch.header.compression.description, capture.codec, name)
                    let decoded = try batch.records()
                    XCTAssertEqual(decoded.count, expected.count, name)
                    for (record, want) in zip(decoded, expected) {
                        XCTAssertEqual(record.key.map { String(buffer: $0) }, want["key"] as? String, name)
                        XCTAssertEqual(record.value.map { String(buffer: $0) }, want["value"] as? String, name)
                        XCTAssertEqual(record.headers.map(\.key), ["h"], name)
                        XCTAssertEqual(record.headers.first?.value.map { String(buffer: $0) }, "v", name)
                        if capture.explicitTimestamps, let ts = want["timestamp"] as? Int {
                            XCTAssertEqual(batch.header.baseTimestamp.millis + record.timestampDelta, Int64(ts), name)
                        }
                    }
                }
                produces += 1
            }
        }
        XCTAssertEqual(produces, 20, "4 clients × 5 codecs")
    }
}
