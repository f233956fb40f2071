import EddyCore

/// What `eddy server`'s API and dashboard show of the broker: topics with their partitions, and
/// consumer groups with their members (read in process; the same facts Kafka's admin API gives).
extension Broker {
    public struct TopicSummary: Sendable, Equatable {
        public let name: String
        /// Internal topics (`__consumer_offsets`, `__transaction_state`).
        public let isInternal: Bool
        public let partitions: [PartitionSummary]
        /// Topic configs set on this topic (overrides of the broker's defaults).
        public let configs: [String: String]
    }

    public struct PartitionSummary: Sendable, Equatable {
        public let partition: Int32
        public let logStartOffset: Int64
        public let logEndOffset: Int64
        /// End of what read_committed consumers can read (the last stable offset).
        public let lastStableOffset: Int64
        public let sizeBytes: Int64
        public let segments: Int
    }

    public struct GroupSummary: Sendable, Equatable {
        public let groupId: String
        public let state: String
        public let protocolType: String
        public let protocolName: String
        public let members: [Member]

        public struct Member: Sendable, Equatable {
            public let memberId: String
            public let groupInstanceId: String?
            public let clientId: String
            public let clientHost: String
        }
    }

    public func topicSummaries() -> [TopicSummary] {
        topics.all.map { topic in
            TopicSummary(
                name: topic.name, isInternal: topic.name.hasPrefix("__"),
                partitions: topic.partitions.map { partition in
                    partition.withLog { log in
                        PartitionSummary(partition: partition.topicPartition.partition.rawValue,
                                         logStartOffset: log.logStartOffset.rawValue, logEndOffset: log.logEndOffset.rawValue,
                                         lastStableOffset: log.readableEnd(.readCommitted).rawValue,
                                         sizeBytes: log.sizeInBytes, segments: log.segmentCount)
                    }
                },
                configs: topic.overrides)
        }
    }

    public func groupSummaries() -> [GroupSummary] {
        let listed = Set(groups.list(statesFilter: []).map(\.groupId)).union(groups.allCommitted.keys)
        return listed.sorted().map { id in
            guard let described = groups.describe(groupId: id) else {
                return GroupSummary(groupId: id, state: "Empty", protocolType: "", protocolName: "", members: [])
            }
            return GroupSummary(
                groupId: id, state: described.state.name, protocolType: described.protocolType, protocolName: described.protocolName,
                members: described.members.map {
                    .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, clientId: $0.clientId, clientHost: $0.clientHost)
                })
        }
    }
}
