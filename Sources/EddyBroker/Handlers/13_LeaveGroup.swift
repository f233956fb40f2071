// LeaveGroup (key 13), v0-5.
// Supports: one member (v0-2) or a batch by member id and/or group.instance.id (v3+, KIP-345),
// with an error per member; a departure starts a rebalance for the others.
// Differs from Kafka: none.
import EddyWire

extension Broker {
    func leaveGroup(_ request: LeaveGroupRequest, _ context: ApiTable.Context) -> LeaveGroupResponse {
        let v = context.version
        let leaving = v >= 3
            ? request.members.map { LeavingMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId) }
            : [LeavingMember(memberId: request.memberId, groupInstanceId: nil)]
        let result = groups.leave(groupId: request.groupId, members: leaving)
        var response = LeaveGroupResponse()
        if v >= 3 {
            response.errorCode = result.errorCode.rawValue
            response.members = zip(leaving, result.memberErrors).map { member, error in
                var m = LeaveGroupResponse.MemberResponse()
                m.memberId = member.memberId
                m.groupInstanceId = member.groupInstanceId
                m.errorCode = error.rawValue
                return m
            }
        } else {
            // One member: its error is the answer's.
            response.errorCode = (result.errorCode == .none ? result.memberErrors.first ?? .none : result.errorCode).rawValue
        }
        return response
    }
}
