/// One group's accumulator record in a snapshot (see the format table on
/// `WindowAggregateOperator+Snapshot.swift`). Records are canonical: an empty accumulator writes no
/// value, distinct values are written in ascending order, so equal states give equal bytes.
extension AggregateState {
    func write(_ slot: Int, to writer: inout AggregateSnapshotWriter) {
        switch kind {
        case .countRows, .countValues:
            writer.i64(counts[slot])
        case .countDistinct(let storage):
            if storage == .utf8 {
                let values = distinct!.stringValues(of: Int32(slot))
                writer.u64(UInt64(values.count))
                for value in values { value.withUnsafeBytes { writer.lengthPrefixed($0) } }
            } else {
                let values = distinct!.bitValues(of: Int32(slot))
                writer.u64(UInt64(values.count))
                for value in values { writer.u64(value) }
            }
        case .sumInt:
            writer.i64(counts[slot])
            writer.i64(ints[slot])
        case .sumFloat, .avgFloat:
            writer.i64(counts[slot])
            writer.f64(doubles[slot])
        case .avgInt:
            writer.i64(counts[slot])
            writer.i128(wides[slot])
        case .min(let storage), .max(let storage):
            writer.u8(flags[slot])
            if flags[slot] != 0 && storage != .bool { writeValue(slot, storage, to: &writer) }
        case .first(let storage), .last(let storage):
            writer.u8(flags[slot])
            if flags[slot] != 0 {
                writer.i64(times[slot])
                writer.i64(seqs[slot])
                writeValue(slot, storage, to: &writer)
            }
        }
    }

    private func writeValue(_ slot: Int, _ storage: ValueStorage, to writer: inout AggregateSnapshotWriter) {
        switch storage {
        case .int64: writer.i64(ints[slot])
        case .bool: writer.u8(ints[slot] != 0 ? 1 : 0)
        case .float64: writer.f64(doubles[slot])
        case .utf8: strings.withValue(slot) { writer.lengthPrefixed($0) }
        }
    }

    /// Reads one record into `slot` (empty, within capacity). Throws a checkpoint error for anything a
    /// writer could not have produced; `sequenceLimit` bounds arrival numbers (rows seen so far).
    mutating func read(_ slot: Int, from reader: inout AggregateSnapshotReader, sequenceLimit: Int64) throws(EngineError) {
        switch kind {
        case .countRows, .countValues:
            counts[slot] = try Self.readCount(&reader, "count")
        case .countDistinct(let storage):
            try readDistinct(slot, storage, from: &reader)
        case .sumInt:
            counts[slot] = try Self.readCount(&reader, "sum count")
            ints[slot] = try reader.i64("sum")
            guard counts[slot] > 0 || ints[slot] == 0 else { throw .checkpoint("aggregation snapshot: a sum of no values is not 0") }
        case .sumFloat, .avgFloat:
            counts[slot] = try Self.readCount(&reader, "sum count")
            doubles[slot] = try reader.f64("sum")
            guard counts[slot] > 0 || doubles[slot].bitPattern == 0 else {
                throw .checkpoint("aggregation snapshot: a sum of no values is not 0")
            }
        case .avgInt:
            counts[slot] = try Self.readCount(&reader, "avg count")
            wides[slot] = try reader.i128("avg sum")
            guard counts[slot] > 0 || wides[slot] == 0 else { throw .checkpoint("aggregation snapshot: a sum of no values is not 0") }
        case .min(let storage), .max(let storage):
            let flag = try reader.u8("min/max flag")
            guard flag <= (storage == .bool ? 2 : 1) else { throw .checkpoint("aggregation snapshot: min/max flag \(flag)") }
            flags[slot] = flag
            if flag != 0 && storage != .bool { try readValue(slot, storage, from: &reader) }
        case .first(let storage), .last(let storage):
            let present = try reader.flag("first/last flag")
            flags[slot] = present ? 1 : 0
            if present {
                times[slot] = try reader.i64("first/last time")
                let sequence = try reader.i64("first/last arrival")
                guard sequence >= 0 && sequence < sequenceLimit else {
                    throw .checkpoint("aggregation snapshot: arrival number \(sequence) outside 0..<\(sequenceLimit)")
                }
                seqs[slot] = sequence
                try readValue(slot, storage, from: &reader)
            }
        }
    }

    private static func readCount(_ reader: inout AggregateSnapshotReader, _ what: String) throws(EngineError) -> Int64 {
        let value = try reader.i64(what)
        guard value >= 0 else { throw .checkpoint("aggregation snapshot: \(what) is negative (\(value))") }
        return value
    }

    private mutating func readValue(_ slot: Int, _ storage: ValueStorage, from reader: inout AggregateSnapshotReader) throws(EngineError) {
        switch storage {
        case .int64: ints[slot] = try reader.i64("value")
        case .bool: ints[slot] = try reader.flag("bool value") ? 1 : 0
        case .float64: doubles[slot] = try reader.f64("value")
        case .utf8:
            let range = try reader.lengthPrefixed("string value")
            reader.withBytes(range) { strings.set(slot, $0) }
        }
    }

    private mutating func readDistinct(_ slot: Int, _ storage: ValueStorage, from reader: inout AggregateSnapshotReader) throws(EngineError) {
        let count = try reader.count("distinct value count", minimumItemBytes: storage == .utf8 ? 4 : 8)
        var table = distinct!
        distinct = nil
        defer { distinct = table }
        if storage == .utf8 {
            var previous: Range<Int>? = nil
            for _ in 0..<count {
                let range = try reader.lengthPrefixed("distinct string")
                if let previous {
                    let order = reader.withBytes(previous) { a in reader.withBytes(range) { b in GroupKeyCodec.compareBytes(a, b) } }
                    guard order < 0 else { throw .checkpoint("aggregation snapshot: distinct strings not in ascending order") }
                }
                previous = range
                _ = reader.withBytes(range) { table.insert(group: Int32(slot), bytes: $0) }
            }
        } else {
            var previous: UInt64? = nil
            for _ in 0..<count {
                let bits = try reader.u64("distinct value")
                guard previous.map({ $0 < bits }) ?? true else {
                    throw .checkpoint("aggregation snapshot: distinct values not in ascending order")
                }
                switch storage {
                case .float64:
                    guard GroupKeyHasher.normalizedBits(Double(bitPattern: bits)) == bits else {
                        throw .checkpoint("aggregation snapshot: distinct float not normalised")
                    }
                case .bool:
                    guard bits <= 1 else { throw .checkpoint("aggregation snapshot: distinct bool \(bits)") }
                default:
                    break
                }
                previous = bits
                _ = table.insert(group: Int32(slot), bits: bits)
            }
        }
        counts[slot] = Int64(count)
    }
}
