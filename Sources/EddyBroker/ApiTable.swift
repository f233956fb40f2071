import EddyWire
import NIOCore

/// One registry of API key → handler → versions. Versions are Kafka 3.9's for the APIs Eddy serves
/// (clients such as kafka-python infer a broker release from them); each handler file says what it
/// supports and how it differs from Kafka.
enum ApiTable {
    struct Entry: Sendable {
        let versions: ClosedRange<Int16>
        let run: @Sendable (Broker, RequestFrame, String) async throws -> Reply
    }

    /// A handler's answer: ready now, or (Produce with acks=all) once something else happens. The
    /// connection goes on reading requests while a later answer waits, and writes answers in order.
    enum Answer<Response: Sendable>: Sendable {
        case now(Response?)
        case later(@Sendable () async -> Response?)
    }

    static let entries: [ApiKey: Entry] = [
        .produce: entry(ProduceRequest.self, 0...11, answering: { try await $0.produce($1, $2) }),
        .fetch: entry(FetchRequest.self, 4...17) { try await $0.fetch($1, $2) },
        .listOffsets: entry(ListOffsetsRequest.self, 1...9) { try await $0.listOffsets($1, $2) },
        .metadata: entry(MetadataRequest.self, 0...12) { try await $0.metadata($1, $2) },
        .findCoordinator: entry(FindCoordinatorRequest.self, 0...6) { $0.findCoordinator($1, $2) },
        .apiVersions: entry(ApiVersionsRequest.self, 0...4) { $0.apiVersions($1, $2) },
        .createTopics: entry(CreateTopicsRequest.self, 0...7) { try await $0.createTopics($1, $2) },
        .deleteTopics: entry(DeleteTopicsRequest.self, 0...6) { try await $0.deleteTopics($1, $2) },
        .deleteRecords: entry(DeleteRecordsRequest.self, 0...2) { try await $0.deleteRecords($1, $2) },
        .offsetForLeaderEpoch: entry(OffsetForLeaderEpochRequest.self, 0...4) { try await $0.offsetForLeaderEpoch($1, $2) },
        .describeConfigs: entry(DescribeConfigsRequest.self, 0...4) { $0.describeConfigs($1, $2) },
        .alterConfigs: entry(AlterConfigsRequest.self, 0...2) { try await $0.alterConfigs($1, $2) },
        .createPartitions: entry(CreatePartitionsRequest.self, 0...3) { try await $0.createPartitions($1, $2) },
        .incrementalAlterConfigs: entry(IncrementalAlterConfigsRequest.self, 0...1) { try await $0.incrementalAlterConfigs($1, $2) },
        .describeCluster: entry(DescribeClusterRequest.self, 0...1) { $0.describeCluster($1, $2) },
        .offsetCommit: entry(OffsetCommitRequest.self, 2...9) { await $0.offsetCommit($1, $2) },
        .offsetFetch: entry(OffsetFetchRequest.self, 1...9) { $0.offsetFetch($1, $2) },
        .joinGroup: entry(JoinGroupRequest.self, 0...9) { await $0.joinGroup($1, $2) },
        .heartbeat: entry(HeartbeatRequest.self, 0...4) { $0.heartbeat($1, $2) },
        .leaveGroup: entry(LeaveGroupRequest.self, 0...5) { $0.leaveGroup($1, $2) },
        .syncGroup: entry(SyncGroupRequest.self, 0...5) { await $0.syncGroup($1, $2) },
        .describeGroups: entry(DescribeGroupsRequest.self, 0...5) { $0.describeGroups($1, $2) },
        .listGroups: entry(ListGroupsRequest.self, 0...5) { $0.listGroups($1, $2) },
        .initProducerId: entry(InitProducerIdRequest.self, 0...5) { await $0.initProducerId($1, $2) },
        .addPartitionsToTxn: entry(AddPartitionsToTxnRequest.self, 0...3) { await $0.addPartitionsToTxn($1, $2) },
        .addOffsetsToTxn: entry(AddOffsetsToTxnRequest.self, 0...3) { await $0.addOffsetsToTxn($1, $2) },
        .endTxn: entry(EndTxnRequest.self, 0...3) { await $0.endTxn($1, $2) },
        .txnOffsetCommit: entry(TxnOffsetCommitRequest.self, 0...3) { await $0.txnOffsetCommit($1, $2) },
        .deleteGroups: entry(DeleteGroupsRequest.self, 0...2) { await $0.deleteGroups($1, $2) },
        .offsetDelete: entry(OffsetDeleteRequest.self, 0...0) { await $0.offsetDelete($1, $2) },
    ]

    /// Context a handler may need besides the request body.
    struct Context: Sendable {
        let header: RequestHeader
        /// The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1").
        var clientHost = ""
        var version: Int16 { header.requestApiVersion }
    }

    private static func entry<R: KafkaRequest>(
        _ type: R.Type, _ versions: ClosedRange<Int16>,
        _ handler: @escaping @Sendable (Broker, R, Context) async throws -> R.Response?
    ) -> Entry {
        entry(type, versions, answering: { .now(try await handler($0, $1, $2)) })
    }

    private static func entry<R: KafkaRequest>(
        _: R.Type, _ versions: ClosedRange<Int16>,
        answering handler: @escaping @Sendable (Broker, R, Context) async throws -> Answer<R.Response>
    ) -> Entry {
        precondition(R.validVersions.contains(versions.lowerBound) && R.validVersions.contains(versions.upperBound),
                     "\(R.schemaName) cannot serve \(versions)")
        return Entry(versions: versions) { broker, frame, clientHost in
            let version = frame.header.requestApiVersion
            let request: R
            do { request = try R.decode(frame.body, version: version, allowingTrailingBytes: true) } catch {
                throw Broker.ConnectionError(description: "malformed \(R.schemaName) v\(version): \(error)")
            }
            let correlationId = frame.header.correlationId
            switch try await handler(broker, request, Context(header: frame.header, clientHost: clientHost)) {
            case .now(let response):
                if let response { broker.instruments.countErrors(R.apiKey, response) }
                return .now(try response.map { try KafkaFrame.encodeResponse($0, version: version, correlationId: correlationId) })
            case .later(let finish):
                return .later {
                    let response = try await finish()
                    if let response { broker.instruments.countErrors(R.apiKey, response) }
                    return try response.map { try KafkaFrame.encodeResponse($0, version: version, correlationId: correlationId) }
                }
            }
        }
    }

    static func apiVersionsResponse(error: ErrorCode) -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.errorCode = error.rawValue
        let keys = error == .none ? entries.keys.sorted { $0.rawValue < $1.rawValue } : [.apiVersions]
        response.apiKeys = keys.map { key in
            var v = ApiVersionsResponse.ApiVersion()
            v.apiKey = key.rawValue
            v.minVersion = entries[key]!.versions.lowerBound
            v.maxVersion = entries[key]!.versions.upperBound
            return v
        }
        return response
    }
}
