// OffsetFetch (key 9), v1-9.
// Supports: the committed offsets of the partitions asked for, or of every partition the group
// has committed (null topics, v2+); several groups in one request (v8+); requireStable (v7+): a
// partition with offsets in an undecided transaction answers UNSTABLE_OFFSET_COMMIT (the client
// retries).
// Differs from Kafka: v0 (ZooKeeper offsets) is not served. A partition with no commit answers
// offset -1 and metadata "", as Kafka does.
import EddyCore
import EddyWire

extension Broker {
    func offsetFetch(_ request: OffsetFetchRequest, _ context: ApiTable.Context) -> OffsetFetchResponse {
        var response = OffsetFetchResponse()
        if context.version >= 8 {
            response.groups = request.groups.map { g in
                var group = OffsetFetchResponse.OffsetFetchResponseGroup()
                group.groupId = g.groupId
                let asked = g.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
                group.topics = committedOffsets(g.groupId, asked).map { name, partitions in
                    var t = OffsetFetchResponse.OffsetFetchResponseTopics()
                    t.name = name
                    t.partitions = partitions.map { index, c in
                        var p = OffsetFetchResponse.OffsetFetchResponsePartitions()
                        p.partitionIndex = index
                        p.committedOffset = c?.offset ?? -1
                        p.committedLeaderEpoch = c?.leaderEpoch ?? -1
                        p.metadata = c?.metadata ?? ""
                        if request.requireStable, groups.hasPendingTransactional(groupId: g.groupId, TopicPartition(name, PartitionID(index))) {
                            p.errorCode = ErrorCode.unstableOffsetCommit.rawValue
                        }
                        return p
                    }
                    return t
                }
                return group
            }
        } else {
            let asked = request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
            response.topics = committedOffsets(request.groupId, asked).map { name, partitions in
                var t = OffsetFetchResponse.OffsetFetchResponseTopic()
                t.name = name
                t.partitions = partitions.map { index, c in
                    var p = OffsetFetchResponse.OffsetFetchResponsePartition()
                    p.partitionIndex = index
                    p.committedOffset = c?.offset ?? -1
                    p.committedLeaderEpoch = context.version >= 5 ? c?.leaderEpoch ?? -1 : -1
                    p.metadata = c?.metadata ?? ""
                    if context.version >= 7, request.requireStable,
                       groups.hasPendingTransactional(groupId: request.groupId, TopicPartition(name, PartitionID(index))) {
                        p.errorCode = ErrorCode.unstableOffsetCommit.rawValue
                    }
                    return p
                }
                return t
            }
        }
        return response
    }

    /// The asked partitions with their commits (nil: none), or all committed ones when `asked` is nil.
    private func committedOffsets(_ group: String, _ asked: [(String, [Int32])]?) -> [(String, [(Int32, CommittedOffset?)])] {
        let committed = groups.committed(groupId: group)
        if let asked {
            return asked.map { name, indexes in
                (name, indexes.map { ($0, committed[TopicPartition(name, PartitionID($0))]) })
            }
        }
        let byTopic = Dictionary(grouping: committed, by: { $0.key.topic })
        return byTopic.keys.sorted().map { name in
            (name, byTopic[name]!.sorted { $0.key.partition < $1.key.partition }.map { ($0.key.partition.rawValue, $0.value) })
        }
    }
}
