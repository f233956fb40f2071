// AddPartitionsToTxn (key 24), v0-3.
// Supports: a producer adding partitions to its transaction (the coordinator's checks: producer id
// mapping, epoch fencing, CONCURRENT_TRANSACTIONS while a decision is being written); one error
// for the request, repeated per partition, as Kafka's coordinator answers; partitions of unknown
// topics get UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
// Differs from Kafka: v4+ (broker-to-broker verification, KIP-890) is not advertised.
import EddyCore
import EddyWire

extension Broker {
    func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest, _ context: ApiTable.Context) async -> AddPartitionsToTxnResponse {
        let asked = request.v3AndBelowTopics.flatMap { t in t.partitions.map { TopicPartition(t.name, PartitionID($0)) } }
        let unknown = Set(asked.filter { topics.partition($0.topic, $0.partition.rawValue) == nil || Self.isInternal($0.topic) })
        var errors: [TopicPartition: ErrorCode] = [:]
        if unknown.isEmpty {
            let (error, _) = await transactions.run(self) { c, _, now in
                c.addPartitions(transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId,
                                producerEpoch: request.v3AndBelowProducerEpoch, partitions: asked,
                                requestVersion: context.version, now: now)
            }
            for tp in asked { errors[tp] = error }
        } else {
            for tp in asked { errors[tp] = unknown.contains(tp) ? .unknownTopicOrPartition : .operationNotAttempted }
        }
        var response = AddPartitionsToTxnResponse()
        response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { t in
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
            result.name = t.name
            result.resultsByPartition = t.partitions.map { p in
                var r = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
                r.partitionIndex = p
                r.partitionErrorCode = (errors[TopicPartition(t.name, PartitionID(p))] ?? .none).rawValue
                return r
            }
            return result
        }
        return response
    }
}
