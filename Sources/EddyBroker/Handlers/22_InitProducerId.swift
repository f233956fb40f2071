// InitProducerId (key 22), v0-5.
// Supports: idempotent producers (no transactional id): a fresh producer id, never reused (see
// `ProducerIdAllocator`), epoch 0. KIP-360 bumps (v3+, an id and epoch given back by a producer
// that lost track of its sequences) get a fresh id too, which clients accept.
// Differs from Kafka: transactional ids are not served yet (COORDINATOR_NOT_AVAILABLE, which
// clients retry); the transaction coordinator comes with the transactions work.
import EddyWire

extension Broker {
    func initProducerId(_ request: InitProducerIdRequest, _ context: ApiTable.Context) -> InitProducerIdResponse {
        var response = InitProducerIdResponse()
        if let transactionalId = request.transactionalId, !transactionalId.isEmpty {
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
            return response
        }
        do {
            response.producerId = try producerIds.next()
            response.producerEpoch = 0
        } catch {
            logger.error("InitProducerId: \(error)")
            response.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return response
    }
}
