// DeleteGroups (key 42), v0-2.
// Supports: deleting Empty groups and their committed offsets (tombstones in __consumer_offsets);
// NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for an unknown group.
// Differs from Kafka: none.
import EddyCore
import EddyWire

extension Broker {
    func deleteGroups(_ request: DeleteGroupsRequest, _ context: ApiTable.Context) async -> DeleteGroupsResponse {
        var response = DeleteGroupsResponse()
        for groupId in request.groupsNames {
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = groupId
            let (error, removed) = groupId.isEmpty ? (ErrorCode.invalidGroupId, []) : groups.delete(groupId: groupId)
            result.errorCode = error.rawValue
            if error == .none, !removed.isEmpty {
                let tombstones = removed.map { (OffsetRecords.Key(group: groupId, topicPartition: $0), CommittedOffset?.none) }
                do { try await appendOffsetRecords(group: groupId, tombstones) } catch {
                    logger.error("DeleteGroups \(groupId): writing tombstones failed: \(error)")
                    result.errorCode = ErrorCode.kafkaStorageError.rawValue
                }
            }
            response.results.append(result)
        }
        return response
    }
}
