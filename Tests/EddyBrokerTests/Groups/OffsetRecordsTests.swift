import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyBroker

final class OffsetRecordsTests: XCTestCase {
    func testKeyAndValueRoundTripInKafkasLayout() throws {
        let key = OffsetRecords.Key(group: "billing", topicPartition: TopicPartition("orders", PartitionID(3)))
        let encodedKey = OffsetRecords.encodeKey(key)
        // int16 1, "billing", "orders", int32 3
        XCTAssertEqual(encodedKey.getBytes(at: 0, length: encodedKey.readableBytes),
                       [0, 1, 0, 7] + Array("billing".utf8) + [0, 6] + Array("orders".utf8) + [0, 0, 0, 3])
        XCTAssertEqual(try OffsetRecords.decodeKey(encodedKey), key)

        let value = CommittedOffset(offset: 42, leaderEpoch: 5, metadata: "m", commitTimestamp: 1_700_000_000_000)
        XCTAssertEqual(try OffsetRecords.decodeValue(OffsetRecords.encodeValue(value)), value)
        var noEpochV1 = ByteBuffer()  // OffsetCommitValue v1: offset, metadata, commit and expire timestamps
        noEpochV1.writeInteger(Int16(1)); noEpochV1.writeInteger(Int64(9)); noEpochV1.writeInteger(Int16(0))
        noEpochV1.writeInteger(Int64(123)); noEpochV1.writeInteger(Int64(-1))
        XCTAssertEqual(try OffsetRecords.decodeValue(noEpochV1), CommittedOffset(offset: 9, leaderEpoch: -1, metadata: "", commitTimestamp: 123))
    }

    func testGroupMetadataKeysAreSkippedAndGarbageIsRefused() throws {
        var groupMetadataKey = ByteBuffer()
        groupMetadataKey.writeInteger(Int16(2)); groupMetadataKey.writeInteger(Int16(1)); groupMetadataKey.writeString("g")
        XCTAssertNil(try OffsetRecords.decodeKey(groupMetadataKey))
        XCTAssertThrowsError(try OffsetRecords.decodeKey(ByteBuffer(bytes: [0, 1, 0, 9, 65])))
        XCTAssertThrowsError(try OffsetRecords.decodeKey(ByteBuffer(bytes: [0, 7])))
        XCTAssertThrowsError(try OffsetRecords.decodeValue(ByteBuffer(bytes: [0, 3, 0, 0])))
    }

    func testPartitionForGroupMatchesJavasHash() {
        // Java: "hello".hashCode() == 99162322; Kafka: abs(hash) % partitions.
        XCTAssertEqual(OffsetRecords.partition(for: "hello", partitions: 50), 99_162_322 % 50)
        // A hash that overflows to negative: "polygenelubricants".hashCode() == Int.MIN_VALUE (-2147483648).
        XCTAssertEqual(OffsetRecords.partition(for: "polygenelubricants", partitions: 50), 0)
        XCTAssertEqual(OffsetRecords.partition(for: "", partitions: 4), 0)
    }
}
