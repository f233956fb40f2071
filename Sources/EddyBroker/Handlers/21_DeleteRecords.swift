// DeleteRecords (key 21), v0-2.
// Supports: moving a partition's log start offset forward (offset -1 means the high watermark);
// segments wholly below it are deleted and the new start survives restarts.
// Differs from Kafka: none known.
import EddyCore
import EddyLog
import EddyWire

extension Broker {
    func deleteRecords(_ request: DeleteRecordsRequest, _ context: ApiTable.Context) async throws -> DeleteRecordsResponse {
        try await blocking {
            var response = DeleteRecordsResponse()
            for requested in request.topics {
                var topicResult = DeleteRecordsResponse.DeleteRecordsTopicResult()
                topicResult.name = requested.name
                for p in requested.partitions {
                    var result = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                    result.partitionIndex = p.partitionIndex
                    result.lowWatermark = -1
                    if let partition = self.topics.partition(requested.name, p.partitionIndex) {
                        do {
                            result.lowWatermark = try partition.withLog { log in
                                let target = p.offset == -1 ? log.logEndOffset.rawValue : p.offset
                                guard target >= 0, target <= log.logEndOffset.rawValue else {
                                    throw LogError(.offsetOutOfRange, "offset \(p.offset) is past the end \(log.logEndOffset)")
                                }
                                return try log.deleteRecords(before: Offset(target)).rawValue
                            }
                        } catch let error as LogError {
                            result.errorCode = self.errorCode(for: error).rawValue
                        }
                    } else {
                        result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    }
                    topicResult.partitions.append(result)
                }
                response.topics.append(topicResult)
            }
            return response
        }
    }
}
