import EddyEngine

/// Writes batches as JSON lines, one object per row, for file sinks. What it writes,
/// `JSONRowDecoder` reads back to the same rows under the same schema.
///
/// - Keys are the schema's field names; with `nestDottedNames` (default) a field `a.b` is written as
///   `{"a":{"b":…}}` (fields sharing a prefix grouped in one object, at the place of the first of them),
///   the inverse of how the decoder reads dotted names. Names that cannot nest (an empty segment, or a
///   name that is also a prefix of another) make the whole batch use flat keys.
/// - `BOOLEAN` → `true`/`false`; `BIGINT` → integer; `DECIMAL` → an exact JSON number with all its
///   scale digits (`12.50`); `DOUBLE` → the shortest text that reads back to the same double, NaN and
///   ±infinity → `null` (JSON has no such numbers); `TEXT` → a string escaped per RFC 8259;
///   `TIMESTAMP` → `"2026-11-22T04:18:27.123Z"` (UTC, milliseconds) or, with
///   `timestampFormat: .epochMilliseconds`, a number; null → `null`.
/// - Every line ends with LF.
public struct JSONLinesEncoder: Sendable {
    public var options: EncodeOptions

    public init(options: EncodeOptions = .init()) {
        self.options = options
    }

    /// Appends one line per row of `batch` (or of its `rows`) to `output`.
    public func encode(_ batch: RecordBatch, rows: Range<Int>? = nil, into output: inout [UInt8]) {
        let rows = rows ?? 0..<batch.count
        precondition(rows.lowerBound >= 0 && rows.upperBound <= batch.count, "rows \(rows) outside the batch's \(batch.count)")
        let steps = Self.steps(for: batch.schema, nest: options.nestDottedNames)
        let cells = ColumnCells(batch)
        let epochMillis = options.timestampFormat == .epochMilliseconds
        output.reserveCapacity(output.count + rows.count * (16 + batch.schema.count * 16))
        for row in rows {
            output.append(UInt8(ascii: "{"))
            for step in steps {
                output.append(contentsOf: step.prefix)
                guard step.column >= 0 else { continue }
                Self.appendValue(cells, step.column, row, epochMillis: epochMillis, to: &output)
            }
            output.append(UInt8(ascii: "}"))
            output.append(UInt8(ascii: "\n"))
        }
    }

    @inline(__always)
    private static func appendValue(
        _ cells: ColumnCells, _ column: Int, _ row: Int, epochMillis: Bool, to output: inout [UInt8]
    ) {
        if cells.isNull(column, row) {
            output.append(contentsOf: TextOutput.nullLiteral)
            return
        }
        switch cells.kinds[column] {
        case .bool:
            output.append(contentsOf: cells.bools[column][row] ? TextOutput.trueLiteral : TextOutput.falseLiteral)
        case .int64, .decimal, .float64:
            // JSON has no NaN or infinity: null.
            cells.appendNumber(column, row, to: &output, nonFinite: TextOutput.nullLiteral)
        case .timestamp:
            let millis = cells.ints[column][row]
            if epochMillis {
                TextOutput.appendInteger(millis, to: &output)
            } else {
                output.append(UInt8(ascii: "\""))
                TextOutput.appendISOTimestamp(millis, to: &output)
                output.append(UInt8(ascii: "\""))
            }
        case .date:
            output.append(UInt8(ascii: "\""))
            TextOutput.appendISODate(cells.ints[column][row], to: &output)
            output.append(UInt8(ascii: "\""))
        case .utf8:
            cells.withString(column, row) { TextOutput.appendJSONString($0, to: &output) }
        }
    }

    /// One piece of a row's text: `prefix` (separator, key, colon, and `{`/`}` of nested objects),
    /// then the value of `column` unless it is -1.
    struct Step {
        var prefix: [UInt8]
        var column: Int
    }

    static func steps(for schema: Schema, nest: Bool) -> [Step] {
        if nest, schema.fields.contains(where: { $0.name.contains(".") }), let nested = nestedSteps(schema) {
            return nested
        }
        return schema.fields.enumerated().map { column, field in
            Step(prefix: (column == 0 ? [] : [UInt8(ascii: ",")]) + keyBytes(field.name), column: column)
        }
    }

    /// `"name":` with the name escaped.
    private static func keyBytes(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var name = name
        name.withUTF8 { TextOutput.appendJSONString($0, to: &bytes) }
        bytes.append(UInt8(ascii: ":"))
        return bytes
    }

    private final class Tree {
        var members: [(key: String, column: Int?, child: Tree?)] = []
        var positions: [String: Int] = [:]
    }

    private static func nestedSteps(_ schema: Schema) -> [Step]? {
        let root = Tree()
        for (column, field) in schema.fields.enumerated() {
            let segments = field.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if segments.contains(where: \.isEmpty) { return nil }
            var node = root
            for (depth, segment) in segments.enumerated() {
                let position = node.positions[segment]
                if depth == segments.count - 1 {
                    if position != nil { return nil }  // also a prefix of another name, or a duplicate
                    node.positions[segment] = node.members.count
                    node.members.append((segment, column, nil))
                } else if let position {
                    guard let child = node.members[position].child else { return nil }
                    node = child
                } else {
                    let child = Tree()
                    node.positions[segment] = node.members.count
                    node.members.append((segment, nil, child))
                    node = child
                }
            }
        }
        // Flatten: pending bytes accumulate into the next value's prefix.
        var steps: [Step] = []
        var pending: [UInt8] = []
        func emit(_ node: Tree) {
            for (index, member) in node.members.enumerated() {
                if index > 0 { pending.append(UInt8(ascii: ",")) }
                pending += keyBytes(member.key)
                if let column = member.column {
                    steps.append(Step(prefix: pending, column: column))
                    pending = []
                } else if let child = member.child {
                    pending.append(UInt8(ascii: "{"))
                    emit(child)
                    pending.append(UInt8(ascii: "}"))
                }
            }
        }
        emit(root)
        if !pending.isEmpty { steps.append(Step(prefix: pending, column: -1)) }
        return steps
    }
}
