import NIOCore
import NIOEmbedded
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

    /// Feeds `stream` to an assembler in the given chunk lengths (the last chunk takes the rest).
    private func assemble(_ stream: ByteBuffer, chunks: [Int], maxFrameBytes: Int = 1 << 20) throws -> (frames: [ByteBuffer], left: Int) {
        var assembler = KafkaFrameAssembler(maxFrameBytes: maxFrameBytes)
        var input = stream
        var frames: [ByteBuffer] = []
        for n in chunks + [input.readableBytes] where input.readableBytes > 0 {
            try assembler.feed(input.readSlice(length: min(n, input.readableBytes))!) { frames.append($0) }
        }
        return (frames, assembler.bufferedBytes)
    }

    func testTheAssemblerGivesTheSameFramesWhateverTheReads() throws {
        let (stream, payloads) = try threeFrames()
        XCTAssertEqual(try assemble(stream, chunks: []).frames, payloads)  // all at once
        let bytewise = try assemble(stream, chunks: Array(repeating: 1, count: stream.readableBytes))
        XCTAssertEqual(bytewise.frames, payloads)
        XCTAssertEqual(bytewise.left, 0)
        // Every cut point, including those inside a size prefix.
        for cut in 1..<stream.readableBytes {
            XCTAssertEqual(try assemble(stream, chunks: [cut]).frames, payloads, "cut at \(cut)")
        }
        var rng = SeededRandom("FrameTests.testTheAssemblerGivesTheSameFramesWhateverTheReads")
        for _ in 0..<200 {
            let chunks = (0..<40).map { _ in Int.random(in: 1...64, using: &rng) }
            let out = try assemble(stream, chunks: chunks)
            XCTAssertEqual(out.frames, payloads)
            XCTAssertEqual(out.left, 0)
        }
        // An empty frame is a frame.
        var empty = ByteBuffer()
        empty.writeInteger(Int32(0), endianness: .big)
        XCTAssertEqual(try assemble(empty, chunks: [2]).frames, [ByteBuffer()])
    }

    /// Frames of `stream` by the simplest rule (size, check, payload, repeat), as a reference for
    /// `KafkaFrame.split` and the assembler: the payloads, the bytes left after the last whole frame,
    /// and whether a bad size prefix stopped it.
    private func referenceSplit(_ stream: ByteBuffer, maxFrameBytes: Int) -> (frames: [ByteBuffer], left: Int, failed: Bool) {
        var frames: [ByteBuffer] = []
        var rest = stream
        while let size = rest.getInteger(at: rest.readerIndex, endianness: .big, as: Int32.self) {
            if size < 0 || Int(size) > maxFrameBytes { return (frames, rest.readableBytes, true) }
            guard rest.readableBytes >= 4 + Int(size) else { break }
            rest.moveReaderIndex(forwardBy: 4)
            frames.append(rest.readSlice(length: Int(size))!)
        }
        return (frames, rest.readableBytes, false)
    }

    /// Differential: random streams (frames of random sizes, sometimes a bad or huge size prefix, cut
    /// off anywhere) through `KafkaFrame.split` whole and through the assembler in random pieces give
    /// the reference splitter's frames, leftover and verdict.
    func testSplitAndTheAssemblerAgreeWithAReferenceOnRandomStreams() {
        var rng = SeededRandom("FrameTests.testSplitAndTheAssemblerAgreeWithAReferenceOnRandomStreams")
        for _ in 0..<2_000 {
            var stream = ByteBuffer()
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: stream.writeInteger(Int32.random(in: Int32.min...(-1), using: &rng))
                case 1: stream.writeInteger(Int32.random(in: 4097...Int32.max, using: &rng))
                default:
                    let size = Int.random(in: 0...3000, using: &rng)
                    stream.writeInteger(Int32(size))
                    stream.writeRepeatingByte(UInt8.random(in: 0...255, using: &rng), count: size)
                }
            }
            if stream.readableBytes > 0 { stream.moveWriterIndex(to: Int.random(in: 0...stream.writerIndex, using: &rng)) }
            let expected = referenceSplit(stream, maxFrameBytes: 4096)

            var whole: [ByteBuffer] = []
            var wholeLeft = -1
            var wholeFailed = false
            do { wholeLeft = try KafkaFrame.split(stream, maxFrameBytes: 4096) { whole.append($0) } } catch { wholeFailed = true }
            XCTAssertEqual(whole, expected.frames)
            XCTAssertEqual(wholeFailed, expected.failed)
            if !expected.failed { XCTAssertEqual(wholeLeft, expected.left) }

            var assembler = KafkaFrameAssembler(maxFrameBytes: 4096)
            var frames: [ByteBuffer] = []
            var failed = false
            var rest = stream
            while rest.readableBytes > 0, !failed {
                let piece = rest.readSlice(length: min(Int.random(in: 1...700, using: &rng), rest.readableBytes))!
                do { try assembler.feed(piece) { frames.append($0) } } catch { failed = true }
            }
            XCTAssertEqual(frames, expected.frames)
            XCTAssertEqual(failed, expected.failed)
            if !failed { XCTAssertEqual(assembler.bufferedBytes, expected.left, "what is held is what the reference left") }
        }
    }

    func testAFrameWholeInOneReadIsNotCopied() throws {
        let (stream, _) = try threeFrames()
        var assembler = KafkaFrameAssembler(maxFrameBytes: 1 << 20)
        var starts: [UnsafeRawPointer?] = []
        try assembler.feed(stream) { frame in starts.append(frame.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }) }
        let base = try XCTUnwrap(stream.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) })
        XCTAssertEqual(starts.count, 3)
        XCTAssertEqual(starts.first, base + 4, "the first frame is a slice of the read")
    }

    func testAnAnnouncedLargeFrameReservesOnlyTheUpfrontBytes() throws {
        var assembler = KafkaFrameAssembler(maxFrameBytes: 100 << 20)
        var prefix = ByteBuffer()
        prefix.writeInteger(Int32(100 << 20), endianness: .big)
        prefix.writeRepeatingByte(7, count: 10)
        var frames = 0
        try assembler.feed(prefix) { _ in frames += 1 }
        XCTAssertEqual(frames, 0)
        XCTAssertEqual(assembler.bufferedBytes, 4 + 10)
        XCTAssertGreaterThanOrEqual(assembler.reservedBytes, 10)
        XCTAssertLessThanOrEqual(assembler.reservedBytes, KafkaFrameAssembler.upfrontBytes)
        // The rest arrives in 1 MiB reads and the frame comes out whole, in order.
        var sent = 10
        var last: ByteBuffer?
        while sent < 100 << 20 {
            var chunk = ByteBuffer()
            let n = min(1 << 20, (100 << 20) - sent)
            chunk.writeRepeatingByte(UInt8(truncatingIfNeeded: sent >> 20), count: n)
            sent += n
            try assembler.feed(chunk) { last = $0 }
            if last == nil, assembler.bufferedBytes > KafkaFrameAssembler.upfrontBytes {
                XCTAssertGreaterThanOrEqual(assembler.reservedBytes, 100 << 20, "past the upfront bytes, the whole frame is reserved at once")
            }
        }
        let frame = try XCTUnwrap(last)
        XCTAssertEqual(frame.readableBytes, 100 << 20)
        XCTAssertEqual(frame.getInteger(at: frame.readerIndex + 10 + 50 << 20, as: UInt8.self), 50)  // read k starts at 10 + k MiB
        XCTAssertEqual(assembler.bufferedBytes, 0)
    }

    func testABadSizeSplitAcrossReadsIsRefusedWhenItsPrefixIsComplete() throws {
        for (size, code) in [(Int32(1025), WireError.Code.frameTooLarge), (Int32(-5), .invalidLength)] {
            var stream = ByteBuffer()
            stream.writeInteger(size, endianness: .big)
            var assembler = KafkaFrameAssembler(maxFrameBytes: 1024)
            try assembler.feed(stream.readSlice(length: 3)!) { _ in XCTFail("no frame") }
            XCTAssertThrowsError(try assembler.feed(stream) { _ in XCTFail("no frame") }) { error in
                XCTAssertEqual((error as? WireError)?.code, code)
            }
            // It stays refused: what follows cannot be framed any more.
            let (valid, _) = try threeFrames()
            XCTAssertThrowsError(try assembler.feed(valid) { _ in XCTFail("no frame after a bad prefix") })
        }
        var exact = ByteBuffer()
        exact.writeInteger(Int32(1024), endianness: .big)
        exact.writeRepeatingByte(1, count: 1024)
        XCTAssertEqual(try assemble(exact, chunks: [1, 700], maxFrameBytes: 1024).frames.map(\.readableBytes), [1024])
    }

    func testTheHandlerPassesFramesOnAndStopsAtABadPrefix() throws {
        let channel = EmbeddedChannel(handler: KafkaFrameHandler(maxFrameBytes: 1 << 20))
        let (stream, payloads) = try threeFrames()
        var input = stream
        try channel.writeInbound(input.readSlice(length: 7)!)
        try channel.writeInbound(input)
        for payload in payloads { XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self), payload) }
        var bad = ByteBuffer()
        bad.writeInteger(Int32(2 << 20), endianness: .big)
        XCTAssertThrowsError(try channel.writeInbound(bad)) { error in
            XCTAssertEqual((error as? WireError)?.code, .frameTooLarge)
        }
        // Whatever follows is dropped: the connection is closing.
        XCTAssertNoThrow(try channel.writeInbound(stream))
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self))
        _ = try? channel.finish()
    }

    /// `split` over every prefix of a stream: the frames whole in it, and the rest counted as left over.
    func testSplitGivesTheWholeFramesOfEveryPrefix() throws {
        let (stream, payloads) = try threeFrames()
        let ends = payloads.reduce(into: [0]) { ends, payload in ends.append(ends.last! + 4 + payload.readableBytes) }
        for length in 0...stream.readableBytes {
            var out: [ByteBuffer] = []
            let left = try KafkaFrame.split(stream.getSlice(at: 0, length: length)!, maxFrameBytes: 1 << 20) { out.append($0) }
            let whole = ends.lastIndex { $0 <= length }!
            XCTAssertEqual(out, Array(payloads.prefix(whole)), "prefix of \(length)")
            XCTAssertEqual(left, length - ends[whole], "prefix of \(length)")
        }
        XCTAssertThrowsError(try KafkaFrame.payload(of: stream), "three frames are not one")
        XCTAssertThrowsError(try KafkaFrame.payload(of: stream.getSlice(at: 0, length: ends[1] - 1)!), "nor is part of one")
        XCTAssertEqual(try KafkaFrame.payload(of: stream.getSlice(at: 0, length: ends[1])!), payloads[0])
    }

    func testAnOversizedFrameIsRefusedBeforeItsPayloadArrives() {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(1025), endianness: .big)  // only the size prefix has arrived
        XCTAssertThrowsError(try KafkaFrame.split(buffer, maxFrameBytes: 1024) { _ in XCTFail("no frame") }) { error in
            XCTAssertEqual((error as? WireError)?.code, .frameTooLarge)
        }
        var exact = ByteBuffer()
        exact.writeInteger(Int32(1024), endianness: .big)
        exact.writeRepeatingByte(0, count: 1024)
        XCTAssertEqual(try KafkaFrame.payload(of: exact, maxFrameBytes: 1024).readableBytes, 1024)
    }

    func testTheDefaultLimitIsKafkasSocketRequestMaxBytes() {
        XCTAssertEqual(KafkaFrameHandler().maxFrameBytes, 100 * 1024 * 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32.max, endianness: .big)
        XCTAssertThrowsError(try KafkaFrame.split(buffer, maxFrameBytes: KafkaFrame.defaultMaxFrameBytes) { _ in })
    }

    func testANegativeFrameSizeIsRefused() {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(-5), endianness: .big)
        XCTAssertThrowsError(try KafkaFrame.split(buffer, maxFrameBytes: 1024) { _ in }) { error in
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
        let frame = try KafkaFrame.encodeRequest(R(), version: version, correlationId: 42, clientId: "eddy-test")
        let payload = try KafkaFrame.payload(of: frame, maxFrameBytes: 1 << 20)
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
        let frame = try KafkaFrame.encodeResponse(response, version: 3, correlationId: 9)
        let payload = try KafkaFrame.payload(of: frame, maxFrameBytes: 1 << 20)
        // ApiVersions answers with header v0: the correlation id and nothing else before the body.
        XCTAssertEqual(payload.getInteger(at: payload.readerIndex, endianness: .big, as: Int32.self), 9)
        let (correlationId, body) = try KafkaFrame.decodeResponse(payload, as: ApiVersionsResponse.self, version: 3)
        XCTAssertEqual(correlationId, 9)
        XCTAssertEqual(body, response)
    }

    func testTruncatedRequestHeadersAreTypedErrors() throws {
        let frame = try KafkaFrame.encodeRequest(MetadataRequest(), version: 12, correlationId: 1, clientId: "client")
        let payload = try KafkaFrame.payload(of: frame, maxFrameBytes: 1 << 20)
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
