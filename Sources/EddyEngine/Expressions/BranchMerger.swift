/// Assembles the result of CASE and COALESCE from branches that each supply some rows. A branch's values
/// come either from a datum over the whole batch or from one computed on a subset of the rows (the rows
/// that take the branch, gathered); `assign` scatters them into place. Rows no branch supplies stay NULL.
struct BranchMerger {
    private enum Storage {
        case int64([Int64])
        case double([Double])
        case bits([UInt64])
        /// TEXT is assembled in row order at the end: which source and which of its rows each row uses.
        case text(rowSource: [Int32], rowIndex: [Int32])
    }

    let type: DataType
    let count: Int
    private var storage: Storage
    private var validity: [UInt64]
    private var textSources: [Datum] = []

    init(type: DataType, count: Int) {
        self.type = type
        self.count = count
        validity = BitWords.zeros(count)
        switch type {
        case .int64, .timestamp, .date, .decimal: storage = .int64(Array(repeating: 0, count: count))
        case .float64: storage = .double(Array(repeating: 0, count: count))
        case .bool: storage = .bits(BitWords.zeros(count))
        case .utf8: storage = .text(rowSource: Array(repeating: -1, count: count), rowIndex: Array(repeating: 0, count: count))
        }
    }

    /// Takes the rows set in `target` from `source`. When `sourceRows` is given, `source` was computed on
    /// just those rows (its row k is the k-th set bit of `sourceRows`, a superset of `target`); otherwise
    /// its rows are the batch's.
    mutating func assign(_ target: [UInt64], from source: Datum, sourceRows: [UInt64]?) {
        if case .scalar(let value) = source, value.isNull { return }
        let textSource = Int32(textSources.count)
        if case .utf8 = type { textSources.append(source) }
        let sourceValidity = source.validityWords(count: count)
        // Visit (row, source index) pairs for every target row.
        func forEachRow(_ body: (Int, Int) -> Void) {
            let walk = sourceRows ?? target
            var cursor = 0
            for wordIndex in 0..<walk.count {
                var bits = walk[wordIndex]
                let wanted = target[wordIndex]
                while bits != 0 {
                    let bit = bits.trailingZeroBitCount
                    let row = wordIndex << 6 | bit
                    if wanted & (1 << UInt64(bit)) != 0 {
                        let index = sourceRows == nil ? row : cursor
                        if sourceValidity.map({ BitWords.test($0, index) }) ?? true {
                            BitWords.set(&validity, row)
                            body(row, index)
                        }
                    }
                    cursor += 1
                    bits &= bits &- 1
                }
            }
        }
        switch (storage, source) {
        case (.int64(var values), _):
            storage = .int64([])  // release the reference so the mutation below does not copy
            switch source {
            case .column(let column):
                let sourceValues = column.int64s
                forEachRow { row, index in values[row] = sourceValues[index] }
            case .scalar(let value):
                let constant = value.int64Storage
                forEachRow { row, _ in values[row] = constant }
            case .bits: preconditionFailure("boolean branch in a \(type) CASE")
            }
            storage = .int64(values)
        case (.double(var values), _):
            storage = .double([])
            switch source {
            case .column(let column):
                let sourceValues = column.float64s
                forEachRow { row, index in values[row] = sourceValues[index] }
            case .scalar(let value):
                let constant = value.doubleValue
                forEachRow { row, _ in values[row] = constant }
            case .bits: preconditionFailure("boolean branch in a DOUBLE CASE")
            }
            storage = .double(values)
        case (.bits(var words), _):
            storage = .bits([])
            let sourceBits = source.bits(count: sourceRows.map(BitWords.popCount) ?? count)
            forEachRow { row, index in
                if BitWords.test(sourceBits.values, index) { BitWords.set(&words, row) }
            }
            storage = .bits(words)
        case (.text(var rowSource, var rowIndex), _):
            storage = .text(rowSource: [], rowIndex: [])
            forEachRow { row, index in
                rowSource[row] = textSource
                rowIndex[row] = Int32(truncatingIfNeeded: index)
            }
            storage = .text(rowSource: rowSource, rowIndex: rowIndex)
        }
    }

    /// The merged result.
    func finish() -> Datum {
        let validity: [UInt64]? = BitWords.isAllOnes(self.validity, count: count) ? nil : self.validity
        let bitmap = validity.map { Bitmap(words: $0, count: count) }
        switch storage {
        case .int64(let values):
            return .column(Column(type: type, values: .int64(values), validity: bitmap))
        case .double(let values):
            return .column(.float64(values, validity: bitmap))
        case .bits(let words):
            return .bits(BoolVector(values: words, validity: validity, count: count))
        case .text(let rowSource, let rowIndex):
            var output = StringKernels.Output(count: count, byteCapacity: 0)
            let sources: [Utf8Values?] = textSources.map { source in
                if case .column(let column) = source { return column.utf8 }
                return nil
            }
            let constants: [[UInt8]?] = textSources.map { source in
                if case .scalar(.string(let text)) = source { return Array(text.utf8) }
                return nil
            }
            for row in 0..<count {
                let source = Int(rowSource[row])
                if source >= 0 {
                    if let values = sources[source] {
                        let range = values.range(Int(rowIndex[row]))
                        output.bytes.append(contentsOf: values.bytes[range])
                    } else if let bytes = constants[source] {
                        output.bytes.append(contentsOf: bytes)
                    }
                }
                output.endValue()
            }
            return .column(output.column(validity: validity, count: count))
        }
    }
}
