import EddyEngine

/// A continuous query a script started: `INSERT INTO`, `CREATE TABLE … AS`, or a bare SELECT into
/// the print sink.
public struct SQLJob: Sendable {
    /// The table it writes (Flink names a job after its sink).
    public var name: String
    public var pipeline: StreamingPipeline
    public var location: SourceLocation
}

/// What a statement did.
public enum SQLOutcome: Sendable {
    /// DDL, SET, SHOW, DESCRIBE: a message for the user.
    case message(String)
    case job(SQLJob)
    case explain(String)
}

/// Runs SQL statements against a catalog: DDL changes it, INSERT/CREATE … AS/SELECT make jobs, SET
/// records settings (`settings`), EXPLAIN shows the plans.
public final class SQLSession: @unchecked Sendable {
    public let catalog: Catalog
    public private(set) var settings: [String: String] = [:]
    public private(set) var jobs: [SQLJob] = []

    public init(connectors: ConnectorRegistry, bounded: Bool = false) {
        catalog = Catalog(connectors: connectors, bounded: bounded)
    }

    /// Parses and runs every statement of `text`; the first error stops it.
    @discardableResult
    public func run(_ text: String) throws(SQLError) -> [SQLOutcome] {
        var outcomes: [SQLOutcome] = []
        for statement in try Parser.parseScript(text) { outcomes.append(try execute(statement)) }
        return outcomes
    }

    /// A query bound to a plan without a sink (for a client that collects the rows itself).
    public func bind(_ query: Query) throws(SQLError) -> BoundQuery {
        try QueryBinder(catalog: catalog).bind(query)
    }

    public func execute(_ statement: Statement) throws(SQLError) -> SQLOutcome {
        switch statement {
        case .createTable(let definition):
            guard let table = try catalog.createTable(definition) else { return .message("`\(definition.name)` exists already; skipped") }
            guard let query = definition.query else {
                catalog.add(table)
                return .message("created table `\(table.name)`")
            }
            let bound = try QueryBinder(catalog: catalog).bind(query)
            guard definition.columns.isEmpty else {
                throw SQLError("CREATE TABLE … AS takes its columns from the query; declare them with CREATE TABLE and use INSERT INTO", at: definition.location)
            }
            var created = table
            created.columns = bound.schema
            if created.primaryKey == nil, bound.mode == .update { created.primaryKey = bound.upsertKeys }
            let job = try insertJob(into: created, bound, location: definition.location)
            catalog.add(created)  // only once its query is known to run
            jobs.append(job)
            return .job(job)
        case .createView(let name, let query, let ifNotExists):
            try catalog.createView(name, query, ifNotExists: ifNotExists)
            return .message("created view `\(name)`")
        case .insert(let name, let columns, let query, let location):
            let table = try catalog.table(name)
            let bound = try QueryBinder(catalog: catalog).bind(query)
            return .job(try register(try insertJob(into: table, bound, columns: columns, location: location)))
        case .query(let query):
            return .job(try register(try printJob(query)))
        case .set(let key, let value, _):
            if key.isEmpty {
                return .message(settings.keys.sorted().map { "'\($0)' = '\(settings[$0]!)'" }.joined(separator: "\n"))
            }
            settings[key] = value
            return .message("set '\(key)' = '\(value)'")
        case .reset(let key, _):
            if let key { settings[key] = nil } else { settings = [:] }
            return .message("reset")
        case .explain(let inner, let location):
            // EXPLAIN runs nothing and changes nothing: the jobs and tables are as they were after it.
            let jobsBefore = jobs
            let catalogBefore = catalog.snapshot()
            defer {
                jobs = jobsBefore
                catalog.restore(catalogBefore)
            }
            guard case .job(let job) = try execute(inner) else {
                throw SQLError("EXPLAIN takes an INSERT, a CREATE TABLE … AS or a SELECT", at: location)
            }
            do { return .explain(try job.pipeline.explain()) } catch { throw SQLError(error.message, at: location) }
        case .show(let kind, _):
            switch kind {
            case .tables: return .message(catalog.tables.keys.sorted().joined(separator: "\n"))
            case .views: return .message(catalog.views.keys.sorted().joined(separator: "\n"))
            case .jobs: return .message(jobs.map { "\($0.name) (\($0.location))" }.joined(separator: "\n"))
            case .functions:
                return .message(ExpressionBinder.knownFunctionNames.sorted().joined(separator: "\n"))
            }
        case .describe(let name):
            return .message(try describe(name))
        case .drop(let kind, let name, let ifExists):
            try catalog.drop(kind, name, ifExists: ifExists)
            return .message("dropped \(kind.rawValue) `\(name)`")
        }
    }

    /// A bare SELECT as a job into the print connector (not registered: `execute` registers it).
    public func printJob(_ query: Query) throws(SQLError) -> SQLJob {
        guard let print = catalog.connectors.connectors["print"] else {
            throw SQLError("a bare SELECT prints its rows, and no print connector is registered", at: query.location)
        }
        let bound = try QueryBinder(catalog: catalog).bind(query)
        let definition = CreateTable(kind: .sink, name: QualifiedName(parts: [Identifier("print", at: query.location)]), ifNotExists: false,
                                     columns: [], watermark: nil, primaryKey: nil, options: [], query: nil, location: query.location)
        let table = CatalogTable(definition: definition, columns: bound.schema, metadata: [:], computed: [], watermark: nil,
                                 primaryKey: bound.mode == .update ? bound.upsertKeys : nil, connector: print,
                                 options: TableOptions([], location: query.location))
        return try insertJob(into: table, bound, location: query.location)
    }

    /// Adds a job, refusing a second one into the same table: a query's checkpoint is named after
    /// the table it writes (a bare SELECT writes `print`).
    func register(_ job: SQLJob) throws(SQLError) -> SQLJob {
        if let other = jobs.first(where: { $0.name == job.name }) {
            throw SQLError("""
                `\(job.name)` is written by another query of this script (\(other.location)); a query's checkpoint \
                is named after the table it writes, and two queries into one table would overwrite each other's \
                batches: write them to two tables
                """, at: job.location)
        }
        jobs.append(job)
        return job
    }

    func describe(_ name: QualifiedName) throws(SQLError) -> String {
        if let view = catalog.views[name.description] {
            return view.schema.fields.map { "\($0.name) \($0.type)\($0.nullable ? "" : " NOT NULL")" }.joined(separator: "\n")
        }
        let table = try catalog.table(name)
        var lines = try table.schema.fields.map { field -> String in
            var line = "\(field.name) \(field.type)\(field.nullable ? "" : " NOT NULL")"
            if let key = table.metadata[field.name] { line += " METADATA FROM '\(key)'" }
            if let computed = table.computed.first(where: { $0.name == field.name }) { line += " AS \(computed.expr)" }
            return line
        }
        if let watermark = table.watermark { lines.append("WATERMARK FOR \(watermark.column) AS \(watermark.column) - \(watermark.delay)") }
        if let key = table.primaryKey { lines.append("PRIMARY KEY (\(key.joined(separator: ", "))) NOT ENFORCED") }
        if !table.definition.partitionedBy.isEmpty {
            lines.append("PARTITIONED BY (\(table.definition.partitionedBy.map(\.name).joined(separator: ", ")))")
        }
        lines.append("WITH (" + (["'connector' = '\(table.connector.name)'"] + table.options.entries.filter { $0.key != "connector" }
            .map { "'\($0.key)' = '\($0.value)'" }).joined(separator: ", ") + ")")
        return lines.joined(separator: "\n")
    }

    /// The job writing `bound` into `table`: columns matched by position (or by the INSERT's column
    /// list) and cast to the table's types; the sink mode from the query and the table's key.
    func insertJob(into table: CatalogTable, _ bound: BoundQuery, columns: [Identifier]? = nil,
                   location: SourceLocation) throws(SQLError) -> SQLJob {
        let writable = table.columns.fields.filter { field in table.metadata[field.name] == nil }
        var targets = writable
        if let columns {
            targets = []
            for column in columns {
                if targets.contains(where: { $0.name == column.name }) {
                    throw SQLError("column `\(column.name)` is named twice", at: column.location)
                }
                guard let field = writable.first(where: { $0.name == column.name }) else {
                    var message = "`\(table.name)` has no column `\(column.name)`"
                    if let near = nearestName(to: column.name, in: writable.map(\.name)) { message += "; did you mean `\(near)`?" }
                    throw SQLError(message, at: column.location)
                }
                targets.append(field)
            }
            if targets.count != writable.count {
                throw SQLError("INSERT names \(targets.count) of the \(writable.count) columns of `\(table.name)`; name them all", at: location)
            }
        }
        guard bound.schema.fields.count == targets.count else {
            throw SQLError("the query makes \(bound.schema.fields.count) columns (\(bound.schema.names.joined(separator: ", "))) and `\(table.name)` takes \(targets.count) (\(targets.map(\.name).joined(separator: ", ")))", at: location)
        }
        var projections: [NamedExpr] = []
        var targetName: [String: String] = [:]
        for (field, source) in zip(targets, bound.schema.fields) {
            guard Self.assignable(source.type, to: field.type) else {
                throw SQLError("the query's column `\(source.name)` is \(source.type) and `\(table.name)`.`\(field.name)` is \(field.type): CAST it (or TRY_CAST)", at: location)
            }
            targetName[source.name] = field.name
            let column = Expr.column(source.name)
            projections.append(NamedExpr(field.type == source.type ? column : .cast(column, field.type, isTry: false), name: field.name))
        }
        // The sink receives the table's column order.
        projections = writable.map { field in projections.first { $0.name == field.name }! }
        var plan = bound.plan
        let identity = projections.count == bound.schema.fields.count
            && zip(projections, bound.schema.names).allSatisfy { $0.expr == .column($1) && $0.name == $1 }
        if !identity { plan = .project(plan, projections) }
        let renamedKeys = bound.upsertKeys?.compactMap { targetName[$0] }
        let mode = try sinkMode(bound, table: table, keys: renamedKeys, location: location)
        let sink = try table.connector.sink(try table.definition(bounded: catalog.bounded), mode: mode)
        let outputMode: OutputMode = switch mode {
        case .append: .append
        case .update: .update
        case .complete: .complete
        }
        let pipeline = StreamingPipeline(plan: .sink(plan, LogicalSink(sink, mode: outputMode)))
        // Plan it now, so a query the engine cannot run fails here, at its statement.
        do { _ = try pipeline.physicalPlan() } catch { throw SQLError(error.message, at: location) }
        return SQLJob(name: table.name, pipeline: pipeline, location: location)
    }

    /// Types an INSERT converts implicitly: the same type, any number into any number (as Flink
    /// widens INT into BIGINT or DECIMAL into DOUBLE), DATE and TIMESTAMP into each other, and anything
    /// into a string column.
    static func assignable(_ source: DataType, to target: DataType) -> Bool {
        source == target || (source.isNumeric && target.isNumeric) || target == .utf8
            || (source == .date && target == .timestamp) || (source == .timestamp && target == .date)
    }

    func sinkMode(_ bound: BoundQuery, table: CatalogTable, keys: [String]?, location: SourceLocation) throws(SQLError) -> SinkMode {
        if table.options["sink.output-mode"] == "complete" {
            guard bound.upsertKeys != [] else {
                throw SQLError("'sink.output-mode' = 'complete' re-emits a whole aggregated result; this query has no GROUP BY", at: location)
            }
            return .complete
        }
        guard bound.mode == .update else { return .append }
        guard let keys else {
            throw SQLError("""
                this query's result is updating (GROUP BY without a window), so each row needs its group's key: select \
                every GROUP BY column
                """, at: location)
        }
        guard let primaryKey = table.primaryKey, !primaryKey.isEmpty || keys.isEmpty else {
            throw SQLError("""
                this query's result is updating (GROUP BY without a window: a group's row changes as rows arrive), \
                and `\(table.name)` takes appends only. Either group by a window (FROM TABLE(TUMBLE(…)) … GROUP BY \
                window_start, window_end, …) for final rows, declare PRIMARY KEY (\(keys.joined(separator: ", "))) NOT ENFORCED \
                on `\(table.name)` to upsert, or set 'sink.output-mode' = 'complete'
                """, at: location)
        }
        guard Set(primaryKey) == Set(keys) else {
            throw SQLError("`\(table.name)`'s PRIMARY KEY (\(primaryKey.joined(separator: ", "))) differs from the query's group (\(keys.joined(separator: ", "))); an upsert sink is keyed by the group", at: location)
        }
        return .update
    }
}
