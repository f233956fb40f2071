import EddyEngine

/// The values of a batch's columns pulled out of their enums once per batch, so per-cell access in the
/// encoders is an array index rather than an enum match.
struct ColumnCells {
    let kinds: [ColumnKind]
    let bools: [[Bool]]
    let ints: [[Int64]]
    let doubles: [[Double]]
    let strings: [Utf8Values]
    let validity: [Bitmap?]

    init(_ batch: RecordBatch) {
        kinds = batch.schema.fields.map { ColumnKind($0.type) }
        var bools: [[Bool]] = []
        var ints: [[Int64]] = []
        var doubles: [[Double]] = []
        var strings: [Utf8Values] = []
        for column in batch.columns {
            var columnBools: [Bool] = []
            var columnInts: [Int64] = []
            var columnDoubles: [Double] = []
            var columnStrings = Utf8Values()
            switch column.values {
            case .bool(let values): columnBools = values
            case .int64(let values): columnInts = values
            case .float64(let values): columnDoubles = values
            case .utf8(let values): columnStrings = values
            }
            bools.append(columnBools)
            ints.append(columnInts)
            doubles.append(columnDoubles)
            strings.append(columnStrings)
        }
        self.bools = bools
        self.ints = ints
        self.doubles = doubles
        self.strings = strings
        validity = batch.columns.map(\.validity)
    }

    @inline(__always)
    func isNull(_ column: Int, _ row: Int) -> Bool {
        guard let bits = validity[column] else { return false }
        return !bits[row]
    }

    /// Calls `body` with the bytes of string cell (`column`, `row`).
    @inline(__always)
    func withString<R>(_ column: Int, _ row: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let values = strings[column]
        let range = values.range(row)
        return values.bytes.withUnsafeBufferPointer { buffer in
            body(UnsafeBufferPointer(rebasing: buffer[range]))
        }
    }
}

extension ColumnCells {
    /// A BIGINT, DECIMAL or DOUBLE cell as text: integers and decimals exactly, doubles as their
    /// shortest round-trip text; a non-finite double as `nonFinite` (nil: `NaN`, `Infinity`,
    /// `-Infinity`). Other kinds are not numbers (a precondition).
    func appendNumber(_ column: Int, _ row: Int, to output: inout [UInt8], nonFinite: [UInt8]? = nil) {
        switch kinds[column] {
        case .int64:
            TextOutput.appendInteger(ints[column][row], to: &output)
        case .decimal(let scale):
            TextOutput.appendDecimal(ints[column][row], scale: scale, to: &output)
        case .float64:
            let value = doubles[column][row]
            if value.isFinite {
                TextOutput.appendDouble(value, to: &output)
            } else {
                output.append(contentsOf: nonFinite ?? (value.isNaN ? TextOutput.nanLiteral
                    : value < 0 ? TextOutput.negativeInfinityLiteral : TextOutput.infinityLiteral))
            }
        default:
            preconditionFailure("column \(column) is not a number")
        }
    }
}
