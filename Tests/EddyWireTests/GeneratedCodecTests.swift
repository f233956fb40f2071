import NIOCore
import XCTest

@testable import EddyWire

/// Every generated schema at every valid version: a value with every field of that version set to a
/// non-default value survives encode → decode → encode unchanged, and consumes exactly its bytes.
final class GeneratedCodecTests: XCTestCase {
    func testEverySchemaRoundTripsAtEveryVersion() throws {
        var versionsChecked = 0
        for schema in allSampledSchemas {
            versionsChecked += try roundTrip(schema)
        }
        XCTAssertEqual(allSampledSchemas.count, 68)
        XCTAssertGreaterThan(versionsChecked, 300)
    }

    private func roundTrip<S: KafkaSchema & Sampled>(_: S.Type) throws -> Int {
        for version in S.validVersions {
            let sample = S.sample(version: version)
            let bytes = try sample.encoded(version: version)
            let decoded = try S.decode(bytes, version: version)
            XCTAssertEqual(decoded, sample, "\(S.schemaName) v\(version)")
            XCTAssertEqual(try decoded.encoded(version: version), bytes, "\(S.schemaName) v\(version) re-encoding")
            // The sample really sets fields (where the version has any): it must not encode like
            // the all-default value.
            if sample != S(), try S().encoded(version: version) == bytes {
                XCTFail("\(S.schemaName) v\(version): the sample encodes like the default value")
            }
        }
        return S.validVersions.count
    }

    func testVersionsOutsideTheValidRangeAreRefused() throws {
        for schema in allSampledSchemas {
            try checkRefused(schema)
        }
    }

    private func checkRefused<S: KafkaSchema & Sampled>(_: S.Type) throws {
        let tooHigh = S.validVersions.upperBound + 1
        XCTAssertThrowsError(try S().encoded(version: tooHigh)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unsupportedVersion, "\(S.schemaName)")
        }
        XCTAssertThrowsError(try S.decode(ByteBuffer(), version: -1)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unsupportedVersion, "\(S.schemaName)")
        }
    }

    /// Bytes written at one version and read at another either decode to something or fail with a
    /// `WireError`; they never trap, hang or allocate past the input.
    func testDecodingWithTheWrongVersionFailsCleanly() throws {
        var failures = 0
        var attempts = 0
        for schema in allSampledSchemas {
            (attempts, failures) = try crossDecode(schema, attempts, failures)
        }
        XCTAssertGreaterThan(failures, attempts / 4, "most mismatched versions should be detected")
    }

    private func crossDecode<S: KafkaSchema & Sampled>(_: S.Type, _ attempts: Int, _ failures: Int) throws -> (Int, Int) {
        var attempts = attempts
        var failures = failures
        for written in S.validVersions {
            let bytes = try S.sample(version: written).encoded(version: written)
            for read in S.validVersions where read != written {
                attempts += 1
                do {
                    _ = try S.decode(bytes, version: read)
                } catch is WireError {
                    failures += 1
                }
            }
        }
        return (attempts, failures)
    }

    func testANonDefaultFieldThatAVersionCannotCarryIsRefused() throws {
        var request = ProduceRequest()
        request.transactionalId = "txn-1"  // exists from v3
        XCTAssertThrowsError(try request.encoded(version: 2)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unsupportedField)
        }
        XCTAssertNoThrow(try request.encoded(version: 3))

        // Ignorable fields are dropped silently, as Kafka's own generated code does.
        var response = ApiVersionsResponse()
        response.throttleTimeMs = 100  // ignorable, exists from v1
        XCTAssertNoThrow(try response.encoded(version: 0))
    }

    func testNullWhereTheVersionForbidsItIsRefused() throws {
        var request = MetadataRequest()
        request.topics = nil  // nullable from v1 (null means all topics)
        XCTAssertNoThrow(try request.encoded(version: 1))
        XCTAssertThrowsError(try request.encoded(version: 0)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unexpectedNull)
        }
    }

    func testUnknownTaggedFieldsSurviveARoundTrip() throws {
        var header = RequestHeader()
        header.requestApiKey = 18
        header.requestApiVersion = 3
        header.correlationId = 7
        header.clientId = "c"
        header.unknownTaggedFields = [UnknownTaggedField(tag: 9, data: [1, 2, 3])]
        let bytes = try header.encoded(version: 2)
        XCTAssertEqual(try RequestHeader.decode(bytes, version: 2), header)
    }

    /// Kafka's header quirk: the client id stays a classic (non-compact) string in header v2.
    func testRequestHeaderV2KeepsANonCompactClientId() throws {
        var header = RequestHeader()
        header.requestApiKey = 3
        header.requestApiVersion = 12
        header.correlationId = 1
        header.clientId = "ab"
        let bytes = try header.encoded(version: 2)
        XCTAssertEqual(Array(bytes.readableBytesView), [0, 3, 0, 12, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0])
    }

    func testTaggedFieldsAreWrittenOnlyWhenNotDefault() throws {
        var response = ApiVersionsResponse()
        response.apiKeys = [.init()]
        let plain = try response.encoded(version: 3)
        response.finalizedFeaturesEpoch = 5
        let tagged = try response.encoded(version: 3)
        XCTAssertGreaterThan(tagged.readableBytes, plain.readableBytes)
        XCTAssertEqual(try ApiVersionsResponse.decode(tagged, version: 3).finalizedFeaturesEpoch, 5)
        XCTAssertEqual(try ApiVersionsResponse.decode(plain, version: 3).finalizedFeaturesEpoch, -1)
    }

    func testEveryApiKeyHasItsRequestAndResponse() {
        for key in ApiKey.allCases {
            XCTAssertEqual(key.requestType.apiKey, key)
            XCTAssertEqual(key.responseType.apiKey, key)
            XCTAssertEqual(key.requestType.validVersions, key.responseType.validVersions, key.name)
        }
        XCTAssertEqual(ApiKey.allCases.count, 32)
        XCTAssertEqual(ApiVersionsResponse.headerVersion(3), 0)
        XCTAssertEqual(MetadataResponse.headerVersion(9), 1)
        XCTAssertEqual(MetadataRequest.headerVersion(9), 2)
        XCTAssertEqual(MetadataRequest.headerVersion(8), 1)
    }
}

/// Every error code of a response, nested ones too, for the broker's metrics by code.
final class ErrorCodeWalkTests: XCTestCase {
    func testEveryNestedErrorCodeIsVisited() {
        var response = ProduceResponse()
        var topic = ProduceResponse.TopicProduceResponse()
        var ok = ProduceResponse.PartitionProduceResponse()
        ok.index = 0
        var failed = ProduceResponse.PartitionProduceResponse()
        failed.index = 1
        failed.errorCode = ErrorCode.notLeaderOrFollower.rawValue
        topic.partitionResponses = [ok, failed]
        response.responses = [topic, topic]
        var seen: [Int16] = []
        response.forEachErrorCode { seen.append($0) }
        XCTAssertEqual(seen.filter { $0 != 0 }, [ErrorCode.notLeaderOrFollower.rawValue, ErrorCode.notLeaderOrFollower.rawValue])
        XCTAssertEqual(seen.count, 4, "two topics × two partitions (the current leader and record errors hold none here)")

        var metadata = MetadataResponse()
        var unknown = MetadataResponse.MetadataResponseTopic()
        unknown.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
        metadata.topics = [unknown]
        seen = []
        metadata.forEachErrorCode { seen.append($0) }
        XCTAssertEqual(seen, [ErrorCode.unknownTopicOrPartition.rawValue])
    }
}
