// CreateTopics (key 19), v0-7.
// Supports: partition count (-1: num.partitions), replication factor 1 or -1, topic configs
// (validated; see TopicConfigs), validateOnly, and from v5 the created topic's configs and
// partition count in the response.
// Differs from Kafka: one broker, so a replication factor above 1 or manual replica assignments
// naming another broker fail with INVALID_REPLICATION_FACTOR / INVALID_REPLICA_ASSIGNMENT.
import EddyWire

extension Broker {
    func createTopics(_ request: CreateTopicsRequest, _ context: ApiTable.Context) async throws -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        for requested in request.topics {
            var result = CreateTopicsResponse.CreatableTopicResult()
            result.name = requested.name
            result.numPartitions = -1
            result.replicationFactor = -1
            do {
                guard requested.replicationFactor == -1 || requested.replicationFactor == 1 else {
                    throw TopicError(code: .invalidReplicationFactor, message: "this broker is a single node: replication factor must be 1")
                }
                var partitions = requested.numPartitions == -1 ? config.defaultPartitions : requested.numPartitions
                if !requested.assignments.isEmpty {
                    guard requested.assignments.allSatisfy({ $0.brokerIds == [config.nodeId] }) else {
                        throw TopicError(code: .invalidReplicaAssignment, message: "replicas can only be on node \(config.nodeId)")
                    }
                    partitions = Int32(requested.assignments.count)
                }
                var overrides: [String: String] = [:]
                for c in requested.configs {
                    guard let value = c.value else { continue }
                    overrides[c.name] = value
                }
                let validateOnly = request.validateOnly
                let (count, configs) = (partitions, overrides)
                let topic = try await blocking {
                    try self.topics.create(requested.name, partitions: count, overrides: configs, validateOnly: validateOnly)
                }
                result.topicId = topic.id
                result.numPartitions = partitions
                result.replicationFactor = 1
                if context.version >= 5 {
                    result.configs = TopicConfigs.all.map { key in
                        var c = CreateTopicsResponse.CreatableTopicConfigs()
                        c.name = key.name
                        c.value = key.read(topic.config)
                        c.configSource = overrides[key.name] != nil ? ConfigSource.dynamicTopic : ConfigSource.defaultConfig
                        return c
                    }
                }
            } catch let error as TopicError {
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.topics.append(result)
        }
        return response
    }
}

/// DescribeConfigs' config sources.
enum ConfigSource {
    static let dynamicTopic: Int8 = 1
    static let staticBroker: Int8 = 4
    static let defaultConfig: Int8 = 5
}
