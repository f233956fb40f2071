import NIOCore

/// A struct of the Kafka protocol: a message body, a header, or a nested structure. One Swift type
/// covers every version; `version` selects which fields are on the wire and how they are framed.
public protocol KafkaStruct: Sendable, Equatable {
    init()
    init(from reader: inout WireReader, version: Int16) throws
    func encode(to writer: inout WireWriter, version: Int16) throws
}

/// A top-level schema from the official message definitions (message, header or data).
public protocol KafkaSchema: KafkaStruct {
    static var schemaName: String { get }
    static var validVersions: ClosedRange<Int16> { get }
    /// The first flexible version (compact strings and arrays, tagged fields), nil if none.
    static var firstFlexibleVersion: Int16? { get }
}

extension KafkaSchema {
    @inlinable public static func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }

    /// Decodes a whole body: the version must be valid and, unless `allowingTrailingBytes`, no
    /// bytes may be left over. Kafka's broker ignores trailing bytes, and some clients send them
    /// (librdkafka 2.16's all-topics Metadata v12 carries three), so a broker must allow them.
    public static func decode(_ buffer: ByteBuffer, version: Int16, allowingTrailingBytes: Bool = false) throws -> Self {
        var reader = WireReader(buffer)
        let value = try Self(from: &reader, version: version)
        guard allowingTrailingBytes || reader.remaining == 0 else {
            throw WireError(.invalidLength, "\(reader.remaining) bytes left over after \(schemaName) v\(version)")
        }
        return value
    }

    public func encoded(version: Int16) throws -> ByteBuffer {
        var writer = WireWriter()
        try encode(to: &writer, version: version)
        return writer.buffer
    }

    @usableFromInline static func checkVersion(_ version: Int16) throws {
        guard validVersions.contains(version) else {
            throw WireError(.unsupportedVersion, "\(schemaName) has no version \(version) (valid: \(validVersions))")
        }
    }
}

/// A request or response body of one API.
public protocol KafkaMessage: KafkaSchema {
    static var apiKey: ApiKey { get }
}

public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaResponse
    /// Versions past the last stable one (Kafka marks them `latestVersionUnstable`); never advertised.
    static var latestVersionUnstable: Bool { get }
}

extension KafkaRequest {
    /// Requests use header v2 in flexible versions, v1 otherwise (none of the APIs Eddy serves uses v0).
    public static func headerVersion(_ version: Int16) -> Int16 { isFlexible(version) ? 2 : 1 }
}

public protocol KafkaResponse: KafkaMessage {
    static func headerVersion(_ version: Int16) -> Int16
    /// Calls `visit` with every error code of the response, nested ones included (generated).
    func forEachErrorCode(_ visit: (Int16) -> Void)
}

extension KafkaResponse {
    /// Responses use header v1 in flexible versions, v0 otherwise.
    public static func headerVersion(_ version: Int16) -> Int16 { isFlexible(version) ? 1 : 0 }
}

extension ApiVersionsResponse {
    /// ApiVersions responses always use header v0, so that a client that sent a version the broker
    /// does not know can still read the error and the supported ranges (KIP-511).
    public static func headerVersion(_ version: Int16) -> Int16 { 0 }
}

extension WireError {
    @usableFromInline static func unsupportedField(_ field: String, _ schema: String, _ version: Int16) -> WireError {
        WireError(.unsupportedField, "\(schema).\(field) has a non-default value but does not exist in version \(version)")
    }

    @usableFromInline static func nullNotAllowed(_ field: String, _ schema: String, _ version: Int16) -> WireError {
        WireError(.unexpectedNull, "\(schema).\(field) cannot be null in version \(version)")
    }
}
