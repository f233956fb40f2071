import EddyEngine
import EddyCore
import enum EddyWire.CompressionCodec
import enum EddyWire.SnappyCodec
import NIOCore

/// Writes record batches as one Parquet file (format 2.x footer, data page V1), readable by pyarrow,
/// DuckDB and Spark without options.
///
/// Hand-written: no maintained Swift Parquet library exists on our package mirror. Covered: flat
/// schemas; row groups of `rowGroupRows`; column chunks of V1 data pages of about `pageBytes`;
/// PLAIN encoding, and dictionary encoding (a PLAIN dictionary page, RLE_DICTIONARY data pages) for
/// TEXT columns whose distinct values stay under `dictionaryBytesMax`; definition levels in the
/// RLE / bit-packing hybrid; statistics (min, max, null count) per chunk and page; type-defined
/// column orders; snappy, gzip, zstd or no compression (Debian's libraries through EddyWire's codecs).
///
/// | Eddy type | Parquet physical | logical type |
/// |---|---|---|
/// | BOOLEAN | BOOLEAN | |
/// | BIGINT | INT64 | INTEGER(64, signed) |
/// | DOUBLE | DOUBLE | |
/// | TEXT | BYTE_ARRAY | STRING |
/// | DECIMAL(s) | INT32 (p ≤ 9) or INT64 | DECIMAL(p, s): p from `decimalPrecision`, default 18 |
/// | DATE | INT32 | DATE |
/// | TIMESTAMP | INT64 | TIMESTAMP(MICROS, adjusted to UTC) |
///
/// A nullable field is OPTIONAL, a non-nullable one REQUIRED (a NULL in it is an error).
public struct ParquetWriter {
    public struct Options: Sendable, Hashable {
        public enum Codec: String, Sendable, Hashable, CaseIterable {
            case uncompressed, snappy, gzip, zstd
        }

        public var codec: Codec
        /// Rows per row group (Arrow's default max_row_group_length).
        public var rowGroupRows: Int
        /// Target uncompressed bytes of a data page's values.
        public var pageBytes: Int
        /// Dictionary-encode TEXT columns while their distinct values take at most this many bytes.
        public var dictionaryBytesMax: Int
        /// The declared precision of DECIMAL columns by name (1 to 18; 18 when absent). A value with
        /// more digits than its column's precision is an error (`DecimalRange` finds them first).
        public var decimalPrecision: [String: Int]
        /// zstd's level: 1 by default, as Arrow writes (parquet-mr's default is 3).
        public var zstdLevel: Int

        public init(codec: Codec = .snappy, rowGroupRows: Int = 1 << 20, pageBytes: Int = 1 << 20, dictionaryBytesMax: Int = 1 << 20,
                    decimalPrecision: [String: Int] = [:], zstdLevel: Int = 1) {
            self.codec = codec
            self.zstdLevel = zstdLevel
            self.rowGroupRows = rowGroupRows
            self.pageBytes = pageBytes
            self.dictionaryBytesMax = dictionaryBytesMax
            self.decimalPrecision = decimalPrecision
        }

        func precision(of field: Field) -> Int { decimalPrecision[field.name] ?? 18 }
    }

    public let schema: Schema
    public let options: Options
    private var output: [UInt8] = Array("PAR1".utf8)
    private var rowGroups: [RowGroupMetadata] = []
    private var pending: [RecordBatch] = []
    private var pendingRows = 0
    private var rows = 0
    static let createdBy = "Eddy \(EddyVersion.current)"

    public init(schema: Schema, options: Options = Options()) throws(ParquetError) {
        guard !schema.fields.isEmpty else { throw ParquetError("a Parquet file needs at least one column") }
        guard options.rowGroupRows > 0, options.pageBytes > 0, options.dictionaryBytesMax >= 0 else {
            throw ParquetError("row group rows and page bytes must be positive")
        }
        for (name, precision) in options.decimalPrecision where !(1...18).contains(precision) {
            throw ParquetError("column \(name): DECIMAL precision \(precision) is outside 1 to 18")
        }
        self.schema = schema
        self.options = options
    }

    /// Rows written so far (buffered ones included).
    public var rowCount: Int { rows }

    /// Bytes of the file so far (row groups already encoded; buffered rows not yet).
    public var bytesWritten: Int { output.count }

    /// Buffers `batch`; full row groups are encoded as they fill.
    public mutating func write(_ batch: RecordBatch) throws(ParquetError) {
        guard batch.count > 0 else { return }
        guard batch.schema.fields.map(\.type) == schema.fields.map(\.type) else {
            throw ParquetError("batch schema \(batch.schema) does not match the file's \(schema)")
        }
        pending.append(batch)
        pendingRows += batch.count
        rows += batch.count
        while pendingRows >= options.rowGroupRows { try flushRowGroup(rows: options.rowGroupRows) }
    }

    /// Encodes what is buffered and the footer; the file's bytes.
    public mutating func finish() throws(ParquetError) -> [UInt8] {
        if pendingRows > 0 { try flushRowGroup(rows: pendingRows) }
        var footer = ThriftWriter()
        FileMetadata(schema: schema, rows: Int64(rows), rowGroups: rowGroups, createdBy: Self.createdBy, options: options).write(&footer)
        output += footer.bytes
        let length = UInt32(footer.bytes.count)
        for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        output += Array("PAR1".utf8)
        return output
    }

    private mutating func flushRowGroup(rows count: Int) throws(ParquetError) {
        var batch = RecordBatch.concatenate(pending, schema: pending[0].schema)
        pending = []
        if batch.count > count {
            pending = [batch.take((count..<batch.count).map { Int32($0) })]
            batch = batch.take((0..<count).map { Int32($0) })
        }
        pendingRows -= count
        var chunks: [ColumnChunkMetadata] = []
        var totalUncompressed: Int64 = 0, totalCompressed: Int64 = 0
        let start = Int64(output.count)
        for (index, field) in schema.fields.enumerated() {
            let chunk = try ColumnChunkWriter(field: field, column: batch.columns[index], options: options)
                .write(into: &output)
            totalUncompressed += chunk.uncompressedBytes
            totalCompressed += chunk.compressedBytes
            chunks.append(chunk)
        }
        rowGroups.append(RowGroupMetadata(columns: chunks, totalBytes: totalUncompressed, rows: Int64(batch.count),
                                          fileOffset: start, compressedBytes: totalCompressed, ordinal: Int16(truncatingIfNeeded: rowGroups.count)))
    }
}

/// Encodes one column of a row group: optional dictionary page, then data pages.
struct ColumnChunkWriter {
    let field: Field
    let column: Column
    let options: ParquetWriter.Options
    let physical: PhysicalType

    init(field: Field, column: Column, options: ParquetWriter.Options) throws(ParquetError) {
        self.field = field
        self.column = column
        self.options = options
        physical = PhysicalType(field.type, decimalPrecision: options.precision(of: field))
        if !field.nullable, column.validity != nil, (0..<column.count).contains(where: { column.isNull($0) }) {
            throw ParquetError("column \(field.name) is NOT NULL but holds a NULL")
        }
        if case .decimal(let scale) = field.type, let row = DecimalRange(precision: options.precision(of: field)).firstOutOfRange(column) {
            throw ParquetError("column \(field.name) is DECIMAL(\(options.precision(of: field)), \(scale)) but holds \(column.value(at: row))")
        }
    }

    func write(into output: inout [UInt8]) throws(ParquetError) -> ColumnChunkMetadata {
        let count = column.count
        var dictionary: StringDictionary?
        if field.type == .utf8 && options.dictionaryBytesMax > 0 {
            dictionary = StringDictionary.build(column, bytesMax: options.dictionaryBytesMax)
            // A dictionary that saves nothing (nearly every value distinct) is left out, as Arrow does.
            if let built = dictionary, built.indices.count > 16 && built.entries.count * 10 > built.indices.count * 9 { dictionary = nil }
        }
        let useDictionary = dictionary != nil
        var statistics = Statistics(physical: physical)
        if let dictionary {
            // Min and max are among the distinct values.
            let bytes = column.utf8.bytes
            for entry in dictionary.entries { statistics.add(bytes: bytes[entry]) }
        } else {
            for row in 0..<count where !column.isNull(row) { statistics.add(column, row) }
        }
        statistics.nullCount = Int64(count - nonNullCount)

        var uncompressedTotal: Int64 = 0, compressedTotal: Int64 = 0
        var dictionaryOffset: Int64?
        var encodings: Set<Encoding> = [.rle]
        if let dictionary {
            dictionaryOffset = Int64(output.count)
            var values: [UInt8] = []
            values.reserveCapacity(dictionary.plainBytes)
            let bytes = column.utf8.bytes
            for entry in dictionary.entries {
                appendLength(entry.count, to: &values)
                values += bytes[entry]
            }
            let (u, c) = try writePage(header: .dictionary(count: dictionary.entries.count), body: values, into: &output)
            uncompressedTotal += u
            compressedTotal += c
            encodings.insert(.plain)
            encodings.insert(.rleDictionary)
        } else {
            encodings.insert(.plain)
        }

        let dataOffset = Int64(output.count)
        let rowsPerPage = max(1, options.pageBytes / max(1, estimatedValueBytes))
        var pageStart = 0
        var valueCursor = 0
        while pageStart < count || (count == 0 && pageStart == 0) {
            let pageEnd = min(count, pageStart + rowsPerPage)
            var body: [UInt8] = []
            var pageNonNull = 0
            if field.nullable {
                var levels: [UInt32] = []
                levels.reserveCapacity(pageEnd - pageStart)
                for row in pageStart..<pageEnd {
                    let present = !column.isNull(row)
                    levels.append(present ? 1 : 0)
                    if present { pageNonNull += 1 }
                }
                var encoder = RLEHybridEncoder(bitWidth: 1)
                encoder.encode(levels)
                appendLength(encoder.bytes.count, to: &body)
                body += encoder.bytes
            } else {
                pageNonNull = pageEnd - pageStart
            }
            if let dictionary {
                let pageIndices = Array(dictionary.indices[valueCursor..<(valueCursor + pageNonNull)])
                let width = RLEHybridEncoder.bitWidth(for: dictionary.entries.count - 1)
                body.append(UInt8(width))
                var encoder = RLEHybridEncoder(bitWidth: width)
                encoder.encode(pageIndices)
                body += encoder.bytes
            } else {
                appendPlain(rows: pageStart..<pageEnd, to: &body)
            }
            valueCursor += pageNonNull
            let (u, c) = try writePage(header: .data(count: pageEnd - pageStart, encoding: useDictionary ? .rleDictionary : .plain),
                                       body: body, into: &output)
            uncompressedTotal += u
            compressedTotal += c
            pageStart = pageEnd
            if count == 0 { break }
        }
        return ColumnChunkMetadata(
            name: field.name, physical: physical, encodings: encodings.sorted { $0.rawValue < $1.rawValue },
            codec: options.codec, values: Int64(count), uncompressedBytes: uncompressedTotal, compressedBytes: compressedTotal,
            dataPageOffset: dataOffset, dictionaryPageOffset: dictionaryOffset, statistics: statistics)
    }

    private var nonNullCount: Int {
        guard column.validity != nil else { return column.count }
        var present = 0
        for row in 0..<column.count where !column.isNull(row) { present += 1 }
        return present
    }

    private var estimatedValueBytes: Int {
        switch physical {
        case .boolean: 1
        case .int32: 4
        case .int64, .double: 8
        case .byteArray:
            column.count == 0 ? 16 : column.utf8.bytes.count / column.count + 4
        }
    }

    private func appendPlain(rows: Range<Int>, to body: inout [UInt8]) {
        switch (field.type, column.values) {
        case (.bool, .bool(let values)):
            var byte: UInt8 = 0
            var bit = 0
            for row in rows where !column.isNull(row) {
                if values[row] { byte |= 1 << bit }
                bit += 1
                if bit == 8 {
                    body.append(byte)
                    byte = 0
                    bit = 0
                }
            }
            if bit > 0 { body.append(byte) }
        case (.date, .int64(let values)), (.decimal, .int64(let values)) where physical == .int32:
            for row in rows where !column.isNull(row) { appendLittleEndian(UInt32(truncatingIfNeeded: values[row]), 4, to: &body) }
        case (.timestamp, .int64(let values)):
            // Milliseconds to microseconds (Eddy's timestamps fit: ±2^62 ms would not, but event times
            // are bounded far below that; out-of-range values saturate rather than wrap).
            for row in rows where !column.isNull(row) {
                let (micros, overflow) = values[row].multipliedReportingOverflow(by: 1000)
                appendLittleEndian(UInt64(bitPattern: overflow ? (values[row] < 0 ? .min : .max) : micros), 8, to: &body)
            }
        case (_, .int64(let values)):
            if column.validity == nil {
                // Little-endian machines: the values' memory is the PLAIN encoding.
                values[rows].withUnsafeBytes { body.append(contentsOf: $0) }
            } else {
                for row in rows where !column.isNull(row) { appendLittleEndian(UInt64(bitPattern: values[row]), 8, to: &body) }
            }
        case (_, .float64(let values)):
            if column.validity == nil {
                values[rows].withUnsafeBytes { body.append(contentsOf: $0) }
            } else {
                for row in rows where !column.isNull(row) { appendLittleEndian(values[row].bitPattern, 8, to: &body) }
            }
        case (_, .utf8(let strings)):
            for row in rows where !column.isNull(row) {
                let range = strings.range(row)
                appendLength(range.count, to: &body)
                body += strings.bytes[range]
            }
        default:
            preconditionFailure("column \(field.name) holds \(column.values) for \(field.type)")
        }
    }

    /// Compresses `body` and appends its page header and bytes; (uncompressed, compressed) sizes with
    /// the header.
    private func writePage(header: PageHeader.Kind, body: [UInt8], into output: inout [UInt8]) throws(ParquetError) -> (Int64, Int64) {
        let compressed = try compress(body)
        var writer = ThriftWriter()
        PageHeader(kind: header, uncompressedBytes: Int32(body.count), compressedBytes: Int32(compressed.count)).write(&writer)
        output += writer.bytes
        output += compressed
        return (Int64(writer.bytes.count + body.count), Int64(writer.bytes.count + compressed.count))
    }

    private func compress(_ body: [UInt8]) throws(ParquetError) -> [UInt8] {
        guard body.count < Int(Int32.max) else { throw ParquetError("a page of \(body.count) bytes is too large") }
        let codec: CompressionCodec
        switch options.codec {
        case .uncompressed: return body
        case .snappy:
            do { return Array(buffer: try SnappyCodec.compressRaw(ByteBuffer(bytes: body))) } catch {
                throw ParquetError("snappy: \(error)")
            }
        case .gzip: codec = .gzip
        case .zstd: codec = .zstd
        }
        do { return Array(buffer: try codec.compress(ByteBuffer(bytes: body), level: options.codec == .zstd ? options.zstdLevel : nil)) } catch {
            throw ParquetError("\(options.codec.rawValue): \(error)")
        }
    }
}

/// The values a DECIMAL of `precision` digits holds: |unscaled| < 10^precision.
public struct DecimalRange: Sendable {
    public let precision: Int
    let limit: Int64

    public init(precision: Int) {
        self.precision = precision
        var limit: Int64 = 1
        for _ in 0..<min(precision, 18) { limit *= 10 }
        self.limit = limit
    }

    public func contains(_ unscaled: Int64) -> Bool { precision >= 19 || (unscaled > -limit && unscaled < limit) }

    /// The first non-NULL value of a decimal column outside the range.
    public func firstOutOfRange(_ column: Column) -> Int? {
        guard precision < 19, case .int64(let values) = column.values else { return nil }
        for row in values.indices where !contains(values[row]) && !column.isNull(row) { return row }
        return nil
    }
}

func appendLength(_ length: Int, to bytes: inout [UInt8]) {
    appendLittleEndian(UInt32(length), 4, to: &bytes)
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, _ byteCount: Int, to bytes: inout [UInt8]) {
    for index in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
}
