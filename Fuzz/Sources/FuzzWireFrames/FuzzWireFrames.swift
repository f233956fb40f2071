import CFuzzDriver
import EddyWire
import NIOCore

/// Frame + request header + body: the input is a byte stream as a client would send it. Every
/// frame found is decoded with the header its API and version call for and with the body's own
/// type; every body that decodes must re-encode and decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireFrames(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var stream = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    while let payload = try? KafkaFrame.next(from: &stream, maxFrameBytes: 1 << 20) {
        guard let frame = try? KafkaFrame.decodeRequest(payload), let key = frame.apiKey else { continue }
        checkBody(key.requestType, frame)
        checkBody(key.responseType, frame)
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
