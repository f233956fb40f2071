import EddyEngine
@testable import EddyParquet
import EddyTestSupport
import Foundation
import XCTest

/// Eddy reads Parquet files written by Eddy, pyarrow and DuckDB (the same matrix as the writer's
/// tests, the other way), and damaged files give errors, never crashes.
final class ParquetReaderTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-parquet-read-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func readFile(_ path: String, columns: [String]? = nil) throws -> RecordBatch {
        try ParquetReader(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).readAll(columns: columns)
    }

    func testEddysOwnFilesReadBackExactly() throws {
        let rows = ParquetWriterTests.rows(3000, seed: "reader")
        for codec in ParquetWriter.Options.Codec.allCases {
            var writer = try ParquetWriter(schema: ParquetWriterTests.schema, options: .init(codec: codec, rowGroupRows: 1100, pageBytes: 1500))
            try writer.write(RecordBatch(schema: ParquetWriterTests.schema, rows: rows))
            let reader = try ParquetReader(try writer.finish())
            XCTAssertEqual(reader.schema, ParquetWriterTests.schema)
            XCTAssertEqual(reader.rowGroupCount, 3)
            let batch = try reader.readAll()
            XCTAssertEqual((0..<batch.count).map(batch.row), rows, "\(codec)")
            // A subset of the columns, in the file's order.
            let some = try reader.readRowGroup(1, columns: ["at", "category"])
            XCTAssertEqual(some.schema.names, ["category", "at"])
            XCTAssertEqual(some.row(0), [rows[1100][4], rows[1100][8]])
        }
    }

    /// pyarrow and DuckDB write every type Eddy reads, with each codec, pages V1 and V2, with and
    /// without dictionaries; Eddy's rows must be what they print.
    func testFilesOfPyarrowAndDuckDB() throws {
        let script = """
            import sys, json, datetime, decimal
            import pyarrow as pa, pyarrow.parquet as pq, duckdb
            out = sys.argv[1]
            n = 2500
            def maybe(i, v): return None if i % 7 == 3 else v
            cols = {
                "i32": pa.array([maybe(i, i * 3 - 4000) for i in range(n)], pa.int32()),
                "i64": pa.array([maybe(i, (i - 1200) * 10**12) for i in range(n)], pa.int64()),
                "u16": pa.array([maybe(i, i * 20) for i in range(n)], pa.uint16()),
                "f32": pa.array([maybe(i, i / 4) for i in range(n)], pa.float32()),
                "f64": pa.array([maybe(i, i / 7) for i in range(n)], pa.float64()),
                "b": pa.array([maybe(i, i % 3 == 0) for i in range(n)], pa.bool_()),
                "s": pa.array([maybe(i, ["alpha", "beta", "γ", ""][i % 4]) for i in range(n)], pa.string()),
                "u": pa.array([maybe(i, f"unique-{i}") for i in range(n)], pa.string()),
                "d": pa.array([maybe(i, datetime.date(2026, 1, 1) + datetime.timedelta(days=i - 1000)) for i in range(n)], pa.date32()),
                "ts_ms": pa.array([maybe(i, 1767225600000 + i * 1001) for i in range(n)], pa.timestamp("ms", tz="UTC")),
                "ts_us": pa.array([maybe(i, 1767225600000000 + i * 1000003 - 5000000000) for i in range(n)], pa.timestamp("us")),
                "ts_ns": pa.array([maybe(i, 1767225600000000000 + i * 999999999) for i in range(n)], pa.timestamp("ns", tz="UTC")),
                "dec9": pa.array([maybe(i, decimal.Decimal(i * 7 - 9000) / 100) for i in range(n)], pa.decimal128(9, 2)),
                "dec18": pa.array([maybe(i, decimal.Decimal((i - 1000) * 123456789) / 10000) for i in range(n)], pa.decimal128(18, 4)),
            }
            table = pa.table(cols)
            files = []
            for codec in ["none", "snappy", "gzip", "zstd"]:
                for version in ["1.0", "2.0"]:
                    for dictionary in [True, False]:
                        path = f"{out}/pyarrow-{codec}-{version}-{dictionary}.parquet"
                        pq.write_table(table, path, compression=codec, data_page_version=version, use_dictionary=dictionary,
                                       row_group_size=1000, data_page_size=4096, store_decimal_as_integer=(version == "2.0"))
                        files.append(path)
            con = duckdb.connect()
            con.register("t", table)
            for codec in ["uncompressed", "snappy", "gzip", "zstd"]:
                path = f"{out}/duckdb-{codec}.parquet"
                con.execute(f"COPY (SELECT * FROM t) TO '{path}' (FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE 1024)")
                files.append(path)
            epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            def text(v):
                if v is None: return "null"
                if isinstance(v, bool): return "true" if v else "false"
                if isinstance(v, datetime.datetime):
                    if v.tzinfo is None: v = v.replace(tzinfo=datetime.timezone.utc)
                    return str((v - epoch) // datetime.timedelta(milliseconds=1))
                if isinstance(v, datetime.date): return v.isoformat()
                if isinstance(v, float): return repr(v)
                return str(v)
            print(json.dumps(files))
            columns = []
            for name in table.column_names:
                column = table.column(name)
                if pa.types.is_timestamp(column.type):
                    per_ms = {"ms": 1, "us": 1000, "ns": 1000000}[column.type.unit]
                    columns.append(["null" if v is None else str(v // per_ms) for v in column.cast(pa.int64()).to_pylist()])
                else:
                    columns.append([text(v) for v in column.to_pylist()])
            for row in zip(*columns):
                print(json.dumps(list(row)))
            """
        let output: String
        do { output = try runPython("import sys; sys.argv = ['', '\(directory)']\n" + script) } catch is PythonUnavailable {
            throw XCTSkip("no .venv with pyarrow and duckdb")
        }
        var lines = output.split(separator: "\n").map(String.init)
        let files = try JSONDecoder().decode([String].self, from: Data(lines.removeFirst().utf8))
        let expected = try lines.map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        XCTAssertEqual(files.count, 20)
        for file in files {
            let batch: RecordBatch
            do { batch = try readFile(file) } catch {
                XCTFail("\((file as NSString).lastPathComponent): \(error)")
                continue
            }
            let types = batch.schema.fields.map(\.type)
            XCTAssertEqual(types, [.int64, .int64, .int64, .float64, .float64, .bool, .utf8, .utf8, .date, .timestamp, .timestamp,
                                   .timestamp, .decimal(scale: 2), .decimal(scale: 4)], file)
            XCTAssertEqual(batch.count, expected.count, file)
            for row in 0..<min(batch.count, expected.count) {
                let actual = batch.row(row).map(Self.canonical)
                if actual != expected[row] {
                    XCTFail("\((file as NSString).lastPathComponent) row \(row): Eddy \(actual), Python \(expected[row])")
                    break
                }
            }
        }
    }

    static func canonical(_ value: Value) -> String {
        switch value {
        case .timestamp(let v): String(v)
        case .float64(let v): String(v)
        default: ParquetWriterTests.canonical(value)
        }
    }

    /// Every truncation and many bit flips of a small file: an error or some rows, never a crash.
    func testDamagedFilesAreErrorsNotCrashes() throws {
        var writer = try ParquetWriter(schema: ParquetWriterTests.schema, options: .init(codec: .snappy, rowGroupRows: 40, pageBytes: 200))
        try writer.write(RecordBatch(schema: ParquetWriterTests.schema, rows: ParquetWriterTests.rows(100, seed: "damage")))
        let file = try writer.finish()
        var errors = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                let reader = try ParquetReader(bytes)
                _ = try reader.readAll()
            } catch {
                errors += 1
            }
        }
        for length in stride(from: 0, to: file.count, by: 7) { attempt(Array(file[0..<length])) }
        var random = SeededRandom("damage")
        for _ in 0..<3000 {
            var bytes = file
            let position = Int(random.next(upperBound: UInt64(bytes.count)))
            bytes[position] ^= UInt8(1) << UInt8(random.next(upperBound: UInt64(8)))
            attempt(bytes)
        }
        XCTAssertGreaterThan(errors, file.count / 7)
        XCTAssertThrowsError(try ParquetReader(Array("PAR1 not really PAR1".utf8)))
    }
}
