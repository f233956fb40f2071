// FindCoordinator (key 10), v0-6.
// Supports: group (0) and transaction (1) keys, one key (v0-3) or a batch of keys (v4+): on a
// single node, this broker coordinates everything.
// Differs from Kafka: none in the answer; note that librdkafka also takes this API's presence as
// the sign that the broker understands LZ4 (a 0.8.2-era feature probe).
import EddyWire

extension Broker {
    func findCoordinator(_ request: FindCoordinatorRequest, _ context: ApiTable.Context) -> FindCoordinatorResponse {
        var response = FindCoordinatorResponse()
        let (host, port) = config.advertised
        guard request.keyType == 0 || request.keyType == 1 || context.version == 0 else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = "unknown coordinator key type \(request.keyType)"
            return response
        }
        if context.version >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                var c = FindCoordinatorResponse.Coordinator()
                c.key = key
                c.nodeId = config.nodeId
                c.host = host
                c.port = Int32(port)
                if request.keyType != 0 && request.keyType != 1 {
                    c.errorCode = ErrorCode.invalidRequest.rawValue
                }
                return c
            }
        } else {
            response.nodeId = config.nodeId
            response.host = host
            response.port = Int32(port)
        }
        return response
    }
}
