// Heartbeat (key 12), v0-4.
// Supports: everything Kafka's classic coordinator answers (REBALANCE_IN_PROGRESS tells a member
// to rejoin; FENCED_INSTANCE_ID for a replaced static member).
// Differs from Kafka: none.
import EddyWire

extension Broker {
    func heartbeat(_ request: HeartbeatRequest, _ context: ApiTable.Context) -> HeartbeatResponse {
        var response = HeartbeatResponse()
        response.errorCode = groups.heartbeat(MemberHeartbeat(
            groupId: request.groupId, generationId: request.generationId, memberId: request.memberId,
            groupInstanceId: request.groupInstanceId)).rawValue
        return response
    }
}
