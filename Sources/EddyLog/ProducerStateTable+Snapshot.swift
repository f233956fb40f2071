import EddyCore
import EddyWire
/// The producer-state snapshot: the whole table at a log offset, so a restart replays only the log
/// from that offset on instead of the whole partition. Kafka writes one per segment roll
/// (`<offset>.snapshot`); Eddy's log decides when and where. Unlike Kafka's (which keeps only each
/// producer's last batch and leaves aborted transactions to the `.txnindex` files), it holds all five
/// remembered batches, so retries are still answered as duplicates after a restart, and the aborted
/// and not-yet-replicated transactions.
///
/// Version 1, all integers big-endian:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 2 | version, Int16 = 1 |
/// | 2 | 4 | CRC-32C (Castagnoli) of bytes 6..<end, UInt32 |
/// | 6 | 4 | length of the whole snapshot in bytes, Int32 (a cut-off file is told from a damaged one) |
/// | 10 | 8 | snapshot offset, Int64: the first log offset the table has not seen |
/// | 18 | 4 | producer count P, Int32; then P producers, ascending by id: |
/// | | 8 | ・producer id, Int64 |
/// | | 2 | ・epoch, Int16 |
/// | | 4 | ・coordinator epoch, Int32 (-1: none) |
/// | | 8 | ・last timestamp, Int64 |
/// | | 8 | ・open transaction's first offset, Int64 (-1: none) |
/// | | 1 | ・batch count B, Int8, 0...5; then B batches, oldest first: |
/// | | 4+4 | ・・first and last sequence, Int32 |
/// | | 8+8 | ・・first and last offset, Int64 |
/// | | 8 | ・・max timestamp, Int64 |
/// | | 4 | aborted transaction count A, Int32; then A × (producer id, first offset, marker offset: Int64), in marker order |
/// | | 4 | unreplicated completed count U, Int32; then U × (producer id, first offset, marker offset: Int64; aborted: Int8 0/1) |
///
/// The version is outside the CRC so that a reader can refuse a format it does not know before
/// trusting anything else; a damaged version byte is refused as an unknown version.
extension ProducerStateTable {
    static let snapshotVersion: Int16 = 1
    static let snapshotHeaderSize = 18
    static let producerSize = 31
    static let abortedSize = 24
    static let completedSize = 25

    /// The table as snapshot bytes, taken at `offset` (the log end when the snapshot is taken: replay
    /// starts there). Equal tables give equal bytes.
    public func snapshot(at offset: Offset) -> [UInt8] {
        var out = SnapshotWriter()
        out.put(Self.snapshotVersion)
        out.put(UInt32(0))  // CRC, filled in last
        out.put(Int32(0))  // length, filled in last
        out.put(offset.rawValue)
        out.put(Int32(producers.count))
        for id in producers.keys.sorted() {
            let entry = producers[id]!
            out.put(id.rawValue)
            out.put(entry.epoch.rawValue)
            out.put(entry.coordinatorEpoch.rawValue)
            out.put(entry.lastTimestamp.millis)
            out.put(entry.ongoingTxnFirstOffset?.rawValue ?? -1)
            out.put(Int8(entry.batches.count))
            for batch in entry.batches {
                out.put(batch.firstSeq.rawValue)
                out.put(batch.lastSeq.rawValue)
                out.put(batch.firstOffset.rawValue)
                out.put(batch.lastOffset.rawValue)
                out.put(batch.maxTimestamp.millis)
            }
        }
        out.put(Int32(aborted.count))
        for txn in aborted {
            out.put(txn.producerId.rawValue)
            out.put(txn.firstOffset.rawValue)
            out.put(txn.lastOffset.rawValue)
        }
        out.put(Int32(unreplicated.count))
        for txn in unreplicated {
            out.put(txn.producerId.rawValue)
            out.put(txn.firstOffset.rawValue)
            out.put(txn.lastOffset.rawValue)
            out.put(Int8(txn.isAborted ? 1 : 0))
        }
        precondition(out.bytes.count <= Int(Int32.max), "producer snapshot of \(out.bytes.count) bytes")
        out.patch(Int32(out.bytes.count), at: 6)
        out.patch(CRC32C.checksum(out.bytes[6...]), at: 2)
        return out.bytes
    }

    /// The table and offset a snapshot holds. Refuses, with a typed error, anything `snapshot(at:)`
    /// could not have written: another version, a cut-off or damaged file, impossible contents.
    public static func restore(_ bytes: [UInt8]) throws(ProducerSnapshotError) -> (table: ProducerStateTable, offset: Offset) {
        var input = SnapshotReader(bytes)
        let version: Int16 = try input.read()
        guard version == snapshotVersion else {
            throw ProducerSnapshotError(.unknownVersion, "producer snapshot version \(version), expected \(snapshotVersion)")
        }
        let storedChecksum: UInt32 = try input.read()
        let length: Int32 = try input.read()
        guard Int(length) <= bytes.count else {
            throw ProducerSnapshotError(.truncated, "producer snapshot of \(bytes.count) bytes, \(length) expected")
        }
        guard Int(length) == bytes.count else {
            throw ProducerSnapshotError(.malformed, "producer snapshot of \(bytes.count) bytes, \(length) expected")
        }
        let checksum = CRC32C.checksum(bytes[6...])
        guard checksum == storedChecksum else {
            throw ProducerSnapshotError(.checksumMismatch, "producer snapshot CRC \(checksum), stored \(storedChecksum)")
        }
        let offset = Offset(try input.read() as Int64)
        var table = ProducerStateTable()
        let producerCount = try input.count(minimumSize: producerSize)
        for _ in 0..<producerCount {
            let id = ProducerId(try input.read() as Int64)
            var entry = ProducerStateEntry(epoch: ProducerEpoch(try input.read()))
            entry.coordinatorEpoch = CoordinatorEpoch(try input.read())
            entry.lastTimestamp = Timestamp(millis: try input.read())
            entry.ongoingTxnFirstOffset = try input.optionalOffset()
            let batchCount = Int(try input.read() as Int8)
            guard (0...maxBatchesPerProducer).contains(batchCount) else {
                throw ProducerSnapshotError(.malformed, "producer \(id) with \(batchCount) batches")
            }
            for _ in 0..<batchCount {
                entry.batches.append(BatchMetadata(
                    firstSeq: ProducerSequence(try input.read()), lastSeq: ProducerSequence(try input.read()),
                    firstOffset: Offset(try input.read() as Int64), lastOffset: Offset(try input.read() as Int64),
                    maxTimestamp: Timestamp(millis: try input.read())))
            }
            guard table.producers.updateValue(entry, forKey: id) == nil else {
                throw ProducerSnapshotError(.malformed, "producer \(id) twice")
            }
        }
        for _ in 0..<(try input.count(minimumSize: abortedSize)) {
            table.aborted.append(AbortedTransaction(
                producerId: ProducerId(try input.read() as Int64), firstOffset: Offset(try input.read() as Int64),
                lastOffset: Offset(try input.read() as Int64)))
        }
        for _ in 0..<(try input.count(minimumSize: completedSize)) {
            let id = ProducerId(try input.read() as Int64)
            let firstOffset = Offset(try input.read() as Int64), lastOffset = Offset(try input.read() as Int64)
            let flag: Int8 = try input.read()
            guard flag == 0 || flag == 1 else { throw ProducerSnapshotError(.malformed, "aborted flag \(flag)") }
            table.unreplicated.append(CompletedTransaction(producerId: id, firstOffset: firstOffset,
                                                           lastOffset: lastOffset, isAborted: flag == 1))
        }
        guard input.isAtEnd else { throw ProducerSnapshotError(.malformed, "bytes after the last section") }
        table.ongoing = openTransactions(table.producers)
        if let violation = table.invariantViolation() { throw ProducerSnapshotError(.malformed, violation) }
        return (table, offset)
    }
}

/// A producer snapshot that cannot be used. Thrown, never trapped: the disk causes these. The log
/// then falls back to an older snapshot or to replaying the partition from its start.
public struct ProducerSnapshotError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: Hashable, Sendable { case truncated, checksumMismatch, unknownVersion, malformed }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }
        /// Fewer bytes than the snapshot's header or length field says.
        public static let truncated = Code(.truncated)
        /// The CRC-32C does not match the bytes.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A version this code does not read.
        public static let unknownVersion = Code(.unknownVersion)
        /// The checksum matches but the contents are impossible (counts, flags, broken invariants).
        public static let malformed = Code(.malformed)
        public var description: String { "\(raw)" }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}

/// Appends big-endian integers to a byte array.
struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func patch<T: FixedWidthInteger>(_ value: T, at index: Int) {
        withUnsafeBytes(of: value.bigEndian) { bytes.replaceSubrange(index..<index + $0.count, with: $0) }
    }
}

/// Reads big-endian integers from a byte array; running out of bytes is `.truncated`.
struct SnapshotReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func read<T: FixedWidthInteger>() throws(ProducerSnapshotError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - index >= size else {
            throw ProducerSnapshotError(.truncated, "producer snapshot ends at byte \(bytes.count), reading \(size) at \(index)")
        }
        var value: UInt64 = 0
        for byte in bytes[index..<index + size] { value = value << 8 | UInt64(byte) }
        index += size
        return T(truncatingIfNeeded: value)
    }

    /// An Int32 count of entries that each take at least `minimumSize` bytes; a count the remaining
    /// bytes cannot hold is refused before anything is allocated for it.
    mutating func count(minimumSize: Int) throws(ProducerSnapshotError) -> Int {
        let count = Int(try read() as Int32)
        guard count >= 0, count <= (bytes.count - index) / minimumSize else {
            throw ProducerSnapshotError(.malformed, "count \(count) at byte \(index - 4)")
        }
        return count
    }

    /// An Int64 offset where -1 means none.
    mutating func optionalOffset() throws(ProducerSnapshotError) -> Offset? {
        let raw: Int64 = try read()
        guard raw >= -1 else { throw ProducerSnapshotError(.malformed, "offset \(raw) at byte \(index - 8)") }
        return raw == -1 ? nil : Offset(raw)
    }
}
