/// A micro-batch: columns of equal length under a schema. Operators take and return batches.
public struct RecordBatch: Sendable, Hashable {
    public let schema: Schema
    public private(set) var columns: [Column]
    public let count: Int

    public init(schema: Schema, columns: [Column]) {
        precondition(schema.count == columns.count, "schema has \(schema.count) fields, batch \(columns.count) columns")
        let count = columns.first?.count ?? 0
        for (field, column) in zip(schema.fields, columns) {
            precondition(column.count == count, "column \(field.name) has \(column.count) rows, expected \(count)")
            precondition(column.type == field.type, "column \(field.name) is \(column.type), schema says \(field.type)")
        }
        self.schema = schema
        self.columns = columns
        self.count = count
    }

    /// A batch with no columns but a row count (a source whose rows have no selected fields).
    public init(emptyColumnsWithCount count: Int) {
        schema = Schema([])
        columns = []
        self.count = count
    }

    public static func empty(_ schema: Schema) -> RecordBatch {
        var builders = schema.fields.map { ColumnBuilder($0.type) }
        return RecordBatch(schema: schema, columns: builders.indices.map { builders[$0].finish() })
    }

    /// A batch from rows of values (tests and small results).
    public init(schema: Schema, rows: [[Value]]) {
        var builders = schema.fields.map { ColumnBuilder($0.type, capacity: rows.count) }
        for row in rows {
            precondition(row.count == schema.count, "row \(row) does not fit \(schema)")
            for (index, value) in row.enumerated() { builders[index].append(value) }
        }
        self.init(schema: schema, columns: builders.indices.map { builders[$0].finish() })
    }

    public var isEmpty: Bool { count == 0 }

    public func column(_ name: String) -> Column? {
        schema.index(of: name).map { columns[$0] }
    }

    /// Row `index` as values (slow: tests, sinks, small results).
    public func row(_ index: Int) -> [Value] {
        columns.map { $0.value(at: index) }
    }

    public var rows: [[Value]] {
        (0..<count).map(row)
    }

    public func take(_ indices: [Int32]) -> RecordBatch {
        RecordBatch(schema: schema, columns: columns.map { $0.take(indices) })
    }

    public func filter(_ mask: Bitmap) -> RecordBatch {
        if mask.allSet { return self }
        let indices = mask.setIndices
        return RecordBatch(schema: schema, columns: columns.map { $0.take(indices) })
    }

    /// The columns at `indices`, in that order.
    public func select(_ indices: [Int]) -> RecordBatch {
        RecordBatch(schema: Schema(indices.map { schema.fields[$0] }), columns: indices.map { columns[$0] })
    }

    /// Batches of one schema, one after the other.
    public static func concatenate(_ batches: [RecordBatch], schema: Schema) -> RecordBatch {
        let columns = schema.fields.indices.map { index in
            Column.concatenate(batches.map { $0.columns[index] }, type: schema.fields[index].type)
        }
        return RecordBatch(schema: schema, columns: columns)
    }

    /// The batch as an aligned text table (tests and `explain`).
    public var table: String {
        let header = schema.names
        let cells = rows.map { $0.map(\.description) }
        let widths = header.indices.map { column in
            ([header[column].count] + cells.map { $0[column].count }).max() ?? 0
        }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }
                .joined(separator: " | ").trimmingTrailingSpaces()
        }
        return ([line(header)] + cells.map(line)).joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
