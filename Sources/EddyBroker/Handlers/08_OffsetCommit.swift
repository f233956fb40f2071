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
        let check = group.isEmpty ? ErrorCode.invalidGroupId
            : groups.validateOffsetCommit(groupId: group, generationId: request.generationIdOrMemberEpoch,
                                          memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        var (accepted, errors) = screenOffsets(request.topics.flatMap { t in
            t.partitions.map { (TopicPartition(t.name, PartitionID($0.partitionIndex)), $0.committedOffset, $0.committedLeaderEpoch, $0.committedMetadata) }
        }, check: check)
        if !accepted.isEmpty {
            do {
                try await appendOffsetRecords(group: group, accepted.map { (OffsetRecords.Key(group: group, topicPartition: $0.key), $0.value) })
                groups.offsetsCommitted(groupId: group, memberId: request.memberId, accepted)
            } catch {
                logger.error("OffsetCommit for \(group): \(error)")
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

    /// The offsets of a commit that can be stored, and the error of each partition that cannot:
    /// `check` (the group's verdict) for all, else unknown partitions and metadata past
    /// offset.metadata.max.bytes. OffsetCommit and TxnOffsetCommit share it.
    func screenOffsets(_ entries: [(TopicPartition, Int64, Int32, String?)], check: ErrorCode)
        -> (accepted: [TopicPartition: CommittedOffset], errors: [TopicPartition: ErrorCode]) {
        var errors: [TopicPartition: ErrorCode] = [:]
        var accepted: [TopicPartition: CommittedOffset] = [:]
        let now = clock()
        for (tp, offset, epoch, metadata) in entries {
            if check != .none {
                errors[tp] = check
            } else if topics.partition(tp.topic, tp.partition.rawValue) == nil {
                errors[tp] = .unknownTopicOrPartition
            } else if (metadata?.utf8.count ?? 0) > Self.offsetMetadataMaxBytes {
                errors[tp] = .offsetMetadataTooLarge
            } else {
                accepted[tp] = CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata, commitTimestamp: now)
            }
        }
        return (accepted, errors)
    }
}
