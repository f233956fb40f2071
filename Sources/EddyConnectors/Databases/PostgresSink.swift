import EddyEngine
import EddyFormats
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Where a PostgreSQL sink connects: from Flink's `jdbc:postgresql://host:port/db` (with the
/// `username` and `password` options) or a `postgres://user:password@host:port/db` URL. The
/// password comes from the options, the URL or the `PGPASSWORD` environment variable, and is never
/// part of a description or an error.
public struct PostgresEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: String
    public var username: String
    public var password: String?

    public init(host: String, port: Int = 5432, database: String, username: String, password: String?) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses `url`; `username` and `password` (options) win over the URL's.
    public init(url: String, username: String?, password: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(EngineError) {
        var rest = Substring(url)
        for scheme in ["jdbc:postgresql://", "postgresql://", "postgres://"] where rest.hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            break
        }
        guard rest.count < url.count else {
            throw .configuration("a PostgreSQL URL starts with jdbc:postgresql://, postgresql:// or postgres://")
        }
        var urlUser: String?, urlPassword: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                urlUser = String(credentials[..<colon]).removingPercentEncoding
                urlPassword = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                urlUser = String(credentials).removingPercentEncoding
            }
        }
        let query = rest.firstIndex(of: "?").map { rest[$0...] } ?? ""
        rest = rest[..<(rest.firstIndex(of: "?") ?? rest.endIndex)]
        guard let slash = rest.firstIndex(of: "/") else { throw .configuration("the PostgreSQL URL names no database: …/DATABASE") }
        let authority = rest[..<slash]
        database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty, !authority.isEmpty else { throw .configuration("the PostgreSQL URL needs a host and a database: //HOST[:PORT]/DATABASE") }
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw .configuration("the PostgreSQL URL's port is not a number from 1 to 65535")
            }
            port = number
        } else {
            host = String(authority)
            port = 5432
        }
        // JDBC's ?user=…&password=… parameters, too.
        var parameters: [String: String] = [:]
        for pair in query.dropFirst().split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { parameters[parts[0]] = parts[1].removingPercentEncoding }
        }
        guard let user = username ?? urlUser ?? parameters["user"] else {
            throw .configuration("no PostgreSQL user: set 'username' (or give it in the URL)")
        }
        self.username = user
        self.password = password ?? urlPassword ?? parameters["password"] ?? environment["PGPASSWORD"]
    }

    /// The address without credentials.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}

/// Writes each micro-batch's rows into a PostgreSQL table (postgres-nio), exactly once, as the SQLite
/// sink does: the table created from the query's columns when missing (or checked: every column,
/// with a type that holds its values, else the sink refuses to start naming the column and both
/// types); each batch's rows (append: inserted; update: `INSERT … ON CONFLICT (key) DO UPDATE`;
/// complete: the table's rows replaced) and its `eddy_sink_progress(query_id, sink, batch_id)` row
/// in one transaction, so a replayed batch is skipped. Rows go in with `COPY … FROM STDIN` (upserts:
/// copied into a temporary table, then merged with one `INSERT … SELECT … ON CONFLICT`). A lost connection is reopened with back-off (`retries` times) and the batch
/// is written again from the start; a batch that fails otherwise stops the query with the server's
/// message.
///
/// | Eddy | PostgreSQL |
/// |---|---|
/// | BOOLEAN | boolean |
/// | BIGINT | bigint |
/// | DOUBLE | double precision |
/// | TEXT | text |
/// | DECIMAL(s) | numeric(18, s) |
/// | DATE | date |
/// | TIMESTAMP | timestamptz |
public struct PostgresSinkDescriptor: SinkDescriptor {
    public var endpoint: PostgresEndpoint
    /// The table, or `schema.table`.
    public var table: String
    public var primaryKey: [String]?
    public var retries: Int
    /// Declared precision of DECIMAL columns by name: a table Eddy creates gets `numeric(p,s)`.
    public var decimalPrecision: [String: Int]

    public init(endpoint: PostgresEndpoint, table: String, primaryKey: [String]? = nil, retries: Int = 5, decimalPrecision: [String: Int] = [:]) {
        self.endpoint = endpoint
        self.table = table
        self.primaryKey = primaryKey
        self.retries = retries
        self.decimalPrecision = decimalPrecision
    }

    public var description: String { "postgres[\(endpoint), \(table)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        try PostgresSink(self, context: context)
    }

    /// `schema.table` names a table of another schema than the connection's current one.
    var schemaName: String? { table.firstIndex(of: ".").map { String(table[..<$0]) } }
    var tableName: String { table.firstIndex(of: ".").map { String(table[table.index(after: $0)...]) } ?? table }
    /// The table as SQL names it, quoted.
    var quotedName: String { (schemaName.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(tableName) }

    /// A new connection to the endpoint (no TLS).
    func connect(logger: Logger) throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, password: endpoint.password,
            database: endpoint.database, tls: .disable)
        return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                              id: 1, logger: logger).wait()
    }
}

extension PostgresSinkDescriptor: PeekableSink {
    /// The last `limit` rows in the table's physical order (`ctid`: where an append-only table puts
    /// its newest rows), as PostgreSQL's `row_to_json` writes them.
    public func newestRows(_ limit: Int) throws -> [String] {
        let connection = try connect(logger: Logger(label: "eddy.postgres.peek"))
        defer { try? connection.close().wait() }
        let sql = "SELECT row_to_json(t)::text FROM (SELECT * FROM \(quotedName) ORDER BY ctid DESC LIMIT \(max(0, limit))) t"
        guard let rows = try? connection.query(sql, []).wait().rows else { return [] }  // no such table yet
        return rows.compactMap { $0.makeRandomAccess()[data: 0].string }.reversed()
    }
}

final class PostgresSink: Sink, TableWriter {
    let descriptor: PostgresSinkDescriptor
    let context: SinkContext
    private var connection: PostgresConnection?
    private let logger = Logger(label: "eddy.postgres")
    /// Rows per INSERT (PostgreSQL takes at most 65535 parameters per statement).
    static let rowsPerStatement = 1000
    /// Reconnects after this long, doubling per attempt.
    static let firstBackoff: TimeAmount = .milliseconds(200)

    init(_ descriptor: PostgresSinkDescriptor, context: SinkContext) throws(EngineError) {
        self.descriptor = descriptor
        self.context = context
        try withRetries { () throws(EngineError) in try setUp() }
    }

    deinit { try? connection?.close().wait() }

    var description: String { descriptor.description }

    /// Whether an error is the connection's (worth reconnecting for), not the statement's.
    private struct Lost: Error { let message: String }

    private func connect() throws(EngineError) -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        let endpoint = descriptor.endpoint
        do {
            let opened = try descriptor.connect(logger: logger)
            connection = opened
            return opened
        } catch {
            let message = Self.message(error)
            if let psql = error as? PSQLError, psql.serverInfo != nil {
                // The server answered (bad password, no such database): retrying will not help.
                throw .configuration("cannot connect to \(endpoint): \(message)")
            }
            throw .execution("cannot connect to \(endpoint): \(message)")
        }
    }

    static func message(_ error: any Error) -> String {
        if case .server(let server)? = error as? PostgresError, let text = server.fields[.message] {
            return text + (server.fields[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo, let text = info[.message] {
            return text + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }

    /// SQLSTATE classes of a row's fault: data exceptions (22: out of range, bad text, too long),
    /// integrity constraints (23: unique, check, not null, foreign key), program limits (54: a row or
    /// value too large).
    static func isRowFailure(_ error: any Error) -> Bool {
        var sqlState: String?
        if case .server(let server)? = error as? PostgresError { sqlState = server.fields[.sqlState] }
        guard let state = sqlState ?? (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
    }

    private(set) var rowFailure: String?

    /// The connection failed, not the statement: postgres-nio's errors without a server answer, and
    /// the closed connection its older API reports.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if let psql = error as? PSQLError { return psql.serverInfo == nil }
        if case .connectionClosed? = error as? PostgresError { return true }
        return false
    }

    private func run(_ sql: String, _ binds: [PostgresData] = []) throws(EngineError) -> [PostgresRow] {
        let connection = try connect()
        do {
            return try connection.query(sql, binds).wait().rows
        } catch {
            rowFailure = Self.isRowFailure(error) ? Self.message(error) : nil
            if Self.isConnectionLost(error) {
                self.connection = nil
                throw .execution("PostgreSQL \(descriptor.endpoint) connection lost: \(Self.message(error))")
            }
            throw .execution("PostgreSQL \(descriptor.endpoint): \(Self.message(error)) in: \(sql.prefix(200))")
        }
    }

    /// Runs `body`, reconnecting with back-off when the connection (not the statement) failed.
    private func withRetries<T>(_ body: () throws(EngineError) -> T) throws(EngineError) -> T {
        var attempt = 0
        var delay = Self.firstBackoff
        while true {
            do {
                return try body()
            } catch {
                let lost = connection == nil && error.kind == .execution
                guard lost, attempt < descriptor.retries else { throw error }
                attempt += 1
                logger.warning("\(descriptor.description): \(error.message); retrying in \(delay.nanoseconds / 1_000_000) ms (\(attempt) of \(descriptor.retries))")
                Thread.sleep(forTimeInterval: Double(delay.nanoseconds) / 1e9)
                delay = delay * 2
            }
        }
    }

    private var schemaName: String? { descriptor.schemaName }
    private var tableName: String { descriptor.tableName }
    private var table: String { descriptor.quotedName }

    static func columnType(_ type: DataType, precision: Int? = nil) -> String {
        switch type {
        case .bool: "boolean"
        case .int64: "bigint"
        case .float64: "double precision"
        case .utf8: "text"
        case .decimal(let scale): "numeric(\(precision ?? 18),\(scale))"
        case .date: "date"
        case .timestamp: "timestamp with time zone"
        }
    }

    /// The types (as `information_schema` names them) an existing column may have for a type's values.
    static func acceptedTypes(_ type: DataType) -> Set<String> {
        switch type {
        case .bool: ["boolean"]
        case .int64: ["bigint", "numeric"]
        case .float64: ["double precision", "numeric"]
        case .utf8: ["text", "character varying", "character"]
        case .decimal: ["numeric", "double precision"]
        case .date: ["date", "timestamp with time zone", "timestamp without time zone"]
        case .timestamp: ["timestamp with time zone", "timestamp without time zone"]
        }
    }

    /// COPY quotes names without escaping them, so a name holding a double quote is refused.
    private func checkNames() throws(EngineError) {
        for name in [descriptor.table] + context.schema.names where name.contains("\"") {
            throw .configuration("PostgreSQL names with a double quote are not supported: \(name)")
        }
    }

    private func setUp() throws(EngineError) {
        try checkNames()
        _ = try run("""
            CREATE TABLE IF NOT EXISTS \(sinkProgressTable) (
              query_id text NOT NULL, sink text NOT NULL, batch_id bigint NOT NULL, PRIMARY KEY (query_id, sink))
            """)
        _ = try run("CREATE TABLE IF NOT EXISTS \(sinkRejectsTable) (\(Self.rejectsTableColumns))")
        let columns = try run("""
            SELECT column_name::text, data_type::text FROM information_schema.columns
            WHERE table_schema = coalesce($1::text, current_schema()) AND table_name = $2
            """, [schemaName.map { PostgresData(string: $0) } ?? .null, PostgresData(string: tableName)])
        if columns.isEmpty {
            var definitions = context.schema.fields.map {
                "\(quoteIdentifier($0.name)) \(Self.columnType($0.type, precision: descriptor.decimalPrecision[$0.name]))"
            }
            if context.mode == .update, let key = descriptor.primaryKey, !key.isEmpty {
                definitions.append("PRIMARY KEY (\(key.map(quoteIdentifier).joined(separator: ", ")))")
            }
            _ = try run("CREATE TABLE IF NOT EXISTS \(table) (\(definitions.joined(separator: ", ")))")
            return
        }
        var existing: [String: String] = [:]
        for row in columns {
            let cells = row.makeRandomAccess()
            if let name = cells[data: 0].string, let type = cells[data: 1].string { existing[name] = type }
        }
        for field in context.schema.fields {
            guard let type = existing[field.name] else {
                throw .configuration("PostgreSQL table \(descriptor.table) has no column \(field.name) (\(field.type)); add it or drop the table")
            }
            guard Self.acceptedTypes(field.type).contains(type) else {
                throw .configuration("PostgreSQL column \(descriptor.table).\(field.name) is \(type); the query writes \(field.type) (\(Self.columnType(field.type)))")
            }
        }
    }

    func lastCommittedBatch() throws(EngineError) -> Int64? {
        try withRetries { () throws(EngineError) in try committedBatch() }
    }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        let rejected = try withRetries { () throws(EngineError) in try writeTransaction(batchId: batchId, batch) }
        return RejectedRow.deadLetters(rejected, sink: description)
    }

    // MARK: TableWriter

    var quotedTable: String { table }
    var sinkName: String { descriptor.table }
    var primaryKey: [String]? { descriptor.primaryKey }
    let beginStatement = "BEGIN"
    /// PostgreSQL takes at most 65535 parameters per statement.
    func rowsPerStatement(columns: Int) -> Int { min(Self.rowsPerStatement, 60_000 / max(1, columns)) }
    func placeholder(_ index: Int, _ type: DataType) -> String { "$\(index)::\(Self.columnType(type))" }
    func bind(_ column: Column, _ row: Int) -> PostgresData { Self.value(column, row) }
    func bind(text: String) -> PostgresData { PostgresData(string: text) }
    func bind(integer: Int64) -> PostgresData { PostgresData(int64: integer) }

    func execute(_ sql: String, _ binds: [PostgresData]) throws(EngineError) -> Int {
        try run(sql, binds).count
    }

    var canBulkCopy: Bool { true }

    /// `COPY … FROM STDIN` in text format, streamed in chunks of about `copyChunkBytes`. postgres-nio
    /// offers COPY only as an async function: it runs in a task while this (engine) thread waits,
    /// which is safe because the engine drives sinks from threads of its own, never from the
    /// cooperative pool the task needs.
    func bulkCopy(_ batch: RecordBatch, stage: Bool) throws(EngineError) {
        let connection = try connect()
        let chunks = Self.copyText(batch)
        // postgres-nio puts the table and column names in double quotes as given (see `checkNames`).
        let table = stage ? "eddy_stage" : (schemaName.map { $0 + "\".\"" } ?? "") + tableName
        let columns = batch.schema.fields.map(\.name)
        let outcome = CopyOutcome()
        let done = DispatchSemaphore(value: 0)
        let logger = self.logger
        Task {
            do {
                try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
                    for chunk in chunks { try await writer.write(chunk) }
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            rowFailure = Self.isRowFailure(error) ? Self.message(error) : nil
            if Self.isConnectionLost(error) {
                self.connection = nil
                throw .execution("PostgreSQL \(descriptor.endpoint) connection lost during COPY: \(Self.message(error))")
            }
            throw .execution("PostgreSQL \(descriptor.endpoint): \(Self.message(error)) in: COPY \(table)")
        }
    }

    /// Bytes of COPY data per write.
    static let copyChunkBytes = 1 << 20

    /// The batch in COPY's text format (`CopyTextEncoder`), in chunks of about `copyChunkBytes`.
    static func copyText(_ batch: RecordBatch) -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        var bytes: [UInt8] = []
        let rowsPerChunk = 8192
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + rowsPerChunk)
            CopyTextEncoder().encode(batch, rows: start..<end, into: &bytes)
            if bytes.count >= copyChunkBytes || end == batch.count {
                chunks.append(ByteBuffer(bytes: bytes))
                bytes.removeAll(keepingCapacity: true)
            }
            start = end
        }
        return chunks
    }

    /// Serialises writers of this sink: a second query into the table waits here.
    func beforeWrite() throws(EngineError) {
        try execute("LOCK TABLE \(sinkProgressTable) IN SHARE ROW EXCLUSIVE MODE", [])
    }

    func rejectedRows(_ sql: String, _ binds: [PostgresData]) throws(EngineError) -> [RejectedRow] {
        try run(sql, binds).compactMap { row in
            let cells = row.makeRandomAccess()
            guard let reason = cells[data: 0].string, let text = cells[data: 1].string else { return nil }
            return RejectedRow(reason: reason, row: text)
        }
    }

    func committedBatch() throws(EngineError) -> Int64? {
        let rows = try run("SELECT batch_id::text FROM \(sinkProgressTable) WHERE query_id = $1 AND sink = $2",
                           [PostgresData(string: context.queryId), PostgresData(string: descriptor.table)])
        return rows.first.flatMap { $0.makeRandomAccess()[data: 0].string }.flatMap { Int64($0) }
    }

    /// A value as text PostgreSQL reads with the column's cast (exact for decimals and times).
    static func value(_ column: Column, _ row: Int) -> PostgresData {
        if column.isNull(row) { return .null }
        switch (column.type, column.values) {
        case (.bool, .bool(let values)): return PostgresData(bool: values[row])
        case (.int64, .int64(let values)): return PostgresData(int64: values[row])
        case (.float64, .float64(let values)): return PostgresData(string: String(values[row]))
        case (.utf8, .utf8(let values)): return PostgresData(string: values.string(row))
        case (.decimal(let scale), .int64(let values)): return PostgresData(string: formatDecimal(values[row], scale: scale))
        case (.date, .int64(let values)): return PostgresData(string: formatDate(values[row]))
        case (.timestamp, .int64(let values)): return PostgresData(string: formatTimestamp(values[row]))
        default: return .null
        }
    }

    func close() throws(EngineError) {
        guard let connection else { return }
        self.connection = nil
        do { try connection.close().wait() } catch {
            throw .execution("cannot close the PostgreSQL connection: \(Self.message(error))")
        }
    }
}

/// The error of a COPY run in a task, read by the thread that waited for it.
private final class CopyOutcome: @unchecked Sendable {
    var error: (any Error)?
}
