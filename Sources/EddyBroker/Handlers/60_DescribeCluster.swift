// DescribeCluster (key 60), v0-1.
// Supports: the cluster id, this node as the only broker and as the controller.
// Differs from Kafka: asking for controllers (v1 endpoint type 2) lists this node too, since the
// broker is its own controller. Authorized operations, when asked, are every cluster operation, as
// Kafka answers without an authorizer.
import EddyWire

extension Broker {
    func describeCluster(_ request: DescribeClusterRequest, _ context: ApiTable.Context) -> DescribeClusterResponse {
        var response = DescribeClusterResponse()
        response.clusterId = clusterId
        response.controllerId = config.nodeId
        response.endpointType = request.endpointType
        var node = DescribeClusterResponse.DescribeClusterBroker()
        node.brokerId = config.nodeId
        node.host = config.advertised.host
        node.port = Int32(config.advertised.port)
        response.brokers = [node]
        if request.includeClusterAuthorizedOperations { response.clusterAuthorizedOperations = AuthorizedOperations.cluster }
        return response
    }
}
