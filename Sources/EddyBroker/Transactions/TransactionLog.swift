import EddyCore
import EddyWire
/// The records of __transaction_state, byte for byte as Kafka writes them (TransactionLogKey v0 and
/// TransactionLogValue v0, both non-flexible; Kafka's `TransactionLog.keyToBytes`/`valueToBytes`):
///
///     key    int16 version = 0
///            string transactional_id
///     value  int16 version = 0
///            int64 producer_id
///            int16 producer_epoch
///            int32 transaction_timeout_ms
///            int8  state                      TransactionState.rawValue (0 Empty … 5 CompleteAbort)
///            int32 topic count                -1 (null) for Empty, else per topic:
///              string topic
///              int32 partition count, then int32 partition …
///            int64 last_update_timestamp_ms
///            int64 start_timestamp_ms         -1 until the first partition is added
///
/// Integers are big-endian; a string is an int16 length and that many UTF-8 bytes. A null value is
/// a tombstone: the id expired. Topics and partitions are written in order (Kafka's order is
/// arbitrary). Not read: value v1 (flexible, KIP-890 transactions version 2), which Eddy never
/// writes. Keys of an unknown version are skipped, as Kafka does.
enum TransactionLog {
    static let keyVersion: Int16 = 0
    static let valueVersion: Int16 = 0

    static func key(transactionalId: String) -> [UInt8] {
        var w = ByteWriter()
        w.int16(keyVersion)
        w.string(transactionalId)
        return w.bytes
    }

    static func value(_ md: TransactionMetadata) -> [UInt8] {
        precondition(md.state != .dead && md.state != .prepareEpochFence, "\(md.state.name) is never written")
        var w = ByteWriter()
        w.int16(valueVersion)
        w.int64(md.producerId)
        w.int16(md.producerEpoch)
        w.int32(md.timeoutMs)
        w.int8(md.state.rawValue)
        if md.state == .empty {
            precondition(md.partitions.isEmpty, "Empty with partitions")
            w.int32(-1)
        } else {
            let byTopic = Dictionary(grouping: md.partitions, by: \.topic)
            w.int32(Int32(byTopic.count))
            for topic in byTopic.keys.sorted() {
                let ids = byTopic[topic]!.map(\.partition).sorted()
                w.string(topic)
                w.int32(Int32(ids.count))
                for id in ids { w.int32(id.rawValue) }
            }
        }
        w.int64(md.lastUpdateTimestamp)
        w.int64(md.startTimestamp)
        return w.bytes
    }

    /// The transactional id of a key, or nil for a key version Eddy does not know.
    static func decodeKey(_ bytes: [UInt8]) throws(TransactionLogError) -> String? {
        var r = ByteReader(bytes)
        guard try r.int16() == keyVersion else { return nil }
        let id = try r.string()
        try r.expectEnd()
        return id
    }

    static func decodeValue(_ bytes: [UInt8], transactionalId: String) throws(TransactionLogError) -> TransactionMetadata {
        var r = ByteReader(bytes)
        let version = try r.int16()
        guard version == valueVersion else { throw TransactionLogError(.unsupportedVersion, "value version \(version)") }
        let producerId = try r.int64()
        let epoch = try r.int16()
        let timeoutMs = try r.int32()
        let stateId = try r.int8()
        guard let state = TransactionState(rawValue: stateId) else {
            throw TransactionLogError(.unknownState, "state id \(stateId)")
        }
        guard state != .dead && state != .prepareEpochFence else {
            throw TransactionLogError(.unexpectedState, "\(state.name) is never written")
        }
        var partitions: Set<TopicPartition> = []
        let topicCount = try r.int32()
        guard topicCount >= -1 else { throw TransactionLogError(.invalidField, "topic count \(topicCount)") }
        for _ in 0..<max(topicCount, 0) {
            let topic = try r.string()
            let count = try r.int32()
            guard count >= 0 else { throw TransactionLogError(.invalidField, "partition count \(count)") }
            for _ in 0..<count { partitions.insert(TopicPartition(topic, PartitionID(try r.int32()))) }
        }
        let lastUpdate = try r.int64()
        let start = try r.int64()
        try r.expectEnd()
        guard producerId >= 0, epoch >= 0, timeoutMs > 0 else {
            throw TransactionLogError(.invalidField, "producer id \(producerId), epoch \(epoch), timeout \(timeoutMs)")
        }
        // What every record this coordinator writes satisfies (TransactionMetadata.checkInvariants).
        let startValid = state == .empty ? start == -1 : (state == .ongoing || state.isPreparing ? start >= 0 : true)
        guard startValid else { throw TransactionLogError(.invalidField, "start time \(start) in \(state.name)") }
        guard state != .ongoing || epoch < Int16.max else {
            throw TransactionLogError(.invalidField, "Ongoing at epoch \(epoch), which is never handed out")
        }
        guard partitions.isEmpty || state != .completeCommit && state != .completeAbort else {
            throw TransactionLogError(.invalidField, "\(state.name) with partitions")
        }
        return TransactionMetadata(
            transactionalId: transactionalId, producerId: producerId, producerEpoch: epoch, timeoutMs: timeoutMs,
            state: state, partitions: partitions, startTimestamp: start, lastUpdateTimestamp: lastUpdate)
    }
}

/// A __transaction_state record that cannot be read. The log is the coordinator's own, so this
/// means damage or a foreign writer: the driver reports it and does not start the coordinator.
struct TransactionLogError: Error, Equatable, CustomStringConvertible {
    /// Open-ended: new codes never break callers.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let description: String
        private init(_ name: String) { description = name }
        /// The record ends inside a field.
        static let truncated = Code("truncated")
        /// Bytes follow the last field.
        static let trailingBytes = Code("trailing bytes")
        static let unsupportedVersion = Code("unsupported version")
        /// A state id Kafka does not define.
        static let unknownState = Code("unknown state")
        /// Dead or PrepareEpochFence, which are never written.
        static let unexpectedState = Code("unexpected state")
        /// A length, id, epoch, timeout or time out of range, or a string that is null or not UTF-8.
        static let invalidField = Code("invalid field")
    }

    let code: Code
    let detail: String
    /// Filled in by `load`: the record's position in what it was given, and its id when known.
    var recordIndex: Int?
    var transactionalId: String?

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    var description: String {
        let position = recordIndex.map { " in record \($0)" } ?? ""
        let id = transactionalId.map { " (transactional id \($0))" } ?? ""
        return "__transaction_state: \(code)\(position)\(id): \(detail)"
    }
}

private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func int8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    mutating func int16(_ v: Int16) { append(UInt16(bitPattern: v)) }
    mutating func int32(_ v: Int32) { append(UInt32(bitPattern: v)) }
    mutating func int64(_ v: Int64) { append(UInt64(bitPattern: v)) }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        precondition(utf8.count <= Int16.max, "string of \(utf8.count) bytes")
        int16(Int16(utf8.count))
        bytes += utf8
    }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func int8() throws(TransactionLogError) -> Int8 { Int8(bitPattern: try read(UInt8.self)) }
    mutating func int16() throws(TransactionLogError) -> Int16 { Int16(bitPattern: try read(UInt16.self)) }
    mutating func int32() throws(TransactionLogError) -> Int32 { Int32(bitPattern: try read(UInt32.self)) }
    mutating func int64() throws(TransactionLogError) -> Int64 { Int64(bitPattern: try read(UInt64.self)) }

    mutating func string() throws(TransactionLogError) -> String {
        let length = Int(try int16())
        guard length >= 0 else { throw TransactionLogError(.invalidField, "null string at byte \(position - 2)") }
        try need(length)
        defer { position += length }
        guard let s = String(validating: bytes[position..<position + length], as: UTF8.self) else {
            throw TransactionLogError(.invalidField, "string at byte \(position) is not UTF-8")
        }
        return s
    }

    func expectEnd() throws(TransactionLogError) {
        guard position == bytes.count else {
            throw TransactionLogError(.trailingBytes, "\(bytes.count - position) bytes after the last field")
        }
    }

    private func need(_ count: Int) throws(TransactionLogError) {
        guard bytes.count - position >= count else {
            throw TransactionLogError(.truncated, "needs \(count) bytes at byte \(position), has \(bytes.count - position)")
        }
    }

    private mutating func read<T: FixedWidthInteger>(_: T.Type) throws(TransactionLogError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        defer { position += size }
        return bytes[position..<position + size].reduce(T.zero) { $0 << 8 | T($1) }
    }
}
