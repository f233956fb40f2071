/// Why the JSON record being parsed failed. The parser throws it (typed throws: no allocation, no
/// existential) and `JSONRowDecoder` turns it into a `DecodeFailure`, building the message only then.
/// Offsets count bytes from the start of the record.
struct JSONFault: Error {
    enum Found: Sendable {
        case string, number, `true`, `false`, null, object, array

        /// The kind of JSON value starting with `byte`, if any starts so.
        init?(firstByte byte: UInt8) {
            switch byte {
            case UInt8(ascii: "\""): self = .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): self = .number
            case UInt8(ascii: "t"): self = .true
            case UInt8(ascii: "f"): self = .false
            case UInt8(ascii: "n"): self = .null
            case UInt8(ascii: "{"): self = .object
            case UInt8(ascii: "["): self = .array
            default: return nil
            }
        }
    }

    enum Kind: Sendable {
        case malformed(StaticString)
        case invalidUTF8(StaticString)
        case tooDeep
        case notAnObject(Found)
        case mismatch(column: Int, found: Found, detail: MismatchDetail)
        case objectExpected(node: Int, found: Found)
        case missing(column: Int, wasNull: Bool)
    }

    var kind: Kind
    var offset: Int
    /// End of the offending value's text (mismatches).
    var foundEnd: Int

    init(_ kind: Kind, at offset: Int, foundEnd: Int? = nil) {
        self.kind = kind
        self.offset = offset
        self.foundEnd = foundEnd ?? offset
    }
}
