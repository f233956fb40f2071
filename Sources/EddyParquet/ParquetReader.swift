import EddyEngine
import NIOCore
import enum EddyWire.CompressionCodec

/// Reads Parquet files (Eddy's, pyarrow's, DuckDB's, Spark's) into record batches, one per row group.
///
/// Hand-written, as the writer is. Covered: flat schemas (a nested or repeated column is refused,
/// naming it); data pages V1 and V2; PLAIN and dictionary (PLAIN_DICTIONARY, RLE_DICTIONARY)
/// encodings, and RLE booleans; uncompressed, snappy, gzip and zstd. Other encodings (DELTA_*, BYTE_STREAM_SPLIT) and
/// codecs (LZ4, BROTLI) are refused with their names.
///
/// | Parquet | Eddy |
/// |---|---|
/// | BOOLEAN | BOOLEAN |
/// | INT32, INT64 (and INTEGER/INT_8…INT_64, UINT_8…UINT_32) | BIGINT |
/// | INT32 DATE | DATE |
/// | INT32/INT64/BYTE_ARRAY/FIXED_LEN_BYTE_ARRAY DECIMAL(p ≤ 18, s) | DECIMAL(s) |
/// | INT64 TIMESTAMP (millis, micros, nanos) | TIMESTAMP (milliseconds, floor) |
/// | FLOAT, DOUBLE | DOUBLE |
/// | BYTE_ARRAY (STRING, ENUM, JSON, or none: must be UTF-8) | TEXT |
///
/// Untrusted input: offsets, sizes, counts, levels and dictionary indices are checked; a damaged
/// file is a `ParquetError`, never a crash. Decompressed pages are bounded by `maxPageBytes`.
public struct ParquetReader {
    public let schema: Schema
    public var rowGroupCount: Int { footer.rowGroups.count }
    public var rowCount: Int64 { footer.rows }
    /// The most bytes one page may decompress to.
    public static let maxPageBytes = 256 << 20

    /// Writer options that keep what this file says about its data: its codec (of the first column
    /// chunk) and its decimals' precisions (compaction rewrites files with them).
    public var writerOptions: ParquetWriter.Options {
        var options = ParquetWriter.Options()
        if let codec = footer.rowGroups.first?.chunks.first?.codec,
           let known = ParquetWriter.Options.Codec.allCases.first(where: { $0.thriftValue == codec }) {
            options.codec = known
        }
        for element in footer.elements.dropFirst() {
            if case .decimal(_, let precision)? = element.logical, (1...18).contains(precision) {
                options.decimalPrecision[element.name] = Int(precision)
            } else if element.converted == 5, let precision = element.precision, (1...18).contains(precision) {
                options.decimalPrecision[element.name] = Int(precision)
            }
        }
        return options
    }

    private let file: [UInt8]
    private let footer: ParquetFooter
    private let columns: [ColumnDescription]

    struct ColumnDescription {
        let field: Field
        let physical: Int32
        let typeLength: Int32
        let optional: Bool
        /// TIMESTAMP: divide by this to get milliseconds (floor); 1 otherwise.
        let timeDivisor: Int64
        let unsigned: Bool
    }

    public init(_ file: [UInt8]) throws(ParquetError) {
        self.file = file
        footer = try ParquetFooter.read(file)
        guard let root = footer.elements.first, footer.elements.count >= 2 else { throw ParquetError("the file's schema has no columns") }
        guard Int(root.children ?? 0) == footer.elements.count - 1 else {
            throw ParquetError("nested columns are not supported (the schema is not flat)")
        }
        var columns: [ColumnDescription] = []
        for element in footer.elements.dropFirst() {
            columns.append(try Self.describe(element))
        }
        self.columns = columns
        schema = Schema(columns.map(\.field))
        for (index, group) in footer.rowGroups.enumerated() where group.chunks.count != columns.count {
            throw ParquetError("row group \(index) has \(group.chunks.count) column chunks for \(columns.count) columns")
        }
    }

    private static func describe(_ element: ParquetFooter.Element) throws(ParquetError) -> ColumnDescription {
        let name = element.name
        guard element.children == nil || element.children == 0 else { throw ParquetError("column \(name) is nested; only flat schemas are read") }
        guard let physical = element.physical else { throw ParquetError("column \(name) has no physical type") }
        let repetition = element.repetition ?? 1
        guard repetition != 2 else { throw ParquetError("column \(name) is repeated (a list); only flat schemas are read") }
        var divisor: Int64 = 1
        var unsigned = false
        let type: DataType
        func decimal(_ scale: Int32?, _ precision: Int32?) throws(ParquetError) -> DataType {
            let scale = Int(scale ?? 0), precision = Int(precision ?? 18)
            guard precision <= 18, scale >= 0, scale <= 18 else {
                throw ParquetError("column \(name) is DECIMAL(\(precision), \(scale)); Eddy's decimals hold 18 digits")
            }
            return .decimal(scale: scale)
        }
        switch element.logical {
        case .decimal(let scale, let precision)?:
            type = try decimal(scale, precision)
        case .timestamp(let unit, _)?:
            guard physical == 2 else { throw ParquetError("column \(name): a TIMESTAMP must be INT64") }
            divisor = unit == 3 ? 1_000_000 : unit == 2 ? 1000 : 1
            type = .timestamp
        case .date?:
            type = .date
        case .string?, .json?, .enumeration?:
            type = .utf8
        case .integer(let width, let signed)?:
            unsigned = !signed
            guard signed || width < 64 else { throw ParquetError("column \(name) is an unsigned 64-bit integer, which BIGINT cannot hold") }
            type = .int64
        case .other(let id)?:
            throw ParquetError("column \(name) has a logical type (\(id)) Eddy does not read")
        case nil:
            switch element.converted {
            case 5?: type = try decimal(element.scale, element.precision)
            case 6?: type = .date
            case 9?: type = .timestamp  // TIMESTAMP_MILLIS
            case 10?:
                divisor = 1000
                type = .timestamp  // TIMESTAMP_MICROS
            case 11?, 12?, 13?: unsigned = true; type = .int64  // UINT_8/16/32
            case 14?: throw ParquetError("column \(name) is UINT_64, which BIGINT cannot hold")
            default:
                switch physical {
                case 0: type = .bool
                case 1, 2: type = .int64
                case 3: throw ParquetError("column \(name) is INT96 (a legacy timestamp); write TIMESTAMP instead")
                case 4, 5: type = .float64
                case 6: type = .utf8
                default: throw ParquetError("column \(name) is FIXED_LEN_BYTE_ARRAY without a type Eddy reads")
                }
            }
        }
        // The physical type must carry the logical one.
        let fits: Bool
        switch type {
        case .bool: fits = physical == 0
        case .int64: fits = physical == 1 || physical == 2
        case .float64: fits = physical == 4 || physical == 5
        case .utf8: fits = physical == 6
        case .date: fits = physical == 1
        case .timestamp: fits = physical == 2
        case .decimal: fits = physical == 1 || physical == 2 || physical == 6 || physical == 7
        }
        guard fits else { throw ParquetError("column \(name): physical type \(physical) does not hold \(type)") }
        if physical == 7 {
            guard let length = element.typeLength, length > 0, length <= 16 else {
                throw ParquetError("column \(name): FIXED_LEN_BYTE_ARRAY of length \(element.typeLength ?? 0)")
            }
        }
        return ColumnDescription(field: Field(name, type, nullable: repetition == 1), physical: physical,
                                 typeLength: element.typeLength ?? 0, optional: repetition == 1, timeDivisor: divisor, unsigned: unsigned)
    }

    /// Row group `index` as a batch of `columns` (nil: all, in file order).
    public func readRowGroup(_ index: Int, columns wanted: [String]? = nil) throws(ParquetError) -> RecordBatch {
        guard index >= 0 && index < footer.rowGroups.count else { throw ParquetError("no row group \(index)") }
        let group = footer.rowGroups[index]
        guard group.rows >= 0, group.rows <= Int64(Int32.max) else { throw ParquetError("row group \(index) claims \(group.rows) rows") }
        let rows = Int(group.rows)
        var fields: [Field] = []
        var built: [Column] = []
        for (position, description) in columns.enumerated() where wanted?.contains(description.field.name) ?? true {
            var reader = ChunkReader(file: file, chunk: group.chunks[position], column: description, rows: rows)
            built.append(try reader.read())
            fields.append(description.field)
        }
        if fields.isEmpty { return RecordBatch(emptyColumnsWithCount: rows) }
        return RecordBatch(schema: Schema(fields), columns: built)
    }

    /// Every row group as one batch.
    public func readAll(columns wanted: [String]? = nil) throws(ParquetError) -> RecordBatch {
        var batches: [RecordBatch] = []
        for index in 0..<rowGroupCount { batches.append(try readRowGroup(index, columns: wanted)) }
        let fields = schema.fields.filter { wanted?.contains($0.name) ?? true }
        return batches.isEmpty ? .empty(Schema(fields)) : RecordBatch.concatenate(batches, schema: Schema(fields))
    }
}

/// Reads one column chunk: its pages in order until the row group's rows are read.
struct ChunkReader {
    let file: [UInt8]
    let chunk: ParquetFooter.Chunk
    let column: ParquetReader.ColumnDescription
    let rows: Int
    var dictionary: Column?
    /// Each data page's rows.
    var pages: [Column] = []

    init(file: [UInt8], chunk: ParquetFooter.Chunk, column: ParquetReader.ColumnDescription, rows: Int) {
        self.file = file
        self.chunk = chunk
        self.column = column
        self.rows = rows
    }

    private var name: String { column.field.name }

    mutating func read() throws(ParquetError) -> Column {
        guard chunk.physical == column.physical else {
            throw ParquetError("column \(name): the chunk's type \(chunk.physical) differs from the schema's \(column.physical)")
        }
        var position = Int(chunk.dictionaryPageOffset ?? chunk.dataPageOffset)
        let end = position + Int(chunk.compressedBytes)
        var read = 0
        while read < rows {
            guard position < end else { throw ParquetError("column \(name) ends after \(read) of \(rows) rows") }
            var headerReader = ThriftReader(file, from: position, end: end)
            let header = try PageHeaderReader.read(&headerReader)
            position = headerReader.position
            guard header.compressedBytes >= 0, header.compressedBytes <= end - position, header.uncompressedBytes >= 0,
                  header.uncompressedBytes <= ParquetReader.maxPageBytes else {
                throw ParquetError("column \(name): a page of \(header.compressedBytes) bytes does not fit its chunk")
            }
            let body = Array(file[position..<(position + header.compressedBytes)])
            position += header.compressedBytes
            switch header.type {
            case 2:  // dictionary
                let page = try decompress(body, uncompressed: header.uncompressedBytes)
                guard header.values >= 0 else { throw ParquetError("column \(name): negative dictionary size") }
                var values = ColumnBuilder(column.field.type)
                var cursor = 0
                try decodePlain(page, &cursor, page.count, count: header.values, into: &values)
                dictionary = values.finish()
            case 0, 3:  // data V1, V2
                let pageRows = header.values
                guard pageRows >= 0, pageRows <= rows - read else { throw ParquetError("column \(name): a page holds more rows than its row group") }
                pages.append(try readDataPage(header, body))
                read += pageRows
            default:
                continue  // index pages: skipped
            }
        }
        return pages.count == 1 ? pages[0] : Column.concatenate(pages, type: column.field.type)
    }

    /// A data page's rows: its present values placed among its NULLs.
    private mutating func readDataPage(_ header: PageHeaderReader.Header, _ body: [UInt8]) throws(ParquetError) -> Column {
        let count = header.values
        var page: [UInt8]
        var cursor = 0
        var levels: [UInt32]?
        if header.type == 3 {
            // V2: levels uncompressed in front, then the (maybe compressed) values.
            let levelBytes = header.definitionLevelsBytes + header.repetitionLevelsBytes
            guard header.repetitionLevelsBytes == 0 else { throw ParquetError("column \(name) has repetition levels (a list)") }
            guard levelBytes >= 0, levelBytes <= body.count else { throw ParquetError("column \(name): V2 levels past the page") }
            if column.optional {
                var decoder = RLEHybridDecoder(body, from: 0, end: header.definitionLevelsBytes, bitWidth: 1)
                levels = try decoder.decode(count: count)
            }
            let values = Array(body[levelBytes...])
            page = header.isCompressed ? try decompress(values, uncompressed: header.uncompressedBytes - levelBytes) : values
        } else {
            page = try decompress(body, uncompressed: header.uncompressedBytes)
            if column.optional {
                guard page.count >= 4 else { throw ParquetError("column \(name): definition levels past the page") }
                let length = Int(page[0]) | Int(page[1]) << 8 | Int(page[2]) << 16 | Int(page[3]) << 24
                guard length <= page.count - 4 else { throw ParquetError("column \(name): definition levels past the page") }
                var decoder = RLEHybridDecoder(page, from: 4, end: 4 + length, bitWidth: 1)
                levels = try decoder.decode(count: count)
                cursor = 4 + length
            }
        }
        let present = levels.map { $0.reduce(0) { $0 + Int($1) } } ?? count
        if let levels, levels.contains(where: { $0 > 1 }) { throw ParquetError("column \(name): a definition level above 1") }
        let decoded: Column
        switch header.encoding {
        case 0:
            var values = ColumnBuilder(column.field.type)
            try decodePlain(page, &cursor, page.count, count: present, into: &values)
            decoded = values.finish()
        case 3 where column.physical == 0:
            // Booleans in the RLE / bit-packed hybrid (width 1) after a 4-byte length (pages V2).
            guard page.count - cursor >= 4 else { throw ParquetError("column \(name): RLE booleans past the page") }
            let length = Int(page[cursor]) | Int(page[cursor + 1]) << 8 | Int(page[cursor + 2]) << 16 | Int(page[cursor + 3]) << 24
            guard length <= page.count - cursor - 4 else { throw ParquetError("column \(name): RLE booleans past the page") }
            var decoder = RLEHybridDecoder(page, from: cursor + 4, end: cursor + 4 + length, bitWidth: 1)
            decoded = .bool(try decoder.decode(count: present).map { $0 == 1 })
        case 2, 8:
            guard let dictionary else { throw ParquetError("column \(name): a dictionary-encoded page without a dictionary") }
            guard cursor < page.count else { throw ParquetError("column \(name): dictionary indices missing") }
            let width = Int(page[cursor])
            var decoder = RLEHybridDecoder(page, from: cursor + 1, end: page.count, bitWidth: width)
            let indices = try decoder.decode(count: present)
            for index in indices where Int(index) >= dictionary.count {
                throw ParquetError("column \(name): dictionary index \(index) of \(dictionary.count)")
            }
            decoded = dictionary.take(indices.map { Int32(bitPattern: $0) })
        default:
            throw ParquetError("column \(name) uses encoding \(Self.encodingNames[header.encoding] ?? "\(header.encoding)"), which Eddy does not read yet")
        }
        guard decoded.count == present else { throw ParquetError("column \(name): \(decoded.count) values for \(present) present rows") }
        guard let levels, present < count else { return decoded }
        // Rows in page order: a NULL row takes any present value's place (0), masked by validity.
        var rows: [Int32] = []
        rows.reserveCapacity(count)
        var validity = Bitmap(count: count, value: false)
        var next: Int32 = 0
        for (row, level) in levels.enumerated() {
            if level == 1 {
                validity.set(row)
                rows.append(next)
                next += 1
            } else {
                rows.append(0)
            }
        }
        if present == 0 {
            var nulls = ColumnBuilder(column.field.type)
            for _ in 0..<count { nulls.appendNull() }
            return nulls.finish()
        }
        var scattered = decoded.take(rows)
        scattered.validity = validity
        return scattered
    }

    static let encodingNames: [Int32: String] = [3: "RLE", 4: "BIT_PACKED", 5: "DELTA_BINARY_PACKED", 6: "DELTA_LENGTH_BYTE_ARRAY",
                                                 7: "DELTA_BYTE_ARRAY", 9: "BYTE_STREAM_SPLIT"]

    /// `count` PLAIN values from `page[cursor..<end]`.
    private func decodePlain(_ page: [UInt8], _ cursor: inout Int, _ end: Int, count: Int, into values: inout ColumnBuilder) throws(ParquetError) {
        func need(_ bytes: Int) throws(ParquetError) {
            guard bytes >= 0, bytes <= end - cursor else { throw ParquetError("column \(name): values past the end of the page") }
        }
        func int(_ width: Int) -> Int64 {
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(page[cursor + index]) << (8 * index) }
            cursor += width
            return width == 4 ? Int64(Int32(truncatingIfNeeded: value)) : Int64(bitPattern: value)
        }
        switch column.physical {
        case 0:
            try need((count + 7) / 8)
            for index in 0..<count { values.append(page[cursor + index / 8] >> (index % 8) & 1 == 1) }
            cursor += (count + 7) / 8
        case 1:
            try need(count * 4)
            for _ in 0..<count {
                var value = int(4)
                if column.unsigned { value = Int64(UInt32(truncatingIfNeeded: value)) }
                values.append(value)
            }
        case 2:
            try need(count * 8)
            for _ in 0..<count {
                let value = int(8)
                values.append(column.timeDivisor == 1 ? value : floorDivMod(value, column.timeDivisor).0)
            }
        case 4:
            try need(count * 4)
            for _ in 0..<count { values.append(Double(Float(bitPattern: UInt32(truncatingIfNeeded: int(4))))) }
        case 5:
            try need(count * 8)
            for _ in 0..<count { values.append(Double(bitPattern: UInt64(bitPattern: int(8)))) }
        case 6:
            for _ in 0..<count {
                try need(4)
                let length = Int(int(4) & 0xFFFF_FFFF)
                try need(length)
                let bytes = page[cursor..<(cursor + length)]
                cursor += length
                if case .decimal = column.field.type {
                    values.append(try bigEndianDecimal(bytes))
                } else {
                    guard let text = String(validating: bytes, as: UTF8.self) else { throw ParquetError("column \(name) holds text that is not UTF-8") }
                    values.append(text)
                }
            }
        case 7:
            let length = Int(column.typeLength)
            try need(count * length)
            for _ in 0..<count {
                values.append(try bigEndianDecimal(page[cursor..<(cursor + length)]))
                cursor += length
            }
        default:
            throw ParquetError("column \(name): physical type \(column.physical) is not read")
        }
    }

    /// A big-endian two's-complement unscaled decimal that must fit Int64.
    private func bigEndianDecimal(_ bytes: ArraySlice<UInt8>) throws(ParquetError) -> Int64 {
        guard !bytes.isEmpty else { return 0 }
        let negative = bytes.first! & 0x80 != 0
        var significant = bytes
        while significant.count > 8, significant.first == (negative ? 0xFF : 0x00) { significant = significant.dropFirst() }
        guard significant.count <= 8 else { throw ParquetError("column \(name): a decimal does not fit 18 digits") }
        var value: UInt64 = negative ? ~0 : 0
        for byte in significant { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }

    private func decompress(_ body: [UInt8], uncompressed: Int) throws(ParquetError) -> [UInt8] {
        let codec: CompressionCodec
        switch chunk.codec {
        case 0: return body
        case 1: codec = .snappy
        case 2: codec = .gzip
        case 6: codec = .zstd
        default:
            let names = [3: "LZO", 4: "BROTLI", 5: "LZ4", 7: "LZ4_RAW"]
            throw ParquetError("column \(name) is compressed with \(names[Int(chunk.codec)] ?? "codec \(chunk.codec)"), which Eddy does not read")
        }
        do {
            let output = try codec.decompress(ByteBuffer(bytes: body), maxDecompressedBytes: min(ParquetReader.maxPageBytes, max(uncompressed, 0)))
            return Array(buffer: output)
        } catch {
            throw ParquetError("column \(name): cannot decompress a page: \(error)")
        }
    }
}

/// Page headers (parquet.thrift `PageHeader`), the fields a reader uses.
enum PageHeaderReader {
    struct Header {
        var type: Int32 = -1
        var uncompressedBytes = 0
        var compressedBytes = 0
        var values = 0
        var encoding: Int32 = 0
        var definitionLevelsBytes = 0
        var repetitionLevelsBytes = 0
        var isCompressed = true
    }

    static func read(_ reader: inout ThriftReader) throws(ParquetError) -> Header {
        var header = Header()
        try reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .i32): header.type = try reader.i32()
            case (2, .i32): header.uncompressedBytes = Int(try reader.i32())
            case (3, .i32): header.compressedBytes = Int(try reader.i32())
            case (5, .structure), (7, .structure), (8, .structure):
                try reader.beginStruct()
                while let inner = try reader.nextField() {
                    switch (field.id, inner.id, inner.type) {
                    case (_, 1, .i32): header.values = Int(try reader.i32())
                    case (5, 2, .i32), (7, 2, .i32): header.encoding = try reader.i32()
                    case (8, 4, .i32): header.encoding = try reader.i32()
                    case (8, 5, .i32): header.definitionLevelsBytes = Int(try reader.i32())
                    case (8, 6, .i32): header.repetitionLevelsBytes = Int(try reader.i32())
                    case (8, 7, .booleanTrue), (8, 7, .booleanFalse): header.isCompressed = try reader.bool(inner.type)
                    default: try reader.skip(inner.type)
                    }
                }
                reader.endStruct()
            default: try reader.skip(field.type)
            }
        }
        reader.endStruct()
        return header
    }
}
