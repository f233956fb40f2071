// OffsetForLeaderEpoch (key 23), v0-4.
// Supports: consumers validating their position after a leader change (librdkafka asks this after
// a metadata refresh): every partition has had one leader epoch, 0, which ends at the log end.
// Differs from Kafka: no epoch history (a single node never changes leader); an epoch newer than 0
// gets UNKNOWN_LEADER_EPOCH, as a stale broker would answer.
import EddyWire

extension Broker {
    func offsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest, _ context: ApiTable.Context) async throws -> OffsetForLeaderEpochResponse {
        var response = OffsetForLeaderEpochResponse()
        for t in request.topics {
            var topicResult = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult()
            topicResult.topic = t.topic
            for p in t.partitions {
                var r = OffsetForLeaderEpochResponse.EpochEndOffset()
                r.partition = p.partition
                r.leaderEpoch = -1
                r.endOffset = -1
                if let partition = topics.partition(t.topic, p.partition) {
                    if p.currentLeaderEpoch > 0 || p.leaderEpoch > 0 {
                        r.errorCode = ErrorCode.unknownLeaderEpoch.rawValue
                    } else {
                        r.leaderEpoch = 0
                        r.endOffset = partition.withLog { $0.logEndOffset.rawValue }
                    }
                } else {
                    r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                }
                topicResult.partitions.append(r)
            }
            response.topics.append(topicResult)
        }
        return response
    }
}
