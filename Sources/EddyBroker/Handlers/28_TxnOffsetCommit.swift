// TxnOffsetCommit (key 28), v0-3.
// Supports: a transactional producer committing a consumer group's offsets inside its
// transaction (exactly-once consume-transform-produce): the offsets are written to the group's
// __consumer_offsets partition as the producer's transactional records and count only once its
// COMMIT marker lands there (an abort drops them). v3 carries the group generation and member,
// checked as OffsetCommit checks them.
// Differs from Kafka: the coordinator is asked whether the group's offsets partition is in the
// producer's ongoing transaction (INVALID_TXN_STATE otherwise); Kafka 3.x relies on the
// producer-state check of the offsets partition.
import EddyCore
import EddyWire

extension Broker {
    func txnOffsetCommit(_ request: TxnOffsetCommitRequest, _ context: ApiTable.Context) async -> TxnOffsetCommitResponse {
        let group = request.groupId
        var check = await transactions.validateTxnOffsetCommit(
            self, transactionalId: request.transactionalId, producerId: request.producerId,
            producerEpoch: request.producerEpoch, offsetsPartition: offsetsPartition(for: group))
        if check == .none, context.version >= 3, request.generationId >= 0 || !request.memberId.isEmpty {
            check = groups.validateOffsetCommit(groupId: group, generationId: request.generationId, memberId: request.memberId,
                                                groupInstanceId: request.groupInstanceId)
        }
        var (accepted, errors) = screenOffsets(request.topics.flatMap { t in
            t.partitions.map { (TopicPartition(t.name, PartitionID($0.partitionIndex)), $0.committedOffset, $0.committedLeaderEpoch, $0.committedMetadata) }
        }, check: check)
        if !accepted.isEmpty {
            do {
                try await appendOffsetRecords(group: group, accepted.map { (OffsetRecords.Key(group: group, topicPartition: $0.key), $0.value) },
                                              transactionalProducer: (request.producerId, request.producerEpoch))
                groups.addPendingTransactional(producerId: request.producerId, groupId: group, accepted)
            } catch {
                logger.error("TxnOffsetCommit for \(group): \(error)")
                for tp in accepted.keys { errors[tp] = .kafkaStorageError }
            }
        }
        var response = TxnOffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var t = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
            t.name = topic.name
            t.partitions = topic.partitions.map { p in
                var r = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                r.partitionIndex = p.partitionIndex
                r.errorCode = (errors[TopicPartition(topic.name, PartitionID(p.partitionIndex))] ?? .none).rawValue
                return r
            }
            return t
        }
        return response
    }
}
