/// Why one record could not be decoded. Decoders never throw for bad data: a bad record appends no row
/// and yields one `DecodeFailure`, so a source can count it, log `reason` and dead-letter the raw bytes
/// (`byteRange` indexes the buffer the caller passed in).
public struct DecodeFailure: Sendable, Hashable, CustomStringConvertible {
    /// A short machine-readable class of failure, stable for metrics and dead-letter headers.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The bytes are not valid JSON (syntax error, truncated record, trailing garbage).
        case malformedJSON
        /// The bytes are not valid CSV (unterminated quote, garbage after a closing quote).
        case malformedCSV
        /// A value is present but cannot be converted to the field's type.
        case typeMismatch
        /// A NOT NULL field is absent, JSON `null`, or an empty CSV field.
        case missingField
        /// A decoded string is not valid UTF-8 (or a `\u` escape is a lone surrogate).
        case invalidUTF8
        /// The record is valid JSON but not an object.
        case notAnObject
        /// The record exceeds the decoder's `maxRecordBytes`.
        case tooLarge
        /// The record nests objects/arrays deeper than the decoder's `maxDepth`.
        case tooDeep
        /// A CSV record has more or fewer fields than the header (or the schema).
        case fieldCount
    }

    /// 1-based line of the record in the caller's numbering, when decoding lines (`nil` for `appendRecord`).
    public var line: Int?
    /// The record's bytes within the buffer passed to the decoder (without its line terminator).
    public var byteRange: Range<Int>?
    public var code: Code
    /// A human-readable explanation. Byte positions in it count from the start of the record.
    public var reason: String

    public init(line: Int? = nil, byteRange: Range<Int>? = nil, code: Code, reason: String) {
        self.line = line
        self.byteRange = byteRange
        self.code = code
        self.reason = reason
    }

    public var description: String {
        (line.map { "line \($0): " } ?? "") + reason
    }
}
