import NIOCore

/// Kafka frames on a connection: a big-endian int32 size, then that many bytes. A request frame
/// holds a request header (v1 or v2, chosen by the API and version it names) and the body; a
/// response frame holds a response header (v0 or v1) and the body.
public enum KafkaFrame {
    /// Kafka's `socket.request.max.bytes` default: 100 MiB.
    public static let defaultMaxFrameBytes = 104_857_600

    /// Takes one whole frame's payload (without its size prefix) off the front of `buffer`, or
    /// returns nil while the frame is incomplete. A negative size, or one above `maxFrameBytes`, is
    /// an error before any of the payload is buffered: the caller closes the connection, as Kafka does.
    public static func next(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return nil }
        guard size >= 0 else { throw WireError(.invalidLength, "frame size \(size) is negative") }
        guard Int(size) <= maxFrameBytes else {
            throw WireError(.frameTooLarge, "frame of \(size) bytes is larger than the maximum of \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))!
    }

    /// Splits a frame's payload into its request header and body. The header version follows from
    /// the API key and version; for an API Eddy does not know, header v1 is assumed, which is enough
    /// to read the correlation id and answer with an error.
    public static func decodeRequest(_ payload: ByteBuffer) throws -> RequestFrame {
        guard let key = payload.getInteger(at: payload.readerIndex, endianness: .big, as: Int16.self),
              let version = payload.getInteger(at: payload.readerIndex + 2, endianness: .big, as: Int16.self) else {
            throw WireError(.truncated, "request frame of \(payload.readableBytes) bytes has no header")
        }
        let headerVersion = ApiKey(rawValue: key)?.requestType.headerVersion(version) ?? 1
        var reader = WireReader(payload)
        let header = try RequestHeader(from: &reader, version: headerVersion)
        return RequestFrame(header: header, headerVersion: headerVersion, body: reader.buffer)
    }

    /// Encodes a request with its header and size prefix, as a client sends it.
    public static func encodeRequest<R: KafkaRequest>(
        _ request: R, version: Int16, correlationId: Int32, clientId: String?
    ) throws -> ByteBuffer {
        var header = RequestHeader()
        header.requestApiKey = R.apiKey.rawValue
        header.requestApiVersion = version
        header.correlationId = correlationId
        header.clientId = clientId
        return try sized { w in
            try header.encode(to: &w, version: R.headerVersion(version))
            try request.encode(to: &w, version: version)
        }
    }

    /// Encodes a response with its header and size prefix, as a broker sends it.
    public static func encodeResponse<R: KafkaResponse>(_ response: R, version: Int16, correlationId: Int32) throws -> ByteBuffer {
        var header = ResponseHeader()
        header.correlationId = correlationId
        return try sized { w in
            try header.encode(to: &w, version: R.headerVersion(version))
            try response.encode(to: &w, version: version)
        }
    }

    /// Decodes a response frame's payload (without its size prefix) as a client reads it.
    public static func decodeResponse<R: KafkaResponse>(_ payload: ByteBuffer, as: R.Type, version: Int16) throws -> (correlationId: Int32, body: R) {
        var reader = WireReader(payload)
        let header = try ResponseHeader(from: &reader, version: R.headerVersion(version))
        return (header.correlationId, try R.decode(reader.buffer, version: version))
    }

    private static func sized(_ body: (inout WireWriter) throws -> Void) throws -> ByteBuffer {
        var w = WireWriter()
        w.int32(0)
        try body(&w)
        w.buffer.setInteger(Int32(w.buffer.readableBytes - 4), at: w.buffer.readerIndex, endianness: .big)
        return w.buffer
    }
}

/// A request as it arrives: its header, the header version it was read with, and the body bytes,
/// which the handler decodes with the API's own type once it has checked the version.
public struct RequestFrame: Sendable, Equatable {
    public var header: RequestHeader
    public var headerVersion: Int16
    public var body: ByteBuffer

    public var apiKey: ApiKey? { ApiKey(rawValue: header.requestApiKey) }
}

/// The NIO face of `KafkaFrame.next`: turns a byte stream into frame payloads.
public struct KafkaFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = KafkaFrame.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try KafkaFrame.next(from: &buffer, maxFrameBytes: maxFrameBytes) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
