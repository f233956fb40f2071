/// Options of `JSONLinesEncoder` and `CSVEncoder`.
public struct EncodeOptions: Sendable, Hashable {
    public enum TimestampFormat: String, Sendable, Hashable {
        /// `"2026-11-22T04:18:27.123Z"` (always UTC, always milliseconds; years outside 0000...9999
        /// are written in ISO-8601's expanded form, `+012026-...` / `-000001-...`).
        case iso8601
        /// Milliseconds since the epoch as a number (`1795321107123`).
        case epochMilliseconds
    }

    public enum LineEnding: String, Sendable, Hashable {
        case lf
        case crlf
    }

    public var timestampFormat: TimestampFormat
    /// JSON: write a field named `a.b` as `{"a":{"b":...}}`, the inverse of how `JSONRowDecoder` reads
    /// dotted names, so encoded lines decode back under the same schema. When false, `a.b` is a flat key.
    public var nestDottedNames: Bool
    /// CSV: `encode(_:into:)` writes the header line first when the output buffer is empty (a new
    /// file). Turn off and call `CSVEncoder.encodeHeader` to control it yourself.
    public var includeHeader: Bool
    /// CSV field separator (one ASCII byte other than `"`, CR or LF).
    public var delimiter: UInt8
    /// CSV record terminator (JSON lines always end with LF).
    public var lineEnding: LineEnding

    public init(
        timestampFormat: TimestampFormat = .iso8601,
        nestDottedNames: Bool = true,
        includeHeader: Bool = true,
        delimiter: UInt8 = UInt8(ascii: ","),
        lineEnding: LineEnding = .lf
    ) {
        self.timestampFormat = timestampFormat
        self.nestDottedNames = nestDottedNames
        self.includeHeader = includeHeader
        self.delimiter = delimiter
        self.lineEnding = lineEnding
    }
}
