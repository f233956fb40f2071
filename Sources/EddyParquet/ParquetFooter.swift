import EddyEngine

/// What a reader needs from a file's footer (parquet.thrift `FileMetaData`), read from untrusted
/// bytes: every offset and size is checked against the file before it is used.
struct ParquetFooter {
    struct Element {
        var name = ""
        var physical: Int32?
        var typeLength: Int32?
        var repetition: Int32?
        var children: Int32?
        var converted: Int32?
        var scale: Int32?
        var precision: Int32?
        var logical: Logical?
    }

    /// The logical types Eddy maps (others are read as their physical type or refused).
    enum Logical {
        case string, date, json, enumeration
        case decimal(scale: Int32, precision: Int32)
        case timestamp(unit: Int, adjustedToUTC: Bool)  // unit: 1 millis, 2 micros, 3 nanos
        case integer(bitWidth: Int8, signed: Bool)
        case other(Int16)
    }

    struct Chunk {
        var physical: Int32 = -1
        var codec: Int32 = 0
        var values: Int64 = 0
        var compressedBytes: Int64 = 0
        var dataPageOffset: Int64 = -1
        var dictionaryPageOffset: Int64?
        var path: [String] = []
    }

    struct RowGroup {
        var chunks: [Chunk] = []
        var rows: Int64 = 0
    }

    var elements: [Element] = []
    var rows: Int64 = 0
    var rowGroups: [RowGroup] = []

    /// The footer of `file`: checks the magic numbers at both ends and the footer length.
    static func read(_ file: [UInt8]) throws(ParquetError) -> ParquetFooter {
        guard file.count >= 12, Array(file[0..<4]) == Array("PAR1".utf8), Array(file[(file.count - 4)...]) == Array("PAR1".utf8) else {
            throw ParquetError("not a Parquet file (no PAR1 magic at both ends)")
        }
        let lengthStart = file.count - 8
        var length = 0
        for index in 0..<4 { length |= Int(file[lengthStart + index]) << (8 * index) }
        guard length > 0, length <= lengthStart - 4 else { throw ParquetError("the footer length \(length) does not fit the file's \(file.count) bytes") }
        var reader = ThriftReader(file, from: lengthStart - length, end: lengthStart)
        var footer = ParquetFooter()
        try reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (2, .list):
                let (_, count) = try reader.listHeader()
                for _ in 0..<count { footer.elements.append(try readElement(&reader)) }
            case (3, .i64): footer.rows = try reader.zigzag()
            case (4, .list):
                let (_, count) = try reader.listHeader()
                for _ in 0..<count { footer.rowGroups.append(try readRowGroup(&reader)) }
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        for group in footer.rowGroups {
            for chunk in group.chunks {
                let start = chunk.dictionaryPageOffset ?? chunk.dataPageOffset
                guard start >= 4, chunk.compressedBytes >= 0, start <= Int64(lengthStart), chunk.compressedBytes <= Int64(lengthStart) - start else {
                    throw ParquetError("column chunk \(chunk.path.joined(separator: ".")) lies outside the file")
                }
            }
        }
        return footer
    }

    private static func readElement(_ reader: inout ThriftReader) throws(ParquetError) -> Element {
        var element = Element()
        try reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .i32): element.physical = try reader.i32()
            case (2, .i32): element.typeLength = try reader.i32()
            case (3, .i32): element.repetition = try reader.i32()
            case (4, .binary): element.name = try reader.string()
            case (5, .i32): element.children = try reader.i32()
            case (6, .i32): element.converted = try reader.i32()
            case (7, .i32): element.scale = try reader.i32()
            case (8, .i32): element.precision = try reader.i32()
            case (10, .structure): element.logical = try readLogical(&reader)
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        return element
    }

    private static func readLogical(_ reader: inout ThriftReader) throws(ParquetError) -> Logical? {
        var logical: Logical?
        try reader.beginStruct()
        while let field = try reader.nextField() {
            guard field.type == .structure else {
                try reader.skip(field.type)
                continue
            }
            switch field.id {
            case 5:
                var scale: Int32 = 0, precision: Int32 = 0
                try reader.beginStruct()
                while let inner = try reader.nextField() {
                    switch (inner.id, inner.type) {
                    case (1, .i32): scale = try reader.i32()
                    case (2, .i32): precision = try reader.i32()
                    default: try reader.skip(inner.type)
                    }
                }
                reader.endStruct()
                logical = .decimal(scale: scale, precision: precision)
            case 8:
                var unit = 0, adjusted = false
                try reader.beginStruct()
                while let inner = try reader.nextField() {
                    switch (inner.id, inner.type) {
                    case (1, .booleanTrue), (1, .booleanFalse): adjusted = try reader.bool(inner.type)
                    case (2, .structure):
                        try reader.beginStruct()
                        while let choice = try reader.nextField() {
                            unit = Int(choice.id)
                            try reader.skip(choice.type)
                        }
                        reader.endStruct()
                    default: try reader.skip(inner.type)
                    }
                }
                reader.endStruct()
                logical = .timestamp(unit: unit, adjustedToUTC: adjusted)
            case 10:
                var width: Int8 = 0, signed = true
                try reader.beginStruct()
                while let inner = try reader.nextField() {
                    switch (inner.id, inner.type) {
                    case (1, .byte): width = Int8(bitPattern: try reader.byte())
                    case (2, .booleanTrue), (2, .booleanFalse): signed = try reader.bool(inner.type)
                    default: try reader.skip(inner.type)
                    }
                }
                reader.endStruct()
                logical = .integer(bitWidth: width, signed: signed)
            default:
                try reader.skip(field.type)
                switch field.id {
                case 1: logical = .string
                case 2: logical = .other(2)  // MAP
                case 3: logical = .other(3)  // LIST
                case 4: logical = .enumeration
                case 6: logical = .date
                case 12: logical = .json
                default: logical = .other(field.id)
                }
            }
        }
        reader.endStruct()
        return logical
    }

    private static func readRowGroup(_ reader: inout ThriftReader) throws(ParquetError) -> RowGroup {
        var group = RowGroup()
        try reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .list):
                let (_, count) = try reader.listHeader()
                for _ in 0..<count { group.chunks.append(try readChunk(&reader)) }
            case (3, .i64): group.rows = try reader.zigzag()
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        return group
    }

    private static func readChunk(_ reader: inout ThriftReader) throws(ParquetError) -> Chunk {
        var chunk = Chunk()
        var hasMetadata = false
        try reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .binary):
                throw ParquetError("column chunks in other files (file_path) are not supported")
            case (3, .structure):
                hasMetadata = true
                try reader.beginStruct()
                while let inner = try reader.nextField() {
                    switch (inner.id, inner.type) {
                    case (1, .i32): chunk.physical = try reader.i32()
                    case (3, .list):
                        let (_, count) = try reader.listHeader()
                        for _ in 0..<count { chunk.path.append(try reader.string()) }
                    case (4, .i32): chunk.codec = try reader.i32()
                    case (5, .i64): chunk.values = try reader.zigzag()
                    case (7, .i64): chunk.compressedBytes = try reader.zigzag()
                    case (9, .i64): chunk.dataPageOffset = try reader.zigzag()
                    case (11, .i64): chunk.dictionaryPageOffset = try reader.zigzag()
                    default: try reader.skip(inner.type)
                    }
                }
                reader.endStruct()
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        guard hasMetadata else { throw ParquetError("a column chunk has no metadata") }
        // Some writers set a dictionary offset of 0 for "none".
        if chunk.dictionaryPageOffset == 0 { chunk.dictionaryPageOffset = nil }
        return chunk
    }
}
