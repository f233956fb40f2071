import EddyEngine

/// SQL type names to the engine's types. Flink's names are accepted; where the engine has one type
/// for several SQL types the mapping is written down here and in docs/sql.md:
///
/// | SQL | engine |
/// |---|---|
/// | BOOLEAN | BOOLEAN |
/// | TINYINT, SMALLINT, INT, INTEGER, BIGINT | BIGINT (64-bit) |
/// | FLOAT, REAL, DOUBLE [PRECISION] | DOUBLE |
/// | DECIMAL(p, s), NUMERIC, DEC | DECIMAL(18, s): p at most 18 |
/// | STRING, VARCHAR(n), CHAR(n) | TEXT (n not enforced) |
/// | TIMESTAMP(p), TIMESTAMP_LTZ(p) | TIMESTAMP, milliseconds, UTC (p up to 3) |
/// | DATE | DATE (days since 1970-01-01) |
/// | ROW<…> | its fields flattened to `name.field` columns (nested JSON) |
enum SQLTypes {
    static func engineType(_ type: TypeName) throws(SQLError) -> DataType {
        switch type.name {
        case "BOOLEAN", "BOOL":
            return .bool
        case "TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT":
            return .int64
        case "FLOAT", "REAL", "DOUBLE":
            return .float64
        case "DECIMAL", "NUMERIC", "DEC":
            let precision = type.parameters.first ?? 10
            let scale = type.parameters.count > 1 ? type.parameters[1] : 0
            guard type.parameters.count <= 2, precision >= 1, precision <= 18, scale >= 0, scale <= precision else {
                throw SQLError("DECIMAL(\(type.parameters.map(String.init).joined(separator: ", "))) is out of range: precision 1 to 18, scale 0 to the precision", at: type.location)
            }
            return .decimal(scale: scale)
        case "STRING", "VARCHAR", "CHAR", "TEXT":
            return .utf8
        case "TIMESTAMP", "TIMESTAMP_LTZ":
            if let precision = type.parameters.first, precision > 3 {
                throw SQLError("\(type) keeps more than milliseconds; Eddy's timestamps have millisecond precision: use \(type.name)(3)", at: type.location)
            }
            return .timestamp
        case "DATE":
            return .date
        case "TIME", "TIME_LTZ":
            throw SQLError("\(type.name) is not supported yet; use TIMESTAMP(3)", at: type.location)
        case "ROW":
            throw SQLError("a ROW type is only supported as a table column (its fields become nested JSON fields)", at: type.location)
        case "ARRAY", "MAP", "MULTISET", "BYTES", "BINARY", "VARBINARY", "RAW":
            throw SQLError("\(type.name) is not supported yet", at: type.location)
        default:
            var message = "unknown type \(type.name)"
            if let near = nearestName(to: type.name, in: knownNames) { message += "; did you mean \(near)?" }
            throw SQLError(message, at: type.location)
        }
    }

    static let knownNames = ["BOOLEAN", "TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL",
                             "NUMERIC", "STRING", "VARCHAR", "CHAR", "TIMESTAMP", "TIMESTAMP_LTZ", "DATE", "ROW"]

    /// A column's fields: one for a plain type, one per leaf for a ROW (`payload.device.id`).
    static func fields(_ name: String, _ type: TypeName, nullable: Bool) throws(SQLError) -> [Field] {
        guard type.name == "ROW" else { return [Field(name, try engineType(type), nullable: nullable)] }
        var fields: [Field] = []
        for field in type.fields {
            fields += try Self.fields(name + "." + field.name.name, field.type, nullable: true)
        }
        return fields
    }

    /// Milliseconds of an interval literal: `'10' SECOND`, `'1:30' MINUTE TO SECOND`, `'5 minutes'`.
    static func intervalMilliseconds(_ text: String, unit: String?, toUnit: String?, at location: SourceLocation) throws(SQLError) -> Int64 {
        func factor(_ unit: String) -> Int64? {
            switch unit.uppercased() {
            case "MILLISECOND", "MILLISECONDS", "MS": 1
            case "SECOND", "SECONDS", "S", "SEC", "SECS": 1000
            case "MINUTE", "MINUTES", "MIN", "MINS": 60_000
            case "HOUR", "HOURS", "H": 3_600_000
            case "DAY", "DAYS", "D": 86_400_000
            case "WEEK", "WEEKS": 604_800_000
            default: nil
            }
        }
        let bad = SQLError("cannot read INTERVAL '\(text)'\(unit.map { " \($0)" } ?? ""): write it as INTERVAL '10' SECOND", at: location)
        if unit == "YEAR" || unit == "YEARS" || unit == "MONTH" || unit == "MONTHS" {
            throw SQLError("intervals of months and years have no fixed length; use days", at: location)
        }
        var trimmed = text.trimmingSpaces
        // A sign applies to the whole interval ('-1:30' MINUTE TO SECOND is minus 90 seconds).
        let negative = trimmed.hasPrefix("-")
        if negative || trimmed.hasPrefix("+") { trimmed = String(trimmed.dropFirst()) }
        var total = 0.0
        if let unit, let toUnit {
            // '1:30' MINUTE TO SECOND: colon-separated parts from `unit` down to `toUnit`.
            let order = ["DAY", "HOUR", "MINUTE", "SECOND"]
            guard let from = order.firstIndex(of: unit), let to = order.firstIndex(of: toUnit), from < to else { throw bad }
            let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == to - from + 1 else { throw bad }
            for (offset, part) in parts.enumerated() {
                guard let value = Double(part), value >= 0, let unitFactor = factor(order[from + offset]) else { throw bad }
                total += value * Double(unitFactor)
            }
        } else if let unit {
            guard let unitFactor = factor(unit), let value = Double(trimmed), value >= 0 else { throw bad }
            total = value * Double(unitFactor)
        } else {
            // RisingWave's '5 minutes', '1 hour'.
            let pieces = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard pieces.count == 2, let value = Double(pieces[0]), value >= 0, let unitFactor = factor(String(pieces[1])) else { throw bad }
            total = value * Double(unitFactor)
        }
        // About 292 million years either way fits; beyond (or NaN) is refused, never trapped on.
        guard total.isFinite, total.rounded() < 9.2e18 else {
            throw SQLError("INTERVAL '\(text)' is out of range", at: location)
        }
        let millis = Int64(total.rounded())
        return negative ? -millis : millis
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars = scalars.dropFirst() }
        while scalars.last == " " { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
