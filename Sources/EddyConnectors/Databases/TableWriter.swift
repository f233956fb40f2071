import EddyEngine

/// What the database sinks (SQLite, PostgreSQL) share: a batch and its progress row in one
/// transaction, inserts in multi-row statements, upserts on the primary key, complete results
/// replacing the table. A database supplies statements, bound values and its placeholder syntax.
protocol TableWriter: AnyObject {
    associatedtype Bind
    var context: SinkContext { get }
    /// The table as SQL (quoted, maybe schema-qualified), and its name in the progress table.
    var quotedTable: String { get }
    var sinkName: String { get }
    var primaryKey: [String]? { get }
    /// Rows per INSERT statement for `columns` columns.
    func rowsPerStatement(columns: Int) -> Int
    /// The transaction's first statement (`BEGIN`, or SQLite's `BEGIN IMMEDIATE`).
    var beginStatement: String { get }
    /// What a placeholder looks like: the `index`-th bound value (1-based) of a column of `type`.
    func placeholder(_ index: Int, _ type: DataType) -> String
    func bind(_ column: Column, _ row: Int) -> Bind
    func bind(text: String) -> Bind
    func bind(integer: Int64) -> Bind
    @discardableResult
    func execute(_ sql: String, _ binds: [Bind]) throws(EngineError) -> Int
    /// The batch id in this sink's progress row, read inside or outside a transaction.
    func committedBatch() throws(EngineError) -> Int64?
    /// Statements a transaction runs after BEGIN (PostgreSQL locks the progress table).
    func beforeWrite() throws(EngineError)
    /// Whether `bulkCopy` works (PostgreSQL: COPY); otherwise rows go in multi-row INSERTs.
    var canBulkCopy: Bool { get }
    /// Writes the batch's rows into the sink's table (or, with `stage`, into the transaction's staging
    /// table `eddy_stage`) the database's fastest way.
    func bulkCopy(_ batch: RecordBatch, stage: Bool) throws(EngineError)
}

let sinkProgressTable = "eddy_sink_progress"

func quoteIdentifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

extension TableWriter {
    func beforeWrite() throws(EngineError) {}
    var canBulkCopy: Bool { false }
    func bulkCopy(_ batch: RecordBatch, stage: Bool) throws(EngineError) {
        preconditionFailure("\(Self.self) has no bulk copy")
    }

    /// Batch `batchId` in one transaction with its progress row; nothing when it is already there.
    func writeTransaction(batchId: Int64, _ batch: RecordBatch) throws(EngineError) {
        try execute(beginStatement, [])
        do {
            try beforeWrite()
            if let last = try committedBatch(), last >= batchId {
                try execute("ROLLBACK", [])
                return
            }
            if context.mode == .complete { try execute("DELETE FROM \(quotedTable)", []) }
            try insert(batch)
            try execute("""
                INSERT INTO \(sinkProgressTable) (query_id, sink, batch_id) VALUES (\(placeholder(1, .utf8)), \(placeholder(2, .utf8)), \(placeholder(3, .int64)))
                ON CONFLICT (query_id, sink) DO UPDATE SET batch_id = excluded.batch_id
                """, [bind(text: context.queryId), bind(text: sinkName), bind(integer: batchId)])
            try execute("COMMIT", [])
        } catch {
            _ = try? execute("ROLLBACK", [])
            throw error
        }
    }

    private func insert(_ batch: RecordBatch) throws(EngineError) {
        guard batch.count > 0 else { return }
        let fields = batch.schema.fields
        let names = fields.map { quoteIdentifier($0.name) }.joined(separator: ", ")
        var conflict = ""
        if context.mode == .update, let key = primaryKey, !key.isEmpty {
            let others = fields.map(\.name).filter { !key.contains($0) }
            conflict = " ON CONFLICT (\(key.map(quoteIdentifier).joined(separator: ", "))) DO "
                + (others.isEmpty ? "NOTHING" : "UPDATE SET " + others.map { "\(quoteIdentifier($0)) = excluded.\(quoteIdentifier($0))" }.joined(separator: ", "))
        }
        if canBulkCopy && conflict.isEmpty {
            try bulkCopy(batch, stage: false)
            return
        }
        if canBulkCopy {
            // Upserts: the rows copied into a table of this transaction, then merged in one statement.
            let stage = quoteIdentifier("eddy_stage")
            try execute("CREATE TEMPORARY TABLE IF NOT EXISTS \(stage) (LIKE \(quotedTable)) ON COMMIT DELETE ROWS", [])
            try bulkCopy(batch, stage: true)
            try execute("INSERT INTO \(quotedTable) (\(names)) SELECT \(names) FROM \(stage)\(conflict)", [])
            try execute("DELETE FROM \(stage)", [])
            return
        }
        let perStatement = max(1, rowsPerStatement(columns: fields.count))
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + perStatement)
            var binds: [Bind] = []
            binds.reserveCapacity((end - start) * fields.count)
            var tuples: [String] = []
            tuples.reserveCapacity(end - start)
            for row in start..<end {
                var marks: [String] = []
                for (index, column) in batch.columns.enumerated() {
                    binds.append(bind(column, row))
                    marks.append(placeholder(binds.count, fields[index].type))
                }
                tuples.append("(" + marks.joined(separator: ", ") + ")")
            }
            try execute("INSERT INTO \(quotedTable) (\(names)) VALUES \(tuples.joined(separator: ", "))\(conflict)", binds)
            start = end
        }
    }
}
