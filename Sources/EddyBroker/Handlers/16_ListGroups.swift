// ListGroups (key 16), v0-5.
// Supports: every group this broker coordinates (all of them: one node), the states filter (v4+)
// and the types filter (v5+: "classic" only exists here).
// Differs from Kafka: none.
import EddyWire

extension Broker {
    func listGroups(_ request: ListGroupsRequest, _ context: ApiTable.Context) -> ListGroupsResponse {
        var response = ListGroupsResponse()
        let types = Set(request.typesFilter.map { $0.lowercased() })
        guard types.isEmpty || types.contains("classic") else { return response }
        response.groups = groups.list(statesFilter: Set(request.statesFilter)).map { g in
            var listed = ListGroupsResponse.ListedGroup()
            listed.groupId = g.groupId
            listed.protocolType = g.protocolType
            listed.groupState = context.version >= 4 ? g.state.name : ""
            listed.groupType = context.version >= 5 ? "classic" : ""
            return listed
        }
        return response
    }
}
