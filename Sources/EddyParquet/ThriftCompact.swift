// Thrift's compact protocol, the encoding of Parquet's footer and page headers.
//
// Hand-written: no maintained Swift package on our mirror speaks Thrift, and Parquet needs only the
// compact protocol's structs, lists, integers, binaries and booleans, which fit in this file.
// Reference: Apache Thrift's "Thrift Compact protocol encoding" specification.

/// The element and field types of the compact protocol.
enum ThriftType: UInt8 {
    case stop = 0
    case booleanTrue = 1
    case booleanFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case structure = 12
}

/// Writes compact-protocol structs. Fields must be written in increasing id order within a struct
/// (`beginStruct`/`endStruct` keep the last id per nesting level).
struct ThriftWriter {
    private(set) var bytes: [UInt8] = []
    private var lastFieldIds: [Int16] = [0]

    mutating func beginStruct() { lastFieldIds.append(0) }

    mutating func endStruct() {
        bytes.append(ThriftType.stop.rawValue)
        lastFieldIds.removeLast()
    }

    private mutating func fieldHeader(_ id: Int16, _ type: ThriftType) {
        let delta = id - lastFieldIds[lastFieldIds.count - 1]
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            varint(zigzag(Int64(id)))
        }
        lastFieldIds[lastFieldIds.count - 1] = id
    }

    mutating func field(_ id: Int16, i32 value: Int32) {
        fieldHeader(id, .i32)
        varint(zigzag(Int64(value)))
    }

    mutating func field(_ id: Int16, i64 value: Int64) {
        fieldHeader(id, .i64)
        varint(zigzag(value))
    }

    mutating func field(_ id: Int16, i8 value: Int8) {
        fieldHeader(id, .byte)
        bytes.append(UInt8(bitPattern: value))
    }

    mutating func field(_ id: Int16, bool value: Bool) {
        fieldHeader(id, value ? .booleanTrue : .booleanFalse)
    }

    mutating func field(_ id: Int16, binary value: [UInt8]) {
        fieldHeader(id, .binary)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func field(_ id: Int16, string value: String) {
        field(id, binary: Array(value.utf8))
    }

    /// A struct field: `body` writes its fields.
    mutating func field(_ id: Int16, structure body: (inout ThriftWriter) -> Void) {
        fieldHeader(id, .structure)
        beginStruct()
        body(&self)
        endStruct()
    }

    /// A list field of `count` elements of `type`; `body` writes the elements (structs with
    /// `element(structure:)`, others with the element writers).
    mutating func field(_ id: Int16, list type: ThriftType, count: Int, _ body: (inout ThriftWriter) -> Void) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
        body(&self)
    }

    mutating func element(structure body: (inout ThriftWriter) -> Void) {
        beginStruct()
        body(&self)
        endStruct()
    }

    mutating func element(i32 value: Int32) { varint(zigzag(Int64(value))) }

    mutating func element(string value: String) {
        varint(UInt64(value.utf8.count))
        bytes += Array(value.utf8)
    }

    private func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}

/// Reads compact-protocol structs from untrusted bytes: every length and count is checked against
/// what remains, nesting is bounded, and any violation is a `ParquetError`, never a crash.
struct ThriftReader {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    private var lastFieldIds: [Int16] = [0]
    /// Structs nest at most this deep (a file could otherwise nest until the stack overflows).
    static let maxDepth = 64

    init(_ bytes: [UInt8], from start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        position = start
        self.end = end ?? bytes.count
    }

    private func corrupt(_ what: String) -> ParquetError { ParquetError("corrupt Thrift data at byte \(position): \(what)") }

    mutating func byte() throws(ParquetError) -> UInt8 {
        guard position < end else { throw corrupt("it ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64 else { throw corrupt("varint longer than 10 bytes") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func zigzag() throws(ParquetError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func i32() throws(ParquetError) -> Int32 {
        let value = try zigzag()
        guard let narrow = Int32(exactly: value) else { throw corrupt("i32 out of range") }
        return narrow
    }

    mutating func binary() throws(ParquetError) -> [UInt8] {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw corrupt("binary of \(length) bytes past the end") }
        defer { position += Int(length) }
        return Array(bytes[position..<(position + Int(length))])
    }

    mutating func string() throws(ParquetError) -> String {
        String(decoding: try binary(), as: UTF8.self)
    }

    mutating func beginStruct() throws(ParquetError) {
        guard lastFieldIds.count < Self.maxDepth else { throw corrupt("structs nested more than \(Self.maxDepth) deep") }
        lastFieldIds.append(0)
    }

    mutating func endStruct() { lastFieldIds.removeLast() }

    /// The next field's id and type; nil at the struct's end (its stop byte is consumed).
    mutating func nextField() throws(ParquetError) -> (id: Int16, type: ThriftType)? {
        let header = try byte()
        guard header != 0 else { return nil }
        guard let type = ThriftType(rawValue: header & 0x0F) else { throw corrupt("unknown type \(header & 0x0F)") }
        let id: Int16
        if header >> 4 != 0 {
            id = lastFieldIds[lastFieldIds.count - 1] + Int16(header >> 4)
        } else {
            guard let wide = Int16(exactly: try zigzag()) else { throw corrupt("field id out of range") }
            id = wide
        }
        lastFieldIds[lastFieldIds.count - 1] = id
        return (id, type)
    }

    /// A boolean field's value (carried by its type).
    func bool(_ type: ThriftType) throws(ParquetError) -> Bool {
        switch type {
        case .booleanTrue: true
        case .booleanFalse: false
        default: throw corrupt("expected a boolean, found \(type)")
        }
    }

    /// A list header: the element type and count (bounded by the bytes that remain: every element
    /// takes at least one byte, except booleans which take one too in lists).
    mutating func listHeader() throws(ParquetError) -> (type: ThriftType, count: Int) {
        let header = try byte()
        guard let type = ThriftType(rawValue: header & 0x0F) else { throw corrupt("unknown list element type") }
        var count = UInt64(header >> 4)
        if count == 15 { count = try varint() }
        guard count <= UInt64(end - position) else { throw corrupt("list of \(count) elements past the end") }
        return (type, Int(count))
    }

    /// Skips a value of `type` (fields a reader does not use).
    mutating func skip(_ type: ThriftType) throws(ParquetError) {
        switch type {
        case .stop: throw corrupt("stop where a value was expected")
        case .booleanTrue, .booleanFalse: break
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard end - position >= 8 else { throw corrupt("double past the end") }
            position += 8
        case .binary: _ = try binary()
        case .list, .set:
            let (element, count) = try listHeader()
            for _ in 0..<count {
                if element == .booleanTrue || element == .booleanFalse { _ = try byte() } else { try skip(element) }
            }
        case .map:
            let count = try varint()
            guard count <= UInt64(end - position) else { throw corrupt("map past the end") }
            if count > 0 {
                let types = try byte()
                guard let key = ThriftType(rawValue: types >> 4), let value = ThriftType(rawValue: types & 0x0F) else {
                    throw corrupt("unknown map types")
                }
                for _ in 0..<count {
                    try skip(key)
                    try skip(value)
                }
            }
        case .structure:
            try beginStruct()
            while let field = try nextField() { try skip(field.type) }
            endStruct()
        }
    }
}

/// A Parquet file that cannot be written or read: what is wrong, where.
public struct ParquetError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
