import EddyCore
import EddyWire
import NIOCore

/// The records of `__consumer_offsets`, in Kafka's own layout so that tools reading the topic (and
/// a Kafka broker given these files) understand them. Strings are int16-length-prefixed UTF-8, all
/// integers big-endian:
///
///     key, a committed offset (OffsetCommitKey v1):  int16 version = 1, string group, string topic, int32 partition
///     value (OffsetCommitValue v3):                  int16 version = 3, int64 offset, int32 leader epoch,
///                                                    string metadata, int64 commit timestamp (ms)
///     a null value (tombstone) removes the offset (DeleteGroups, OffsetDelete).
///
/// Keys of version 2 (Kafka's group metadata) and values of versions 0-2 are read as Kafka writes
/// them; group metadata itself is not stored by Eddy (groups re-form after a restart; their
/// offsets stay).
enum OffsetRecords {
    struct Key: Hashable, Sendable {
        var group: String
        var topicPartition: TopicPartition
    }

    static func encodeKey(_ key: Key) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(1))
        writeString(key.group, to: &buffer)
        writeString(key.topicPartition.topic, to: &buffer)
        buffer.writeInteger(key.topicPartition.partition.rawValue)
        return buffer
    }

    static func encodeValue(_ offset: CommittedOffset) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(3))
        buffer.writeInteger(offset.offset)
        buffer.writeInteger(offset.leaderEpoch)
        writeString(offset.metadata ?? "", to: &buffer)
        buffer.writeInteger(offset.commitTimestamp)
        return buffer
    }

    /// nil for a key that is not a committed offset's (Kafka's group metadata, version 2).
    static func decodeKey(_ bytes: ByteBuffer) throws -> Key? {
        var b = bytes
        guard let version: Int16 = b.readInteger() else { throw bad("key without a version") }
        switch version {
        case 0, 1:
            let group = try readString(&b)
            let topic = try readString(&b)
            guard let partition: Int32 = b.readInteger() else { throw bad("key without a partition") }
            return Key(group: group, topicPartition: TopicPartition(topic, PartitionID(partition)))
        case 2:
            return nil
        default:
            throw bad("key version \(version)")
        }
    }

    static func decodeValue(_ bytes: ByteBuffer) throws -> CommittedOffset {
        var b = bytes
        guard let version: Int16 = b.readInteger(), (0...4).contains(version) else { throw bad("unknown value version") }
        guard let offset: Int64 = b.readInteger() else { throw bad("value without an offset") }
        var epoch: Int32 = -1
        if version >= 3 {
            guard let e: Int32 = b.readInteger() else { throw bad("value without a leader epoch") }
            epoch = e
        }
        let metadata = try readString(&b)
        guard let timestamp: Int64 = b.readInteger() else { throw bad("value without a commit timestamp") }
        return CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata, commitTimestamp: timestamp)
    }

    /// Kafka's `partitionFor(groupId)`: `abs(groupId.hashCode) % partitions`, with Java's String
    /// hash over UTF-16 code units, so a group lands where a Kafka broker would put it.
    static func partition(for group: String, partitions: Int) -> Int {
        var hash: Int32 = 0
        for unit in group.utf16 { hash = hash &* 31 &+ Int32(unit) }
        return Int(hash & 0x7fff_ffff) % max(1, partitions)
    }

    private static func writeString(_ s: String, to buffer: inout ByteBuffer) {
        let bytes = Array(s.utf8.prefix(Int(Int16.max)))
        buffer.writeInteger(Int16(bytes.count))
        buffer.writeBytes(bytes)
    }

    private static func readString(_ b: inout ByteBuffer) throws -> String {
        guard let length: Int16 = b.readInteger() else { throw bad("string without a length") }
        if length < 0 { return "" }
        guard let s = b.readString(length: Int(length)) else { throw bad("string runs past the record") }
        return s
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private static func bad(_ what: String) -> Malformed { Malformed(description: "__consumer_offsets record: \(what)") }
}

/// A group's committed position in one partition.
struct CommittedOffset: Equatable, Sendable {
    var offset: Int64
    var leaderEpoch: Int32
    var metadata: String?
    var commitTimestamp: Int64
}
