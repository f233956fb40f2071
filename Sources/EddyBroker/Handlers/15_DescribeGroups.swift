// DescribeGroups (key 15), v0-5.
// Supports: state, protocol type and chosen protocol, members with client id and host, and (when
// Stable) each member's metadata and assignment; an unknown group is answered as "Dead", as Kafka
// does.
// Authorized operations (v3+, when asked) are every group operation, as Kafka answers without an
// authorizer.
// Differs from Kafka: none known.
import EddyWire

extension Broker {
    func describeGroups(_ request: DescribeGroupsRequest, _ context: ApiTable.Context) -> DescribeGroupsResponse {
        var response = DescribeGroupsResponse()
        response.groups = request.groups.map { groupId in
            var described = DescribeGroupsResponse.DescribedGroup()
            described.groupId = groupId
            guard !groupId.isEmpty else {
                described.errorCode = ErrorCode.invalidGroupId.rawValue
                return described
            }
            if request.includeAuthorizedOperations { described.authorizedOperations = AuthorizedOperations.group }
            guard let group = groups.describe(groupId: groupId) else {
                described.groupState = GroupState.dead.name
                return described
            }
            described.groupState = group.state.name
            described.protocolType = group.protocolType
            described.protocolData = group.protocolName
            described.members = group.members.map { m in
                var member = DescribeGroupsResponse.DescribedGroupMember()
                member.memberId = m.memberId
                member.groupInstanceId = context.version >= 4 ? m.groupInstanceId : nil
                member.clientId = m.clientId
                member.clientHost = m.clientHost
                member.memberMetadata = m.metadata
                member.memberAssignment = m.assignment
                return member
            }
            return described
        }
        return response
    }
}
