import EddyEngine

// The parts of parquet.thrift that Eddy writes and reads, with their field ids. Names follow the
// specification (apache/parquet-format, parquet.thrift).

/// Physical types (parquet.thrift `Type`) of the columns Eddy writes.
enum PhysicalType: Int32, Sendable {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case double = 5
    case byteArray = 6

    /// A DECIMAL of at most 9 digits is INT32, of at most 18 INT64 (the specification's advice).
    init(_ type: DataType, decimalPrecision: Int = 18) {
        switch type {
        case .bool: self = .boolean
        case .decimal: self = decimalPrecision <= 9 ? .int32 : .int64
        case .int64, .timestamp: self = .int64
        case .date: self = .int32
        case .float64: self = .double
        case .utf8: self = .byteArray
        }
    }
}

/// parquet.thrift `Encoding`.
enum Encoding: Int32, Sendable, Hashable {
    case plain = 0
    case plainDictionary = 2
    case rle = 3
    case bitPacked = 4
    case rleDictionary = 8
}

/// parquet.thrift `CompressionCodec`.
extension ParquetWriter.Options.Codec {
    var thriftValue: Int32 {
        switch self {
        case .uncompressed: 0
        case .snappy: 1
        case .gzip: 2
        case .zstd: 6
        }
    }
}

/// Min, max and null count of a chunk, in the column's PLAIN encoding (without length prefixes),
/// compared as the type-defined order says (signed integers, IEEE doubles without NaN, bytes
/// unsigned).
struct Statistics {
    let physical: PhysicalType
    var nullCount: Int64 = 0
    var minInt = Int64.max, maxInt = Int64.min
    var minDouble = Double.infinity, maxDouble = -Double.infinity
    var anyDouble = false
    var minBytes: [UInt8]?, maxBytes: [UInt8]?
    var minBool: Bool?, maxBool: Bool?

    init(physical: PhysicalType) { self.physical = physical }

    mutating func add(_ column: Column, _ row: Int) {
        switch column.values {
        case .int64(let values):
            var value = values[row]
            if column.type == .timestamp {
                let (micros, overflow) = value.multipliedReportingOverflow(by: 1000)
                value = overflow ? (value < 0 ? .min : .max) : micros
            }
            minInt = min(minInt, value)
            maxInt = max(maxInt, value)
        case .float64(let values):
            let value = values[row]
            guard !value.isNaN else { return }
            anyDouble = true
            minDouble = min(minDouble, value)
            maxDouble = max(maxDouble, value)
        case .bool(let values):
            let value = values[row]
            minBool = (minBool ?? true) && value
            maxBool = (maxBool ?? false) || value
        case .utf8(let strings):
            add(bytes: strings.bytes[strings.range(row)])
        }
    }

    /// A TEXT value (unsigned byte order).
    mutating func add(bytes value: ArraySlice<UInt8>) {
        if minBytes.map({ value.lexicographicallyPrecedes($0) }) ?? true { minBytes = Array(value) }
        if maxBytes.map({ $0.lexicographicallyPrecedes(value) }) ?? true { maxBytes = Array(value) }
    }

    /// (min, max) encoded, nil when no value counted.
    var encoded: (min: [UInt8], max: [UInt8])? {
        var low: [UInt8] = [], high: [UInt8] = []
        switch physical {
        case .int64:
            guard minInt <= maxInt else { return nil }
            appendLittleEndian(UInt64(bitPattern: minInt), 8, to: &low)
            appendLittleEndian(UInt64(bitPattern: maxInt), 8, to: &high)
        case .int32:
            guard minInt <= maxInt else { return nil }
            appendLittleEndian(UInt32(truncatingIfNeeded: minInt), 4, to: &low)
            appendLittleEndian(UInt32(truncatingIfNeeded: maxInt), 4, to: &high)
        case .double:
            guard anyDouble else { return nil }
            // The specification's rule for zeros: a min of +0 is written -0, a max of -0 is written +0.
            let lowValue = minDouble == 0 ? -0.0 : minDouble, highValue = maxDouble == 0 ? 0.0 : maxDouble
            appendLittleEndian(lowValue.bitPattern, 8, to: &low)
            appendLittleEndian(highValue.bitPattern, 8, to: &high)
        case .boolean:
            guard let minBool, let maxBool else { return nil }
            low = [minBool ? 1 : 0]
            high = [maxBool ? 1 : 0]
        case .byteArray:
            guard let minBytes, let maxBytes else { return nil }
            low = minBytes
            high = maxBytes
        }
        return (low, high)
    }

    func write(_ writer: inout ThriftWriter) {
        writer.field(3, i64: nullCount)
        if let (low, high) = encoded {
            writer.field(5, binary: high)  // max_value
            writer.field(6, binary: low)  // min_value
        }
    }
}

/// parquet.thrift `PageHeader` with a `DataPageHeader` (V1) or `DictionaryPageHeader`.
struct PageHeader {
    enum Kind {
        case data(count: Int, encoding: Encoding)
        case dictionary(count: Int)
    }

    let kind: Kind
    let uncompressedBytes: Int32
    let compressedBytes: Int32

    func write(_ writer: inout ThriftWriter) {
        writer.beginStruct()
        switch kind {
        case .data(let count, let encoding):
            writer.field(1, i32: 0)  // DATA_PAGE
            writer.field(2, i32: uncompressedBytes)
            writer.field(3, i32: compressedBytes)
            writer.field(5, structure: { page in
                page.field(1, i32: Int32(count))
                page.field(2, i32: encoding.rawValue)
                page.field(3, i32: Encoding.rle.rawValue)  // definition levels
                page.field(4, i32: Encoding.rle.rawValue)  // repetition levels (none: flat schema)
            })
        case .dictionary(let count):
            writer.field(1, i32: 2)  // DICTIONARY_PAGE
            writer.field(2, i32: uncompressedBytes)
            writer.field(3, i32: compressedBytes)
            writer.field(7, structure: { page in
                page.field(1, i32: Int32(count))
                page.field(2, i32: Encoding.plain.rawValue)
            })
        }
        writer.endStruct()
    }
}

struct ColumnChunkMetadata {
    let name: String
    let physical: PhysicalType
    let encodings: [Encoding]
    let codec: ParquetWriter.Options.Codec
    let values: Int64
    let uncompressedBytes: Int64
    let compressedBytes: Int64
    let dataPageOffset: Int64
    let dictionaryPageOffset: Int64?
    let statistics: Statistics

    func write(_ writer: inout ThriftWriter) {
        writer.field(2, i64: dictionaryPageOffset ?? dataPageOffset)  // file_offset
        writer.field(3, structure: { meta in
            meta.field(1, i32: physical.rawValue)
            meta.field(2, list: .i32, count: encodings.count) { list in
                for encoding in encodings { list.element(i32: encoding.rawValue) }
            }
            meta.field(3, list: .binary, count: 1) { list in list.element(string: name) }
            meta.field(4, i32: codec.thriftValue)
            meta.field(5, i64: values)
            meta.field(6, i64: uncompressedBytes)
            meta.field(7, i64: compressedBytes)
            meta.field(9, i64: dataPageOffset)
            if let dictionaryPageOffset { meta.field(11, i64: dictionaryPageOffset) }
            meta.field(12, structure: { statistics.write(&$0) })
        })
    }
}

struct RowGroupMetadata {
    let columns: [ColumnChunkMetadata]
    let totalBytes: Int64
    let rows: Int64
    let fileOffset: Int64
    let compressedBytes: Int64
    let ordinal: Int16

    func write(_ writer: inout ThriftWriter) {
        writer.field(1, list: .structure, count: columns.count) { list in
            for column in columns { list.element { column.write(&$0) } }
        }
        writer.field(2, i64: totalBytes)
        writer.field(3, i64: rows)
        writer.field(5, i64: fileOffset)
        writer.field(6, i64: compressedBytes)
        writer.field(7, i32: Int32(ordinal))
    }
}

struct FileMetadata {
    let schema: Schema
    let rows: Int64
    let rowGroups: [RowGroupMetadata]
    let createdBy: String
    let options: ParquetWriter.Options

    func write(_ writer: inout ThriftWriter) {
        writer.beginStruct()
        writer.field(1, i32: 2)  // version
        writer.field(2, list: .structure, count: schema.count + 1) { list in
            list.element { root in
                root.field(4, string: "schema")
                root.field(5, i32: Int32(schema.count))
            }
            for field in schema.fields { list.element { Self.writeElement(field, precision: options.precision(of: field), &$0) } }
        }
        writer.field(3, i64: rows)
        writer.field(4, list: .structure, count: rowGroups.count) { list in
            for group in rowGroups { list.element { group.write(&$0) } }
        }
        writer.field(6, string: createdBy)
        writer.field(7, list: .structure, count: schema.count) { list in
            for _ in schema.fields {
                list.element { order in order.field(1, structure: { _ in }) }  // TYPE_ORDER
            }
        }
        writer.endStruct()
    }

    static func writeElement(_ field: Field, precision: Int, _ element: inout ThriftWriter) {
        element.field(1, i32: PhysicalType(field.type, decimalPrecision: precision).rawValue)
        element.field(3, i32: field.nullable ? 1 : 0)  // OPTIONAL or REQUIRED
        element.field(4, string: field.name)
        switch field.type {
        case .utf8:
            element.field(6, i32: 0)  // converted UTF8
            element.field(10, structure: { logical in logical.field(1, structure: { _ in }) })  // STRING
        case .decimal(let scale):
            element.field(6, i32: 5)  // converted DECIMAL
            element.field(7, i32: Int32(scale))
            element.field(8, i32: Int32(precision))
            element.field(10, structure: { logical in
                logical.field(5, structure: { decimal in
                    decimal.field(1, i32: Int32(scale))
                    decimal.field(2, i32: Int32(precision))
                })
            })
        case .date:
            element.field(6, i32: 6)  // converted DATE
            element.field(10, structure: { logical in logical.field(6, structure: { _ in }) })
        case .timestamp:
            element.field(6, i32: 10)  // converted TIMESTAMP_MICROS
            element.field(10, structure: { logical in
                logical.field(8, structure: { timestamp in
                    timestamp.field(1, bool: true)  // adjusted to UTC
                    timestamp.field(2, structure: { unit in unit.field(2, structure: { _ in }) })  // MICROS
                })
            })
        case .int64:
            element.field(6, i32: 18)  // converted INT_64
            element.field(10, structure: { logical in
                logical.field(10, structure: { integer in
                    integer.field(1, i8: 64)
                    integer.field(2, bool: true)
                })
            })
        case .bool, .float64:
            break
        }
    }
}
