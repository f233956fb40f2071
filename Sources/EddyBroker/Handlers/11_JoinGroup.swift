// JoinGroup (key 11), v0-9.
// Supports: the classic protocol as Kafka 3.9 serves it (`Groups/GroupCoordinator.swift` holds the
// rules): two-step join with MEMBER_ID_REQUIRED from v4, static membership (group.instance.id)
// from v5, KIP-814 skipAssignment from v9; the answer waits for the rebalance (the connection
// reads nothing else meanwhile, as Kafka mutes it).
// Differs from Kafka: group metadata is not persisted, so after a broker restart members rejoin
// (their committed offsets stay); JoinGroup v0 (no rebalance timeout) uses the session timeout.
import EddyWire

extension Broker {
    func joinGroup(_ request: JoinGroupRequest, _ context: ApiTable.Context) async -> JoinGroupResponse {
        let v = context.version
        let join = JoinRequest(
            groupId: request.groupId, sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: v >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
            memberId: request.memberId, groupInstanceId: request.groupInstanceId,
            protocolType: request.protocolType,
            protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: $0.metadata) },
            clientId: context.header.clientId ?? "", clientHost: context.clientHost,
            requireKnownMemberId: v >= 4, supportSkippingAssignment: v >= 9, reason: request.reason)
        let result = await groups.join(join)
        var response = JoinGroupResponse()
        response.errorCode = result.errorCode.rawValue
        response.generationId = result.generationId
        // Before v7 the protocol name is not nullable; protocolType is only in v7+.
        response.protocolType = v >= 7 ? result.protocolType : nil
        response.protocolName = v >= 7 ? result.protocolName : (result.protocolName ?? "")
        response.leader = result.leader
        response.skipAssignment = v >= 9 ? result.skipAssignment : false
        response.memberId = result.memberId
        response.members = result.members.map { m in
            var member = JoinGroupResponse.JoinGroupResponseMember()
            member.memberId = m.memberId
            member.groupInstanceId = v >= 5 ? m.groupInstanceId : nil
            member.metadata = m.metadata
            return member
        }
        return response
    }
}
