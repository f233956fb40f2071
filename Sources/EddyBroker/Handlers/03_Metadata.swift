// Metadata (key 3), v0-12.
// Supports: all topics (null list, or an empty list in v0), topics by name, topics by id (v10+),
// auto-creation of missing topics when both the broker (`auto.create.topics.enable`) and the
// request (v4+ allowAutoTopicCreation) allow it, with `num.partitions` partitions.
// Differs from Kafka: one node, always the leader and the only replica, leader epoch 0; a topic
// auto-created here is answered at once with its partitions (Kafka answers LEADER_NOT_AVAILABLE
// first). Authorized operations (v8+, when asked) are every operation of the resource type, as
// Kafka answers without an authorizer.
import EddyCore
import EddyWire

extension Broker {
    func metadata(_ request: MetadataRequest, _ context: ApiTable.Context) async throws -> MetadataResponse {
        var response = try await metadataTopics(request, context)
        if request.includeClusterAuthorizedOperations { response.clusterAuthorizedOperations = AuthorizedOperations.cluster }
        if request.includeTopicAuthorizedOperations {
            for index in response.topics.indices { response.topics[index].topicAuthorizedOperations = AuthorizedOperations.topic }
        }
        return response
    }

    private func metadataTopics(_ request: MetadataRequest, _ context: ApiTable.Context) async throws -> MetadataResponse {
        var response = MetadataResponse()
        var node = MetadataResponse.MetadataResponseBroker()
        node.nodeId = config.nodeId
        node.host = config.advertised.host
        node.port = Int32(config.advertised.port)
        response.brokers = [node]
        response.clusterId = clusterId
        response.controllerId = config.nodeId

        let wanted = request.topics.flatMap { context.version == 0 && $0.isEmpty ? nil : $0 }
        guard let wanted else {
            response.topics = topics.all.map { describe($0) }
            return response
        }
        let mayCreate = config.autoCreateTopics && (context.version < 4 || request.allowAutoTopicCreation)
        for requested in wanted {
            if let name = requested.name {
                response.topics.append(try await metadata(of: name, create: mayCreate))
            } else {
                var missing = MetadataResponse.MetadataResponseTopic()
                missing.topicId = requested.topicId
                if let topic = topics.topic(id: requested.topicId) { missing = describe(topic) } else {
                    missing.errorCode = ErrorCode.unknownTopicId.rawValue
                }
                response.topics.append(missing)
            }
        }
        return response
    }

    private func metadata(of name: String, create: Bool) async throws -> MetadataResponse.MetadataResponseTopic {
        if let topic = topics.topic(name) { return describe(topic) }
        var result = MetadataResponse.MetadataResponseTopic()
        result.name = name
        do {
            try TopicRegistry.validateName(name)
        } catch {
            result.errorCode = error.code.rawValue
            return result
        }
        guard create else {
            result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
            return result
        }
        return describe(try await autoCreate(name))
    }

    /// Creates a topic on first use (Metadata or Produce); a racing creator's topic is as good.
    func autoCreate(_ name: String) async throws -> Topic {
        let partitions = config.defaultPartitions
        return try await blocking {
            do {
                return try self.topics.create(name, partitions: partitions, overrides: [:])
            } catch let error as TopicError where error.code == .topicAlreadyExists {
                guard let topic = self.topics.topic(name) else { throw error }
                return topic
            }
        }
    }

    func describe(_ topic: Topic) -> MetadataResponse.MetadataResponseTopic {
        var result = MetadataResponse.MetadataResponseTopic()
        result.name = topic.name
        result.topicId = topic.id
        result.isInternal = Self.isInternal(topic.name)
        result.partitions = topic.partitions.indices.map { index in
            var p = MetadataResponse.MetadataResponsePartition()
            p.partitionIndex = Int32(index)
            p.leaderId = config.nodeId
            p.leaderEpoch = 0
            p.replicaNodes = [config.nodeId]
            p.isrNodes = [config.nodeId]
            return p
        }
        return result
    }
}
