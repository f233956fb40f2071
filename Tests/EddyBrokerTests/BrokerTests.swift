import EddyCore
import EddyWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest

@testable import EddyBroker

/// The broker driven in-process through `Broker.handle`, as a connection would drive it.
final class BrokerTests: BrokerDirectoryTestCase {

    static func call<R: KafkaRequest>(_ broker: Broker, _ request: R, version: Int16) async throws -> R.Response {
        let correlation = Int32.random(in: 1...Int32.max)
        let frame = try KafkaFrame.encodeRequest(request, version: version, correlationId: correlation, clientId: "test")
        let payload = try KafkaFrame.payload(of: frame, maxFrameBytes: 1 << 30)
        let answer = try await broker.handle(payload)
        let response = try XCTUnwrap(answer)
        let body = try KafkaFrame.payload(of: response, maxFrameBytes: 1 << 30)
        let (id, decoded) = try KafkaFrame.decodeResponse(body, as: R.Response.self, version: version)
        XCTAssertEqual(id, correlation)
        return decoded
    }

    static func produce(_ broker: Broker, topic: String, values: [String], acks: Int16 = -1, version: Int16 = 9) async throws -> ProduceResponse.PartitionProduceResponse {
        var request = ProduceRequest()
        request.acks = acks
        request.timeoutMs = 1000
        var t = ProduceRequest.TopicProduceData()
        t.name = topic
        var p = ProduceRequest.PartitionProduceData()
        p.records = try RecordBatch.encode(
            records: values.enumerated().map { Record(key: ByteBuffer(string: "k\($0.offset)"), value: ByteBuffer(string: $0.element),
                                                      headers: [], timestampDelta: Int64($0.offset), offsetDelta: Int32($0.offset)) },
            baseTimestamp: Timestamp(millis: 1_700_000_000_000), compression: .lz4)
        t.partitionData = [p]
        request.topicData = [t]
        let response = try await Self.call(broker, request, version: version)
        return try XCTUnwrap(response.responses.first?.partitionResponses.first)
    }

    static func fetch(_ broker: Broker, topic: String, offset: Int64, maxWaitMs: Int32 = 0, minBytes: Int32 = 1) async throws -> FetchResponse.PartitionData {
        var request = FetchRequest()
        request.replicaId = -1
        request.maxWaitMs = maxWaitMs
        request.minBytes = minBytes
        request.maxBytes = 1 << 20
        request.sessionEpoch = -1
        var t = FetchRequest.FetchTopic()
        t.topic = topic
        var p = FetchRequest.FetchPartition()
        p.fetchOffset = offset
        p.partitionMaxBytes = 1 << 20
        p.logStartOffset = -1
        t.partitions = [p]
        request.topics = [t]
        let response = try await Self.call(broker, request, version: 12)
        return try XCTUnwrap(response.responses.first?.partitions.first)
    }

    static func values(_ data: FetchResponse.PartitionData) throws -> [String] {
        try RecordBatch.batches(in: data.records ?? ByteBuffer()).flatMap { try $0.records().map { String(buffer: $0.value!) } }
    }

    func testProduceThenFetchGivesTheRecordsBack() async throws {
        let broker = try makeBroker()
        let first = try await Self.produce(broker, topic: "orders", values: ["a", "b", "c"])
        XCTAssertEqual(first.errorCode, 0)
        XCTAssertEqual(first.baseOffset, 0)
        let second = try await Self.produce(broker, topic: "orders", values: ["d"])
        XCTAssertEqual(second.baseOffset, 3)
        let all = try await Self.fetch(broker, topic: "orders", offset: 0)
        XCTAssertEqual(all.errorCode, 0)
        XCTAssertEqual(all.highWatermark, 4)
        XCTAssertEqual(try Self.values(all), ["a", "b", "c", "d"])
        // A fetch from inside the first batch returns that whole batch.
        let mid = try await Self.fetch(broker, topic: "orders", offset: 1)
        XCTAssertEqual(try Self.values(mid).first, "a")
    }

    func testDataSurvivesARestart() async throws {
        let broker = try makeBroker()
        _ = try await Self.produce(broker, topic: "durable", values: ["x", "y"])
        try broker.close()
        let again = try makeBroker()
        let restored = try await Self.fetch(again, topic: "durable", offset: 0)
        XCTAssertEqual(try Self.values(restored), ["x", "y"])
        let next = try await Self.produce(again, topic: "durable", values: ["z"])
        XCTAssertEqual(next.baseOffset, 2)
    }

    func testOneBrokerPerDataDirectory() async throws {
        let broker = try makeBroker()
        _ = try await Self.produce(broker, topic: "locked", values: ["x"])
        XCTAssertThrowsError(try makeBroker()) { error in
            XCTAssertTrue("\(error)".contains("is in use by another broker (process \(getpid()))"), "\(error)")
        }
        let stillThere = try await Self.fetch(broker, topic: "locked", offset: 0)
        XCTAssertEqual(try Self.values(stillThere), ["x"], "the refused broker touched nothing")
        try broker.close()
        let next = try makeBroker()  // closing gave the directory up
        try next.close()
    }

    func testALongPollWaitsForData() async throws {
        let broker = try makeBroker()
        _ = try await Self.produce(broker, topic: "poll", values: ["first"])
        async let waited = Self.fetch(broker, topic: "poll", offset: 1, maxWaitMs: 5000)
        let isWaiting = try await eventually { broker.appendSignal.waiterCount == 1 }
        XCTAssertTrue(isWaiting, "the fetch found nothing and waits for an append")
        _ = try await Self.produce(broker, topic: "poll", values: ["second"])
        let arrived = try await waited
        XCTAssertEqual(try Self.values(arrived), ["second"])
        // With nothing arriving, the poll ends at max.wait.ms with no records.
        let empty = try await Self.fetch(broker, topic: "poll", offset: 2, maxWaitMs: 50)
        XCTAssertEqual(empty.records?.readableBytes ?? 0, 0)
    }

    func testFetchOutOfRangeAndUnknownTopics() async throws {
        let broker = try makeBroker { $0.autoCreateTopics = false }
        let missing = try await Self.fetch(broker, topic: "missing", offset: 0)
        XCTAssertEqual(missing.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
        var create = CreateTopicsRequest()
        var t = CreateTopicsRequest.CreatableTopic()
        t.name = "t"
        t.numPartitions = 2
        t.replicationFactor = 1
        create.topics = [t]
        let created = try await Self.call(broker, create, version: 7)
        XCTAssertEqual(created.topics.first?.errorCode, 0)
        let outOfRange = try await Self.fetch(broker, topic: "t", offset: 5)
        XCTAssertEqual(outOfRange.errorCode, ErrorCode.offsetOutOfRange.rawValue)
        // An empty record set, never a null one: librdkafka fails to parse a null set.
        XCTAssertEqual(outOfRange.records?.readableBytes, 0)
        let refused = try await Self.produce(broker, topic: "nope", values: ["v"])
        XCTAssertEqual(refused.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
    }

    /// fetch.max.bytes caps a response whatever the client asks, but the first batch always comes
    /// whole so a consumer never stalls on a batch larger than the cap.
    func testFetchMaxBytesCapsTheResponse() async throws {
        let uncapped = try makeBroker()
        for i in 0..<5 {
            _ = try await Self.produce(uncapped, topic: "capped", values: (0..<20).map { "\(i)-\($0)-\(UInt64($0 * 7919 + i * 104_729).hashValue)" })
        }
        let everything = try await Self.fetch(uncapped, topic: "capped", offset: 0)
        let sizes = try RecordBatch.batches(in: everything.records ?? ByteBuffer()).map(\.bytes.readableBytes)
        XCTAssertEqual(sizes.count, 5)
        try uncapped.close()

        let cap = sizes[0] + sizes[1] + sizes[2] / 2  // room for two whole batches and half a third
        let broker = try makeBroker { $0.fetchMaxBytes = cap }
        let capped = try await Self.fetch(broker, topic: "capped", offset: 0)
        XCTAssertEqual(capped.records?.readableBytes, sizes[0] + sizes[1])
        try broker.close()
        let tiny = try makeBroker { $0.fetchMaxBytes = 10 }
        let forced = try await Self.fetch(tiny, topic: "capped", offset: 2 * 20)
        XCTAssertEqual(forced.records?.readableBytes, sizes[2], "the first batch comes whole even past the cap")
    }

    private func createTopic(_ broker: Broker, _ name: String, configs: [String: String]) async throws {
        var create = CreateTopicsRequest()
        var t = CreateTopicsRequest.CreatableTopic()
        t.name = name
        t.numPartitions = 1
        t.replicationFactor = 1
        t.configs = configs.map { var c = CreateTopicsRequest.CreatableTopicConfig(); c.name = $0.key; c.value = $0.value; return c }
        create.topics = [t]
        let created = try await Self.call(broker, create, version: 7)
        XCTAssertEqual(created.topics.first?.errorCode, 0)
    }

    func testFlushMessagesFsyncsAtTheAppendWhateverTheAcks() async throws {
        let broker = try makeBroker()
        try await createTopic(broker, "every-2", configs: ["flush.messages": "2"])
        try await createTopic(broker, "never", configs: [:])
        func flushed(_ topic: String) throws -> (Int64, Int64) {
            let partition = try XCTUnwrap(broker.topics.topic(topic)?.partitions.first)
            return partition.withLog { ($0.flushedOffset.rawValue, $0.logEndOffset.rawValue) }
        }
        _ = try await Self.produce(broker, topic: "every-2", values: ["a"], acks: 1)
        XCTAssertEqual(try flushed("every-2").0, 0, "one record is below flush.messages")
        _ = try await Self.produce(broker, topic: "every-2", values: ["b", "c"], acks: 1)
        XCTAssertEqual(try flushed("every-2").0, 3, "three unflushed records reach flush.messages: fsynced at the append")
        _ = try await Self.produce(broker, topic: "never", values: ["a", "b", "c"], acks: 1)
        XCTAssertEqual(try flushed("never").0, 0, "by default acks=1 leaves the fsync to the OS")
        XCTAssertEqual(try flushed("never").1, 3)
    }

    func testARolledSegmentIsFsyncedInTheBackgroundWhateverTheAcks() async throws {
        let broker = try makeBroker()
        try await createTopic(broker, "small-segments", configs: ["segment.bytes": "200"])
        let partition = try XCTUnwrap(broker.topics.topic("small-segments")?.partitions.first)
        for n in 0..<3 { _ = try await Self.produce(broker, topic: "small-segments", values: ["value \(n) " + String(repeating: "x", count: 150)], acks: 1) }
        XCTAssertGreaterThan(partition.withLog { $0.segmentCount }, 1, "the appends rolled")
        // The roll's flush runs in the background: wait for it (bounded).
        let flushed = try await eventually { !partition.withLog { $0.rolledSegmentAwaitsFlush } }
        XCTAssertTrue(flushed, "rolled segments are fsynced without flush.ms or acks=all")
        XCTAssertGreaterThan(partition.withLog { $0.flushedOffset.rawValue }, 0)
    }

    func testTheMaintenancePassFsyncsASegmentRolledByAge() async throws {
        let broker = try makeBroker { $0.retentionCheckIntervalMs = 20 }
        try await createTopic(broker, "aging", configs: ["segment.ms": "50", "retention.ms": "-1"])  // the records are from 2023
        let partition = try XCTUnwrap(broker.topics.topic("aging")?.partitions.first)
        _ = try await Self.produce(broker, topic: "aging", values: ["only"], acks: 1)
        XCTAssertEqual(partition.withLog { $0.flushedOffset.rawValue }, 0)
        let maintenance = Task { try await LogMaintenance(broker: broker).run() }
        defer { maintenance.cancel() }
        // No append follows: the pass that rolls the aged segment fsyncs it (bounded wait).
        let rolledAndFlushed = try await eventually { partition.withLog { $0.segmentCount >= 2 && !$0.rolledSegmentAwaitsFlush } }
        XCTAssertTrue(rolledAndFlushed)
        XCTAssertEqual(partition.withLog { $0.segmentCount }, 2, "rolled by segment.ms")
        XCTAssertFalse(partition.withLog { $0.rolledSegmentAwaitsFlush })
        XCTAssertEqual(partition.withLog { $0.flushedOffset.rawValue }, 1)
    }

    func testProduceValidationFollowsTheTopicsConfig() async throws {
        let broker = try makeBroker()
        // Compacted topics need a key on every record.
        try await createTopic(broker, "compacted", configs: ["cleanup.policy": "compact"])
        var request = ProduceRequest()
        request.acks = 1
        var t = ProduceRequest.TopicProduceData()
        t.name = "compacted"
        var p = ProduceRequest.PartitionProduceData()
        // Records 0 and 2 lack a key; record 1 has one. The batch is refused whole, and v8+ names the bad records (KIP-467).
        p.records = try RecordBatch.encode(records: [
            Record(key: nil, value: ByteBuffer(string: "v"), headers: [], timestampDelta: 0, offsetDelta: 0),
            Record(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), headers: [], timestampDelta: 0, offsetDelta: 1),
            Record(key: nil, value: ByteBuffer(string: "v"), headers: [], timestampDelta: 0, offsetDelta: 2),
        ], baseTimestamp: Timestamp(millis: 1), compression: .gzip)
        t.partitionData = [p]
        request.topicData = [t]
        let keyless = try await Self.call(broker, request, version: 9)
        let refused = try XCTUnwrap(keyless.responses.first?.partitionResponses.first)
        XCTAssertEqual(refused.errorCode, ErrorCode.invalidRecord.rawValue)
        XCTAssertEqual(refused.recordErrors.map(\.batchIndex), [0, 2])
        XCTAssertEqual(refused.recordErrors.first?.batchIndexErrorMessage, "Compacted topic cannot accept message without key in topic partition compacted-0.")
        XCTAssertEqual(refused.errorMessage?.hasPrefix("One or more records have been rejected due to 2 record errors in total"), true)
        let before8 = try await Self.call(broker, request, version: 7)
        XCTAssertEqual(before8.responses.first?.partitionResponses.first?.recordErrors.count, 0)
        let keyed = try await Self.produce(broker, topic: "compacted", values: ["v"])
        XCTAssertEqual(keyed.errorCode, 0)

        // max.message.bytes bounds a batch.
        try await createTopic(broker, "small", configs: ["max.message.bytes": "100"])
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let noise = String((0..<500).map { _ -> Character in  // xorshift: text lz4 cannot shrink below 100 bytes
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Character(UnicodeScalar(UInt8(33 + state % 90)))
        })
        let tooLarge = try await Self.produce(broker, topic: "small", values: [noise])
        XCTAssertEqual(tooLarge.errorCode, ErrorCode.messageTooLarge.rawValue)

        // LogAppendTime: the broker's clock replaces the producer's timestamps.
        try await createTopic(broker, "stamped", configs: ["message.timestamp.type": "LogAppendTime"])
        let stamped = try await Self.produce(broker, topic: "stamped", values: ["a", "b"])
        XCTAssertGreaterThan(stamped.logAppendTimeMs, 1_700_000_000_000)
        let read = try await Self.fetch(broker, topic: "stamped", offset: 0)
        let batch = try XCTUnwrap(try RecordBatch.batches(in: read.records ?? ByteBuffer()).first)
        try batch.validate()
        XCTAssertEqual(batch.header.timestampType, .logAppendTime)
        XCTAssertEqual(batch.header.maxTimestamp.millis, stamped.logAppendTimeMs)
    }

    func testAcksZeroGetsNoResponse() async throws {
        let broker = try makeBroker()
        var request = ProduceRequest()
        request.acks = 0
        let frame = try KafkaFrame.encodeRequest(request, version: 9, correlationId: 1, clientId: nil)
        let payload = try KafkaFrame.payload(of: frame, maxFrameBytes: 1 << 20)
        let response = try await broker.handle(payload)
        XCTAssertNil(response)
    }

    func testLegacyProduceVersionsAreRefused() async throws {
        let broker = try makeBroker()
        var request = ProduceRequest()
        request.acks = 1
        var t = ProduceRequest.TopicProduceData()
        t.name = "old"
        var p = ProduceRequest.PartitionProduceData()
        p.records = ByteBuffer(bytes: [UInt8](repeating: 0, count: 40))
        t.partitionData = [p]
        request.topicData = [t]
        let response = try await Self.call(broker, request, version: 2)
        XCTAssertEqual(response.responses.first?.partitionResponses.first?.errorCode, ErrorCode.unsupportedForMessageFormat.rawValue)
    }

    func testACorruptBatchIsRefusedAndNothingIsStored() async throws {
        let broker = try makeBroker()
        var request = ProduceRequest()
        request.acks = -1
        var t = ProduceRequest.TopicProduceData()
        t.name = "c"
        var p = ProduceRequest.PartitionProduceData()
        var batch = try RecordBatch.encode(records: [Record(key: nil, value: ByteBuffer(string: "v"), headers: [], timestampDelta: 0, offsetDelta: 0)],
                                           baseTimestamp: Timestamp(millis: 1), compression: .none)
        batch.setInteger(UInt8(0xFF), at: batch.writerIndex - 1)  // flip the last byte: the CRC no longer matches
        p.records = batch
        t.partitionData = [p]
        request.topicData = [t]
        let response = try await Self.call(broker, request, version: 9)
        XCTAssertEqual(response.responses.first?.partitionResponses.first?.errorCode, ErrorCode.corruptMessage.rawValue)
        let fetched = try await Self.fetch(broker, topic: "c", offset: 0)
        XCTAssertEqual(fetched.highWatermark, 0)
    }

    func testApiVersionsAdvertisesKafkaRangesAndAnswersUnknownVersionsInV0() async throws {
        let broker = try makeBroker()
        let response = try await Self.call(broker, ApiVersionsRequest(), version: 3)
        let produce = try XCTUnwrap(response.apiKeys.first { $0.apiKey == ApiKey.produce.rawValue })
        XCTAssertEqual(produce.minVersion, 0)
        XCTAssertEqual(produce.maxVersion, 11)
        XCTAssertEqual(response.apiKeys.first { $0.apiKey == ApiKey.metadata.rawValue }?.maxVersion, 12)

        // v99: header v2 as a flexible version would have it; the answer is v0 with error 35.
        var header = RequestHeader()
        header.requestApiKey = ApiKey.apiVersions.rawValue
        header.requestApiVersion = 99
        header.correlationId = 77
        header.clientId = "future"
        var w = WireWriter()
        try header.encode(to: &w, version: 2)
        let answer = try await broker.handle(w.buffer)
        let bytes = try XCTUnwrap(answer)
        let body = try KafkaFrame.payload(of: bytes, maxFrameBytes: 1 << 20)
        let (id, decoded) = try KafkaFrame.decodeResponse(body, as: ApiVersionsResponse.self, version: 0)
        XCTAssertEqual(id, 77)
        XCTAssertEqual(decoded.errorCode, ErrorCode.unsupportedVersion.rawValue)
        XCTAssertEqual(decoded.apiKeys.map(\.apiKey), [ApiKey.apiVersions.rawValue])
    }

    func testMalformedRequestsAreConnectionErrors() async throws {
        let broker = try makeBroker()
        var garbage = ByteBuffer()
        garbage.writeBytes([0, 3, 0, 12, 0, 0, 0, 1, 0xFF, 0xF0])  // Metadata v12 with a broken client id length
        do {
            _ = try await broker.handle(garbage)
            XCTFail("a malformed header was answered")
        } catch is Broker.ConnectionError {}
        var unknown = ByteBuffer()
        unknown.writeBytes([0x7F, 0x00, 0, 0, 0, 0, 0, 1, 0, 0])  // API key 32512
        do {
            _ = try await broker.handle(unknown)
            XCTFail("an unknown API was answered")
        } catch is Broker.ConnectionError {}
    }

    func testTopicConfigsAreValidatedDescribedAndAltered() async throws {
        let broker = try makeBroker()
        var create = CreateTopicsRequest()
        var t = CreateTopicsRequest.CreatableTopic()
        t.name = "configured"
        t.numPartitions = 1
        t.replicationFactor = 1
        var bad = CreateTopicsRequest.CreatableTopicConfig()
        bad.name = "retention.ms"
        bad.value = "soon"
        t.configs = [bad]
        create.topics = [t]
        let invalid = try await Self.call(broker, create, version: 7)
        XCTAssertEqual(invalid.topics.first?.errorCode, ErrorCode.invalidConfig.rawValue)
        create.topics[0].configs[0].value = "60000"
        let valid = try await Self.call(broker, create, version: 7)
        XCTAssertEqual(valid.topics.first?.errorCode, 0)

        var alter = IncrementalAlterConfigsRequest()
        var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = 2
        resource.resourceName = "configured"
        var set = IncrementalAlterConfigsRequest.AlterableConfig()
        set.name = "segment.bytes"
        set.configOperation = 0
        set.value = "1048576"
        resource.configs = [set]
        alter.resources = [resource]
        let altered = try await Self.call(broker, alter, version: 1)
        XCTAssertEqual(altered.responses.first?.errorCode, 0)

        var describe = DescribeConfigsRequest()
        var r = DescribeConfigsRequest.DescribeConfigsResource()
        r.resourceType = 2
        r.resourceName = "configured"
        r.configurationKeys = nil
        describe.resources = [r]
        let described = try await Self.call(broker, describe, version: 4)
        let configs = try XCTUnwrap(described.results.first?.configs)
        let byName = Dictionary(uniqueKeysWithValues: configs.map { ($0.name, $0) })
        XCTAssertEqual(byName["retention.ms"]?.value, "60000")
        XCTAssertEqual(byName["retention.ms"]?.configSource, 1)
        XCTAssertEqual(byName["segment.bytes"]?.value, "1048576")
        XCTAssertEqual(byName["retention.bytes"]?.value, "-1")
        XCTAssertEqual(byName["retention.bytes"]?.configSource, 5)
        XCTAssertEqual(configs.count, TopicConfigs.all.count)
        XCTAssertEqual(byName["min.cleanable.dirty.ratio"]?.value, "0.5")

        // Overrides survive a restart.
        try broker.close()
        let again = try makeBroker()
        let reread = try await Self.call(again, describe, version: 4)
        let after = try XCTUnwrap(reread.results.first?.configs)
        XCTAssertEqual(after.first { $0.name == "segment.bytes" }?.value, "1048576")
    }
}

