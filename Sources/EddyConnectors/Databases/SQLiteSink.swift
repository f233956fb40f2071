import EddyEngine
import EddyFormats
import Foundation
import Logging
import NIOCore
import SQLiteNIO

/// Writes each micro-batch's rows into a table of an SQLite database (sqlite-nio), exactly once:
///
/// - the table is created from the query's columns when missing (types below), with the primary key
///   in update mode; an existing table must have every column, with an affinity that holds its
///   values (numbers: a numeric one; text, dates and timestamps: TEXT or NUMERIC), else the sink
///   refuses to start, naming the column and both types;
/// - each batch is one transaction: its rows (append: inserted; update: upserted on the primary key
///   with `INSERT … ON CONFLICT … DO UPDATE`; complete: the table's rows replaced) and the row
///   `eddy_sink_progress(query_id, sink, batch_id)` commit together, so a batch replayed after a
///   crash finds its progress row and is skipped;
/// - WAL journal, `synchronous = FULL`: a committed batch survives a power loss.
///
/// | Eddy | SQLite column type (affinity) | value |
/// |---|---|---|
/// | BOOLEAN | BOOLEAN (NUMERIC) | 0 or 1 |
/// | BIGINT | INTEGER | integer |
/// | DOUBLE | REAL | float |
/// | TEXT | TEXT | text |
/// | DECIMAL(s) | DECIMAL(18, s) (NUMERIC) | the exact text; SQLite keeps it as INTEGER or REAL (15 significant digits) |
/// | DATE | DATE (NUMERIC) | `2026-12-07` |
/// | TIMESTAMP | TIMESTAMP (NUMERIC) | `2026-12-07T10:00:00.000Z` (SQLite's date functions read it) |
public struct SQLiteSinkDescriptor: SinkDescriptor {
    public var path: String
    public var table: String
    /// The upsert key in update mode (the SQL table's PRIMARY KEY).
    public var primaryKey: [String]?

    public init(path: String, table: String, primaryKey: [String]? = nil) {
        self.path = path
        self.table = table
        self.primaryKey = primaryKey
    }

    public var description: String { "sqlite[\(path), \(table)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        try SQLiteSink(self, context: context)
    }
}

final class SQLiteSink: Sink, TableWriter {
    let descriptor: SQLiteSinkDescriptor
    let context: SinkContext
    private let connection: SQLiteConnection
    /// SQLite's default limit of bound parameters per statement is 32766; rows per INSERT stay under it.
    static let parametersPerStatement = 30_000

    init(_ descriptor: SQLiteSinkDescriptor, context: SinkContext) throws(EngineError) {
        self.descriptor = descriptor
        self.context = context
        let directory = (descriptor.path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        do {
            connection = try SQLiteConnection.open(storage: .file(path: descriptor.path), logger: Logger(label: "eddy.sqlite")).wait()
        } catch {
            throw .configuration("cannot open the SQLite database \(descriptor.path): \(Self.message(error))")
        }
        do {
            try setUp()
        } catch {
            try? connection.close().wait()
            throw error
        }
    }

    var description: String { descriptor.description }

    private(set) var rowFailure: String?

    /// A row's fault: a constraint (NOT NULL, CHECK, UNIQUE, foreign key, STRICT type), a value too
    /// large.
    static func isRowFailure(_ error: any Error) -> Bool {
        guard let reason = (error as? SQLiteError)?.reason else { return false }
        switch reason {
        case .constraint, .tooBig, .mismatch, .constraintCheckFailed, .constraintForeignKeyFailed, .constraintNotNullFailed,
             .constraintPrimaryKeyFailed, .constraintTriggerFailed, .constraintUniqueFailed, .constraintStrictDataTypeFailed:
            return true
        default:
            return false
        }
    }

    private func run(_ sql: String, _ binds: [SQLiteData] = []) throws(EngineError) -> [SQLiteRow] {
        do {
            return try connection.query(sql, binds).wait()
        } catch {
            rowFailure = Self.isRowFailure(error) ? Self.message(error) : nil
            throw .execution("SQLite \(descriptor.path): \(Self.message(error)) in: \(sql.prefix(200))")
        }
    }

    static func message(_ error: any Error) -> String {
        (error as? SQLiteError).map { "\($0.message) (\($0.reason))" } ?? "\(error)"
    }

    // MARK: TableWriter

    var quotedTable: String { quoteIdentifier(descriptor.table) }
    var sinkName: String { descriptor.table }
    var primaryKey: [String]? { descriptor.primaryKey }
    let beginStatement = "BEGIN IMMEDIATE"
    func rowsPerStatement(columns: Int) -> Int { min(500, Self.parametersPerStatement / max(1, columns)) }
    func placeholder(_ index: Int, _ type: DataType) -> String { "?\(index)" }
    func bind(_ column: Column, _ row: Int) -> SQLiteData { Self.value(column, row) }
    func bind(text: String) -> SQLiteData { .text(text) }
    func bind(integer: Int64) -> SQLiteData { .integer(Int(integer)) }

    func execute(_ sql: String, _ binds: [SQLiteData]) throws(EngineError) -> Int {
        try run(sql, binds).count
    }

    func rejectedRows(_ sql: String, _ binds: [SQLiteData]) throws(EngineError) -> [RejectedRow] {
        try run(sql, binds).compactMap { row in
            guard let reason = row.column("reason")?.string, let text = row.column("row_json")?.string else { return nil }
            return RejectedRow(reason: reason, row: text)
        }
    }

    func committedBatch() throws(EngineError) -> Int64? {
        let rows = try run("SELECT batch_id FROM \(sinkProgressTable) WHERE query_id = ?1 AND sink = ?2",
                           [.text(context.queryId), .text(descriptor.table)])
        return rows.first?.column("batch_id")?.integer.map(Int64.init)
    }

    private var table: String { quotedTable }

    private func setUp() throws(EngineError) {
        _ = try run("PRAGMA journal_mode = WAL")
        _ = try run("PRAGMA synchronous = FULL")
        _ = try run("PRAGMA busy_timeout = 10000")
        _ = try run("""
            CREATE TABLE IF NOT EXISTS \(sinkProgressTable) (
              query_id TEXT NOT NULL, sink TEXT NOT NULL, batch_id INTEGER NOT NULL, PRIMARY KEY (query_id, sink))
            """)
        _ = try run("CREATE TABLE IF NOT EXISTS \(sinkRejectsTable) (\(Self.rejectsTableColumns))")
        let existing = try run("PRAGMA table_info(\(table))")
        if existing.isEmpty {
            var columns = context.schema.fields.map { "\(quoteIdentifier($0.name)) \(Self.declaredType($0.type))" }
            if context.mode == .update, let key = descriptor.primaryKey, !key.isEmpty {
                columns.append("PRIMARY KEY (\(key.map(quoteIdentifier).joined(separator: ", ")))")
            }
            _ = try run("CREATE TABLE \(table) (\(columns.joined(separator: ", ")))")
            return
        }
        var declared: [String: String] = [:]
        for row in existing {
            if case .text(let name)? = row.column("name") { declared[name] = row.column("type")?.string ?? "" }
        }
        for field in context.schema.fields {
            guard let type = declared[field.name] else {
                throw .configuration("SQLite table \(descriptor.table) in \(descriptor.path) has no column \(field.name) (\(field.type)); add it or drop the table")
            }
            let wanted = Self.declaredType(field.type)
            guard Self.acceptedAffinities(field.type).contains(Self.affinity(type)) else {
                throw .configuration("SQLite column \(descriptor.table).\(field.name) is \(type.isEmpty ? "untyped" : type); the query writes \(field.type) (\(wanted))")
            }
        }
    }

    static func declaredType(_ type: DataType) -> String {
        switch type {
        case .bool: "BOOLEAN"
        case .int64: "INTEGER"
        case .float64: "REAL"
        case .utf8: "TEXT"
        case .decimal(let scale): "DECIMAL(18, \(scale))"
        case .date: "DATE"
        case .timestamp: "TIMESTAMP"
        }
    }

    /// The affinities of an existing column that hold a type's values as written (text-valued types
    /// take a TEXT column too, numbers any numeric one).
    static func acceptedAffinities(_ type: DataType) -> Set<String> {
        switch type {
        case .bool, .int64: ["INTEGER", "NUMERIC"]
        case .float64: ["REAL", "NUMERIC"]
        case .decimal: ["NUMERIC", "REAL", "TEXT"]
        case .utf8: ["TEXT"]
        case .date, .timestamp: ["NUMERIC", "TEXT"]
        }
    }

    /// SQLite's rules for a declared type's affinity (section 3.1 of "Datatypes In SQLite").
    static func affinity(_ declared: String) -> String {
        let type = declared.uppercased()
        if type.contains("INT") { return "INTEGER" }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return "TEXT" }
        if type.contains("BLOB") || type.isEmpty { return "BLOB" }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { return "REAL" }
        return "NUMERIC"
    }

    func lastCommittedBatch() throws(EngineError) -> Int64? { try committedBatch() }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        RejectedRow.deadLetters(try writeTransaction(batchId: batchId, batch), sink: description)
    }

    static func value(_ column: Column, _ row: Int) -> SQLiteData {
        if column.isNull(row) { return .null }
        switch (column.type, column.values) {
        case (.bool, .bool(let values)): return .integer(values[row] ? 1 : 0)
        case (.int64, .int64(let values)): return .integer(Int(values[row]))
        case (.float64, .float64(let values)): return values[row].isNaN ? .null : .float(values[row])
        case (.utf8, .utf8(let values)): return .text(values.string(row))
        case (.decimal(let scale), .int64(let values)): return .text(formatDecimal(values[row], scale: scale))
        case (.date, .int64(let values)): return .text(formatDate(values[row]))
        case (.timestamp, .int64(let values)): return .text(formatTimestamp(values[row]))
        default: return .null
        }
    }

    private var closed = false

    func close() throws(EngineError) {
        guard !closed else { return }
        closed = true
        do { try connection.close().wait() } catch {
            throw .execution("cannot close the SQLite database \(descriptor.path): \(Self.message(error))")
        }
    }

    /// A query that failed or was dropped without `close` still releases its connection.
    deinit {
        if !closed { try? connection.close().wait() }
    }
}
