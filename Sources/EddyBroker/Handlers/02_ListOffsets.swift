// ListOffsets (key 2), v1-9.
// Supports: latest (-1, the log end offset), earliest (-2, the log start offset), max timestamp
// (-3, v7+), earliest local (-4, v8+; the same as earliest: there is no tiered storage), latest
// tiered (-5, v9+; -1 as there is no tiered storage), and by timestamp (the first offset whose
// record timestamp is at or after it, or -1 when none).
// With isolation_level read_committed (v2+), latest is the last stable offset.
// Differs from Kafka: v0 (several old-style offsets) is not served.
import EddyCore
import EddyLog
import EddyWire

extension Broker {
    func listOffsets(_ request: ListOffsetsRequest, _ context: ApiTable.Context) async throws -> ListOffsetsResponse {
        try await blocking {
            var response = ListOffsetsResponse()
            for requested in request.topics {
                var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse()
                topicResponse.name = requested.name
                for p in requested.partitions {
                    topicResponse.partitions.append(self.listOffset(requested.name, p, version: context.version,
                                                                    isolation: request.isolation))
                }
                response.topics.append(topicResponse)
            }
            return response
        }
    }

    private func listOffset(_ topic: String, _ p: ListOffsetsRequest.ListOffsetsPartition, version: Int16,
                            isolation: IsolationLevel) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var result = ListOffsetsResponse.ListOffsetsPartitionResponse()
        result.partitionIndex = p.partitionIndex
        result.timestamp = -1
        result.offset = -1
        guard let partition = topics.partition(topic, p.partitionIndex) else {
            result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
            return result
        }
        do {
            try partition.withLog { log in
                switch p.timestamp {
                case -1: result.offset = log.readableEnd(isolation).rawValue
                case -2, -4: result.offset = log.logStartOffset.rawValue
                case -3:
                    if let found = try log.maxTimestampOffset() {
                        result.offset = found.offset.rawValue
                        result.timestamp = found.timestamp
                    }
                case -5: break
                default:
                    if let found = try log.offset(forTimestamp: p.timestamp) {
                        result.offset = found.offset.rawValue
                        result.timestamp = found.timestamp
                    }
                }
            }
            if version >= 4 { result.leaderEpoch = 0 }
        } catch {
            result.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return result
    }
}
