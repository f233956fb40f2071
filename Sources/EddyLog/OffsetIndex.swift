import EddyCore
import NIOCore

/// The sparse offset index of one segment, `<base offset>.index`, as Kafka's `OffsetIndex.java`.
///
/// File format: 8-byte entries one after another, no header, big-endian:
///
///     offset size field
///          0    4 relativeOffset  a batch's last offset minus the segment's base offset (int32)
///          4    4 position        the byte position of that batch in the segment's `.log` (int32)
///
/// Entries increase strictly in both fields. An entry is added before a batch is appended when more
/// than `index.interval.bytes` of log have been written since the previous entry (so a segment's
/// first batch never gets one); rebuilding from the log applies the same rule, so the index is a
/// function of the log and the interval. To find offset `o`: the last entry whose offset is <= `o`
/// gives a position at or before the batch holding `o` (position 0 when there is none); batch
/// headers are then scanned forward to the first batch whose last offset is >= `o`.
///
/// The index lives in memory. Its file is written whole when the segment rolls and when the log
/// closes; the active segment's file is stale while the log is open, which is why recovery after a
/// crash rebuilds it from the log.
struct OffsetIndex: Equatable {
    static let entrySize = 8

    let baseOffset: Offset
    /// `segment.index.bytes / 8`: when this many entries exist the segment rolls.
    let maxEntries: Int
    /// relativeOffset << 32 | position, both non-negative.
    private var entries: [UInt64] = []

    init(baseOffset: Offset, maxEntries: Int) {
        self.baseOffset = baseOffset
        self.maxEntries = max(1, maxEntries)
    }

    static func maxEntries(indexBytes: Int) -> Int { max(1, indexBytes / entrySize) }

    var count: Int { entries.count }
    var isFull: Bool { entries.count >= maxEntries }

    subscript(i: Int) -> (offset: Offset, position: Int) {
        let e = entries[i]
        return (Offset(baseOffset.rawValue + Int64(e >> 32)), Int(e & 0xFFFF_FFFF))
    }

    var last: (offset: Offset, position: Int)? { entries.isEmpty ? nil : self[entries.count - 1] }

    /// The fewest log bytes between two entries (the first counted from position 0); nil when empty.
    /// Every gap exceeds the interval the index was built with, whatever the config says now.
    var smallestGap: Int? {
        var previous = 0
        var smallest: Int?
        for e in entries {
            let position = Int(e & 0xFFFF_FFFF)
            smallest = min(smallest ?? Int.max, position - previous)
            previous = position
        }
        return smallest
    }

    mutating func append(offset: Offset, position: Int) {
        let relative = offset.rawValue - baseOffset.rawValue
        precondition(relative >= 0 && relative <= Int64(Int32.max), "offset \(offset) outside the segment at \(baseOffset)")
        precondition(position >= 0 && position <= Int(Int32.max), "position \(position) outside an int32")
        if let last {
            precondition(offset > last.offset && position > last.position,
                         "index entry (\(offset), \(position)) after (\(last.offset), \(last.position))")
        }
        entries.append(UInt64(relative) << 32 | UInt64(position))
    }

    /// The position of the last entry whose offset is <= `offset`, or 0 when there is none.
    func lookup(_ offset: Offset) -> Int {
        let relative = offset.rawValue - baseOffset.rawValue
        guard relative >= 0 else { return 0 }
        // First entry whose relative offset is > `relative`; the one before it is the answer.
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if Int64(entries[mid] >> 32) <= relative { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : Int(entries[low - 1] & 0xFFFF_FFFF)
    }

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: entries.count * Self.entrySize)
        for e in entries {
            buffer.writeInteger(UInt32(e >> 32), endianness: .big)
            buffer.writeInteger(UInt32(e & 0xFFFF_FFFF), endianness: .big)
        }
        return buffer
    }

    /// Parses an index file, checking what the file alone can show: whole entries, non-negative
    /// fields, both increasing strictly. Consistency with the log is `PartitionLog`'s check.
    static func decode(_ bytes: ByteBuffer, baseOffset: Offset, maxEntries: Int) throws -> OffsetIndex {
        guard bytes.readableBytes % entrySize == 0 else {
            throw LogError(.corruptMessage, "offset index of \(bytes.readableBytes) bytes is not whole \(entrySize)-byte entries")
        }
        var index = OffsetIndex(baseOffset: baseOffset, maxEntries: maxEntries)
        index.entries.reserveCapacity(bytes.readableBytes / entrySize)
        var reader = bytes
        var previous: (relative: Int32, position: Int32)?
        while let relative = reader.readInteger(endianness: .big, as: Int32.self),
              let position = reader.readInteger(endianness: .big, as: Int32.self) {
            guard relative >= 0, position >= 0 else {
                throw LogError(.corruptMessage, "offset index entry (\(relative), \(position)) is negative")
            }
            if let previous, relative <= previous.relative || position <= previous.position {
                throw LogError(.corruptMessage, "offset index entry (\(relative), \(position)) does not increase after (\(previous.relative), \(previous.position))")
            }
            index.entries.append(UInt64(relative) << 32 | UInt64(position))
            previous = (relative, position)
        }
        return index
    }
}
