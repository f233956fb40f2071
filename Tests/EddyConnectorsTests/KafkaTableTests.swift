@testable import EddyBroker
import EddyConnectors
import EddyCore
import EddyEngine
import EddySQL
import Foundation
import Logging
import NIOPosix
import XCTest

/// Kafka tables on the embedded broker through SQL: record keys as columns (json, csv, raw), values
/// without the key's columns, CSV values written, and Flink's startup modes.
final class KafkaTableTests: XCTestCase {
    var directory = ""
    var pool: NIOThreadPool!
    var broker: Broker!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-kafka-table-\(UUID().uuidString)"
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        broker = try Broker(config: BrokerConfig(dataDirectory: directory + "/broker"), pool: pool, logger: Logger(label: "test"))
    }

    override func tearDown() {
        try? broker.close()
        try? pool.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func append(_ topic: String, partition: Int32 = 0, _ records: [(key: String?, value: String?)]) throws {
        try broker.append(topic, partition: PartitionID(partition), records.map { LogAppend(key: $0.key.map { Array($0.utf8) }, value: $0.value.map { Array($0.utf8) }) })
    }

    /// Runs `ddl`, then `query` (a SELECT) over the data present now; the printed rows.
    func select(_ ddl: String, _ query: String) throws -> [String] {
        let printed = PrintedLines()
        let session = SQLSession(connectors: SQLConnectors.standard(embedded: (broker, "127.0.0.1:9092"), output: { printed.append($0) }), bounded: true)
        try session.run(ddl)
        guard case .query(let parsed) = try Parser.parseStatement(query) else { return [] }
        try TestDriver(try session.printJob(parsed).pipeline).runUntilIdle()
        return printed.lines
    }

    /// A driver of the script's INSERT (its print tables print into `printed`), unbounded, on a checkpoint.
    func printing(into printed: PrintedLines, checkpoint: String, options: QueryOptions = QueryOptions(), _ script: String) throws -> TestDriver {
        let session = SQLSession(connectors: SQLConnectors.standard(embedded: (broker, "127.0.0.1:9092"), output: { printed.append($0) }))
        for statement in try Parser.parseScript(script) {
            if case .job(let job) = try session.execute(statement) {
                return try TestDriver(job.pipeline, checkpoint: directory + "/" + checkpoint, options: options)
            }
        }
        throw EngineError.internal("the script has no INSERT")
    }

    /// Runs the statements (INSERTs) to the end of their bounded inputs.
    func run(_ script: String) throws {
        let session = SQLSession(connectors: SQLConnectors.standard(embedded: (broker, "127.0.0.1:9092"), output: { _ in }), bounded: true)
        for statement in try Parser.parseScript(script) {
            if case .job(let job) = try session.execute(statement) { try TestDriver(job.pipeline).runUntilIdle() }
        }
    }

    func error(_ ddl: String, _ query: String) -> String? {
        do {
            _ = try select(ddl, query)
            return nil
        } catch let error as SQLError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    func testKeyColumnsComeFromTheKeyInEachFormat() throws {
        try broker.ensureTopic("j", partitions: 1)
        try append("j", [(#"{"id":"a","region":"eu"}"#, #"{"n":1}"#), (nil, #"{"n":2}"#), ("not json", #"{"n":3}"#), (#"{"id":"d"}"#, #"{"n":4,"id":"ignored"}"#)])
        XCTAssertEqual(try select("""
            CREATE TABLE j (id STRING, region STRING, n BIGINT, `offset` BIGINT METADATA VIRTUAL)
            WITH ('connector' = 'kafka', 'topic' = 'j', 'format' = 'json', 'key.format' = 'json', 'key.fields' = 'id;region',
                  'scan.startup.mode' = 'earliest-offset');
            """, "SELECT `offset`, id, region, n FROM j"), [
            "+I[0, a, eu, 1]", "+I[1, NULL, NULL, 2]", "+I[3, d, NULL, 4]",
        ], "a key that does not decode takes its record to the dead letters, value and all")

        try broker.ensureTopic("r", partitions: 1)
        try append("r", [("user-1", "1,10.5"), (nil, "2,3"), ("user-3", "3,x")])
        XCTAssertEqual(try select("""
            CREATE TABLE r (u STRING, n BIGINT, amount DOUBLE)
            WITH ('connector' = 'kafka', 'topic' = 'r', 'format' = 'csv', 'key.format' = 'raw', 'key.fields' = 'u',
                  'scan.startup.mode' = 'earliest-offset');
            """, "SELECT u, n, amount FROM r"), ["+I[user-1, 1, 10.5]", "+I[NULL, 2, 3.0]"])

        try broker.ensureTopic("c", partitions: 1)
        try append("c", [("7,x", #"{"v":true}"#), (nil, #"{"v":false}"#)])
        XCTAssertEqual(try select("""
            CREATE TABLE c (a BIGINT, b STRING, v BOOLEAN)
            WITH ('connector' = 'kafka', 'topic' = 'c', 'format' = 'json', 'key.format' = 'csv', 'key.fields' = 'a;b',
                  'scan.startup.mode' = 'earliest-offset');
            """, "SELECT v, b, a FROM c"), ["+I[true, x, 7]", "+I[false, NULL, NULL]"])
    }

    func testTheSinkWritesKeysAndCSVValuesThatTheSourceReadsBack() throws {
        try FileManager.default.createDirectory(atPath: directory + "/in", withIntermediateDirectories: true)
        try Data(#"""
            {"user":"u1","amount":1.5,"note":"plain"}
            {"user":"u2","amount":2,"note":"has, comma and \"quotes\"\nand a line"}
            {"user":null,"amount":3,"note":null}

            """#.utf8).write(to: URL(fileURLWithPath: directory + "/in/1.jsonl"))
        try run("""
            CREATE TABLE input (`user` STRING, amount DECIMAL(10, 2), note STRING)
              WITH ('connector' = 'filesystem', 'path' = '\(directory)/in', 'format' = 'json');
            CREATE TABLE output (`user` STRING, amount DECIMAL(10, 2), note STRING)
              WITH ('connector' = 'kafka', 'topic' = 'out', 'format' = 'csv', 'key.format' = 'raw', 'key.fields' = 'user',
                    'value.fields-include' = 'EXCEPT_KEY');
            INSERT INTO output SELECT * FROM input;
            """)
        let written = try records(broker, "out")
        XCTAssertEqual(written.map { $0.key.map { String(decoding: $0, as: UTF8.self) } }, ["u1", "u2", nil])
        XCTAssertEqual(written.map { String(decoding: $0.value ?? [], as: UTF8.self) },
                       ["1.50,plain", "2.00,\"has, comma and \"\"quotes\"\"\nand a line\"", "3.00,"])
        XCTAssertEqual(try select("""
            CREATE TABLE back (`user` STRING, amount DECIMAL(10, 2), note STRING)
              WITH ('connector' = 'kafka', 'topic' = 'out', 'format' = 'csv', 'key.format' = 'raw', 'key.fields' = 'user',
                    'value.fields-include' = 'EXCEPT_KEY', 'scan.startup.mode' = 'earliest-offset');
            """, "SELECT `user`, amount, CHAR_LENGTH(note) AS length FROM back"),
            ["+I[u1, 1.50, 5]", "+I[u2, 2.00, 34]", "+I[NULL, 3.00, NULL]"])
    }

    func testStartupModesTimestampAndSpecificOffsets() throws {
        try broker.ensureTopic("t", partitions: 2)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        try append("t", partition: 0, [(nil, #"{"n":1}"#), (nil, #"{"n":2}"#)])
        try append("t", partition: 1, [(nil, #"{"n":10}"#)])
        Thread.sleep(forTimeInterval: 0.02)
        let middle = Int64(Date().timeIntervalSince1970 * 1000)
        Thread.sleep(forTimeInterval: 0.02)
        try append("t", partition: 0, [(nil, #"{"n":3}"#)])
        try append("t", partition: 1, [(nil, #"{"n":11}"#), (nil, #"{"n":12}"#)])
        func rows(_ options: String) throws -> [String] {
            try select("""
                CREATE TABLE t (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', \(options));
                """, "SELECT n FROM t").sorted()
        }
        XCTAssertEqual(try rows("'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '\(middle)'"),
                       ["+I[11]", "+I[12]", "+I[3]"])
        XCTAssertEqual(try rows("'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '\(before - 60_000)'").count, 6)
        XCTAssertEqual(try rows("'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '\(middle + 3_600_000)'"), [])
        // Partition 1 from offset 2; partition 0 is not listed: 'properties.auto.offset.reset' (earliest).
        XCTAssertEqual(try rows("'scan.startup.mode' = 'specific-offsets', 'scan.startup.specific-offsets' = 'partition:1,offset:2', 'properties.auto.offset.reset' = 'earliest'"),
                       ["+I[12]", "+I[1]", "+I[2]", "+I[3]"])
        // Offsets past the end start at the end; the unlisted partition at the latest offset (the default).
        XCTAssertEqual(try rows("'scan.startup.mode' = 'specific-offsets', 'scan.startup.specific-offsets' = 'partition:1,offset:99'"), [])

        let ddl = "CREATE TABLE t (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', "
        XCTAssertEqual(error(ddl + "'scan.startup.mode' = 'timestamp');", "SELECT n FROM t"),
                       "'scan.startup.mode' = 'timestamp' needs 'scan.startup.timestamp-millis' (epoch milliseconds)")
        XCTAssertEqual(error(ddl + "'scan.startup.mode' = 'specific-offsets', 'scan.startup.specific-offsets' = 'partition:0;offset:1');", "SELECT n FROM t"),
                       "cannot read 'partition:0' in 'scan.startup.specific-offsets': write 'partition:0,offset:42' entries separated by ';'")
        XCTAssertEqual(error(ddl + "'scan.startup.timestamp-millis' = '5');", "SELECT n FROM t"),
                       "'scan.startup.timestamp-millis' is used only with 'scan.startup.mode' = 'timestamp'")
    }

    func testBoundedModesAndGroupOffsets() throws {
        try broker.ensureTopic("b", partitions: 2)
        try append("b", partition: 0, [(nil, #"{"n":1}"#), (nil, #"{"n":2}"#)])
        try append("b", partition: 1, [(nil, #"{"n":10}"#)])
        Thread.sleep(forTimeInterval: 0.02)
        let middle = Int64(Date().timeIntervalSince1970 * 1000)
        Thread.sleep(forTimeInterval: 0.02)
        try append("b", partition: 0, [(nil, #"{"n":3}"#)])
        try append("b", partition: 1, [(nil, #"{"n":11}"#), (nil, #"{"n":12}"#)])
        func rows(_ options: String) throws -> [String] {
            try select("""
                CREATE TABLE b (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'b', 'format' = 'json', \(options));
                """, "SELECT n FROM b").sorted()
        }
        let earliest = "'scan.startup.mode' = 'earliest-offset', "
        XCTAssertEqual(try rows(earliest + "'scan.bounded.mode' = 'timestamp', 'scan.bounded.timestamp-millis' = '\(middle)'"),
                       ["+I[10]", "+I[1]", "+I[2]"])
        // Partition 1 is not listed: it ends at its latest offset.
        XCTAssertEqual(try rows(earliest + "'scan.bounded.mode' = 'specific-offsets', 'scan.bounded.specific-offsets' = 'partition:0,offset:1'"),
                       ["+I[10]", "+I[11]", "+I[12]", "+I[1]"])
        XCTAssertEqual(try rows(earliest + "'scan.bounded.mode' = 'latest-offset'").count, 6)

        // A group's committed offsets end a bounded read, and start a query (Flink's 'group-offsets').
        try broker.commitGroupOffsets(group: "g", topic: "b", [PartitionID(0): Offset(2), PartitionID(1): Offset(1)])
        XCTAssertEqual(try rows(earliest + "'scan.bounded.mode' = 'group-offsets', 'properties.group.id' = 'g'"), ["+I[10]", "+I[1]", "+I[2]"])
        try broker.commitGroupOffsets(group: "h", topic: "b", [PartitionID(0): Offset(2)])
        // Partition 1 has no offset in group h: 'properties.auto.offset.reset' (earliest) there.
        XCTAssertEqual(try rows("'scan.startup.mode' = 'group-offsets', 'properties.group.id' = 'h', 'properties.auto.offset.reset' = 'earliest'"),
                       ["+I[10]", "+I[11]", "+I[12]", "+I[3]"])
        // The query committed its end to the group: a second query of it starts there, with nothing new.
        XCTAssertEqual(try broker.committedGroupOffsets(group: "h", topic: "b"), [PartitionID(0): Offset(3), PartitionID(1): Offset(3)])
        XCTAssertEqual(try rows("'properties.group.id' = 'h'"), [])

        let ddl = "CREATE TABLE b (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'b', 'format' = 'json', "
        XCTAssertEqual(error(ddl + "'scan.bounded.mode' = 'group-offsets');", "SELECT n FROM b"),
                       "'scan.bounded.mode' = 'group-offsets' needs 'properties.group.id' (the group whose offsets end the read)")
        XCTAssertEqual(error(ddl + "'scan.bounded.mode' = 'timestamp');", "SELECT n FROM b"),
                       "'scan.bounded.mode' = 'timestamp' needs 'scan.bounded.timestamp-millis' (epoch milliseconds)")
        XCTAssertEqual(error(ddl + "'scan.bounded.mode' = 'earliest-offset');", "SELECT n FROM b")?.hasPrefix("option 'scan.bounded.mode'"), true)
    }

    /// Progress shows a log's lag per partition, in records and in seconds (the age of the first
    /// record not read).
    func testProgressShowsLagPerPartitionInRecordsAndSeconds() throws {
        try broker.ensureTopic("lag", partitions: 2)
        let appendedMs = Int64(Date().timeIntervalSince1970 * 1000)
        try append("lag", partition: 0, (1...6).map { (nil, #"{"n":\#($0)}"#) })
        try append("lag", partition: 1, [(nil, #"{"n":7}"#), (nil, #"{"n":8}"#)])
        let output = MemorySink()
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxRecords: 4)  // shared by lag: 3 from partition 0, 1 from partition 1
        let driver = try TestDriver(Pipeline.read(.log(broker, topic: "lag", format: .json(Schema([Field("n", .int64)])))).write(output),
                                    options: options, startMs: appendedMs + 60_000)
        let first = try XCTUnwrap(try driver.runBatch()).sources[0].metrics
        XCTAssertEqual(first["offsetsBehindLatest.0"], "3")
        XCTAssertEqual(first["offsetsBehindLatest.1"], "1")
        for key in ["secondsBehindLatest.0", "secondsBehindLatest.1", "maxSecondsBehindLatest"] {
            let seconds = try XCTUnwrap(Double(first[key] ?? ""), key)
            XCTAssert((59.5...70).contains(seconds), "\(key) = \(seconds)")
        }
        try driver.runUntilIdle()
        let last = try XCTUnwrap(driver.progress.last).sources[0].metrics
        XCTAssertEqual(last["offsetsBehindLatest.0"], "0")
        XCTAssertEqual(last["secondsBehindLatest.0"], "0.0")
        XCTAssertEqual(last["maxSecondsBehindLatest"], "0.0")
        XCTAssertEqual(output.rows.count, 8)
    }

    /// upsert-kafka: an updating result keyed by the PRIMARY KEY into a compacted topic; every change
    /// of a key is a record, the newest one holds the key's current row.
    func testUpsertKafkaWritesEachChangeKeyedByThePrimaryKey() throws {
        try broker.ensureTopic("clicks", partitions: 1)
        try append("clicks", [("a", #"{"user":"a","n":1}"#), ("b", #"{"user":"b","n":2}"#), ("a", #"{"user":"a","n":3}"#),
                              ("c", #"{"user":"c","n":4}"#), ("a", #"{"user":"a","n":5}"#)])
        let session = SQLSession(connectors: SQLConnectors.standard(embedded: (broker, "127.0.0.1:9092"), output: { _ in }), bounded: true)
        try session.run("""
            CREATE TABLE clicks (`user` STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json',
              'scan.startup.mode' = 'earliest-offset');
            CREATE TABLE per_user (`user` STRING, clicks BIGINT, total BIGINT, PRIMARY KEY (`user`) NOT ENFORCED)
              WITH ('connector' = 'upsert-kafka', 'topic' = 'per-user', 'key.format' = 'json', 'value.format' = 'json', 'sink.partitions' = '2');
            """)
        guard case .job(let job) = try session.execute(try Parser.parseStatement(
            "INSERT INTO per_user SELECT `user`, COUNT(*), SUM(n) FROM clicks GROUP BY `user`;"))
        else { return XCTFail("not a job") }
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxRecords: 2)  // three batches: a key changes more than once
        try TestDriver(job.pipeline, options: options).runUntilIdle()

        XCTAssertEqual(broker.topics.topic("per-user")?.config.cleanupPolicy, "compact")
        var records: [(partition: Int32, key: String, value: String)] = []
        for partition in Int32(0)..<2 {
            _ = try broker.read("per-user", partition: PartitionID(partition), from: Offset(0), to: Offset(100), maxBytes: 1 << 20,
                                isolation: .readCommitted) { record in
                records.append((partition, String(decoding: record.key!, as: UTF8.self), String(decoding: record.value!, as: UTF8.self)))
            }
        }
        var newest: [String: String] = [:]
        for record in records { newest[record.key] = record.value }
        XCTAssertEqual(newest, [
            #"{"user":"a"}"#: #"{"user":"a","clicks":3,"total":9}"#,
            #"{"user":"b"}"#: #"{"user":"b","clicks":1,"total":2}"#,
            #"{"user":"c"}"#: #"{"user":"c","clicks":1,"total":4}"#,
        ])
        XCTAssertEqual(records.filter { $0.key == #"{"user":"a"}"# }.map(\.value),
                       [#"{"user":"a","clicks":1,"total":1}"#, #"{"user":"a","clicks":2,"total":4}"#, #"{"user":"a","clicks":3,"total":9}"#])
        // Each key stays in one partition, where Kafka's Java client would put it.
        for record in records {
            XCTAssertEqual(Int(record.partition), LogSinkDescriptor.defaultPartition(key: ArraySlice(record.key.utf8), partitions: 2))
        }

        let ddl = "CREATE TABLE u (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'u', "
        XCTAssertEqual(error(ddl + "'value.format' = 'json');", "SELECT k FROM u"), "upsert-kafka needs 'key.format': 'json', 'csv' or 'raw'")
        XCTAssertEqual(error(ddl + "'key.format' = 'json', 'value.format' = 'json');", "SELECT k FROM u")?.hasPrefix("upsert-kafka is a sink only"), true)
        XCTAssertEqual(error("CREATE TABLE v (k STRING) WITH ('connector' = 'upsert-kafka', 'topic' = 'v', 'key.format' = 'json', 'value.format' = 'json');",
                             "SELECT k FROM v"), "upsert-kafka needs a PRIMARY KEY (…) NOT ENFORCED: its columns are each record's key")
    }

    /// 'topic' = 'a;b' and 'topic-pattern': one table over several topics, with a `topic` metadata
    /// column; a topic created later that matches the pattern is read from its start, and the
    /// topics' ids stay the same across a restart of the checkpoint.
    func testTopicListsAndPatterns() throws {
        try broker.ensureTopic("pat-a", partitions: 1)
        try broker.ensureTopic("pat-b", partitions: 2)
        for other in ["pattern-x", "xpat-a"] { try broker.ensureTopic(other, partitions: 1) }
        try append("pat-a", [(nil, #"{"n":1}"#)])
        try append("pat-b", partition: 1, [(nil, #"{"n":2}"#)])
        try append("pattern-x", [(nil, #"{"n":98}"#)])
        try append("xpat-a", [(nil, #"{"n":99}"#)])

        XCTAssertEqual(try select("""
            CREATE TABLE l (n BIGINT, tp STRING METADATA FROM 'topic', p BIGINT METADATA FROM 'partition')
            WITH ('connector' = 'kafka', 'topic' = 'pat-a; pattern-x', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
            """, "SELECT n, tp, p FROM l").sorted(), ["+I[1, pat-a, 0]", "+I[98, pattern-x, 0]"])

        let printed = PrintedLines()
        func driver() throws -> TestDriver {
            try printing(into: printed, checkpoint: "ckpt-pattern", """
                CREATE TABLE p (n BIGINT, tp STRING METADATA FROM 'topic') WITH ('connector' = 'kafka', 'topic-pattern' = 'pat-.*',
                  'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
                CREATE TABLE out (n BIGINT, tp STRING) WITH ('connector' = 'print');
                INSERT INTO out SELECT n, tp FROM p;
                """)
        }
        var running = try driver()
        try running.runUntilIdle()
        XCTAssertEqual(printed.lines.sorted(), ["+I[1, pat-a]", "+I[2, pat-b]"])
        // A topic created while the query runs is found at the next trigger and read from its start.
        try broker.ensureTopic("pat-c", partitions: 1)
        try append("pat-c", [(nil, #"{"n":3}"#)])
        try append("pat-b", partition: 0, [(nil, #"{"n":4}"#)])
        try running.runUntilIdle()
        XCTAssertEqual(printed.lines.sorted(), ["+I[1, pat-a]", "+I[2, pat-b]", "+I[3, pat-c]", "+I[4, pat-b]"])
        let labels = Set(running.progress.flatMap { $0.sources[0].metrics.keys }.filter { $0.hasPrefix("offsetsBehindLatest.") })
        XCTAssertEqual(labels, ["offsetsBehindLatest.pat-a-0", "offsetsBehindLatest.pat-b-0", "offsetsBehindLatest.pat-b-1", "offsetsBehindLatest.pat-c-0"])

        // Restarted on the checkpoint: nothing is read twice, and each topic keeps its place.
        running = try driver()
        try append("pat-a", [(nil, #"{"n":5}"#)])
        try running.runUntilIdle()
        XCTAssertEqual(printed.lines.count, 5)
        XCTAssertEqual(printed.lines.last, "+I[5, pat-a]")

        let ddl = "CREATE TABLE e (n BIGINT) WITH ('connector' = 'kafka', 'format' = 'json', "
        XCTAssertEqual(error(ddl + "'topic' = 'a', 'topic-pattern' = 'b');", "SELECT n FROM e"),
                       "'topic' and 'topic-pattern' cannot both be set: name the topics, or give the pattern they match")
        XCTAssertEqual(error(ddl + "'topic-pattern' = '(');", "SELECT n FROM e"), "'topic-pattern' /(/ is not a regular expression")
        XCTAssertEqual(error(ddl + "'topic' = 'a;;b');", "SELECT n FROM e"), "'topic' lists topics separated by ';', each once")
        XCTAssertThrowsError(try run("""
            CREATE TABLE src (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'pat-a', 'format' = 'json');
            CREATE TABLE two (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'x;y', 'format' = 'json');
            INSERT INTO two SELECT n FROM src;
            """)) { error in
            XCTAssertEqual((error as? SQLError)?.message, "a kafka sink writes one topic; 'topic' lists several")
        }
    }

    /// Records deleted before they were read, and a topic deleted and created again: the query stops
    /// with the offsets named (Spark's failOnDataLoss), or with 'scan.fail-on-data-loss' = 'false' goes
    /// on from the partition's first record.
    func testDataLossStopsTheQueryOrIsPassedOver() throws {
        try broker.ensureTopic("loss", partitions: 1)
        try append("loss", (1...5).map { (nil, #"{"n":\#($0)}"#) })
        var options = QueryOptions()
        options.readLimit = ReadLimit(maxRecords: 2)
        func driver(_ printed: PrintedLines, failOnDataLoss: Bool, _ name: String) throws -> TestDriver {
            try printing(into: printed, checkpoint: "ckpt-loss-" + name, options: options, """
                CREATE TABLE t (n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'loss', 'format' = 'json',
                  'scan.startup.mode' = 'earliest-offset', 'scan.fail-on-data-loss' = '\(failOnDataLoss)');
                CREATE TABLE out (n BIGINT) WITH ('connector' = 'print');
                INSERT INTO out SELECT n FROM t;
                """)
        }
        let (failing, going) = (PrintedLines(), PrintedLines())
        let strict = try driver(failing, failOnDataLoss: true, "strict"), lenient = try driver(going, failOnDataLoss: false, "lenient")
        try strict.runBatch()
        try lenient.runBatch()
        let strictToTheEnd = try driver(PrintedLines(), failOnDataLoss: true, "to-the-end")
        try strictToTheEnd.runUntilIdle()
        XCTAssertEqual(going.lines, ["+I[1]", "+I[2]"])
        _ = try broker.topics.partition("loss", 0)!.withLog { try $0.deleteRecords(before: Offset(3)) }  // record 3 (offset 2) is gone
        XCTAssertThrowsError(try strict.runUntilIdle()) { error in
            XCTAssert("\(error)".contains("loss-0: records 2 to 2 were deleted (retention or DeleteRecords) before the query read them"), "\(error)")
        }
        try lenient.runUntilIdle()
        XCTAssertEqual(going.lines, ["+I[1]", "+I[2]", "+I[4]", "+I[5]"])

        try broker.topics.delete("loss")
        try broker.ensureTopic("loss", partitions: 1)
        try append("loss", [(nil, #"{"n":10}"#), (nil, #"{"n":11}"#), (nil, #"{"n":12}"#)])
        XCTAssertThrowsError(try strictToTheEnd.runUntilIdle()) { error in
            XCTAssert("\(error)".contains("loss-0 ends at offset 3, before the query's 5: the topic was deleted and created again"), "\(error)")
        }
        try lenient.runUntilIdle()
        XCTAssertEqual(going.lines, ["+I[1]", "+I[2]", "+I[4]", "+I[5]", "+I[10]", "+I[11]", "+I[12]"])
    }

    /// A batch larger than a decoding piece is decoded on several threads: the rows keep the log's
    /// order, and the dead letters (malformed records and tombstones) come in offset order.
    func testLargeBatchesDecodeInPiecesInOrder() throws {
        try broker.ensureTopic("many", partitions: 2)
        var expected: [Int64] = [], bad: [Int64] = [], causes: [String] = []
        for partition in Int32(0)..<2 {
            var records: [(key: String?, value: String?)] = []
            for n in 0..<Int64(40_000) {
                let offset = Int64(records.count)
                if n % 9_973 == 5 {
                    records.append((nil, #"{"n":"not a number"}"#))
                    if partition == 0 { (bad, causes) = (bad + [offset], causes + ["typeMismatch"]) }
                } else if n == 20_001 {
                    records.append(("k", nil))
                    if partition == 0 { (bad, causes) = (bad + [offset], causes + ["tombstone"]) }
                } else {
                    records.append((nil, #"{"n":\#(n)}"#))
                    if partition == 0 { expected.append(n) }
                }
            }
            for start in stride(from: 0, to: records.count, by: 1000) {
                try append("many", partition: partition, Array(records[start..<min(records.count, start + 1000)]))
            }
        }
        let output = MemorySink()
        let letters = MemoryDeadLetterSink()
        var options = QueryOptions()
        options.deadLetters = letters
        let pipeline = Pipeline.read(.log(broker, topic: "many", format: .json(Schema([Field("n", .int64)])))).write(output)
        let driver = try TestDriver(pipeline, options: options)
        try driver.runUntilIdle()
        XCTAssertEqual(driver.progress.count, 1, "one batch of 80 000 records, in 6 pieces")
        let rows = output.rows.map { row -> Int64 in
            guard case .int64(let n) = row[0] else { return -1 }
            return n
        }
        XCTAssertEqual(Array(rows.prefix(expected.count)), expected, "partition 0's rows in log order")
        XCTAssertEqual(rows.count, 2 * expected.count)
        XCTAssertEqual(letters.letters.filter { $0.partition == PartitionID(0) }.compactMap(\.offset), bad)
        XCTAssertEqual(letters.letters.filter { $0.partition == PartitionID(0) }.compactMap(\.cause), causes)
    }

    func testHeadersAreAJSONObjectColumn() throws {
        try broker.ensureTopic("h", partitions: 1)
        try broker.append("h", partition: PartitionID(0), [
            LogAppend(key: nil, value: Array(#"{"n":1}"#.utf8), headers: [
                LogHeader(key: "trace", value: Array("abc".utf8)), LogHeader(key: "empty", value: nil),
                LogHeader(key: "quote\"", value: [0x61, 0xFF]), LogHeader(key: "trace", value: Array("again".utf8)),
            ]),
            LogAppend(key: nil, value: Array(#"{"n":2}"#.utf8)),
        ])
        XCTAssertEqual(try select("""
            CREATE TABLE h (n BIGINT, hs STRING METADATA FROM 'headers' VIRTUAL)
            WITH ('connector' = 'kafka', 'topic' = 'h', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
            """, "SELECT n, hs FROM h"), [
            #"+I[1, {"trace":"again","empty":null,"quote\"":"a\#u{FFFD}"}]"#, "+I[2, {}]",
        ])
        XCTAssertEqual(error("CREATE TABLE h2 (n BIGINT, hs BIGINT METADATA FROM 'headers') WITH ('connector' = 'kafka', 'topic' = 'h', 'format' = 'json');",
                             "SELECT n FROM h2"), "metadata 'headers' is STRING (a JSON object of the headers): declare `hs` so")
    }

    func testKeyOptionsAreChecked() {
        let ddl = "CREATE TABLE k (a STRING, b BIGINT) WITH ('connector' = 'kafka', 'topic' = 'k', 'format' = 'json', "
        XCTAssertEqual(error(ddl + "'key.format' = 'raw', 'key.fields' = 'b');", "SELECT a FROM k"),
                       "'key.format' = 'raw' holds one STRING column: 'key.fields' names a column of another type")
        XCTAssertEqual(error(ddl + "'key.format' = 'avro', 'key.fields' = 'a');", "SELECT a FROM k")?.hasPrefix("option 'key.format'"), true)
        XCTAssertEqual(error(ddl + "'key.fields' = 'c', 'key.format' = 'json');", "SELECT a FROM k"),
                       "'key.fields' names `c`, which is not a column of `k`")
    }
}
