// Produce (key 0), v0-11 advertised; data accepted from v3 (record batch v2).
// Supports: acks 0 (no response), 1 (after write(2)), -1/all (after fsync, shared with concurrent
// producers by group commit); CRC-32C, magic, one batch per partition (as Kafka requires from v3),
// max.message.bytes, no control batches from clients, keys required on compacted topics (the batch
// refused whole with each keyless record in v8+ record_errors, KIP-467, and Kafka's error_message),
// CreateTime/LogAppendTime; auto-creation of missing topics when enabled.
// Differs from Kafka: v0-2 requests (legacy message sets) are refused with
// UNSUPPORTED_FOR_MESSAGE_FORMAT instead of being converted (a legacy set in v3+ gets INVALID_RECORD,
// as in Kafka). Idempotent producers: sequences and epochs checked per partition (the log's
// producer-state table), a retried batch answered with its original offsets and not appended
// again. Transactional producers: their batches open a transaction in the partition (the last
// stable offset stays below it until the coordinator's marker); INVALID_TXN_STATE for a plain
// batch while one is open.
import EddyCore
import EddyLog
import EddyWire
import NIOCore

extension Broker {
    func produce(_ request: ProduceRequest, _ context: ApiTable.Context) async throws -> ApiTable.Answer<ProduceResponse> {
        let acks = request.acks
        var response = ProduceResponse()
        var durable: [(Partition, Int64)] = []
        for topicData in request.topicData {
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topicData.name
            for partitionData in topicData.partitionData {
                var result = ProduceResponse.PartitionProduceResponse()
                result.index = partitionData.index
                result.baseOffset = -1
                result.logAppendTimeMs = -1
                result.logStartOffset = -1
                do {
                    guard acks == -1 || acks == 0 || acks == 1 else {
                        throw ProduceFailure(.invalidRequiredAcks, "acks must be -1, 0 or 1, not \(acks)")
                    }
                    let (partition, appended) = try await append(topicData.name, partitionData, version: context.version)
                    result.baseOffset = appended.baseOffset.rawValue
                    result.logAppendTimeMs = appended.logAppendTime.millis
                    result.logStartOffset = appended.logStartOffset.rawValue
                    if acks == -1 { durable.append((partition, appended.lastOffset.rawValue)) }
                } catch let failure as ProduceFailure {
                    result.errorCode = failure.code.rawValue
                    result.errorMessage = failure.message
                    // v8+ (KIP-467): which records of the batch were bad; the batch is refused whole.
                    if context.version >= 8 {
                        result.recordErrors = failure.recordErrors.map { index, message in
                            var error = ProduceResponse.BatchIndexAndErrorMessage()
                            error.batchIndex = index
                            error.batchIndexErrorMessage = message
                            return error
                        }
                    }
                }
                topicResponse.partitionResponses.append(result)
            }
            response.responses.append(topicResponse)
        }
        if acks == 0 { return .now(nil) }
        if durable.isEmpty { return .now(response) }
        // Answered once fsynced; meanwhile the connection goes on with its next request.
        return .later { [response, durable] in
            var response = response
            for (partition, offset) in durable {
                do { try await self.groupCommit.waitDurable(partition, through: offset) } catch {
                    self.logger.error("fsync of \(partition.topicPartition) failed: \(error)")
                    self.markFailed(partition, in: &response, error: "fsync failed: \(error)")
                }
            }
            return response
        }
    }

    private struct ProduceFailure: Error {
        let code: ErrorCode
        let message: String
        /// The records at fault (their index in the batch) and why, for Produce v8+'s record_errors.
        var recordErrors: [(Int32, String)] = []
        init(_ code: ErrorCode, _ message: String, recordErrors: [(Int32, String)] = []) {
            self.code = code
            self.message = message
            self.recordErrors = recordErrors
        }
    }

    /// Validates one partition's records and appends them.
    private func append(_ topicName: String, _ data: ProduceRequest.PartitionProduceData, version: Int16) async throws -> (Partition, AppendResult) {
        var topic = topics.topic(topicName)
        if topic == nil, config.autoCreateTopics {
            do { try TopicRegistry.validateName(topicName) } catch { throw ProduceFailure(error.code, error.message) }
            do { topic = try await autoCreate(topicName) } catch {
                logger.error("cannot auto-create topic \(topicName): \(error)")
                throw ProduceFailure(autoCreateErrorCode(error), "cannot create topic \(topicName): \(error)")
            }
        }
        guard let topic, data.index >= 0, Int(data.index) < topic.partitions.count else {
            throw ProduceFailure(.unknownTopicOrPartition, "no partition \(topicName)-\(data.index)")
        }
        guard !Self.isInternal(topicName) else {
            throw ProduceFailure(.invalidTopic, "\(topicName) is internal: clients cannot write to it")
        }
        let partition = topic.partitions[Int(data.index)]
        guard version >= 3 else {
            throw ProduceFailure(.unsupportedForMessageFormat, "Produce v\(version) carries legacy message sets; use v3 or later")
        }
        guard let records = data.records, records.readableBytes > 0 else {
            throw ProduceFailure(.invalidRecord, "no records")
        }
        let batch: RecordBatch
        do {
            let batches = try RecordBatch.batches(in: records)
            guard batches.count == 1 else {
                throw ProduceFailure(.invalidRecord, "a Produce v3+ partition must hold exactly one record batch, not \(batches.count)")
            }
            // The CRC and the record count are checked once, by the log as it appends.
            batch = batches[0]
        } catch let error as WireError {
            // Kafka answers a legacy message set inside a v3+ request with INVALID_RECORD.
            throw ProduceFailure(error.code == .unsupportedMagic ? .invalidRecord : .corruptMessage, error.description)
        }
        guard batch.bytes.readableBytes <= topic.config.maxMessageBytes else {
            throw ProduceFailure(.messageTooLarge, "batch of \(batch.bytes.readableBytes) bytes exceeds max.message.bytes \(topic.config.maxMessageBytes)")
        }
        guard !batch.header.isControl else { throw ProduceFailure(.invalidRecord, "clients may not write control batches") }
        if topic.config.cleanupPolicy.contains("compact") {
            try requireKeys(batch, partition.topicPartition)
        }
        let result: AppendResult
        let rolled: Bool
        do {
            // flush.messages is honoured here, as each append passes it; flush.ms also on a timer (LogMaintenance).
            (result, rolled) = try await blocking {
                try partition.withLog { log in
                    let appended = try log.append(batch)
                    try log.flushIfDue()
                    return (appended, log.rolledSegmentAwaitsFlush)
                }
            }
        } catch let error as LogError {
            throw ProduceFailure(errorCode(for: error), "\(error)")
        } catch let rejection as ProducerRejection {
            throw ProduceFailure(rejection.code, rejection.detail)
        }
        if !result.isDuplicate { appendSignal.notify() }
        if rolled { flushInBackground(partition, through: result.lastOffset.rawValue) }
        return (partition, result)
    }

    /// After a roll, as Kafka does, the rolled segment is fsynced in the background (through the group
    /// commit, so with any acks=all waiters): whatever the acks, a segment that stops being active
    /// becomes durable, closes its file and frees its reserved blocks without waiting for flush.ms.
    /// One at a time per partition: appends while it runs start none (the next append after it, or
    /// the maintenance pass, catches a roll it missed).
    private func flushInBackground(_ partition: Partition, through offset: Int64) {
        let start = partition.backgroundFlushRunning.withLockedValue { running in
            defer { running = true }
            return !running
        }
        guard start else { return }
        Task {
            defer { partition.backgroundFlushRunning.withLockedValue { $0 = false } }
            do {
                try await groupCommit.waitDurable(partition, through: offset)
            } catch let error as LogError where error.code == .closed {
                // Closed or deleted meanwhile: close and delete flush or remove what there was.
            } catch {
                logger.error("fsync of \(partition.topicPartition) after a segment roll failed: \(error)")
            }
        }
    }

    /// Every record of a batch for a compacted topic has a key; else the batch is refused whole,
    /// with each keyless record named (Kafka's messages).
    private func requireKeys(_ batch: RecordBatch, _ tp: TopicPartition) throws {
        var keyless: [(Int32, String)] = []
        do {
            var reader = try batch.recordReader(maxDecompressedBytes: max(config.maxRequestBytes, 1 << 20))
            var index: Int32 = 0
            while let record = try reader.next() {
                if record.key == nil { keyless.append((index, "Compacted topic cannot accept message without key in topic partition \(tp).")) }
                index += 1
            }
        } catch let error as WireError {
            throw ProduceFailure(.corruptMessage, error.description)
        }
        guard keyless.isEmpty else {
            let shown = keyless.prefix(3).map { "RecordError(batchIndex=\($0.0), message='\($0.1)')" }.joined(separator: ", ")
            throw ProduceFailure(.invalidRecord, """
                One or more records have been rejected due to \(keyless.count) record errors in total, and only showing the first three \
                errors at most: [\(shown)]
                """, recordErrors: keyless)
        }
    }

    private func markFailed(_ partition: Partition, in response: inout ProduceResponse, error: String) {
        let tp = partition.topicPartition
        for t in response.responses.indices where response.responses[t].name == tp.topic {
            for p in response.responses[t].partitionResponses.indices where response.responses[t].partitionResponses[p].index == tp.partition.rawValue {
                response.responses[t].partitionResponses[p].errorCode = ErrorCode.kafkaStorageError.rawValue
                response.responses[t].partitionResponses[p].errorMessage = error
            }
        }
    }

    /// The code for a failed auto-creation: the registry's own (a bad config, too many partitions),
    /// else the disk's.
    private func autoCreateErrorCode(_ error: any Error) -> ErrorCode {
        switch error {
        case let error as TopicError: error.code
        case let error as LogError: errorCode(for: error)
        default: .kafkaStorageError
        }
    }

    func errorCode(for error: LogError) -> ErrorCode {
        switch error.code {
        case .offsetOutOfRange: .offsetOutOfRange
        case .messageTooLarge: .messageTooLarge
        case .corruptMessage: .corruptMessage
        case .invalidRecord: .invalidRecord
        default: .kafkaStorageError
        }
    }
}
