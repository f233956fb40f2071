// OffsetDelete (key 47), v0.
// Supports: deleting a group's committed offsets for some partitions (KIP-496), with tombstones in
// __consumer_offsets, under Kafka's coordinator rules: GROUP_ID_NOT_FOUND for an unknown group;
// for a consumer group with members, GROUP_SUBSCRIBED_TO_TOPIC on the partitions of topics its
// members subscribe to (the others are deleted); NON_EMPTY_GROUP for another protocol type with
// members; INVALID_GROUP_ID for an empty id.
// Differs from Kafka: while a consumer group rebalances, its subscriptions are not kept apart from
// the chosen protocol's metadata, so every partition is refused (Kafka uses the last generation's).
import EddyCore
import EddyWire

extension Broker {
    func offsetDelete(_ request: OffsetDeleteRequest, _ context: ApiTable.Context) async -> OffsetDeleteResponse {
        var response = OffsetDeleteResponse()
        guard !request.groupId.isEmpty else {
            response.errorCode = ErrorCode.invalidGroupId.rawValue
            return response
        }
        let asked = request.topics.flatMap { topic in topic.partitions.map { TopicPartition(topic.name, PartitionID($0.partitionIndex)) } }
        var (error, removed, refused) = groups.deleteOffsets(groupId: request.groupId, asked)
        guard error == .none else {
            response.errorCode = error.rawValue
            return response
        }
        if !removed.isEmpty {
            let tombstones = removed.map { (OffsetRecords.Key(group: request.groupId, topicPartition: $0), CommittedOffset?.none) }
            do { try await appendOffsetRecords(group: request.groupId, tombstones) } catch {
                logger.error("OffsetDelete \(request.groupId): writing tombstones failed: \(error)")
                for tp in removed { refused[tp] = .kafkaStorageError }
            }
        }
        response.topics = request.topics.map { topic in
            var result = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var answer = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                answer.partitionIndex = partition.partitionIndex
                let tp = TopicPartition(topic.name, PartitionID(partition.partitionIndex))
                answer.errorCode = (refused[tp] ?? (topics.partition(topic.name, partition.partitionIndex) == nil ? .unknownTopicOrPartition : .none)).rawValue
                return answer
            }
            return result
        }
        return response
    }
}
