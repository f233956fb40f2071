import EddyConnectors
import EddyEngine
import EddyFormats
import EddyParquet
import EddyTestSupport
import Foundation
import XCTest

/// The files sink as a data lake: Hive-style partition directories read back by Eddy, pyarrow and
/// DuckDB; Eddy reading a partitioned dataset pyarrow wrote; rows a Parquet column cannot hold set
/// aside as dead letters, exactly once.
final class LakeTests: XCTestCase {
    var directory = ""
    static let schema = Schema([Field("n", .int64, nullable: false), Field("dt", .date), Field("region", .utf8),
                                Field("amount", .decimal(scale: 2)), Field("at", .timestamp)])
    static let regions: [String?] = ["eu", "us/west=1%", nil, "ap"]

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-lake-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func rows(_ range: Range<Int>) -> [[Value]] {
        range.map { n in
            [.int64(Int64(n)), .date(20_400 + Int64(n % 3)), regions[n % regions.count].map(Value.string) ?? .null,
             .decimal(Int64(n) * 101, scale: 2), .timestamp(1_795_000_000_000 + Int64(n) * 60_000)]
        }
    }

    func context(_ schema: Schema = LakeTests.schema) -> SinkContext {
        SinkContext(schema: schema, mode: .append, upsertKeys: [], queryId: "q")
    }

    /// Every format: rows land in `dt=…/region=…/` directories without those columns (a value with
    /// `/`, `=` and `%` escaped, NULL as Hive's default partition), and the file source with the
    /// same partition columns reads every row back with its values.
    func testPartitionedTablesRoundTrip() throws {
        for format in [FileSinkDescriptor.Format.jsonLines, .csv, .parquet] {
            let out = directory + "/\(format.rawValue)"
            let sink = try FileSinkDescriptor.files(out, format: format, options: EncodeOptions(includeHeader: true), partitionBy: ["dt", "region"])
                .makeSink(context())
            try sink.write(batchId: 0, RecordBatch(schema: Self.schema, rows: Self.rows(0..<40)))
            try sink.write(batchId: 1, RecordBatch(schema: Self.schema, rows: Self.rows(40..<100)))
            let files = try FileSinkReader.committedFiles(out).map { String($0.dropFirst(out.count + 1)) }
            XCTAssertEqual(files.count, 2 * 12, "\(format): 3 days × 4 regions per batch")
            XCTAssertTrue(files.contains("dt=2025-11-08/region=us%2Fwest%3D1%25/part-0000000000.\(format.rawValue)"), "\(files)")
            XCTAssertTrue(files.contains("dt=2025-11-10/region=__HIVE_DEFAULT_PARTITION__/part-0000000001.\(format.rawValue)"), "\(files)")
            if format == .jsonLines {
                let text = try String(contentsOfFile: out + "/" + files[0], encoding: .utf8)
                XCTAssertFalse(text.contains("region") || text.contains("dt"), "partition columns stay out of the files: \(text)")
            }
            let recordFormat: RecordFormat = format == .parquet ? .parquet(Self.schema)
                : format == .csv ? .csv(Self.schema, CSVDecodeOptions(hasHeader: true)) : .jsonLines(Self.schema)
            var source = FileSourceDescriptor.files(out, format: recordFormat)
            source.partitionColumns = ["dt", "region"]
            let output = MemorySink()
            try TestDriver(Pipeline.read(source).write(output)).runUntilIdle()
            XCTAssertEqual(output.rows.sorted { Self.number($0) < Self.number($1) }, Self.rows(0..<100), "\(format)")
        }
    }

    static func number(_ row: [Value]) -> Int64 {
        if case .int64(let n) = row[0] { return n }
        return -1
    }

    /// pyarrow (hive partitioning) and DuckDB (hive_partitioning) read the partitioned Parquet lake:
    /// every row once, partition values from the directory names, decimals with their precision.
    func testPyarrowAndDuckDBReadThePartitionedLake() throws {
        let out = directory + "/lake"
        var parquet = ParquetWriter.Options()
        parquet.decimalPrecision = ["amount": 7]
        let sink = try FileSinkDescriptor.files(out, format: .parquet, parquet: parquet, partitionBy: ["dt", "region"]).makeSink(context())
        try sink.write(batchId: 0, RecordBatch(schema: Self.schema, rows: Self.rows(0..<100)))
        let script = """
            import sys, pyarrow.dataset as ds, duckdb
            path = sys.argv[1]
            table = ds.dataset(path, format='parquet', partitioning='hive').to_table()
            rows = sorted(table.to_pylist(), key=lambda r: r['n'])
            print(len(rows), table.schema.field('amount').type)
            print(rows[1]['region'], rows[2]['region'], rows[4]['amount'])
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            print(con.sql(f"SELECT count(*), count(DISTINCT region), sum(amount)::VARCHAR, min(dt)::VARCHAR FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)").fetchone())
            print(con.sql(f"SELECT DISTINCT region FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true) WHERE region LIKE 'us%'").fetchall())
            """
        let output: String
        do { output = try runPython("import sys; sys.argv = ['', \(pythonString(out))]\n" + script) } catch is PythonUnavailable {
            throw XCTSkip("the Python venv is not set up (make setup)")
        }
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "100 decimal128(7, 2)")
        XCTAssertEqual(lines[1], "us/west=1% None 4.04")
        XCTAssertTrue(lines[2].hasPrefix("(100, 3, '4999.50', '2025-11-08')"), lines[2])
        XCTAssertTrue(lines[3].contains("us/west=1%"), "DuckDB unescapes the directory name: \(lines[3])")
    }

    /// Datasets pyarrow and DuckDB wrote with partition columns are read by Eddy with the same
    /// columns declared PARTITIONED BY; a directory whose value is not its column's type goes to the
    /// dead letters.
    func testEddyReadsDatasetsPyarrowAndDuckDBPartitioned() throws {
        let out = directory + "/pyarrow"
        let script = """
            import sys, pyarrow as pa, pyarrow.parquet as pq, duckdb
            table = pa.table({'n': pa.array(range(30), pa.int64()), 'day': [f'2026-12-0{1 + i % 3}' for i in range(30)],
                              'k': [i % 2 for i in range(30)], 'v': [f'v{i}' for i in range(30)]})
            pq.write_to_dataset(table, sys.argv[1], partition_cols=['day', 'k'])
            con = duckdb.connect()
            con.register('t', table)
            con.execute(f"COPY (SELECT * FROM t) TO '{sys.argv[1]}-duckdb' (FORMAT parquet, PARTITION_BY (day, k))")
            """
        do { _ = try runPython("import sys; sys.argv = ['', \(pythonString(out))]\n" + script) } catch is PythonUnavailable {
            throw XCTSkip("the Python venv is not set up (make setup)")
        }
        let duckSchema = Schema([Field("n", .int64), Field("day", .date), Field("k", .int64), Field("v", .utf8)])
        var duckSource = FileSourceDescriptor.files(out + "-duckdb", format: .parquet(duckSchema))
        duckSource.partitionColumns = ["day", "k"]
        let fromDuckDB = MemorySink()
        try TestDriver(Pipeline.read(duckSource).write(fromDuckDB)).runUntilIdle()
        XCTAssertEqual(fromDuckDB.rows.sorted { Self.number($0) < Self.number($1) }[4], [.int64(4), .date(20_788 + 1), .int64(0), .string("v4")])
        XCTAssertEqual(fromDuckDB.rows.count, 30)
        try FileManager.default.createDirectory(atPath: out + "/day=2026-12-04/k=x", withIntermediateDirectories: true)
        let anyFile = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: out).first { $0.hasSuffix(".parquet") })
        try FileManager.default.copyItem(atPath: out + "/" + anyFile, toPath: out + "/day=2026-12-04/k=x/bad.parquet")
        let schema = Schema([Field("n", .int64), Field("day", .date), Field("k", .int64), Field("v", .utf8)])
        var source = FileSourceDescriptor.files(out, format: .parquet(schema))
        source.partitionColumns = ["day", "k"]
        let output = MemorySink()
        let letters = Letters()
        var options = QueryOptions()
        options.deadLetters = letters
        try TestDriver(Pipeline.read(source).write(output), options: options).runUntilIdle()
        let rows = output.rows.sorted { Self.number($0) < Self.number($1) }
        XCTAssertEqual(rows.count, 30)
        XCTAssertEqual(rows[4], [.int64(4), .date(20_788 + 1), .int64(0), .string("v4")])
        XCTAssertEqual(letters.letters.map(\.detail), ["day=2026-12-04/k=x/bad.parquet: partition value k=x is not a BIGINT"])
    }

    /// Parquet cannot hold a NULL in a NOT NULL column or a decimal wider than its declared
    /// precision: those rows come back as dead letters, kept in the batch's log entry so a replay
    /// returns them again; the others are written (INT32 decimals for precision ≤ 9).
    func testRowsAParquetColumnCannotHoldAreRejected() throws {
        let out = directory + "/strict"
        var parquet = ParquetWriter.Options()
        parquet.decimalPrecision = ["amount": 4]
        var rows = Self.rows(0..<120)
        rows[3][0] = .null
        XCTAssertThrowsError(try FileSinkDescriptor.files(out, format: .parquet, parquet: parquet).makeSink(context())
            .write(batchId: 0, RecordBatch(schema: Self.schema, rows: rows))) { error in
            XCTAssertTrue("\(error)".contains("cannot hold a row of batch 0: column n is NOT NULL but the value is NULL; give the query a dead-letter destination"), "\(error)")
        }
        var settingAside = context()
        settingAside.setsRowsAside = true
        let sink = try FileSinkDescriptor.files(out, format: .parquet, parquet: parquet).makeSink(settingAside)
        let letters = try sink.write(batchId: 0, RecordBatch(schema: Self.schema, rows: rows))
        // amount = n × 1.01: 99.99 is the largest DECIMAL(4, 2), so n ≥ 100 does not fit.
        XCTAssertEqual(letters.count, 21)
        XCTAssertEqual(letters[0].detail, "files[\(out), parquet]: column n is NOT NULL but the value is NULL")
        XCTAssertEqual(letters[1].detail, "files[\(out), parquet]: column amount is DECIMAL(4, 2); 101.00 has more digits")
        XCTAssertTrue(String(decoding: letters[1].value, as: UTF8.self).hasPrefix(#"{"n":100,"#), String(decoding: letters[1].value, as: UTF8.self))
        XCTAssertEqual(try sink.write(batchId: 0, RecordBatch(schema: Self.schema, rows: rows)), letters, "a replay returns the same letters")
        let file = try FileSinkReader.committedFiles(out)[0]
        let reader = try ParquetReader(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        XCTAssertEqual(reader.rowCount, 99)
        let read = try reader.readAll(columns: ["amount"])
        XCTAssertEqual(read.columns[0].value(at: 98), .decimal(99 * 101, scale: 2))
        XCTAssertThrowsError(try sink.write(batchId: 1, RecordBatch(schema: Self.schema, rows: Self.rows(100..<1200)))) { error in
            XCTAssertTrue("\(error)".contains("cannot hold more than 1000 rows of batch 1"), "\(error)")
        }
    }

    /// Letters a sink returns reach the dead-letter destination with the batch's other letters,
    /// numbered after them; a crash after the sink's commit and before the letters are written
    /// loses none: the replayed batch gets them from the sink's log.
    func testRejectedRowsReachTheDeadLettersAfterACrash() throws {
        let input = directory + "/in"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let lines = (0..<10).map { #"{"n":\#($0),"amount":\#($0 * 30).5}"# } + ["not json"]
        try (lines.joined(separator: "\n") + "\n").write(toFile: input + "/a.jsonl", atomically: true, encoding: .utf8)
        let schema = Schema([Field("n", .int64), Field("amount", .decimal(scale: 2))])
        var parquet = ParquetWriter.Options()
        parquet.decimalPrecision = ["amount": 4]
        let pipeline = Pipeline.read(.files(input, format: .jsonLines(schema))).write(.files(directory + "/out", format: .parquet, parquet: parquet))
        let letters = Letters()
        var options = QueryOptions()
        options.deadLetters = letters
        options.crashInjector = CrashInjector(stopAt: .init(batchId: 0, point: .sinkWritten))
        XCTAssertThrowsError(try TestDriver(pipeline, checkpoint: directory + "/checkpoint", options: options).runUntilIdle())
        XCTAssertEqual(letters.letters.count, 0)
        options.crashInjector = nil
        try TestDriver(pipeline, checkpoint: directory + "/checkpoint", options: options).runUntilIdle()
        XCTAssertEqual(letters.letters.map(\.reason), [.malformed, .rejected, .rejected, .rejected, .rejected, .rejected, .rejected])
        XCTAssertEqual(letters.letters.map(\.index), [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(String(decoding: letters.letters[1].value, as: UTF8.self), #"{"n":4,"amount":120.50}"#)
        XCTAssertEqual(try FileSinkReader.committedFiles(directory + "/out").count, 1)
    }

    // MARK: compaction

    /// A table of ten small batches in three partitions: each partition's files become one, the rows
    /// read through the log are the same in the same order per partition, the old files are gone; a
    /// batch written after it and a second compaction (which merges the first one's output again)
    /// keep every row once; with nothing small left, a third run does nothing.
    func testCompactionMergesEachPartitionsSmallFilesOnce() throws {
        for format in [FileSinkDescriptor.Format.parquet, .jsonLines, .csv] {
            let out = directory + "/compact-\(format.rawValue)"
            let sink = try FileSinkDescriptor.files(out, format: format, options: EncodeOptions(includeHeader: true), partitionBy: ["dt"])
                .makeSink(context())
            for batch in 0..<10 {
                try sink.write(batchId: Int64(batch), RecordBatch(schema: Self.schema, rows: Self.rows(batch * 30..<(batch + 1) * 30)))
            }
            let before = try rowsByPartition(out, format)
            XCTAssertEqual(try FileSinkReader.committedFiles(out).count, 30)
            let report = try LakeCompaction(table: out).run()
            XCTAssertEqual([report.sequence, report.filesMerged, report.filesWritten, report.rows], [1, 30, 3, 300], "\(format)")
            XCTAssertEqual(try FileSinkReader.committedFiles(out).count, 3)
            XCTAssertEqual(try rowsByPartition(out, format), before, "\(format): same rows, same order per partition")
            let onDisk = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.contains("part-") }
            XCTAssertEqual(onDisk.count, 3, "\(format): the merged files are deleted: \(onDisk)")

            try sink.write(batchId: 10, RecordBatch(schema: Self.schema, rows: Self.rows(300..<330)))
            XCTAssertEqual(try LakeCompaction(table: out).run().filesMerged, 6)
            var expected = before
            for row in Self.rows(300..<330) {
                guard case .date(let days) = row[1] else { continue }
                expected["dt=" + formatDate(days), default: []].append(row[0])
            }
            XCTAssertEqual(try rowsByPartition(out, format), expected)
            XCTAssertEqual(try LakeCompaction(table: out).run().sequence, nil, "nothing left to merge")
            let output = MemorySink()
            let recordFormat: RecordFormat = format == .parquet ? .parquet(Self.schema)
                : format == .csv ? .csv(Self.schema, CSVDecodeOptions(hasHeader: true)) : .jsonLines(Self.schema)
            var source = FileSourceDescriptor.files(out, format: recordFormat)
            source.partitionColumns = ["dt"]
            try TestDriver(Pipeline.read(source).write(output)).runUntilIdle()
            XCTAssertEqual(output.rows.sorted { Self.number($0) < Self.number($1) }, Self.rows(0..<330), "\(format)")
        }
    }

    /// The `n` column of each partition's files, in the log's order (the first column of every row).
    func rowsByPartition(_ table: String, _ format: FileSinkDescriptor.Format) throws -> [String: [Value]] {
        var result: [String: [Value]] = [:]
        for path in try FileSinkReader.committedFiles(table) {
            let partition = String(path.dropFirst(table.count + 1).split(separator: "/")[0])
            let values: [Value]
            switch format {
            case .parquet:
                values = try ParquetReader(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).readAll(columns: ["n"]).columns[0].int64s.map { .int64($0) }
            default:
                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                values = lines.compactMap { line in
                    let text = format == .csv ? String(line.split(separator: ",")[0]) : String(line.split(separator: ",")[0].dropFirst(5))
                    return Int64(text).map(Value.int64)
                }
            }
            result[partition, default: []] += values
        }
        return result
    }

    /// A compaction that crashed leaves files no reader of the log sees (its outputs) or inputs it
    /// had not deleted yet; the next run removes both and the table reads the same. A second
    /// compaction while one runs is refused.
    func testLeftoversOfACrashedCompactionAreRemoved() throws {
        let out = directory + "/crashed"
        let sink = try FileSinkDescriptor.files(out, format: .parquet, partitionBy: ["dt"]).makeSink(context())
        for batch in 0..<4 { try sink.write(batchId: Int64(batch), RecordBatch(schema: Self.schema, rows: Self.rows(batch * 10..<(batch + 1) * 10))) }
        let first = try FileSinkReader.committedFiles(out)[0]
        let saved = try Data(contentsOf: URL(fileURLWithPath: first))
        XCTAssertEqual(try LakeCompaction(table: out).run().filesWritten, 3)
        // As if the deletes had not happened, and a later compaction had crashed before its log entry.
        try saved.write(to: URL(fileURLWithPath: first))
        let orphan = out + "/dt=2025-11-08/part-c0000000002-0.parquet"
        try saved.write(to: URL(fileURLWithPath: orphan))
        let lock = try LakeCompactionLock(out)
        XCTAssertThrowsError(try LakeCompaction(table: out).run()) { XCTAssertTrue("\($0)".contains("another compaction"), "\($0)") }
        lock.release()
        let report = try LakeCompaction(table: out).run()
        XCTAssertEqual(report.leftoversRemoved, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: first))
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan))
        XCTAssertEqual(try FileSinkReader.committedFiles(out).count, 3)
    }

    /// A streaming query reading the table follows compactions, every row once: files it had read
    /// and files it had only listed (a small read limit leaves them for later batches) are merged and
    /// deleted, and it reads the listed ones inside the merged file (bytes for JSON and CSV, the
    /// header included; rows for Parquet); files of later batches merged together with files it had
    /// read are read the same way; a fresh query reads the merged files themselves. Restarts on the
    /// same checkpoint find the same bytes.
    func testAStreamingReaderFollowsCompactions() throws {
        for format in [FileSinkDescriptor.Format.parquet, .csv, .jsonLines] {
            let out = directory + "/followed-\(format.rawValue)"
            let sink = try FileSinkDescriptor.files(out, format: format, options: EncodeOptions(includeHeader: true)).makeSink(context())
            func write(_ batches: Range<Int>) throws {
                for batch in batches {
                    try sink.write(batchId: Int64(batch), RecordBatch(schema: Self.schema, rows: Self.rows(batch * 10..<(batch + 1) * 10)))
                }
            }
            let recordFormat: RecordFormat = format == .parquet ? .parquet(Self.schema)
                : format == .csv ? .csv(Self.schema, CSVDecodeOptions(hasHeader: true)) : .jsonLines(Self.schema)
            let output = MemorySink()
            var options = QueryOptions()
            options.readLimit = ReadLimit(maxBytes: 1)  // a file (or a line) per batch
            func reader() throws -> TestDriver {
                try TestDriver(Pipeline.read(.files(out, format: recordFormat)).write(output), checkpoint: directory + "/reader-\(format.rawValue)", options: options)
            }
            try write(0..<3)
            let first = try reader()
            for _ in 0..<2 { _ = try first.runBatch() }  // reads part of the files, lists all three
            try write(3..<6)
            XCTAssertEqual(try LakeCompaction(table: out).run().filesMerged, 6)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("part-0") }, [], "inputs deleted")
            try first.runUntilIdle()
            try write(6..<8)
            try LakeCompaction(table: out).run()
            try reader().runUntilIdle()
            XCTAssertEqual(output.rows, Self.rows(0..<80), "\(format): every row once, in order")

            let fresh = MemorySink()
            try TestDriver(Pipeline.read(.files(out, format: recordFormat)).write(fresh), checkpoint: directory + "/fresh-\(format.rawValue)").runUntilIdle()
            XCTAssertEqual(fresh.rows, Self.rows(0..<80), "\(format)")
        }
    }

    /// A sink opening a table removes the part files of batches that never committed and hidden
    /// temporaries (not compaction's files); a partition value too long for a directory name is a
    /// bad row; more than 1000 partition directories in one batch fail it; a source without
    /// PARTITIONED BY reading the table takes the partition columns its log names; a table of an
    /// older Eddy is refused with a message.
    func testHousekeepingAndLimits() throws {
        let out = directory + "/house"
        var settingAside = context()
        settingAside.setsRowsAside = true
        let descriptor = FileSinkDescriptor.files(out, format: .parquet, partitionBy: ["region"])
        try descriptor.makeSink(settingAside).write(batchId: 0, RecordBatch(schema: Self.schema, rows: Self.rows(0..<8)))
        let partition = out + "/region=eu"
        for leftover in ["part-0000000001.parquet", "part-0000000001-1.parquet", ".part-0000000001.parquet.tmp", "part-c0000000001-0.parquet"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: partition + "/" + leftover))
        }
        let sink = try descriptor.makeSink(settingAside)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: partition).sorted(), ["part-0000000000.parquet", "part-c0000000001-0.parquet"])

        var rows = Self.rows(8..<10)
        rows[1][2] = .string(String(repeating: "é", count: 200))
        let letters = try sink.write(batchId: 1, RecordBatch(schema: Self.schema, rows: rows))
        XCTAssertEqual(letters.count, 1)
        XCTAssertTrue(letters[0].detail.contains("bytes; a directory name holds at most 255"), letters[0].detail)
        let many = (0..<1001).map { n -> [Value] in var row = Self.rows(n..<(n + 1))[0]; row[2] = .string("r\(n)"); return row }
        XCTAssertThrowsError(try sink.write(batchId: 2, RecordBatch(schema: Self.schema, rows: many))) { error in
            XCTAssertTrue("\(error)".contains("writes 1001 partition directories"), "\(error)")
        }

        let output = MemorySink()
        try TestDriver(Pipeline.read(.files(out, format: .parquet(Self.schema))).write(output)).runUntilIdle()
        XCTAssertEqual(output.rows.sorted { Self.number($0) < Self.number($1) }, Self.rows(0..<9), "regions from the directories")

        let older = directory + "/older"
        try FileManager.default.createDirectory(atPath: older + "/_eddy_manifest", withIntermediateDirectories: true)
        XCTAssertThrowsError(try FileSinkDescriptor.files(older).makeSink(context())) { XCTAssertTrue("\($0)".contains("older Eddy"), "\($0)") }
        XCTAssertThrowsError(try TestDriver(Pipeline.read(.files(older, format: .jsonLines(Self.schema))).write(MemorySink())).runUntilIdle()) {
            XCTAssertTrue("\($0)".contains("older Eddy"), "\($0)")
        }
    }
}
