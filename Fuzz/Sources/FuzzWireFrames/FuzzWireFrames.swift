import CFuzzDriver
import EddyWire
import NIOCore

/// Frame + request header + body: the input is a byte stream as a client would send it, read the
/// way a connection reads it: through `KafkaFrameAssembler` in chunks whose sizes come from the input
/// (its length and last byte seed them, so the whole input stays the stream and the client captures
/// in the corpus still parse), so splits inside size prefixes, across frames and byte by byte get
/// explored. Every frame found is decoded with the header its API and version call for and
/// with the body's own type; every body that decodes must re-encode and decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    var stream = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    var state = (UInt64(count) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(start[count - 1]) | 1
    var assembler = KafkaFrameAssembler(maxFrameBytes: 1 << 20)
    while stream.readableBytes > 0 {
        // xorshift, the same for the same input: chunk sizes up to 1, 2, 4, … 1024 bytes, so single
        // bytes are as common as large reads.
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let size = 1 + Int((state >> 4) % (UInt64(1) << (state % 11)))
        let chunk = stream.readSlice(length: min(size, stream.readableBytes))!
        do {
            try assembler.feed(chunk) { payload in
                guard let frame = try? KafkaFrame.decodeRequest(payload), let key = frame.apiKey else { return }
                checkBody(key.requestType, frame)
                checkBody(key.responseType, frame)
            }
        } catch {
            break  // a bad size prefix: a connection would close here
        }
    }
    return 0
}

private func checkBody<M: KafkaMessage>(_: M.Type, _ frame: RequestFrame) {
    let version = frame.header.requestApiVersion
    guard M.validVersions.contains(version), let body = try? M.decode(frame.body, version: version) else { return }
    guard let bytes = try? body.encoded(version: version), let again = try? M.decode(bytes, version: version) else {
        fatalError("\(M.schemaName) v\(version) decoded but does not re-encode: \(body)")
    }
    precondition(again == body, "\(M.schemaName) v\(version) changed in a round trip")
}

/// SwiftPM links an executable's entry point as `FuzzWireFrames_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzWireFrames_main")
public func fuzzWireFramesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzWireFrames(data!, size) }
}
