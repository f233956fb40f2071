import NIOCore

/// The type in a control record's key. Kafka's `ControlRecordType`; only transaction markers
/// (abort, commit) concern Eddy, the others are named so they can be recognised and skipped.
public struct ControlRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let abort = ControlRecordType(rawValue: 0)
    public static let commit = ControlRecordType(rawValue: 1)
    public static let leaderChange = ControlRecordType(rawValue: 2)
    public static let snapshotHeader = ControlRecordType(rawValue: 3)
    public static let snapshotFooter = ControlRecordType(rawValue: 4)

    public var description: String {
        switch rawValue {
        case 0: "ABORT"
        case 1: "COMMIT"
        case 2: "LEADER_CHANGE"
        case 3: "SNAPSHOT_HEADER"
        case 4: "SNAPSHOT_FOOTER"
        default: "UNKNOWN(\(rawValue))"
        }
    }
}

/// The key of a record in a control batch.
///
///     version  int16  0
///     type     int16  ControlRecordType
///
/// Later versions may append fields, which a version-0 reader ignores (as Kafka's does).
public struct ControlRecordKey: Hashable, Sendable {
    public static let currentVersion: Int16 = 0
    public var version: Int16
    public var type: ControlRecordType

    public init(type: ControlRecordType, version: Int16 = ControlRecordKey.currentVersion) {
        self.version = version
        self.type = type
    }

    public init(decoding key: ByteBuffer) throws {
        var r = WireReader(key)
        guard key.readableBytes >= 4 else {
            throw WireError(.corruptRecordBatch, "control record key of \(key.readableBytes) bytes, needs 4")
        }
        version = try r.int16()
        guard version >= 0 else { throw WireError(.corruptRecordBatch, "control record key version \(version)") }
        type = ControlRecordType(rawValue: try r.int16())
    }

    public func encoded() -> ByteBuffer {
        var w = WireWriter(ByteBuffer())
        w.int16(version)
        w.int16(type.rawValue)
        return w.buffer
    }
}

/// A transaction marker: the control record a transaction coordinator writes to each partition of a
/// transaction when it commits or aborts. Its key is a `ControlRecordKey` (abort or commit) and its
/// value:
///
///     version           int16  0
///     coordinatorEpoch  int32
public struct EndTransactionMarker: Hashable, Sendable {
    public static let currentVersion: Int16 = 0
    /// `.commit` or `.abort`.
    public var type: ControlRecordType
    public var coordinatorEpoch: Int32
    public var version: Int16

    public init(type: ControlRecordType, coordinatorEpoch: Int32, version: Int16 = EndTransactionMarker.currentVersion) {
        precondition(type == .commit || type == .abort, "a transaction marker commits or aborts, not \(type)")
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
        self.version = version
    }

    /// Decodes a marker from a control record; throws if it is another kind of control record.
    public init(decoding record: Record) throws {
        guard let key = record.key else { throw WireError(.corruptRecordBatch, "control record without a key") }
        let k = try ControlRecordKey(decoding: key)
        guard k.type == .commit || k.type == .abort else {
            throw WireError(.invalidValue, "control record of type \(k.type) is not a transaction marker")
        }
        guard let value = record.value, value.readableBytes >= 6 else {
            throw WireError(.corruptRecordBatch, "transaction marker value of \(record.value?.readableBytes ?? 0) bytes, needs 6")
        }
        var r = WireReader(value)
        version = try r.int16()
        guard version >= 0 else { throw WireError(.corruptRecordBatch, "transaction marker version \(version)") }
        coordinatorEpoch = try r.int32()
        type = k.type
    }

    public func encodedValue() -> ByteBuffer {
        var w = WireWriter(ByteBuffer())
        w.int16(version)
        w.int32(coordinatorEpoch)
        return w.buffer
    }

    /// The control record carrying this marker, for a control batch (`isControl: true`,
    /// `isTransactional: true`) of one record.
    public func record(timestampDelta: Int64 = 0, offsetDelta: Int32 = 0) -> Record {
        Record(key: ControlRecordKey(type: type).encoded(), value: encodedValue(),
               timestampDelta: timestampDelta, offsetDelta: offsetDelta)
    }
}
