import EddyEngine

/// What the database sinks (SQLite, PostgreSQL) share: a batch and its progress row in one
/// transaction, inserts in multi-row statements, upserts on the primary key, complete results
/// replacing the table, and bad rows set aside. A database supplies statements, bound values, its
/// placeholder syntax, and which of its errors are a row's fault.
///
/// Bad rows (when the query has a dead-letter destination, `SinkContext.setsRowsAside`; otherwise a
/// refused row fails the batch): the batch's rows go in under a savepoint; when the database refuses them for a row's
/// sake (a constraint, a value out of the column's range), the rows are split in halves, each tried
/// under its own savepoint, down to the single rows at fault: k bad rows among n cost about
/// 2·k·log2(n) statements, and a clean batch one savepoint. The rejected rows are recorded in
/// `eddy_sink_rejects` in the same transaction as the progress row, so a replayed batch returns
/// them again (see `Sink.write`); only the newest batch's rejects are kept. More than
/// `SinkContext.rejectedRowsMax` refused rows fail the batch.
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
    /// The database's message when the last failed statement failed for a row's sake (a constraint,
    /// a value out of range, too large), nil when it failed otherwise.
    var rowFailure: String? { get }
    /// Runs a query whose rows are (reason, row) texts.
    func rejectedRows(_ sql: String, _ binds: [Bind]) throws(EngineError) -> [RejectedRow]
}

let sinkProgressTable = "eddy_sink_progress"
let sinkRejectsTable = "eddy_sink_rejects"

func quoteIdentifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

extension TableWriter {
    func beforeWrite() throws(EngineError) {}
    var canBulkCopy: Bool { false }
    func bulkCopy(_ batch: RecordBatch, stage: Bool) throws(EngineError) {
        preconditionFailure("\(Self.self) has no bulk copy")
    }

    /// Batch `batchId` in one transaction with its progress row, bad rows set aside; nothing when it
    /// is already there. The rows rejected (now or when the batch was first written).
    func writeTransaction(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [RejectedRow] {
        try execute(beginStatement, [])
        do {
            try beforeWrite()
            if let last = try committedBatch(), last >= batchId {
                let stored = try storedRejects(batchId)
                try execute("ROLLBACK", [])
                return stored
            }
            if context.mode == .complete { try execute("DELETE FROM \(quotedTable)", []) }
            var rejected: [RejectedRow] = []
            if batch.count > 0 {
                if context.setsRowsAside { try insertGuarded(batch, 0..<batch.count, rejected: &rejected) } else { try insert(batch) }
            }
            try execute("DELETE FROM \(sinkRejectsTable) WHERE query_id = \(placeholder(1, .utf8)) AND sink = \(placeholder(2, .utf8))",
                        [bind(text: context.queryId), bind(text: sinkName)])
            for (index, row) in rejected.enumerated() {
                try execute("""
                    INSERT INTO \(sinkRejectsTable) (query_id, sink, batch_id, idx, reason, row_json) VALUES (\(placeholder(1, .utf8)), \
                    \(placeholder(2, .utf8)), \(placeholder(3, .int64)), \(placeholder(4, .int64)), \(placeholder(5, .utf8)), \(placeholder(6, .utf8)))
                    """, [bind(text: context.queryId), bind(text: sinkName), bind(integer: batchId), bind(integer: Int64(index)),
                          bind(text: row.reason), bind(text: row.row)])
            }
            try execute("""
                INSERT INTO \(sinkProgressTable) (query_id, sink, batch_id) VALUES (\(placeholder(1, .utf8)), \(placeholder(2, .utf8)), \(placeholder(3, .int64)))
                ON CONFLICT (query_id, sink) DO UPDATE SET batch_id = excluded.batch_id
                """, [bind(text: context.queryId), bind(text: sinkName), bind(integer: batchId)])
            try execute("COMMIT", [])
            return rejected
        } catch {
            _ = try? execute("ROLLBACK", [])
            throw error
        }
    }

    /// The table of rejected rows (created with the progress table).
    static var rejectsTableColumns: String {
        "query_id TEXT NOT NULL, sink TEXT NOT NULL, batch_id BIGINT NOT NULL, idx BIGINT NOT NULL, reason TEXT NOT NULL, row_json TEXT NOT NULL, PRIMARY KEY (query_id, sink, idx)"
    }

    /// The rows `batchId` rejected when it was committed.
    private func storedRejects(_ batchId: Int64) throws(EngineError) -> [RejectedRow] {
        try rejectedRows("""
            SELECT reason, row_json FROM \(sinkRejectsTable) WHERE query_id = \(placeholder(1, .utf8)) AND sink = \(placeholder(2, .utf8)) \
            AND batch_id = \(placeholder(3, .int64)) ORDER BY idx
            """, [bind(text: context.queryId), bind(text: sinkName), bind(integer: batchId)])
    }

    /// Rows `rows` of `batch` under a savepoint; on a row's failure, each half again, down to the
    /// single rows at fault, which are added to `rejected`.
    private func insertGuarded(_ batch: RecordBatch, _ rows: Range<Int>, rejected: inout [RejectedRow]) throws(EngineError) {
        try execute("SAVEPOINT eddy_rows", [])
        do {
            try insert(rows.count == batch.count ? batch : batch.take(rows.map { Int32($0) }))
            try execute("RELEASE SAVEPOINT eddy_rows", [])
        } catch {
            guard let reason = rowFailure else { throw error }
            do {
                try execute("ROLLBACK TO SAVEPOINT eddy_rows", [])
                try execute("RELEASE SAVEPOINT eddy_rows", [])
            } catch {
                // The failure ended the whole transaction (SQLite's ON CONFLICT ROLLBACK): nothing to
                // set aside within it.
                throw EngineError.execution("\(reason); it rolled back the whole batch, so its rows cannot be set aside one by one")
            }
            if rows.count == 1 {
                rejected.append(RejectedRow(batch, rows.lowerBound, reason: reason))
                if rejected.count > SinkContext.rejectedRowsMax {
                    throw EngineError.execution(
                        "the table refused more than \(SinkContext.rejectedRowsMax) rows of one batch (the first: \(rejected[0].reason)); the query and the table disagree")
                }
                return
            }
            let middle = rows.lowerBound + rows.count / 2
            try insertGuarded(batch, rows.lowerBound..<middle, rejected: &rejected)
            try insertGuarded(batch, middle..<rows.upperBound, rejected: &rejected)
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
