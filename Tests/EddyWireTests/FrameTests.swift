import NIOCore
import NIOTestUtils
import XCTest

@testable import EddyWire

final class FrameTests: XCTestCase {
    /// Three requests of different sizes back to back, as a pipelining client sends them.
    private func threeFrames() throws -> (stream: ByteBuffer, payloads: [ByteBuffer]) {
        var metadata = MetadataRequest()
        metadata.topics = [.init(), .init()]
        metadata.topics![0].name = "orders"
        metadata.topics![1].name = String(repeating: "x", count: 300)
        let frames = [
            try KafkaFrame.encodeRequest(ApiVersionsRequest(), version: 3, correlationId: 1, clientId: "t"),
            try KafkaFrame.encodeRequest(metadata, version: 12, correlationId: 2, clientId: nil),
            try KafkaFrame.encodeRequest(HeartbeatRequest(), version: 0, correlationId: 3, clientId: ""),
        ]
        var stream = ByteBuffer()
        for var f in frames { stream.writeBuffer(&f) }
        let payloads = frames.map { $0.getSlice(at: 4, length: $0.readableBytes - 4)! }
        return (stream, payloads)
    }

    func testTheDecoderVerifierSplitsFramesEveryWay() throws {
        let (stream, payloads) = try threeFrames()
        // NIO's verifier feeds the input all at once, one byte at a time, and in other splits.
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(stream, payloads)],
            decoderFactory: { KafkaFrameDecoder(maxFrameBytes: 1 << 20) }
        )
    }

    func testRandomSplitsGiveTheSameFrames() throws {
        var rng = SeededRandom("FrameTests.testRandomSplitsGiveTheSameFrames")
        let (stream, payloads) = try threeFrames()
        for _ in 0..<200 {
            var input = stream
            var pending = ByteBuffer()
            var out: [ByteBuffer] = []
            while input.readableBytes > 0 {
                let n = Int.random(in: 1...max(1, min(input.readableBytes, 64)), using: &rng)
                var chunk = input.readSlice(length: n)!
                pending.writeBuffer(&chunk)
                while let frame = try KafkaFrame.next(from: &pending, maxFrameBytes: 1 << 20) { out.append(frame) }
            }
            XCTAssertEqual(out, payloads)
            XCTAssertEqual(pending.readableBytes, 0)
        }
    }

    func testAnOversizedFrameIsRefusedBeforeItsPayloadArrives() {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(1025), endianness: .big)  // only the size prefix has arrived
        XCTAssertThrowsError(try KafkaFrame.next(from: &buffer, maxFrameBytes: 1024)) { error in
            XCTAssertEqual((error as? WireError)?.code, .frameTooLarge)
        }
        var exact = ByteBuffer()
        exact.writeInteger(Int32(1024), endianness: .big)
        exact.writeRepeatingByte(0, count: 1024)
        XCTAssertEqual(try KafkaFrame.next(from: &exact, maxFrameBytes: 1024)?.readableBytes, 1024)
    }

    func testTheDefaultLimitIsKafkasSocketRequestMaxBytes() {
        XCTAssertEqual(KafkaFrameDecoder().maxFrameBytes, 100 * 1024 * 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32.max, endianness: .big)
        XCTAssertThrowsError(try KafkaFrame.next(from: &buffer, maxFrameBytes: KafkaFrame.defaultMaxFrameBytes))
    }

    func testANegativeFrameSizeIsRefused() {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(-5), endianness: .big)
        XCTAssertThrowsError(try KafkaFrame.next(from: &buffer, maxFrameBytes: 1024)) { error in
            XCTAssertEqual((error as? WireError)?.code, .invalidLength)
        }
    }

    func testARequestRoundTripsThroughItsFrameForEveryApiAndVersion() throws {
        for key in ApiKey.allCases {
            for version in key.requestType.validVersions {
                try roundTrip(key.requestType, version: version)
            }
        }
    }

    private func roundTrip<R: KafkaRequest>(_: R.Type, version: Int16) throws {
        var frame = try KafkaFrame.encodeRequest(R(), version: version, correlationId: 42, clientId: "eddy-test")
        let payload = try XCTUnwrap(KafkaFrame.next(from: &frame, maxFrameBytes: 1 << 20))
        let request = try KafkaFrame.decodeRequest(payload)
        XCTAssertEqual(request.apiKey, R.apiKey)
        XCTAssertEqual(request.header.requestApiVersion, version)
        XCTAssertEqual(request.header.correlationId, 42)
        XCTAssertEqual(request.header.clientId, "eddy-test")
        XCTAssertEqual(request.headerVersion, R.headerVersion(version))
        XCTAssertEqual(try R.decode(request.body, version: version), R())
    }

    func testAResponseRoundTripsThroughItsFrame() throws {
        var response = ApiVersionsResponse()
        response.apiKeys = [.init()]
        response.apiKeys[0].apiKey = 18
        response.apiKeys[0].maxVersion = 4
        var frame = try KafkaFrame.encodeResponse(response, version: 3, correlationId: 9)
        let payload = try XCTUnwrap(KafkaFrame.next(from: &frame, maxFrameBytes: 1 << 20))
        // ApiVersions answers with header v0: the correlation id and nothing else before the body.
        XCTAssertEqual(payload.getInteger(at: payload.readerIndex, endianness: .big, as: Int32.self), 9)
        let (correlationId, body) = try KafkaFrame.decodeResponse(payload, as: ApiVersionsResponse.self, version: 3)
        XCTAssertEqual(correlationId, 9)
        XCTAssertEqual(body, response)
    }

    func testTruncatedRequestHeadersAreTypedErrors() throws {
        var frame = try KafkaFrame.encodeRequest(MetadataRequest(), version: 12, correlationId: 1, clientId: "client")
        let payload = try XCTUnwrap(KafkaFrame.next(from: &frame, maxFrameBytes: 1 << 20))
        for length in 0..<payload.readableBytes {
            let cut = payload.getSlice(at: payload.readerIndex, length: length)!
            do {
                let request = try KafkaFrame.decodeRequest(cut)
                _ = try MetadataRequest.decode(request.body, version: 12)
                XCTFail("a request cut to \(length) bytes decoded")
            } catch let error as WireError {
                XCTAssertTrue([.truncated, .invalidLength, .invalidVarint].contains(error.code), "\(error)")
            }
        }
    }

    /// Random payloads through the header and every API's body decoder: typed errors or values,
    /// never a trap. (`make fuzz` runs the coverage-guided version of this.)
    func testRandomPayloadsNeverTrap() {
        var rng = SeededRandom("FrameTests.testRandomPayloadsNeverTrap")
        let keys = ApiKey.allCases
        var decoded = 0
        for _ in 0..<20_000 {
            var payload = ByteBuffer()
            let key = keys.randomElement(using: &rng)!
            let version = Int16.random(in: key.requestType.validVersions, using: &rng)
            payload.writeInteger(key.rawValue, endianness: .big)
            payload.writeInteger(version, endianness: .big)
            for _ in 0..<Int.random(in: 0..<64, using: &rng) { payload.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
            guard let request = try? KafkaFrame.decodeRequest(payload) else { continue }
            if (try? key.requestType.decode(request.body, version: version)) != nil { decoded += 1 }
        }
        print("random payloads that decoded: \(decoded)")
    }
}
