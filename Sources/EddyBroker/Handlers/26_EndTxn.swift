// EndTxn (key 26), v0-3.
// Supports: commit or abort. The decision is fsynced to __transaction_state, then a COMMIT/ABORT
// marker goes to every partition of the transaction (fsynced too) before the answer, so a
// read_committed consumer sees the outcome as soon as the producer does. Retries of a decided
// transaction answer NONE; the opposite decision INVALID_TXN_STATE.
// Differs from Kafka: Kafka answers once the decision is logged and writes markers afterwards;
// Eddy answers after the markers (one node: they are local appends).
import EddyWire

extension Broker {
    func endTxn(_ request: EndTxnRequest, _ context: ApiTable.Context) async -> EndTxnResponse {
        let (_, answer) = await transactions.run(self) { c, token, now in
            ((), c.endTxn(transactionalId: request.transactionalId, producerId: request.producerId,
                          producerEpoch: request.producerEpoch, commit: request.committed,
                          requestVersion: context.version, now: now, token: token))
        }
        var response = EndTxnResponse()
        if case .endTxn(let error) = answer {
            response.errorCode = error.rawValue
        } else {
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
        }
        return response
    }
}
