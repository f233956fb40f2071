import NIOCore

/// Kafka frames on a connection: a big-endian int32 size, then that many bytes. A request frame
/// holds a request header (v1 or v2, chosen by the API and version it names) and the body; a
/// response frame holds a response header (v0 or v1) and the body.
public enum KafkaFrame {
    /// Kafka's `socket.request.max.bytes` default: 100 MiB.
    public static let defaultMaxFrameBytes = 104_857_600

    /// Cuts a whole buffer (a capture file, requests encoded back to back) into frame payloads
    /// (without their size prefixes) through `KafkaFrameAssembler`, the one frame decoder, fed the
    /// buffer as one read: `body` gets each payload in order, as a slice of `stream` (no copy).
    /// Returns how many bytes at the end do not make a whole frame. A negative size, or one above
    /// `maxFrameBytes`, throws once the frames before it have been handed over.
    @discardableResult
    public static func split(_ stream: ByteBuffer, maxFrameBytes: Int, _ body: (ByteBuffer) throws -> Void) throws -> Int {
        var assembler = KafkaFrameAssembler(maxFrameBytes: maxFrameBytes)
        try assembler.feed(stream, body)
        return assembler.bufferedBytes
    }

    /// The payload of `frame`, which must hold exactly one whole frame (an encoded request or
    /// response, as `encodeRequest`/`encodeResponse` make them).
    public static func payload(of frame: ByteBuffer, maxFrameBytes: Int = defaultMaxFrameBytes) throws -> ByteBuffer {
        var payloads: [ByteBuffer] = []
        let trailing = try split(frame, maxFrameBytes: maxFrameBytes) { payloads.append($0) }
        guard payloads.count == 1, trailing == 0, let payload = payloads.first else {
            throw WireError(.invalidLength, "expected one whole frame in \(frame.readableBytes) bytes, found \(payloads.count) "
                + "and \(trailing) bytes of an incomplete one")
        }
        return payload
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

/// Cuts a connection's byte stream into frame payloads with at most one copy of each payload byte.
///
/// NIO's `ByteToMessageHandler` gathers reads into one growing buffer and compacts it; with
/// megabyte-sized produce requests that cost two copies of every byte (into the buffer, then the
/// compaction, which copies the whole buffer while a sliced frame still shares it). Here a frame that
/// lies whole in one read is a slice of that read (no copy); a frame that spans reads is copied once
/// into a buffer allocated for it when its size prefix arrives. A frame larger than `upfrontBytes`
/// gets that much first and its whole size once that much has arrived (so a peer that only announces
/// a large frame cannot make the broker reserve it, and the buffer is resized once, not doubled
/// step by step). Written by hand: NIO has no decoder that allocates per frame.
///
/// A negative size, or one above `maxFrameBytes`, throws as soon as the size prefix is complete; the
/// caller closes the connection (as Kafka does). The assembler then refuses further input.
public struct KafkaFrameAssembler {
    public let maxFrameBytes: Int
    /// The most a frame's buffer takes before its bytes arrive: a produce request of librdkafka's
    /// default 1 MiB batch fits.
    public static let upfrontBytes = 2 << 20

    /// The size prefix read so far (`prefixCount` of its 4 bytes), big-endian.
    private var prefix: UInt32 = 0
    private var prefixCount = 0
    /// The frame being filled, and how many of its bytes are still to come.
    private var partial: ByteBuffer?
    private var missing = 0
    /// A bad size prefix was seen: the stream cannot be followed any further.
    private var failure: WireError?

    public init(maxFrameBytes: Int = KafkaFrame.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes held for a frame that is not complete yet (its size prefix included).
    public var bufferedBytes: Int { partial.map { 4 + $0.readableBytes } ?? prefixCount }
    /// Memory held for the frame being filled.
    public var reservedBytes: Int { partial?.capacity ?? 0 }

    /// Takes all of `chunk`; calls `emit` with each frame payload (without its size prefix) it completes.
    public mutating func feed(_ chunk: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator(),
                              _ emit: (ByteBuffer) throws -> Void) throws {
        if let failure { throw failure }
        var chunk = chunk
        while chunk.readableBytes > 0 {
            if var frame = partial {
                partial = nil  // keeps `frame` uniquely referenced, so the write below does not copy it
                let n = min(missing, chunk.readableBytes)
                if frame.writableBytes < n { frame.reserveCapacity(frame.writerIndex + missing) }
                var piece = chunk.readSlice(length: n)!
                frame.writeBuffer(&piece)
                missing -= n
                if missing == 0 { try emit(frame) } else { partial = frame }
                continue
            }
            let size: Int
            if prefixCount == 0, let whole = chunk.readInteger(endianness: .big, as: Int32.self) {
                size = Int(whole)
            } else {
                while prefixCount < 4, let byte = chunk.readInteger(as: UInt8.self) {
                    prefix = prefix << 8 | UInt32(byte)
                    prefixCount += 1
                }
                guard prefixCount == 4 else { return }
                size = Int(Int32(bitPattern: prefix))
                prefix = 0
                prefixCount = 0
            }
            guard size >= 0 else { throw fail(WireError(.invalidLength, "frame size \(size) is negative")) }
            guard size <= maxFrameBytes else {
                throw fail(WireError(.frameTooLarge, "frame of \(size) bytes is larger than the maximum of \(maxFrameBytes)"))
            }
            if chunk.readableBytes >= size {
                try emit(chunk.readSlice(length: size)!)
            } else {
                partial = allocator.buffer(capacity: min(size, Self.upfrontBytes))
                missing = size
            }
        }
    }

    private mutating func fail(_ error: WireError) -> WireError {
        failure = error
        partial = nil
        return error
    }
}

/// The NIO face of `KafkaFrameAssembler`: reads in, frame payloads out. After a bad size prefix it
/// fires the error and drops whatever else the connection sends (the error closes it).
public final class KafkaFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var assembler: KafkaFrameAssembler
    private var failed = false
    /// Frames of the current read, passed on once the assembler is done with it (so a handler
    /// further on that reads synchronously cannot re-enter the assembler mid-feed).
    private var ready: [ByteBuffer] = []

    public init(maxFrameBytes: Int = KafkaFrame.defaultMaxFrameBytes) {
        assembler = KafkaFrameAssembler(maxFrameBytes: maxFrameBytes)
    }

    public var maxFrameBytes: Int { assembler.maxFrameBytes }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var frames = ready
        ready = []
        defer {
            frames.removeAll(keepingCapacity: true)
            ready = frames
        }
        var failure: (any Error)?
        do {
            try assembler.feed(unwrapInboundIn(data), allocator: context.channel.allocator) { frames.append($0) }
        } catch {
            failure = error
            failed = true
        }
        for frame in frames { context.fireChannelRead(wrapInboundOut(frame)) }
        if let failure { context.fireErrorCaught(failure) }
    }
}
