import EddyCore
import EddyWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest

@testable import EddyBroker

/// OffsetCommit, OffsetFetch and consumer lag, in-process.
final class OffsetsTests: BrokerDirectoryTestCase {
    private let nowMs: Int64 = 1_700_000_010_000

    private func makeBroker() throws -> Broker {
        let now = nowMs
        return try makeBroker(clock: { now })
    }

    private func commit(_ broker: Broker, group: String, generation: Int32 = -1, member: String = "",
                        _ offsets: [(String, Int32, Int64, String?)], version: Int16 = 8) async throws -> [Int16] {
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = generation
        request.memberId = member
        request.topics = Dictionary(grouping: offsets, by: { $0.0 }).sorted { $0.key < $1.key }.map { name, entries in
            var t = OffsetCommitRequest.OffsetCommitRequestTopic()
            t.name = name
            t.partitions = entries.map { e in
                var p = OffsetCommitRequest.OffsetCommitRequestPartition()
                p.partitionIndex = e.1
                p.committedOffset = e.2
                p.committedMetadata = e.3
                return p
            }
            return t
        }
        let response = try await BrokerTests.call(broker, request, version: version)
        return response.topics.flatMap { $0.partitions.map(\.errorCode) }
    }

    private func fetchV8(_ broker: Broker, groups: [String]) async throws -> [String: [String: Int64]] {
        var request = OffsetFetchRequest()
        request.groups = groups.map { g in
            var group = OffsetFetchRequest.OffsetFetchRequestGroup()
            group.groupId = g
            group.topics = nil
            return group
        }
        let response = try await BrokerTests.call(broker, request, version: 8)
        return Dictionary(uniqueKeysWithValues: response.groups.map { g in
            (g.groupId, Dictionary(uniqueKeysWithValues: g.topics.flatMap { t in t.partitions.map { ("\(t.name)-\($0.partitionIndex)", $0.committedOffset) } }))
        })
    }

    func testCommitFetchRestartAndLag() async throws {
        var broker = try makeBroker()
        _ = try await BrokerTests.produce(broker, topic: "orders", values: ["a", "b", "c", "d"])
        let got1 = try await commit(broker, group: "billing", [("orders", 0, 1, "meta")])
        XCTAssertEqual(got1, [0])
        let got2 = try await commit(broker, group: "audit", [("orders", 0, 4, nil)])
        XCTAssertEqual(got2, [0])
        let got3 = try await commit(broker, group: "billing", [("nope", 0, 1, nil)])
        XCTAssertEqual(got3, [ErrorCode.unknownTopicOrPartition.rawValue])
        let got4 = try await commit(broker, group: "billing", generation: 3, member: "ghost", [("orders", 0, 2, nil)])
        XCTAssertEqual(got4,
                       [ErrorCode.unknownMemberId.rawValue], "a member the group does not have")
        let got5 = try await commit(broker, group: "billing", [("orders", 0, 2, String(repeating: "m", count: 4097))])
        XCTAssertEqual(got5,
                       [ErrorCode.offsetMetadataTooLarge.rawValue])
        let got6 = try await fetchV8(broker, groups: ["billing", "audit", "none"])
        XCTAssertEqual(got6,
                       ["billing": ["orders-0": 1], "audit": ["orders-0": 4], "none": [:]])

        // v1: asked partitions, -1 for none committed.
        var old = OffsetFetchRequest()
        old.groupId = "billing"
        var t = OffsetFetchRequest.OffsetFetchRequestTopic()
        t.name = "orders"
        t.partitionIndexes = [0, 1]
        old.topics = [t]
        let v1 = try await BrokerTests.call(broker, old, version: 1)
        XCTAssertEqual(v1.topics.first?.partitions.map(\.committedOffset), [1, -1])
        XCTAssertEqual(v1.topics.first?.partitions.first?.metadata, "meta")

        // Lag: billing is 3 records behind; the first it has not consumed (offset 1) was written at
        // base + 1 ms, so it lags by (now - that) seconds. audit is caught up.
        let lag = try await broker.consumerLag()
        XCTAssertEqual(lag.map(\.group), ["audit", "billing"])
        XCTAssertEqual(lag[0].lagRecords, 0)
        XCTAssertEqual(lag[0].lagSeconds, 0)
        XCTAssertEqual(lag[1].committedOffset, 1)
        XCTAssertEqual(lag[1].logEndOffset, 4)
        XCTAssertEqual(lag[1].lagRecords, 3)
        XCTAssertEqual(lag[1].lagSeconds, Double(nowMs - (1_700_000_000_000 + 1)) / 1000, accuracy: 1e-9)

        // Offsets survive a restart (they are read back from __consumer_offsets).
        try broker.close()
        broker = try makeBroker()
        let got7 = try await fetchV8(broker, groups: ["billing", "audit"])
        XCTAssertEqual(got7, ["billing": ["orders-0": 1], "audit": ["orders-0": 4]])
        var list = ListGroupsRequest()
        list.statesFilter = ["Empty"]
        let listed = try await BrokerTests.call(broker, list, version: 4)
        XCTAssertEqual(listed.groups.map(\.groupId), ["audit", "billing"])

        // DeleteGroups drops the offsets, durably.
        var delete = DeleteGroupsRequest()
        delete.groupsNames = ["billing", "unknown"]
        let deleted = try await BrokerTests.call(broker, delete, version: 2)
        XCTAssertEqual(deleted.results.map(\.errorCode), [0, ErrorCode.groupIdNotFound.rawValue])
        try broker.close()
        broker = try makeBroker()
        let got8 = try await fetchV8(broker, groups: ["billing", "audit"])
        XCTAssertEqual(got8, ["billing": [:], "audit": ["orders-0": 4]])
        try broker.close()
    }

    func testClientsCannotWriteOrDeleteTheOffsetsTopic() async throws {
        let broker = try makeBroker()
        let produced = try await BrokerTests.produce(broker, topic: Broker.offsetsTopic, values: ["x"])
        XCTAssertEqual(produced.errorCode, ErrorCode.invalidTopic.rawValue)
        var request = DeleteTopicsRequest()
        request.topicNames = [Broker.offsetsTopic]
        let response = try await BrokerTests.call(broker, request, version: 5)
        XCTAssertEqual(response.responses.first?.errorCode, ErrorCode.invalidTopic.rawValue)
        var metadata = MetadataRequest()
        metadata.topics = nil
        let described = try await BrokerTests.call(broker, metadata, version: 12)
        XCTAssertEqual(described.topics.first { $0.name == Broker.offsetsTopic }?.isInternal, true)
        try broker.close()
    }
}
