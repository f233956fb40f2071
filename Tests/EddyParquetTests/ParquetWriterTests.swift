import EddyEngine
@testable import EddyParquet
import EddyTestSupport
import Foundation
import XCTest

/// Files Eddy writes, read by pyarrow and DuckDB: every type, NULLs, dictionary and plain pages, every
/// codec, several row groups and pages; the values, the logical types and the statistics must be
/// what was written.
final class ParquetWriterTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-parquet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let schema = Schema([
        Field("id", .int64, nullable: false), Field("flag", .bool), Field("n", .int64), Field("x", .float64),
        Field("category", .utf8), Field("note", .utf8), Field("amount", .decimal(scale: 2)), Field("day", .date),
        Field("at", .timestamp),
    ])

    /// Seeded rows: low-cardinality `category` (dictionary pages), mostly distinct `note` (plain),
    /// NULLs in every nullable column, extreme and special values.
    static func rows(_ count: Int, seed: String) -> [[Value]] {
        var random = SeededRandom(seed)
        func maybe(_ value: Value) -> Value { Int(random.next(upperBound: UInt64(7))) == 0 ? .null : value }
        let specials: [Double] = [0, -0.0, 1e308, -1e-308, 0.1, 3.5]
        return (0..<count).map { index in
            let cents = Int64(Int(random.next(upperBound: UInt64(2_000_000)))) - 1_000_000
            return [
                .int64(Int64(index)),
                maybe(.bool(Int(random.next(upperBound: UInt64(2))) == 0)),
                maybe(.int64(index % 97 == 0 ? Int64.min + Int64(index) : Int64(Int(random.next(upperBound: UInt64(1 << 40)))) - (1 << 39))),
                maybe(.float64(index % 13 == 0 ? specials[index / 13 % specials.count] : Double(Int(random.next(upperBound: UInt64(1_000_000)))) / 7)),
                maybe(.string(["books", "games", "garden", "toys", "é-ü ☃"][Int(Int(random.next(upperBound: UInt64(5))))])),
                maybe(.string("note \(Int(random.next(upperBound: UInt64(1 << 30)))) \(String(repeating: "x", count: index % 5))")),
                maybe(.decimal(cents, scale: 2)),
                maybe(.date(Int64(Int(random.next(upperBound: UInt64(40_000)))) - 10_000)),
                maybe(.timestamp(1_767_225_600_000 + Int64(Int(random.next(upperBound: UInt64(1 << 32)))) - (1 << 31))),
            ]
        }
    }

    func write(_ rows: [[Value]], options: ParquetWriter.Options, batchRows: Int = 700) throws -> String {
        var writer = try ParquetWriter(schema: Self.schema, options: options)
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + batchRows)
            try writer.write(RecordBatch(schema: Self.schema, rows: Array(rows[start..<end])))
            start = end
        }
        let path = directory + "/\(options.codec.rawValue)-\(UUID().uuidString).parquet"
        try Data(try writer.finish()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A value as the Python side prints it.
    static func canonical(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .bool(let v): v ? "true" : "false"
        case .int64(let v): String(v)
        case .float64(let v): v == 0 ? "0.0" : String(v)
        case .string(let v): v
        case .decimal(let v, let scale): formatDecimal(v, scale: scale)
        case .date(let v): formatDate(v)
        case .timestamp(let v): String(v * 1000)
        }
    }

    static let readerScript = """
        import sys, json, datetime, decimal
        import pyarrow.parquet as pq, duckdb
        path, reader = sys.argv[1], sys.argv[2]
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        def text(v):
            if v is None: return "null"
            if isinstance(v, bool): return "true" if v else "false"
            if isinstance(v, datetime.datetime): return str((v - epoch) // datetime.timedelta(microseconds=1))
            if isinstance(v, datetime.date): return v.isoformat()
            if isinstance(v, float): return "0.0" if v == 0 else repr(v)
            return str(v)
        if reader == "pyarrow":
            rows = [list(r.values()) for r in pq.read_table(path).to_pylist()]
        else:
            rows = duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
        for row in rows: print(json.dumps([text(v) for v in row]))
        """

    func read(_ path: String, with reader: String) throws -> [[String]] {
        let output: String
        do {
            output = try runPython("import sys; sys.argv = ['', \(pythonString(path)), '\(reader)']\n" + Self.readerScript)
        } catch is PythonUnavailable {
            throw XCTSkip("no .venv with pyarrow and duckdb: run scripts/setup.sh")
        }
        return try output.split(separator: "\n").map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }


    func testPyarrowAndDuckDBReadEveryTypeCodecAndLayout() throws {
        let rows = Self.rows(2500, seed: "ParquetWriterTests")
        let expected = rows.map { $0.map(Self.canonical) }
        for codec in ParquetWriter.Options.Codec.allCases {
            // Row groups of 1000 rows in batches of 700, pages of about 2 KiB: several of each.
            let path = try write(rows, options: .init(codec: codec, rowGroupRows: 1000, pageBytes: 2048))
            for reader in ["pyarrow", "duckdb"] {
                let actual = try read(path, with: reader)
                XCTAssertEqual(actual.count, expected.count, "\(codec) \(reader)")
                for (index, (a, b)) in zip(actual, expected).enumerated() where a != b {
                    XCTFail("\(codec) \(reader) row \(index): read \(a), wrote \(b)")
                    break
                }
            }
        }
    }

    func testTypesEncodingsAndStatisticsAsPyarrowSeesThem() throws {
        let rows = Self.rows(2500, seed: "stats")
        let path = try write(rows, options: .init(codec: .zstd, rowGroupRows: 1000, pageBytes: 4096))
        let script = """
            import sys, json
            import pyarrow.parquet as pq
            f = pq.ParquetFile(sys.argv[1])
            print(json.dumps([str(f.schema_arrow.field(i).type) + ("" if f.schema_arrow.field(i).nullable else " not null") for i in range(len(f.schema_arrow))]))
            print(json.dumps([f.metadata.num_row_groups, f.metadata.num_rows, f.metadata.created_by]))
            for g in range(f.metadata.num_row_groups):
                rg = f.metadata.row_group(g)
                cols = []
                for c in range(rg.num_columns):
                    col = rg.column(c)
                    s = col.statistics
                    cols.append([col.compression, sorted(col.encodings), s.null_count, str(s.min) if s.has_min_max else None, str(s.max) if s.has_min_max else None])
                print(json.dumps(cols))
            """
        let output = try runPython("import sys; sys.argv = ['', \(pythonString(path))]\n" + script)
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], #"["int64 not null", "bool", "int64", "double", "string", "string", "decimal128(18, 2)", "date32[day]", "timestamp[us, tz=UTC]"]"#)
        XCTAssertEqual(lines[1], #"[3, 2500, "\#(ParquetWriter.createdBy)"]"#)
        let groups = try lines.dropFirst(2).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [[Any]] }
        XCTAssertEqual(groups.count, 3)
        for (group, columns) in groups.enumerated() {
            let slice = rows[(group * 1000)..<min(rows.count, group * 1000 + 1000)]
            for (index, column) in columns.enumerated() {
                XCTAssertEqual(column[0] as? String, "ZSTD")
                let values = slice.map { $0[index] }
                XCTAssertEqual(column[2] as? Int, values.filter { $0 == .null }.count, "null count of column \(index)")
                let present = values.filter { $0 != .null }
                switch index {
                case 0, 2:
                    let ints: [Int64] = present.compactMap { value -> Int64? in if case .int64(let v) = value { return v } else { return nil } }
                    XCTAssertEqual(column[3] as? String, ints.min().map { String($0) })
                    XCTAssertEqual(column[4] as? String, ints.max().map { String($0) })
                case 4:
                    // Low cardinality: dictionary-encoded.
                    XCTAssertTrue((column[1] as? [String])?.contains("RLE_DICTIONARY") ?? false, "\(column[1])")
                case 5:
                    XCTAssertFalse((column[1] as? [String])?.contains("RLE_DICTIONARY") ?? true, "mostly distinct: plain")
                default:
                    break
                }
            }
        }
    }

    func testEdgeCases() throws {
        // No rows: a valid file with the schema and no row groups.
        var empty = try ParquetWriter(schema: Self.schema)
        let emptyPath = directory + "/empty.parquet"
        try Data(try empty.finish()).write(to: URL(fileURLWithPath: emptyPath))
        XCTAssertEqual(try read(emptyPath, with: "pyarrow"), [])
        XCTAssertEqual(try read(emptyPath, with: "duckdb"), [])
        // All NULL in every nullable column, and a single row.
        let nulls: [[Value]] = (0..<20).map { [.int64(Int64($0))] + Array(repeating: .null, count: 8) }
        let nullPath = try write(nulls, options: .init(codec: .snappy))
        XCTAssertEqual(try read(nullPath, with: "duckdb"), nulls.map { $0.map(Self.canonical) })
        XCTAssertEqual(try read(try write([nulls[0]], options: .init(codec: .gzip)), with: "pyarrow"), [nulls[0].map(Self.canonical)])
        // A NULL in a NOT NULL column is refused.
        var writer = try ParquetWriter(schema: Self.schema)
        try writer.write(RecordBatch(schema: Self.schema, rows: [Array(repeating: .null, count: 9)]))
        XCTAssertThrowsError(try writer.finish()) { XCTAssertTrue("\($0)".contains("NOT NULL"), "\($0)") }
    }

    func testTheHybridEncodingRoundTrips() throws {
        var random = SeededRandom("rle")
        for _ in 0..<300 {
            let width = Int(Int(random.next(upperBound: UInt64(21))))
            let count = Int(Int(random.next(upperBound: UInt64(300))))
            let runny = Int(random.next(upperBound: UInt64(2))) == 0
            var values: [UInt32] = []
            while values.count < count {
                let value = width == 0 ? 0 : UInt32(random.next(upperBound: UInt64(1) << UInt64(width)))
                values += repeatElement(value, count: runny ? Int(Int(random.next(upperBound: UInt64(40)))) + 1 : 1)
            }
            values = Array(values.prefix(count))
            var encoder = RLEHybridEncoder(bitWidth: width)
            encoder.encode(values)
            var decoder = RLEHybridDecoder(encoder.bytes, from: 0, end: encoder.bytes.count, bitWidth: width)
            XCTAssertEqual(try decoder.decode(count: values.count), values, "width \(width)")
        }
    }
}
