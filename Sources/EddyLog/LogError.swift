/// An error from the log. What a client, a configuration or the disk can cause is thrown as a
/// `LogError`, never trapped. New codes can be added without breaking callers, who match on `code`.
public struct LogError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: Hashable, Sendable {
            case offsetOutOfRange, messageTooLarge, corruptMessage, io, invalidRecord, closed, limitExceeded
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }
        /// A read below `logStartOffset` or past `logEndOffset` (Kafka's OFFSET_OUT_OF_RANGE).
        public static let offsetOutOfRange = Code(.offsetOutOfRange)
        /// A batch larger than `max.message.bytes` (MESSAGE_TOO_LARGE).
        public static let messageTooLarge = Code(.messageTooLarge)
        /// A batch whose bytes fail their checks: CRC, magic, lengths (CORRUPT_MESSAGE); or stored
        /// bytes that do not decode, or segments whose offsets overlap.
        public static let corruptMessage = Code(.corruptMessage)
        /// A system call failed (KAFKA_STORAGE_ERROR). After a failed fsync or an unrepairable write
        /// the log refuses further calls with this code until it is reopened.
        public static let io = Code(.io)
        /// A well-formed batch the log does not accept: no records, or a record count that does not
        /// match its offset range (INVALID_RECORD).
        public static let invalidRecord = Code(.invalidRecord)
        /// The log was closed or deleted.
        public static let closed = Code(.closed)
        /// A named limit was reached (the cleaner's key map, for one).
        public static let limitExceeded = Code(.limitExceeded)
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
