/// Builds one column by appending values. Only the storage of the builder's type is used; appending
/// a value of another storage is a programming error. Nulls are tracked lazily: a builder that never
/// sees a null produces a column without a validity bitmap.
public struct ColumnBuilder: Sendable {
    public let type: DataType
    @usableFromInline var rowCount = 0
    public var count: Int { rowCount }
    @usableFromInline var ints: [Int64] = []
    @usableFromInline var doubles: [Double] = []
    @usableFromInline var bools: [Bool] = []
    @usableFromInline var offsets: [Int32] = [0]
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline var validityWords: [UInt64] = []
    @usableFromInline var hasNulls = false

    public init(_ type: DataType, capacity: Int = 0) {
        self.type = type
        switch type {
        case .bool: bools.reserveCapacity(capacity)
        case .int64, .timestamp, .date, .decimal: ints.reserveCapacity(capacity)
        case .float64: doubles.reserveCapacity(capacity)
        case .utf8:
            offsets.reserveCapacity(capacity + 1)
            bytes.reserveCapacity(capacity * 8)
        }
    }

    /// The bytes of UTF-8 values appended so far (a measure of the builder's size).
    public var byteCount: Int { bytes.count }

    @inlinable
    public mutating func append(_ value: Int64) {
        ints.append(value)
        appended(valid: true)
    }

    @inlinable
    public mutating func append(_ value: Double) {
        doubles.append(value)
        appended(valid: true)
    }

    @inlinable
    public mutating func append(_ value: Bool) {
        bools.append(value)
        appended(valid: true)
    }

    /// Appends UTF-8 bytes (not validated here; decoders validate what they read).
    /// Most bytes of text one column holds: offsets are 32-bit (as Arrow's Utf8).
    public static let utf8BytesMax = Int(Int32.max)

    @inlinable
    public mutating func appendUTF8(_ value: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: value)
        precondition(bytes.count <= Self.utf8BytesMax, "a text column holds at most 2 GiB")
        offsets.append(Int32(truncatingIfNeeded: bytes.count))
        appended(valid: true)
    }

    public mutating func append(_ value: String) {
        var value = value
        value.withUTF8 { appendUTF8(UnsafeRawBufferPointer($0)) }
    }

    /// Starts a UTF-8 value whose bytes are pushed one by one with `pushByte`, ended by `endUTF8`
    /// (decoders unescaping strings).
    @inlinable
    public mutating func pushByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    @inlinable
    public mutating func endUTF8() {
        precondition(bytes.count <= Self.utf8BytesMax, "a text column holds at most 2 GiB")
        offsets.append(Int32(truncatingIfNeeded: bytes.count))
        appended(valid: true)
    }

    @inlinable
    public mutating func appendNull() {
        switch type {
        case .bool: bools.append(false)
        case .int64, .timestamp, .date, .decimal: ints.append(0)
        case .float64: doubles.append(0)
        case .utf8: offsets.append(Int32(truncatingIfNeeded: bytes.count))
        }
        if !hasNulls {
            hasNulls = true
            validityWords = Array(repeating: ~0, count: (count + 64) >> 6)
        }
        appended(valid: false)
    }

    public mutating func append(_ value: Value) {
        switch (type, value) {
        case (_, .null): appendNull()
        case (.bool, .bool(let v)): append(v)
        case (.int64, .int64(let v)), (.timestamp, .timestamp(let v)), (.timestamp, .int64(let v)), (.date, .date(let v)): append(v)
        case (.decimal(let scale), .decimal(let v, let valueScale)) where scale == valueScale: append(v)
        case (.float64, .float64(let v)): append(v)
        case (.float64, .int64(let v)): append(Double(v))
        case (.utf8, .string(let v)): append(v)
        default: preconditionFailure("cannot append \(value) to a \(type) column")
        }
    }

    /// Appends every row of `column` (same type).
    public mutating func append(contentsOf column: Column) {
        precondition(column.type == type, "appending \(column.type) to \(type)")
        let start = count
        switch column.values {
        case .bool(let v): bools.append(contentsOf: v)
        case .int64(let v): ints.append(contentsOf: v)
        case .float64(let v): doubles.append(contentsOf: v)
        case .utf8(let v):
            let base = Int32(truncatingIfNeeded: bytes.count)
            bytes.append(contentsOf: v.bytes)
            offsets.append(contentsOf: v.offsets.dropFirst().map { $0 + base })
        }
        let added = column.count
        if column.validity != nil || hasNulls {
            if !hasNulls {
                hasNulls = true
                validityWords = Array(repeating: ~0, count: (start + 63) >> 6)
            }
            for row in 0..<added {
                setValidity(start + row, !column.isNull(row))
            }
        }
        rowCount += added
    }

    @inlinable
    mutating func appended(valid: Bool) {
        if hasNulls { setValidity(count, valid) }
        rowCount += 1
    }

    @inlinable
    mutating func setValidity(_ index: Int, _ valid: Bool) {
        let word = index >> 6
        while validityWords.count <= word { validityWords.append(~0) }
        if valid {
            validityWords[word] |= 1 << UInt64(index & 63)
        } else {
            validityWords[word] &= ~(1 << UInt64(index & 63))
        }
    }

    /// The finished column; the builder is left empty and keeps its capacity.
    public mutating func finish() -> Column {
        let values: ColumnValues
        switch type {
        case .bool: values = .bool(bools)
        case .int64, .timestamp, .date, .decimal: values = .int64(ints)
        case .float64: values = .float64(doubles)
        case .utf8: values = .utf8(Utf8Values(offsets: offsets, bytes: bytes))
        }
        var validity: Bitmap?
        if hasNulls {
            // (An all-set bitmap, left when a truncate removed the only nulls, is dropped below.)
            let wordCount = (count + 63) >> 6
            var words = validityWords
            while words.count < wordCount { words.append(~0) }
            words.removeLast(words.count - wordCount)
            let bitmap = Bitmap(words: words, count: count)
            validity = bitmap.allSet ? nil : bitmap
        }
        let column = Column(type: type, values: values, validity: validity)
        reset()
        return column
    }

    /// Drops everything appended, keeping capacity.
    public mutating func reset() {
        rowCount = 0
        ints.removeAll(keepingCapacity: true)
        doubles.removeAll(keepingCapacity: true)
        bools.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        bytes.removeAll(keepingCapacity: true)
        validityWords.removeAll(keepingCapacity: true)
        hasNulls = false
    }

    /// Removes the values appended after the builder had `length` rows (a decoder undoing a bad record).
    public mutating func truncate(to length: Int) {
        precondition(length <= count, "truncating a builder past its end")
        guard length < count else {
            // Bytes pushed for a value that was never ended go too.
            if type == .utf8 { bytes.removeLast(bytes.count - Int(offsets[length])) }
            return
        }
        switch type {
        case .bool: bools.removeLast(count - length)
        case .int64, .timestamp, .date, .decimal: ints.removeLast(count - length)
        case .float64: doubles.removeLast(count - length)
        case .utf8:
            offsets.removeLast(count - length)
            bytes.removeLast(bytes.count - Int(offsets[length]))
        }
        rowCount = length
        if hasNulls {
            let wordCount = (length + 63) >> 6
            validityWords.removeLast(max(0, validityWords.count - wordCount))
            for index in length..<(wordCount << 6) { setValidity(index, true) }
        }
    }
}
