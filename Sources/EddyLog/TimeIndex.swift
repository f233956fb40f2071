import EddyCore
import NIOCore

/// The sparse time index of one segment, `<base offset>.timeindex`, as Kafka's `TimeIndex.java`.
///
/// File format: 12-byte entries one after another, no header, big-endian:
///
///     offset size field
///          0    8 timestamp       the largest batch maxTimestamp seen in the segment so far (int64)
///          8    4 relativeOffset  the last offset of the first batch that carried it, minus the
///                                 segment's base offset (int32)
///
/// Timestamps increase strictly and offsets never decrease. An entry may be added whenever an
/// offset-index entry is, and when the segment rolls or the log closes, but only when the
/// segment's largest timestamp has grown since the last entry (records with no timestamp, -1,
/// never make one). So for an entry (t, o) every batch before o's batch has maxTimestamp < t: to
/// find the first batch with a timestamp >= `target`, start scanning at the last entry whose
/// timestamp is <= `target` (or at the segment's start).
///
/// Like `OffsetIndex`, it lives in memory, its file is written whole at roll and close, and it is
/// rebuilt from the log when missing or inconsistent.
struct TimeIndex: Equatable {
    static let entrySize = 12

    let baseOffset: Offset
    /// `segment.index.bytes / 12`: when this many entries exist the segment rolls.
    let maxEntries: Int
    private var timestamps: [Int64] = []
    private var relativeOffsets: [Int32] = []

    init(baseOffset: Offset, maxEntries: Int) {
        self.baseOffset = baseOffset
        self.maxEntries = max(1, maxEntries)
    }

    static func maxEntries(indexBytes: Int) -> Int { max(1, indexBytes / entrySize) }

    var count: Int { timestamps.count }
    var isFull: Bool { timestamps.count >= maxEntries }

    subscript(i: Int) -> (timestamp: Int64, offset: Offset) {
        (timestamps[i], Offset(baseOffset.rawValue + Int64(relativeOffsets[i])))
    }

    var last: (timestamp: Int64, offset: Offset)? { timestamps.isEmpty ? nil : self[timestamps.count - 1] }

    /// Adds (timestamp, offset) when the timestamp is larger than the last entry's.
    mutating func maybeAppend(timestamp: Int64, offset: Offset) {
        guard timestamp >= 0, timestamp > (timestamps.last ?? -1) else { return }
        let relative = offset.rawValue - baseOffset.rawValue
        precondition(relative >= 0 && relative <= Int64(Int32.max), "offset \(offset) outside the segment at \(baseOffset)")
        precondition(relative >= Int64(relativeOffsets.last ?? 0), "time index offset \(offset) goes backwards")
        timestamps.append(timestamp)
        relativeOffsets.append(Int32(relative))
    }

    /// The offset of the last entry whose timestamp is <= `timestamp`, or the base offset when none is.
    func lookup(_ timestamp: Int64) -> Offset {
        var low = 0
        var high = timestamps.count
        while low < high {
            let mid = (low + high) / 2
            if timestamps[mid] <= timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? baseOffset : self[low - 1].offset
    }

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: timestamps.count * Self.entrySize)
        for i in timestamps.indices {
            buffer.writeInteger(timestamps[i], endianness: .big)
            buffer.writeInteger(relativeOffsets[i], endianness: .big)
        }
        return buffer
    }

    /// Parses a time index file, checking whole entries, non-negative fields, timestamps increasing
    /// strictly and offsets never decreasing.
    static func decode(_ bytes: ByteBuffer, baseOffset: Offset, maxEntries: Int) throws -> TimeIndex {
        guard bytes.readableBytes % entrySize == 0 else {
            throw LogError(.corruptMessage, "time index of \(bytes.readableBytes) bytes is not whole \(entrySize)-byte entries")
        }
        var index = TimeIndex(baseOffset: baseOffset, maxEntries: maxEntries)
        var reader = bytes
        while let timestamp = reader.readInteger(endianness: .big, as: Int64.self),
              let relative = reader.readInteger(endianness: .big, as: Int32.self) {
            guard timestamp >= 0, relative >= 0 else {
                throw LogError(.corruptMessage, "time index entry (\(timestamp), \(relative)) is negative")
            }
            if let lastTimestamp = index.timestamps.last, let lastRelative = index.relativeOffsets.last,
               timestamp <= lastTimestamp || relative < lastRelative {
                throw LogError(.corruptMessage, "time index entry (\(timestamp), \(relative)) does not follow (\(lastTimestamp), \(lastRelative))")
            }
            index.timestamps.append(timestamp)
            index.relativeOffsets.append(relative)
        }
        return index
    }
}
