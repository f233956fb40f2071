// Fetch (key 1), v4-17 (record batch v2 only, so v0-3 are not advertised).
// Supports: long poll (max.wait.ms until min.bytes arrive), max.bytes across the response (capped
// by the broker's fetch.max.bytes) and per-partition max bytes, at least one whole batch for the
// first partition with data so a consumer always progresses, whole batches even when the fetch
// offset is inside one, topics by name or by id (v13+), OFFSET_OUT_OF_RANGE below the log start or
// past the end.
// Differs from Kafka: fetch sessions are answered as sessionless (session id 0, every fetch is a
// full fetch; a client that names a session gets FETCH_SESSION_ID_NOT_FOUND); no follower fetching.
// isolation_level read_committed (1, `IsolationLevel`): records stop before the last stable offset (the first offset
// of an undecided transaction), and the aborted transactions overlapping what is returned are
// listed so the client skips their records.
import EddyCore
import EddyLog
import EddyWire
import Foundation
import NIOCore

extension Broker {
    func fetch(_ request: FetchRequest, _ context: ApiTable.Context) async throws -> FetchResponse {
        var response = FetchResponse()
        if request.sessionId != 0 {
            response.errorCode = ErrorCode.fetchSessionIdNotFound.rawValue
            return response
        }
        let deadline = clock() + Int64(max(0, request.maxWaitMs))
        while true {
            let seen = appendSignal.current
            let (built, bytes, failed) = try await blocking { self.readFetch(request, version: context.version) }
            let now = clock()
            if bytes >= Int(request.minBytes) || failed || now >= deadline || Task.isCancelled {
                return built
            }
            await appendSignal.wait(after: seen, timeoutMs: deadline - now)
        }
    }

    /// One pass over the requested partitions: the response, the record bytes in it, and whether a
    /// partition failed (which ends a long poll at once, as in Kafka).
    private func readFetch(_ request: FetchRequest, version: Int16) -> (FetchResponse, Int, Bool) {
        var response = FetchResponse()
        var remaining = min(request.maxBytes > 0 ? Int(request.maxBytes) : config.fetchMaxBytes, config.fetchMaxBytes)
        var total = 0
        var failed = false
        let byId = version >= 13
        for fetchTopic in request.topics {
            var topicResponse = FetchResponse.FetchableTopicResponse()
            topicResponse.topic = fetchTopic.topic
            topicResponse.topicId = fetchTopic.topicId
            let topic = byId ? topics.topic(id: fetchTopic.topicId) : topics.topic(fetchTopic.topic)
            for fetchPartition in fetchTopic.partitions {
                var data = FetchResponse.PartitionData()
                data.partitionIndex = fetchPartition.partition
                data.highWatermark = -1
                data.lastStableOffset = -1
                data.logStartOffset = -1
                data.abortedTransactions = request.isolation == .readCommitted ? [] : nil
                data.records = ByteBuffer()  // empty, never null: librdkafka rejects a null record set
                guard let topic, fetchPartition.partition >= 0, Int(fetchPartition.partition) < topic.partitions.count else {
                    data.errorCode = (byId && topic == nil ? ErrorCode.unknownTopicId : .unknownTopicOrPartition).rawValue
                    failed = true
                    topicResponse.partitions.append(data)
                    continue
                }
                let partition = topic.partitions[Int(fetchPartition.partition)]
                let limit = max(0, min(Int(fetchPartition.partitionMaxBytes), remaining))
                do {
                    let isolation = request.isolation
                    let fetched = try partition.withLog { log in
                        try log.read(from: Offset(fetchPartition.fetchOffset), maxBytes: limit, minOneBatch: total == 0,
                                     isolation: isolation)
                    }
                    let read = fetched.read
                    data.highWatermark = read.highWatermark.rawValue
                    data.lastStableOffset = fetched.lastStableOffset.rawValue
                    if isolation == .readCommitted {
                        data.abortedTransactions = fetched.abortedTransactions.map { a in
                            var t = FetchResponse.AbortedTransaction()
                            t.producerId = a.producerId.rawValue
                            t.firstOffset = a.firstOffset.rawValue
                            return t
                        }
                    }
                    data.logStartOffset = read.logStartOffset.rawValue
                    data.records = read.records
                    total += read.records.readableBytes
                    remaining -= read.records.readableBytes
                } catch let error as LogError {
                    data.errorCode = errorCode(for: error).rawValue
                    partition.withLog { log in
                        data.highWatermark = log.logEndOffset.rawValue
                        data.lastStableOffset = log.lastStableOffset.rawValue
                        data.logStartOffset = log.logStartOffset.rawValue
                    }
                    failed = true
                } catch {
                    data.errorCode = ErrorCode.kafkaStorageError.rawValue
                    failed = true
                }
                topicResponse.partitions.append(data)
            }
            response.responses.append(topicResponse)
        }
        return (response, total, failed)
    }
}
