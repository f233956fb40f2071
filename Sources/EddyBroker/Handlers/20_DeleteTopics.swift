// DeleteTopics (key 20), v0-6.
// Supports: topics by name (v0-5 topicNames, v6 topics by name) or by id (v6).
// Differs from Kafka: deletion is immediate and synchronous (the partitions' directories are
// removed before the response), not handed to a controller.
import EddyWire

extension Broker {
    func deleteTopics(_ request: DeleteTopicsRequest, _ context: ApiTable.Context) async throws -> DeleteTopicsResponse {
        var response = DeleteTopicsResponse()
        let targets: [(name: String?, id: KafkaUUID)] = context.version >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, .zero) }
        for target in targets {
            var result = DeleteTopicsResponse.DeletableTopicResult()
            result.name = target.name
            result.topicId = target.id
            let name = target.name ?? topics.topic(id: target.id)?.name
            guard let name else {
                result.errorCode = ErrorCode.unknownTopicId.rawValue
                response.responses.append(result)
                continue
            }
            result.name = name
            guard !Self.isInternal(name) else {
                result.errorCode = ErrorCode.invalidTopic.rawValue
                result.errorMessage = "\(name) is internal and cannot be deleted"
                response.responses.append(result)
                continue
            }
            do {
                let id = topics.topic(name)?.id
                try await blocking { try self.topics.delete(name) }
                result.topicId = id ?? .zero
                groups.topicDeleted(name)
            } catch let error as TopicError {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.responses.append(result)
        }
        return response
    }
}
