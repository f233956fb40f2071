// SyncGroup (key 14), v0-5.
// Supports: the leader's assignments handed to every member; followers wait for the leader; the
// v5 protocol type and name checks. Rules in `Groups/Group.swift`.
// Differs from Kafka: assignments are not persisted (see JoinGroup).
import EddyWire

extension Broker {
    func syncGroup(_ request: SyncGroupRequest, _ context: ApiTable.Context) async -> SyncGroupResponse {
        let v = context.version
        let sync = SyncRequest(
            groupId: request.groupId, generationId: request.generationId, memberId: request.memberId,
            groupInstanceId: request.groupInstanceId,
            protocolType: v >= 5 ? request.protocolType : nil, protocolName: v >= 5 ? request.protocolName : nil,
            assignments: request.assignments.map { MemberAssignment(memberId: $0.memberId, assignment: $0.assignment) })
        let result = await groups.sync(sync)
        var response = SyncGroupResponse()
        response.errorCode = result.errorCode.rawValue
        response.protocolType = v >= 5 ? result.protocolType : nil
        response.protocolName = v >= 5 ? result.protocolName : nil
        response.assignment = result.assignment
        return response
    }
}
