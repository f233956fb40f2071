// AlterConfigs (key 33), v0-2: replaces a topic's config overrides with the given set.
// IncrementalAlterConfigs (key 44), v0-1: SET, DELETE, APPEND and SUBTRACT (lists) per config.
// Supports: topic resources, validateOnly; every value is validated before anything changes, and
// the new overrides apply to the topic's partitions at once (retention, roll, size limits).
// Differs from Kafka: broker resources are read-only (the broker's settings come from its command
// line), so altering them fails with INVALID_REQUEST.
import EddyWire

extension Broker {
    func alterConfigs(_ request: AlterConfigsRequest, _ context: ApiTable.Context) async throws -> AlterConfigsResponse {
        var response = AlterConfigsResponse()
        for resource in request.resources {
            var result = AlterConfigsResponse.AlterConfigsResourceResponse()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            var given: [String: String] = [:]
            for c in resource.configs { if let value = c.value { given[c.name] = value } }
            let overrides = given
            let error = await alter(resource.resourceType, resource.resourceName, validateOnly: request.validateOnly) { _ in overrides }
            result.errorCode = error?.code.rawValue ?? 0
            result.errorMessage = error?.message
            response.responses.append(result)
        }
        return response
    }

    func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest, _ context: ApiTable.Context) async throws -> IncrementalAlterConfigsResponse {
        var response = IncrementalAlterConfigsResponse()
        for resource in request.resources {
            var result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            let changes = resource.configs
            let defaults = config.logDefaults
            let error = await alter(resource.resourceType, resource.resourceName, validateOnly: request.validateOnly) { current in
                var overrides = current
                for change in changes {
                    guard let key = TopicConfigs.byName[change.name] else {
                        throw TopicError(code: .invalidConfig, message: "unknown topic config \(change.name)")
                    }
                    switch change.configOperation {
                    case 0: overrides[change.name] = change.value ?? ""
                    case 1: overrides[change.name] = nil
                    case 2, 3:
                        guard key.type == .list else {
                            throw TopicError(code: .invalidConfig, message: "\(change.name) is not a list: APPEND and SUBTRACT do not apply")
                        }
                        var items = (overrides[change.name] ?? key.read(defaults)).split(separator: ",").map(String.init)
                        let given = (change.value ?? "").split(separator: ",").map(String.init)
                        if change.configOperation == 2 {
                            items += given.filter { !items.contains($0) }
                        } else {
                            items.removeAll { given.contains($0) }
                        }
                        overrides[change.name] = items.joined(separator: ",")
                    default:
                        throw TopicError(code: .invalidRequest, message: "unknown config operation \(change.configOperation)")
                    }
                }
                return overrides
            }
            result.errorCode = error?.code.rawValue ?? 0
            result.errorMessage = error?.message
            response.responses.append(result)
        }
        return response
    }

    private func alter(_ type: Int8, _ name: String, validateOnly: Bool,
                       _ change: @escaping @Sendable ([String: String]) throws -> [String: String]) async -> TopicError? {
        guard type == Self.topicResource else {
            return TopicError(code: .invalidRequest, message: "only topic configs can be altered; broker settings come from its command line")
        }
        do {
            try await blocking { try self.topics.setOverrides(name, validateOnly: validateOnly, change) }
            return nil
        } catch let error as TopicError {
            return error
        } catch {
            return TopicError(code: .kafkaStorageError, message: "\(error)")
        }
    }
}
