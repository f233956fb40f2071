import EddyEngine

/// A table `CREATE TABLE` declared: its columns in engine types, watermark, key and connector.
public struct CatalogTable: Sendable {
    public var definition: CreateTable
    /// Physical and metadata columns (what the connector produces), ROW fields flattened.
    public var columns: Schema
    public var metadata: [String: String]
    /// Computed columns, in declared order, bound over `columns`.
    public var computed: [NamedExpr]
    /// The event-time column and how far the watermark trails it.
    public var watermark: (column: String, delay: Interval)?
    public var primaryKey: [String]?
    public var connector: any TableConnector
    public var options: TableOptions

    public var name: String { definition.name.description }

    /// Every column a query sees: stored, then computed.
    public var schema: Schema {
        get throws(SQLError) {
            guard !computed.isEmpty else { return columns }
            do {
                return try LogicalPlan.project(.source(LogicalSource(PlaceholderSource(schema: columns))),
                                               columns.names.map { NamedExpr(.column($0), name: $0) } + computed).schema()
            } catch {
                throw SQLError(error.message, at: definition.location)
            }
        }
    }

    public func definition(bounded: Bool) throws(SQLError) -> TableDefinition {
        var table = TableDefinition(name: name, schema: columns, metadata: metadata, primaryKey: primaryKey, options: options,
                                    bounded: bounded, location: definition.location)
        table.partitionKeys = definition.partitionedBy.map(\.name)
        for column in definition.columns where ["DECIMAL", "NUMERIC", "DEC"].contains(column.type?.name ?? "") {
            table.decimalPrecision[column.name.name] = column.type?.parameters.first ?? 10
        }
        return table
    }
}

/// Stands for a source while a table's schema is checked; never read.
struct PlaceholderSource: SourceDescriptor {
    let schema: Schema
    var isBounded: Bool { true }
    var description: String { "placeholder" }
    func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        throw .internal("a placeholder source is never read")
    }
}

/// Tables and views by name, and the connectors they name.
public final class Catalog: @unchecked Sendable {
    public let connectors: ConnectorRegistry
    public private(set) var tables: [String: CatalogTable] = [:]
    public private(set) var views: [String: (query: Query, schema: Schema)] = [:]
    /// Sources read up to where they end now (`eddy run --bounded`).
    public var bounded: Bool

    public init(connectors: ConnectorRegistry, bounded: Bool = false) {
        self.connectors = connectors
        self.bounded = bounded
    }

    var names: [String] { Array(tables.keys) + Array(views.keys) }

    /// The tables and views as they are now, to go back to (EXPLAIN changes nothing).
    struct Snapshot {
        fileprivate let tables: [String: CatalogTable]
        fileprivate let views: [String: (query: Query, schema: Schema)]
    }

    func snapshot() -> Snapshot { Snapshot(tables: tables, views: views) }

    func restore(_ snapshot: Snapshot) {
        tables = snapshot.tables
        views = snapshot.views
    }

    // MARK: DDL

    public func createTable(_ table: CreateTable) throws(SQLError) -> CatalogTable? {
        let name = table.name.description
        if tables[name] != nil || views[name] != nil {
            if table.ifNotExists { return nil }
            throw SQLError("`\(name)` exists already", at: table.name.location)
        }
        let options = TableOptions(table.options, location: table.location)
        let connector = try connectors.connector(for: options)
        var fields: [Field] = []
        var metadata: [String: String] = [:]
        var computedColumns: [(Identifier, Expression)] = []
        for column in table.columns {
            switch column.origin {
            case .computed(let expression):
                computedColumns.append((column.name, expression))
                continue
            case .metadata(let key, _):
                let key = key ?? column.name.name
                guard connector.metadataKeys.contains(key) else {
                    let offered = connector.metadataKeys.sorted()
                    throw SQLError("connector '\(connector.name)' has no metadata '\(key)'" + (offered.isEmpty ? "" : "; it offers \(offered.joined(separator: ", "))"),
                                   at: column.name.location)
                }
                metadata[column.name.name] = key
            case .physical:
                break
            }
            guard let type = column.type else { continue }
            for field in try SQLTypes.fields(column.name.name, type, nullable: column.nullable) {
                if fields.contains(where: { $0.name == field.name }) {
                    throw SQLError("column `\(field.name)` is declared twice", at: column.name.location)
                }
                fields.append(field)
            }
        }
        if fields.isEmpty && table.query == nil {
            throw SQLError("table `\(name)` declares no columns", at: table.location)
        }
        var entry = CatalogTable(definition: table, columns: Schema(fields), metadata: metadata, computed: [], watermark: nil,
                                 primaryKey: table.primaryKey?.map(\.name), connector: connector, options: options)
        let relation = Relation(plan: .source(LogicalSource(PlaceholderSource(schema: entry.columns))), schema: entry.columns,
                                qualifiers: [name], name: "`\(name)`", window: nil, windowLocation: nil)
        let binder = ExpressionBinder(scope: RelationScope(relation: relation))
        for (column, expression) in computedColumns {
            entry.computed.append(NamedExpr(try binder.bind(expression), name: column.name))
        }
        let schema = try entry.schema
        if let keys = table.primaryKey {
            for key in keys where schema.index(of: key.name) == nil {
                throw SQLError("primary key column `\(key.name)` is not a column of `\(name)`", at: key.location)
            }
        }
        if let watermark = table.watermark {
            entry.watermark = try Self.watermark(watermark, schema: schema)
        }
        if let first = table.partitionedBy.first, !connector.partitionable {
            throw SQLError("connector '\(connector.name)' has no partition directories; PARTITIONED BY is for 'filesystem' tables", at: first.location)
        }
        for (index, key) in table.partitionedBy.enumerated() {
            guard entry.columns.index(of: key.name) != nil, metadata[key.name] == nil else {
                throw SQLError("partition column `\(key.name)` is not a physical column of `\(name)`", at: key.location)
            }
            if table.partitionedBy[..<index].contains(where: { $0.name == key.name }) {
                throw SQLError("partition column `\(key.name)` is listed twice", at: key.location)
            }
        }
        if !table.partitionedBy.isEmpty && table.partitionedBy.count == entry.columns.count {
            throw SQLError("every column of `\(name)` is a partition column; the files need at least one other", at: table.location)
        }
        try connector.validate(try entry.definition(bounded: bounded))
        return entry
    }

    /// Adds a table made by `createTable` (after its query, if any, was bound).
    public func add(_ table: CatalogTable) {
        tables[table.name] = table
    }

    public func createView(_ name: QualifiedName, _ query: Query, ifNotExists: Bool) throws(SQLError) {
        let key = name.description
        if tables[key] != nil || views[key] != nil {
            if ifNotExists { return }
            throw SQLError("`\(key)` exists already", at: name.location)
        }
        let bound = try QueryBinder(catalog: self).bind(query)
        views[key] = (query, bound.schema)
    }

    public func drop(_ kind: Statement.DropKind, _ name: QualifiedName, ifExists: Bool) throws(SQLError) {
        let key = name.description
        switch kind {
        case .table where tables[key] != nil: tables[key] = nil
        case .view where views[key] != nil: views[key] = nil
        default:
            if ifExists { return }
            throw unknown(name)
        }
    }

    /// `WATERMARK FOR ts AS ts - INTERVAL '10' SECOND` (or `AS ts`: no delay).
    static func watermark(_ definition: WatermarkDefinition, schema: Schema) throws(SQLError) -> (column: String, delay: Interval) {
        let column = definition.column.name
        guard let field = schema.field(named: column) else {
            throw SQLError("the watermark's column `\(column)` is not a column of the table", at: definition.column.location)
        }
        guard field.type == .timestamp else {
            throw SQLError("the watermark's column `\(column)` is \(field.type), not TIMESTAMP(3)", at: definition.column.location)
        }
        let form = "write WATERMARK FOR \(column) AS \(column) - INTERVAL '5' SECOND (a bounded delay on the same column)"
        switch definition.expression {
        case .name(let name) where name.description == column:
            return (column, .milliseconds(0))
        case .binary("-", .name(let name), .literal(.interval(let text, let unit, let toUnit), let location), _) where name.description == column:
            let millis = try SQLTypes.intervalMilliseconds(text, unit: unit, toUnit: toUnit, at: location)
            guard millis >= 0 else { throw SQLError("the watermark delay must not be negative", at: location) }
            return (column, .milliseconds(millis))
        default:
            throw SQLError("this watermark expression is not supported; " + form, at: definition.expression.location)
        }
    }

    // MARK: lookup

    func unknown(_ name: QualifiedName) -> SQLError {
        var message = "unknown table or view `\(name)`"
        if let near = nearestName(to: name.description, in: names) { message += "; did you mean `\(near)`?" }
        return SQLError(message, at: name.location)
    }

    public func table(_ name: QualifiedName) throws(SQLError) -> CatalogTable {
        guard let table = tables[name.description] else { throw unknown(name) }
        return table
    }

    /// The rows of a table (its source, computed columns and watermark) or a view.
    func relation(_ name: QualifiedName) throws(SQLError) -> Relation {
        let key = name.description
        if let view = views[key] {
            let bound = try QueryBinder(catalog: self).bind(view.query)
            return Relation(plan: bound.plan, schema: bound.schema, qualifiers: [name.last.name], name: "`\(key)`", window: nil, windowLocation: nil)
        }
        let table = try table(name)
        let source = try table.connector.source(try table.definition(bounded: bounded))
        var plan = LogicalPlan.source(LogicalSource(source))
        if !table.computed.isEmpty {
            plan = .project(plan, table.columns.names.map { NamedExpr(.column($0), name: $0) } + table.computed)
        }
        if let watermark = table.watermark {
            let idle = try table.options.duration("scan.watermark.idle-timeout")
            plan = .watermark(plan, column: watermark.column, delay: watermark.delay, idleTimeout: idle)
        }
        return Relation(plan: plan, schema: try table.schema, qualifiers: [name.last.name], name: "`\(key)`", window: nil, windowLocation: nil)
    }

    /// The column the plan's watermark is declared on, if any.
    func watermarkColumn(of plan: LogicalPlan) -> String? {
        switch plan {
        case .watermark(_, let column, _, _): column
        case .source: nil
        case .filter(let input, _), .project(let input, _), .aggregate(let input, _, _, _), .sink(let input, _): watermarkColumn(of: input)
        }
    }
}
