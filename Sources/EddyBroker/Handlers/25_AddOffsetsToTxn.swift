// AddOffsetsToTxn (key 25), v0-3.
// Supports: adding a group's __consumer_offsets partition to the producer's transaction, so that
// its TxnOffsetCommit is decided by the transaction's marker.
// Differs from Kafka: none known.
import EddyWire

extension Broker {
    func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest, _ context: ApiTable.Context) async -> AddOffsetsToTxnResponse {
        var response = AddOffsetsToTxnResponse()
        guard !request.groupId.isEmpty else {
            response.errorCode = ErrorCode.invalidGroupId.rawValue
            return response
        }
        let partition = offsetsPartition(for: request.groupId)
        let (error, _) = await transactions.run(self) { c, _, now in
            c.addOffsets(transactionalId: request.transactionalId, producerId: request.producerId,
                         producerEpoch: request.producerEpoch, offsetsPartition: partition,
                         requestVersion: context.version, now: now)
        }
        response.errorCode = error.rawValue
        return response
    }
}
