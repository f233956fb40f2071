// InitProducerId (key 22), v0-5.
// Supports: idempotent producers (no transactional id): a fresh producer id, never reused (see
// `ProducerIdAllocator`), epoch 0. Transactional ids: the transaction coordinator
// (`Transactions/TransactionCoordinator.swift`): a new id, an epoch bump that fences the previous
// producer (aborting its open transaction first: CONCURRENT_TRANSACTIONS until done), KIP-360
// bumps from v3, INVALID_TRANSACTION_TIMEOUT past transaction.max.timeout.ms.
// Differs from Kafka: none known.
import EddyWire

extension Broker {
    func initProducerId(_ request: InitProducerIdRequest, _ context: ApiTable.Context) async -> InitProducerIdResponse {
        let (_, answer) = await transactions.run(self) { c, token, now in
            ((), c.initProducerId(transactionalId: request.transactionalId, timeoutMs: request.transactionTimeoutMs,
                                  producerId: request.producerId, producerEpoch: request.producerEpoch,
                                  requestVersion: context.version, now: now, token: token))
        }
        var response = InitProducerIdResponse()
        if case .initProducerId(let error, let id, let epoch) = answer {
            response.errorCode = error.rawValue
            response.producerId = id
            response.producerEpoch = epoch
        } else {
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
        }
        return response
    }
}
