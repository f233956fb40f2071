// OffsetCommit (key 8), v2-9.
// Supports: commits by group members (generation and member checks as Kafka's classic
// coordinator makes them) and by consumers without group management (generation -1, empty
// member id); metadata strings up to offset.metadata.max.bytes; answered once the records are
// fsynced in __consumer_offsets, so a commit survives a crash.
// Differs from Kafka: v0-1 (ZooKeeper-era retention fields) are not served; retention_time_ms
// (v2-4) is ignored and committed offsets do not expire (offsets.retention.minutes).
import EddyCore
import EddyWire

extension Broker {
    static let offsetMetadataMaxBytes = 4096

    func offsetCommit(_ request: OffsetCommitRequest, _ context: ApiTable.Context) async -> OffsetCommitResponse {
        let group = request.groupId
        var check = group.isEmpty ? ErrorCode.invalidGroupId
            : groups.validateOffsetCommit(groupId: group, generationId: request.generationIdOrMemberEpoch,
                                          memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        var errors: [TopicPartition: ErrorCode] = [:]
        var accepted: [TopicPartition: CommittedOffset] = [:]
        let now = clock()
        for topic in request.topics {
            for p in topic.partitions {
                let tp = TopicPartition(topic.name, PartitionID(p.partitionIndex))
                if check != .none {
                    errors[tp] = check
                } else if topics.partition(topic.name, p.partitionIndex) == nil {
                    errors[tp] = .unknownTopicOrPartition
                } else if (p.committedMetadata?.utf8.count ?? 0) > Self.offsetMetadataMaxBytes {
                    errors[tp] = .offsetMetadataTooLarge
                } else {
                    accepted[tp] = CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch,
                                                   metadata: p.committedMetadata, commitTimestamp: now)
                }
            }
        }
        if !accepted.isEmpty {
            do {
                try await appendOffsetRecords(group: group, accepted.map { (OffsetRecords.Key(group: group, topicPartition: $0.key), $0.value) })
                groups.offsetsCommitted(groupId: group, memberId: request.memberId, accepted)
            } catch {
                logger.error("OffsetCommit for \(group): \(error)")
                check = .kafkaStorageError
                for tp in accepted.keys { errors[tp] = .kafkaStorageError }
            }
        }
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var t = OffsetCommitResponse.OffsetCommitResponseTopic()
            t.name = topic.name
            t.partitions = topic.partitions.map { p in
                var r = OffsetCommitResponse.OffsetCommitResponsePartition()
                r.partitionIndex = p.partitionIndex
                r.errorCode = (errors[TopicPartition(topic.name, PartitionID(p.partitionIndex))] ?? .none).rawValue
                return r
            }
            return t
        }
        return response
    }
}
