// DescribeConfigs (key 32), v0-4.
// Supports: topic resources (every topic config Eddy honours, with its value, source — the topic's
// override or the broker default — synonyms from v1, type and documentation from v3) and broker
// resources (the broker settings `eddy broker` takes, under their Kafka names).
// Differs from Kafka: only the configs Eddy implements are listed; broker logger resources are
// refused with INVALID_REQUEST.
import EddyLog
import EddyWire

extension Broker {
    static let topicResource: Int8 = 2
    static let brokerResource: Int8 = 4

    func describeConfigs(_ request: DescribeConfigsRequest, _ context: ApiTable.Context) -> DescribeConfigsResponse {
        var response = DescribeConfigsResponse()
        for resource in request.resources {
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            let wanted = resource.configurationKeys.map(Set.init)
            switch resource.resourceType {
            case Self.topicResource:
                guard let topic = topics.topic(resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "no topic \(resource.resourceName)"
                    break
                }
                for key in TopicConfigs.all where wanted?.contains(key.name) ?? true {
                    let overridden = topic.overrides[key.name] != nil
                    var c = entry(key.name, key.read(topic.config), key.type, key.documentation, request, context)
                    if context.version == 0 { c.isDefault = !overridden }
                    if context.version >= 1 { c.configSource = overridden ? ConfigSource.dynamicTopic : ConfigSource.defaultConfig }
                    if request.includeSynonyms && context.version >= 1 {
                        if overridden { c.synonyms.append(synonym(key.name, key.read(topic.config), ConfigSource.dynamicTopic)) }
                        c.synonyms.append(synonym(key.name, key.read(config.logDefaults), ConfigSource.defaultConfig))
                    }
                    result.configs.append(c)
                }
            case Self.brokerResource:
                guard resource.resourceName.isEmpty || resource.resourceName == String(config.nodeId) else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "this is broker \(config.nodeId)"
                    break
                }
                for (name, value, type, doc) in brokerSettings() where wanted?.contains(name) ?? true {
                    var c = entry(name, value, type, doc, request, context)
                    c.readOnly = true
                    if context.version >= 1 { c.configSource = ConfigSource.staticBroker }
                    result.configs.append(c)
                }
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "resource type \(resource.resourceType) is not supported"
            }
            response.results.append(result)
        }
        return response
    }

    private func entry(_ name: String, _ value: String, _ type: TopicConfigKey.ValueType, _ doc: String,
                       _ request: DescribeConfigsRequest, _ context: ApiTable.Context) -> DescribeConfigsResponse.DescribeConfigsResourceResult {
        var c = DescribeConfigsResponse.DescribeConfigsResourceResult()
        c.name = name
        c.value = value
        if context.version >= 3 {
            c.configType = type.rawValue
            c.documentation = request.includeDocumentation ? doc : nil
        }
        return c
    }

    private func synonym(_ name: String, _ value: String, _ source: Int8) -> DescribeConfigsResponse.DescribeConfigsSynonym {
        var s = DescribeConfigsResponse.DescribeConfigsSynonym()
        s.name = name
        s.value = value
        s.source = source
        return s
    }

    /// The broker's settings under Kafka's server property names.
    private func brokerSettings() -> [(String, String, TopicConfigKey.ValueType, String)] {
        let d = config.logDefaults
        return [
            ("broker.id", String(config.nodeId), .int, "This broker's node id."),
            ("log.dirs", config.dataDirectory, .string, "Where partitions are stored."),
            ("auto.create.topics.enable", String(config.autoCreateTopics), .boolean, "Create topics on first use."),
            ("num.partitions", String(config.defaultPartitions), .int, "Partitions of an auto-created topic."),
            ("socket.request.max.bytes", String(config.maxRequestBytes), .int, "The largest request frame."),
            ("max.connections", String(config.maxConnections), .int, "Connections past this are closed."),
            ("queued.max.requests", String(config.maxQueuedRequestsPerConnection), .int, "Requests read ahead per connection."),
            ("fetch.max.bytes", String(config.fetchMaxBytes), .int, "The most a Fetch response carries."),
            ("log.retention.check.interval.ms", String(config.retentionCheckIntervalMs), .long, "How often retention runs."),
            ("log.retention.ms", String(d.retentionMs), .long, "Default retention.ms."),
            ("log.retention.bytes", String(d.retentionBytes), .long, "Default retention.bytes."),
            ("log.segment.bytes", String(d.segmentBytes), .int, "Default segment.bytes."),
            ("log.roll.ms", String(d.segmentMs), .long, "Default segment.ms."),
            ("message.max.bytes", String(d.maxMessageBytes), .int, "Default max.message.bytes."),
            ("log.cleanup.policy", d.cleanupPolicy, .list, "Default cleanup.policy."),
            ("log.flush.interval.messages", String(d.flushIntervalMessages), .long, "Default flush.messages."),
            ("log.flush.interval.ms", String(d.flushIntervalMs), .long, "Default flush.ms."),
            ("log.preallocate", String(d.preallocate), .boolean, "Default preallocate."),
        ]
    }
}
