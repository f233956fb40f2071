/// An error decoding or encoding Kafka protocol bytes. What a peer or the disk can cause is thrown as
/// a `WireError`, never trapped. New codes can be added without breaking callers, who match on `code`.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: Hashable, Sendable {
            case truncated, invalidLength, invalidVarint, unexpectedNull, frameTooLarge
            case unsupportedVersion, unsupportedField, corruptRecordBatch, checksumMismatch
            case unsupportedMagic, compression, limitExceeded, invalidValue
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }
        /// Fewer bytes remain than a length, count or fixed-size value needs.
        public static let truncated = Code(.truncated)
        /// A length or count is negative (other than the null marker) or larger than what remains.
        public static let invalidLength = Code(.invalidLength)
        /// A varint runs past its maximum width.
        public static let invalidVarint = Code(.invalidVarint)
        /// A null where the schema does not allow one at this version.
        public static let unexpectedNull = Code(.unexpectedNull)
        /// A frame larger than the configured maximum request size.
        public static let frameTooLarge = Code(.frameTooLarge)
        /// A version outside a message's valid versions.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A field with a non-default value that the requested version cannot carry.
        public static let unsupportedField = Code(.unsupportedField)
        /// A record batch whose structure is inconsistent (lengths, counts, record framing).
        public static let corruptRecordBatch = Code(.corruptRecordBatch)
        /// A record batch whose CRC-32C does not match its bytes.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A record batch with a magic other than 2 (legacy message sets are rejected).
        public static let unsupportedMagic = Code(.unsupportedMagic)
        /// A compressed payload that the codec rejects, or an unknown codec.
        public static let compression = Code(.compression)
        /// A named limit (sizes, counts) was crossed.
        public static let limitExceeded = Code(.limitExceeded)
        /// A value outside its domain (an unknown enum value, say).
        public static let invalidValue = Code(.invalidValue)
        public var description: String { "\(raw)" }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
