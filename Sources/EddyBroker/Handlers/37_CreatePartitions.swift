// CreatePartitions (key 37), v0-3.
// Supports: growing a topic to a new partition count, validateOnly.
// Differs from Kafka: one broker, so explicit assignments may only name this node.
import EddyWire

extension Broker {
    func createPartitions(_ request: CreatePartitionsRequest, _ context: ApiTable.Context) async throws -> CreatePartitionsResponse {
        var response = CreatePartitionsResponse()
        for requested in request.topics {
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult()
            result.name = requested.name
            do {
                if let assignments = requested.assignments, !assignments.allSatisfy({ $0.brokerIds == [config.nodeId] }) {
                    throw TopicError(code: .invalidReplicaAssignment, message: "replicas can only be on node \(config.nodeId)")
                }
                let validateOnly = request.validateOnly
                try await blocking { try self.topics.addPartitions(requested.name, totalCount: requested.count, validateOnly: validateOnly) }
            } catch let error as TopicError {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.results.append(result)
        }
        return response
    }
}
