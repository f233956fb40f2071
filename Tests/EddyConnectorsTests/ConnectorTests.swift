import EddyBroker
import EddyConnectors
import EddyCore
import EddyEngine
import EddyFormats
import EddyParquet
import EddyTestSupport
import Foundation
import Logging
import NIOPosix
import XCTest

final class FileSourceTests: XCTestCase {
    var directory = ""
    static let schema = Schema([Field("t", .timestamp), Field("k", .utf8), Field("n", .int64)])

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/in", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ name: String, _ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(directory)/in/\(name)", atomically: true, encoding: .utf8)
    }

    func line(_ n: Int, _ k: String = "a") -> String { #"{"t":\#(n * 1000),"k":"\#(k)","n":\#(n)}"# }

    func testNewFilesArePickedUpAndBatchesEndOnLines() throws {
        try write("a.jsonl", (0..<50).map { line($0) })
        let output = MemorySink()
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 100)  // about three lines per batch
        let driver = try TestDriver(Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(output),
                                    checkpoint: directory + "/checkpoint", options: options)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.count, 50)
        XCTAssertGreaterThan(driver.progress.count, 10)
        try write("b.jsonl", (50..<60).map { line($0) })
        try write(".hidden.tmp", ["not read"])
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[2] }, (0..<60).map { Value.int64(Int64($0)) }, "every line once, in order")
    }

    /// Parquet files in batches of whole files; a sink's directory is read through its log
    /// (a part file whose batch never committed is not read); a file that does not fit the table
    /// goes to the dead letters by name.
    func testParquetFilesAreReadWholeAndThroughTheManifest() throws {
        let sink = try FileSinkDescriptor.files(directory + "/lake", format: .parquet)
            .makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q"))
        for batch in 0..<5 {
            try sink.write(batchId: Int64(batch), RecordBatch(schema: Self.schema, rows: (0..<10).map { n in
                [.timestamp(Int64(batch * 10 + n) * 1000), .string("k\(n % 3)"), .int64(Int64(batch * 10 + n))]
            }))
        }
        // A crash after writing part 5 but before its log entry: the part file is there.
        try FileManager.default.copyItem(atPath: directory + "/lake/part-0000000004.parquet", toPath: directory + "/lake/part-0000000005.parquet")
        let output = MemorySink()
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 1)  // one file per batch
        let driver = try TestDriver(Pipeline.read(.files(directory + "/lake", format: .parquet(Self.schema))).write(output),
                                    checkpoint: directory + "/checkpoint", options: options)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[2] }, (0..<50).map { Value.int64(Int64($0)) })
        XCTAssertEqual(driver.progress.filter { $0.numInputRows > 0 }.count, 5)

        // A file whose column has another type: dead-lettered by name, the others read.
        let other = Schema([Field("t", .timestamp), Field("k", .int64), Field("n", .int64)])
        var writer = try ParquetWriter(schema: other)
        try writer.write(RecordBatch(schema: other, rows: [[.timestamp(0), .int64(1), .int64(2)]]))
        try Data(try writer.finish()).write(to: URL(fileURLWithPath: directory + "/in/a.parquet"))
        try Data("not parquet".utf8).write(to: URL(fileURLWithPath: directory + "/in/b.parquet"))
        let letters = Letters()
        options.deadLetters = letters
        let second = MemorySink()
        try TestDriver(Pipeline.read(.files(directory + "/in", format: .parquet(Self.schema))).write(second), options: options).runUntilIdle()
        XCTAssertEqual(second.rows.count, 0)
        XCTAssertEqual(letters.letters.map(\.detail), [
            "a.parquet: column k is BIGINT in the file, TEXT in the table",
            "b.parquet: not a Parquet file (no PAR1 magic at both ends)",
        ])
    }

    /// A large batch rolls over to several part files at `fileBytesMax` (every CSV file with its
    /// header); the log lists them in order, and reading them back gives every row once.
    func testABatchRollsOverToSeveralFiles() throws {
        let rows = (0..<20_000).map { n -> [Value] in [.timestamp(Int64(n) * 1000), .string("key-\(n % 7)"), .int64(Int64(n))] }
        let batch = RecordBatch(schema: Self.schema, rows: rows)
        for format in [FileSinkDescriptor.Format.jsonLines, .csv, .parquet] {
            let out = directory + "/rolled-\(format.rawValue)"
            var descriptor = FileSinkDescriptor.files(out, format: format, parquet: ParquetWriter.Options(rowGroupRows: 2000))
            descriptor.fileBytesMax = 64 << 10
            let sink = try descriptor.makeSink(SinkContext(schema: Self.schema, mode: .append, upsertKeys: [], queryId: "q"))
            try sink.write(batchId: 7, batch)
            let files = try FileSinkReader.committedFiles(out).map { ($0 as NSString).lastPathComponent }
            XCTAssertGreaterThan(files.count, 2, "\(format)")
            XCTAssertEqual(files.first, "part-0000000007.\(format.rawValue)")
            XCTAssertEqual(files.last, "part-0000000007-\(files.count - 1).\(format.rawValue)")
            let recordFormat: RecordFormat = format == .parquet ? .parquet(Self.schema)
                : format == .csv ? .csv(Self.schema, CSVDecodeOptions(hasHeader: true)) : .jsonLines(Self.schema)
            let output = MemorySink()
            try TestDriver(Pipeline.read(.files(out, format: recordFormat)).write(output)).runUntilIdle()
            XCTAssertTrue(output.rows.map { $0[2] } == rows.map { $0[2] }, "\(format): every row once, in order")
        }
    }

    /// The file source's list of taken files is its offsets' meaning: one that cannot be read must
    /// stop the query with its path, never read as empty (which would take every file in again).
    func testAnUnreadableFileListFailsWithItsPath() throws {
        try write("a.jsonl", [line(0)])
        let list = directory + "/checkpoint/sources/0/files"
        try FileManager.default.createDirectory(atPath: list, withIntermediateDirectories: true)
        XCTAssertThrowsError(try TestDriver(Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(MemorySink()),
                                            checkpoint: directory + "/checkpoint")) { error in
            XCTAssertTrue("\(error)".contains(list), "\(error)")
        }
    }

    func testTheReadAheadIsUsedAndChangesNothing() throws {
        var lines = (0..<120).map { line($0) }
        lines[40] = "garbage"
        lines[77] = #"{"t":1,"k":"a","n":"seven"}"#
        try write("a.jsonl", lines)
        try write("b.jsonl", (120..<150).map { line($0) })
        func run(readAhead: Bool) throws -> (rows: [[Value]], letters: [String], hits: Int) {
            let output = MemorySink()
            let letters = Letters()
            var options = QueryOptions()
            options.readLimit = ReadLimit(maxBytes: 300)
            options.deadLetters = letters
            let source = FileSourceDescriptor.files(directory + "/in", format: .jsonLines(Self.schema), readAhead: readAhead)
            let driver = try TestDriver(Pipeline.read(source).write(output), options: options)
            try driver.runUntilIdle()
            let hits = (driver.execution.plan.sources[0] as? FileSource)?.readAheadHits ?? -1
            return (output.rows, letters.letters.map(\.detail), hits)
        }
        let ahead = try run(readAhead: true), plain = try run(readAhead: false)
        XCTAssertEqual(ahead.rows, plain.rows)
        XCTAssertEqual(ahead.letters, plain.letters)
        XCTAssertEqual(plain.rows.count, 148)
        XCTAssertEqual(plain.letters.count, 2)
        XCTAssertEqual(plain.hits, 0)
        XCTAssertGreaterThan(ahead.hits, 10, "most batches come from the read-ahead")
    }

    func testAReadAheadGuessThatNewFilesOutgrewIsNotUsed() throws {
        // Batch 0 reads about 200 bytes; the read-ahead then guesses the rest of a.jsonl as batch 1.
        // b.jsonl appears before batch 1 is planned, so batch 1 reaches into it: the guess must go.
        try write("a.jsonl", (0..<10).map { line($0) })
        let output = MemorySink()
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 200)
        let driver = try TestDriver(Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(output),
                                    options: options)
        XCTAssertNotNil(try driver.runBatch())
        let first = output.rows.count
        XCTAssertGreaterThan(first, 0)
        XCTAssertLessThan(first, 10)
        try write("b.jsonl", (10..<20).map { line($0) })
        let second = try XCTUnwrap(try driver.runBatch())
        XCTAssertGreaterThan(output.rows.count, 10, "batch 1 read past the end of a.jsonl")
        XCTAssertEqual(second.numInputRows, Int64(output.rows.count - first))
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[2] }, (0..<20).map { Value.int64(Int64($0)) }, "every line once, in order")
    }

    func testMalformedLinesAreDeadLetteredWithFileAndPosition() throws {
        try write("a.jsonl", [line(1), #"{"t":2000,"k":"a","n":"two"}"#, "garbage", line(3)])
        let output = MemorySink()
        let letters = Letters()
        var options = QueryOptions()
        options.deadLetters = letters
        let driver = try TestDriver(Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(output),
                                    options: options)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.count, 2)
        XCTAssertEqual(letters.letters.count, 2)
        XCTAssertEqual(letters.letters.map { String(decoding: $0.value, as: UTF8.self) }, [#"{"t":2000,"k":"a","n":"two"}"#, "garbage"])
        XCTAssertTrue(letters.letters[0].detail.hasPrefix("a.jsonl byte 25: field n: expected BIGINT"), letters.letters[0].detail)
        XCTAssertEqual(driver.progress.last?.numDeadLetterRows, ["malformed": 2])
    }

    func testCSVWithAHeaderAcrossBatches() throws {
        try write("a.csv", ["n,k,t"] + (0..<30).map { "\($0),b,\($0 * 1000)" })
        let output = MemorySink()
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxBytes: 40)
        let driver = try TestDriver(Pipeline.read(.files(directory + "/in", format: .csv(Self.schema))).write(output), options: options)
        try driver.runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[2] }, (0..<30).map { Value.int64(Int64($0)) })
        XCTAssertEqual(output.rows.first, [.timestamp(0), .string("b"), .int64(0)])
    }

    func testALargeBatchIsWrittenInSlicesWithOneHeader() throws {
        let rows = 20_000  // more than two slices of the sink's rowsPerWrite
        try write("a.jsonl", (0..<rows).map { line($0) })
        let sinkDirectory = directory + "/out"
        let pipeline = Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(.files(sinkDirectory, format: .csv))
        let driver = try TestDriver(pipeline)
        try driver.runUntilIdle()
        let files = try FileSinkReader.committedFiles(sinkDirectory)
        XCTAssertEqual(files.count, 1)
        let lines = try String(contentsOfFile: files[0], encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, rows + 1)
        XCTAssertEqual(lines.filter { $0 == "t,k,n" }.count, 1)
        XCTAssertEqual(lines.dropFirst().map { Int($0.split(separator: ",")[2])! }, Array(0..<rows))
        let names = try FileManager.default.contentsOfDirectory(atPath: sinkDirectory)
        XCTAssertFalse(names.contains { $0.hasSuffix(".tmp") }, "\(names)")
    }

    func testFileSinkWritesEachBatchOnceAndSkipsAReplay() throws {
        try write("a.jsonl", (0..<10).map { line($0) })
        let sinkDirectory = directory + "/out"
        let pipeline = Pipeline.read(.files(directory + "/in", format: .jsonLines(Self.schema))).write(.files(sinkDirectory, format: .csv))
        let driver = try TestDriver(pipeline, checkpoint: directory + "/checkpoint")
        try driver.runUntilIdle()
        let files = try FileSinkReader.committedFiles(sinkDirectory)
        XCTAssertEqual(files.count, 1)
        let text = try String(contentsOfFile: files[0], encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("t,k,n\n1970-01-01T00:00:00.000Z,a,0\n"), text)
        // A crash after the sink wrote batch 0 but before the commit: the replay leaves one copy.
        try FileManager.default.removeItem(atPath: directory + "/checkpoint/commits/0")
        let again = try TestDriver(pipeline, checkpoint: directory + "/checkpoint")
        try again.runUntilIdle()
        XCTAssertEqual(try FileSinkReader.committedFiles(sinkDirectory), files)
        XCTAssertEqual(try String(contentsOfFile: files[0], encoding: .utf8), text)
    }
}

final class GeneratorTests: XCTestCase {
    func testTheSameSeedGivesTheSameBytes() {
        var options = EventGenerator.Options()
        options.count = 1000
        var a: [UInt8] = [], b: [UInt8] = [], c: [UInt8] = []
        EventGenerator(.purchases, options: options).appendLines(0..<1000, to: &a)
        EventGenerator(.purchases, options: options).appendLines(0..<500, to: &b)
        EventGenerator(.purchases, options: options).appendLines(500..<1000, to: &b)
        options.seed = 7
        EventGenerator(.purchases, options: options).appendLines(0..<1000, to: &c)
        XCTAssertEqual(a, b, "event i does not depend on how the stream is split")
        XCTAssertNotEqual(a, c)
    }

    func testEveryKindDecodesWithItsSchemaAndDisorderStaysBounded() throws {
        for kind in EventGenerator.Kind.allCases {
            var options = EventGenerator.Options()
            options.count = 2000
            let generator = EventGenerator(kind, options: options)
            let output = MemorySink()
            let driver = try TestDriver(Pipeline.read(.generator(kind, options: options, partitions: 2)).write(output))
            try driver.runUntilIdle()
            XCTAssertEqual(output.rows.count, 2000, "\(kind)")
            let timeIndex = generator.schema.fields.firstIndex { $0.type == .timestamp }!
            let times = output.rows.map { row -> Int64 in
                guard case .timestamp(let t) = row[timeIndex] else { return .min }
                return t
            }
            XCTAssertGreaterThanOrEqual(times.min()!, options.startMs - options.maxDisorderMs, "\(kind)")
            XCTAssertLessThan(times.max()!, options.startMs + options.spanMs, "\(kind)")
        }
    }
}

final class LogSourceTests: XCTestCase {
    var directory = ""
    var pool: NIOThreadPool!

    override func setUp() {
        directory = NSTemporaryDirectory() + "eddy-log-\(UUID().uuidString)"
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    override func tearDown() {
        try? pool.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The embedded log's records, across partitions and restarts, exactly once into the sink; a
    /// record that does not decode goes to the dead-letter topic with its reason in headers.
    func testReadsTheEmbeddedLogAndDeadLettersBadRecords() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        try broker.ensureTopic("purchases", partitions: 2)
        let schema = Schema([Field("k", .utf8), Field("n", .int64)])
        func append(_ partition: Int, _ values: [String]) throws {
            try broker.append("purchases", partition: PartitionID(Int32(partition)), values.map { LogAppend(key: nil, value: Array($0.utf8)) })
        }
        try append(0, [#"{"k":"a","n":1}"#, #"{"k":"b","n":2}"#])
        try append(1, [#"{"k":"c","n":3}"#, "oops"])
        let output = MemorySink()
        var options = QueryOptions()
        options.deadLetters = try LogDeadLetterSink(log: broker, topic: "purchases.dlq")
        let pipeline = Pipeline.read(.log(broker, topic: "purchases", format: .json(schema))).write(output)
        let first = try TestDriver(pipeline, checkpoint: directory + "/checkpoint", options: options)
        try first.runUntilIdle()
        XCTAssertEqual(Set(output.rows.map { $0[1] }), [.int64(1), .int64(2), .int64(3)])
        try append(0, [#"{"k":"d","n":4}"#])
        let second = try TestDriver(pipeline, checkpoint: directory + "/checkpoint", options: options)
        try second.runUntilIdle()
        XCTAssertEqual(output.rows.map { $0[1] }.filter { $0 == .int64(4) }.count, 1)
        XCTAssertEqual(output.rows.count, 4, "nothing read twice after the restart")
        XCTAssertEqual(second.progress.last?.sources.first?.endOffset, SourceOffsets([0: 3, 1: 2]))

        let dead = try records(broker, "purchases.dlq")
        XCTAssertEqual(dead.count, 1)
        XCTAssertEqual(dead.first?.value.map { String(decoding: $0, as: UTF8.self) }, "oops")
    }

    /// Rows into a topic of 3 partitions, keyed: each row once, a key always in one partition, also
    /// when the query crashes at any point of the protocol and its replay writes the batch again.
    func testTheLogSinkWritesEachRowOnceAcrossCrashes() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        let schema = Schema([Field("k", .utf8), Field("n", .int64)])
        let input = MemoryStream(schema)
        for n in 0..<200 { input.add([[.string("key-\(n % 17)"), .int64(Int64(n))]]) }
        for point in MicroBatchProtocol.CrashPoint.allCases {
            let topic = "out-\(point)"
            let pipeline = Pipeline.read(input).write(LogSinkDescriptor(log: broker, topic: topic, partitions: 3, keyFields: ["k"]))
            var options = QueryOptions()
            options.readLimit = ReadLimit(maxRecords: 40)
            options.crashInjector = CrashInjector(stopAt: .init(batchId: 2, point: point))
            let checkpoint = directory + "/checkpoint-\(point)"
            XCTAssertThrowsError(try TestDriver(pipeline, checkpoint: checkpoint, options: options, runId: "first").runUntilIdle())
            options.crashInjector = nil
            try TestDriver(pipeline, checkpoint: checkpoint, options: options, runId: "second").runUntilIdle()
            var seen: [String: Int] = [:]
            var partitionOfKey: [String: Int] = [:]
            for partition in 0..<3 {
                for record in try records(broker, topic, partition: partition) {
                    seen[String(decoding: record.value ?? [], as: UTF8.self), default: 0] += 1
                    let key = String(decoding: record.key ?? [], as: UTF8.self)
                    XCTAssertEqual(partitionOfKey[key] ?? partition, partition, "a key stays in one partition")
                    partitionOfKey[key] = partition
                }
            }
            XCTAssertEqual(seen.count, 200, "\(point)")
            XCTAssertEqual(Set(seen.values), [1], "each row once after a crash at \(point)")
            XCTAssertEqual(partitionOfKey.count, 17)
            XCTAssertNotNil(seen[#"{"k":"key-7","n":7}"#])
            XCTAssertEqual(partitionOfKey.keys.first { $0.contains("key-7") }, #"{"k":"key-7"}"#)
        }
    }

    /// Rows near 1 KiB: the sink cuts its appends by size, under the broker's batch limit (a chunk
    /// of 1000 such records was refused as too large, for good).
    func testTheLogSinkWritesWideRows() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        let schema = Schema([Field("s", .utf8)])
        let wide = String(repeating: "x", count: 1000)
        let batch = RecordBatch(schema: schema, rows: (0..<3000).map { _ in [.string(wide)] })
        let sink = try LogSinkDescriptor(log: broker, topic: "wide").makeSink(SinkContext(schema: schema, mode: .append, upsertKeys: [], queryId: "q"))
        try sink.write(batchId: 0, batch)
        XCTAssertEqual(try records(broker, "wide").count, 3000)
    }

    /// A CSV message value holding two lines is dead-lettered whole, with metadata columns read: its
    /// rows are not kept (they crashed the batch's assembly, or were kept and dead-lettered both).
    func testAMultiLineCSVValueIsDeadLetteredWhole() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        try broker.ensureTopic("csv", partitions: 1)
        try broker.append("csv", partition: PartitionID(0), ["1,a", "2,b\n3,c", "4,d"].map { LogAppend(key: nil, value: Array($0.utf8)) })
        var source = LogSourceDescriptor.log(broker, topic: "csv", format: .csv(Schema([Field("n", .int64), Field("s", .utf8)]),
                                                                                 CSVDecodeOptions(hasHeader: false)))
        source.metadata = ["offset": .offset]
        source.declaredSchema = Schema([Field("n", .int64), Field("s", .utf8), Field("offset", .int64)])
        let output = MemorySink()
        let letters = Letters()
        var options = QueryOptions()
        options.deadLetters = letters
        try TestDriver(Pipeline.read(source).write(output), options: options).runUntilIdle()
        XCTAssertEqual(output.rows, [[.int64(1), .string("a"), .int64(0)], [.int64(4), .string("d"), .int64(2)]])
        XCTAssertEqual(letters.letters.map(\.offset), [1])
    }

    /// A paced generator resumes its rate where its checkpoint left off (it waited as long as the
    /// first run had lasted, counting from zero).
    func testAPacedGeneratorResumesWhereItsCheckpointLeftOff() throws {
        let output = MemorySink()
        let pipeline = Pipeline.read(GeneratorSourceDescriptor(generator: EventGenerator(.bids), eventsPerSecond: 1_000_000, partitions: 1))
            .write(output)
        let first = try TestDriver(pipeline, checkpoint: directory + "/paced")
        Thread.sleep(forTimeInterval: 0.05)
        try first.runBatch()
        Thread.sleep(forTimeInterval: 0.05)
        try first.runBatch()
        let read = output.rows.count
        XCTAssertGreaterThan(read, 0)
        let second = try TestDriver(pipeline, checkpoint: directory + "/paced")
        try second.runBatch()  // starts the rate on top of what was read
        Thread.sleep(forTimeInterval: 0.02)
        try second.runBatch()
        XCTAssertGreaterThan(output.rows.count, read, "the restart makes new rows at once, not after the first run's length")
    }

    func testAHalfWrittenBatchIsCompletedByItsReplay() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        let schema = Schema([Field("n", .int64)])
        let context = SinkContext(schema: schema, mode: .append, upsertKeys: [], queryId: "q")
        let batch = RecordBatch(schema: schema, rows: (0..<10).map { [.int64(Int64($0))] })
        // The first writer dies at partition 1's append, after partition 0's.
        let failing = AppendFailsOnPartition(broker, partition: 1)
        XCTAssertThrowsError(try LogSinkDescriptor(log: failing, topic: "half", partitions: 2).makeSink(context).write(batchId: 0, batch))
        XCTAssertEqual(try records(broker, "half", partition: 0).count, 5)
        XCTAssertEqual(try records(broker, "half", partition: 1).count, 0)
        let replay = try LogSinkDescriptor(log: broker, topic: "half", partitions: 2).makeSink(context)
        XCTAssertEqual(try replay.lastCommittedBatch(), 0)
        try replay.write(batchId: 0, batch)
        let values = try (0..<2).flatMap { try records(broker, "half", partition: $0) }.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        XCTAssertEqual(values.sorted(), (0..<10).map { #"{"n":\#($0)}"# }.sorted(), "each row once")
    }

    /// A batch replayed after a crash (its commit missing) dead-letters nothing twice, also when the
    /// crash came between two appends of its letters; batches that are not replays (a new checkpoint,
    /// even under a reused id) write all of theirs.
    func testAReplayedBatchDoesNotDeadLetterTwice() throws {
        let broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
        defer { try? broker.close() }
        try broker.ensureTopic("in", partitions: 1)
        let schema = Schema([Field("n", .int64)])
        let values = (0..<6000).map { $0 % 2 == 0 ? #"{"n":\#($0)}"# : "bad \($0)" }
        try broker.append("in", partition: PartitionID(0), values.map { LogAppend(key: nil, value: Array($0.utf8)) })
        func run(_ checkpoint: String, runId: String = "run-\(UUID())", dlq: String = "in.dlq") throws {
            // A sink per run: this test is about the dead letters.
            let pipeline = Pipeline.read(.log(broker, topic: "in", format: .json(schema))).write(MemorySink())
            var options = QueryOptions()
            options.readLimit = ReadLimit(maxRecords: 3000)  // two batches of 1500 letters, two appends each
            options.deadLetters = try LogDeadLetterSink(log: broker, topic: dlq)
            try TestDriver(pipeline, checkpoint: directory + "/" + checkpoint, options: options, runId: runId).runUntilIdle()
        }
        func dlq(_ topic: String = "in.dlq") throws -> [LogAppend] { try records(broker, topic) }
        func letters(_ records: [LogAppend]) -> [String] {
            records.map { record in
                let header = { (key: String) in
                    record.headers.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) } ?? "-"
                }
                return "\(header(DeadLetter.batchIdHeader))/\(header(DeadLetter.indexHeader)) "
                    + "\(header("eddy.error.offset")) \(record.value.map { String(decoding: $0, as: UTF8.self) } ?? "")"
            }
        }
        try run("a", runId: "query-a")
        let straight = letters(try dlq())
        XCTAssertEqual(straight.count, 3000)
        XCTAssertEqual(straight.first, "0/0 1 bad 1")
        XCTAssertEqual(straight.last, "1/1499 5999 bad 5999")

        // The last batch replayed: its letters are all in the topic already.
        try FileManager.default.removeItem(atPath: directory + "/a/commits/1")
        try run("a")
        XCTAssertEqual(letters(try dlq()), straight, "the replay of batch 1 wrote nothing again")

        // A crash between the two appends of batch 1 (its first 1000 letters written): the replay
        // writes only the other 500.
        try broker.ensureTopic("partial.dlq", partitions: 1)
        try broker.append("partial.dlq", partition: PartitionID(0), Array(try dlq().prefix(1500 + 1000)))
        try FileManager.default.removeItem(atPath: directory + "/a/commits/1")
        try run("a", dlq: "partial.dlq")
        XCTAssertEqual(letters(try dlq("partial.dlq")), straight)

        // Not replays: a new checkpoint writes all its letters, also under the id of another query.
        try run("b", runId: "query-a")
        XCTAssertEqual(try dlq().count, 6000)
        var letter = DeadLetter(reason: .malformed, detail: "by hand", source: "test", partition: 0, offset: nil, value: [0x78])
        (letter.queryId, letter.batchId, letter.index) = ("query-a", 1, 7)
        try LogDeadLetterSink(log: broker, topic: "in.dlq").write([letter])
        XCTAssertEqual(try dlq().count, 6001, "not a replay: written although query-a's batch 1 holds index 7")
        letter.replayed = true
        try LogDeadLetterSink(log: broker, topic: "in.dlq").write([letter])
        XCTAssertEqual(try dlq().count, 6001, "a replay: skipped")
    }
}

/// Partition 0 of `topic`, read uncommitted, as owned copies.
func records(_ log: any RecordLog, _ topic: String, partition: Int = 0) throws -> [LogAppend] {
    guard let ranges = try log.readableRanges(topic, isolation: .readUncommitted), partition < ranges.count else { return [] }
    let range = ranges[partition]
    var records: [LogAppend] = []
    var from = range.start
    while from < range.end {
        from = try log.read(topic, partition: PartitionID(Int32(partition)), from: from, to: range.end, maxBytes: 1 << 20,
                            isolation: .readUncommitted) { record in
            records.append(LogAppend(key: record.key.map { Array($0) }, value: record.value.map { Array($0) }, headers: record.headers))
        }
    }
    return records
}

/// A log whose appends to one partition fail, as a crash between two partitions' appends.
final class AppendFailsOnPartition: RecordLog, @unchecked Sendable {
    let inner: any RecordLog
    let partition: Int32
    init(_ inner: any RecordLog, partition: Int32) {
        self.inner = inner
        self.partition = partition
    }
    struct Crash: Error {}
    func partitionCount(_ topic: String) throws -> Int? { try inner.partitionCount(topic) }
    func topicNames() throws -> [String] { try inner.topicNames() }
    func ensureTopic(_ topic: String, partitions: Int32, configs: [String: String]) throws -> Int {
        try inner.ensureTopic(topic, partitions: partitions, configs: configs)
    }
    func readableRanges(_ topic: String, isolation: IsolationLevel) throws -> [ReadableRange]? { try inner.readableRanges(topic, isolation: isolation) }
    func offsets(_ topic: String, atOrAfter millis: Int64, isolation: IsolationLevel) throws -> [Offset]? {
        try inner.offsets(topic, atOrAfter: millis, isolation: isolation)
    }
    func read(_ topic: String, partition: PartitionID, from: Offset, to: Offset, maxBytes: Int, isolation: IsolationLevel,
              _ visit: (LogRecord) throws -> Void) throws -> Offset {
        try inner.read(topic, partition: partition, from: from, to: to, maxBytes: maxBytes, isolation: isolation, visit)
    }
    func append(_ topic: String, partition: PartitionID, _ records: [LogAppend]) throws -> Offset {
        if partition.rawValue == self.partition { throw Crash() }
        return try inner.append(topic, partition: partition, records)
    }
}

final class Letters: DeadLetterSink, @unchecked Sendable {
    private(set) var letters: [DeadLetter] = []
    var description: String { "letters" }
    func write(_ letters: [DeadLetter]) throws(EngineError) { self.letters += letters }
}

/// Keyed rows go where Kafka's Java client puts their keys: murmur2 as kafka-python computes it.
final class KafkaPartitionerTests: XCTestCase {
    func testKeysLandWhereJavaClientsPutThem() throws {
        let keys = ["", "a", "ab", "abc", "21", "foobar", "a-little-bit-long-string", #"{"category":"books"}"#, "é", String(repeating: "k", count: 1000)]
        let script = """
            import sys, json
            from kafka.partitioner.default import murmur2
            print(json.dumps([(murmur2(k.encode()) & 0x7FFFFFFF) % 7 for k in json.loads(sys.stdin.read())]))
            """
        let input = String(decoding: try JSONEncoder().encode(keys), as: UTF8.self)
        let output: String
        do { output = try runPython(script, input: input) } catch is PythonUnavailable { throw XCTSkip("the Python venv is not set up (make setup)") }
        let expected = try JSONDecoder().decode([Int].self, from: Data(output.utf8))
        XCTAssertEqual(keys.map { LogSinkDescriptor.defaultPartition(key: Array($0.utf8)[...], partitions: 7) }, expected)
    }
}

