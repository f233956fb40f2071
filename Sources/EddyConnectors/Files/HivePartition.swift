import EddyEngine

/// Hive-style partition directories (`dt=2026-11-22/hour=13/`), as Hive, Spark, Flink, pyarrow and
/// DuckDB write and read them: one `name=value` directory per partition column, in declared order;
/// the value as text with Hive's escapes (`%` and two upper-case hex digits for `/`, `=`, `%`, `:`,
/// `#`, quotes, wildcards, brackets, `\`, `^`, `{` and control characters); NULL (and the empty
/// string) as `__HIVE_DEFAULT_PARTITION__`. The partition columns are left out of the files.
public enum HivePartition {
    public static let nullValue = "__HIVE_DEFAULT_PARTITION__"

    /// The value's text: timestamps as Spark writes them (`2026-11-22 13:00:00`, milliseconds when
    /// not zero), dates ISO, decimals with their scale.
    static func text(_ column: Column, _ row: Int) -> String? {
        guard !column.isNull(row) else { return nil }
        switch column.value(at: row) {
        case .null: return nil
        case .bool(let value): return value ? "true" : "false"
        case .int64(let value): return String(value)
        case .float64(let value): return String(value)
        case .string(let value): return value.isEmpty ? nil : value
        case .date(let days): return formatDate(days)
        case .decimal(let unscaled, let scale): return formatDecimal(unscaled, scale: scale)
        case .timestamp(let millis):
            var text = formatTimestamp(millis).replacingOccurrences(of: "T", with: " ")
            text.removeLast()  // Z
            if text.hasSuffix(".000") { text.removeLast(4) }
            return text
        }
    }

    /// `name=value` with Hive's escapes.
    static func segment(_ name: String, _ value: String?) -> String {
        escape(name) + "=" + (value.map(escape) ?? nullValue)
    }

    static func escape(_ text: String) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F || Self.escaped.contains(byte) {
                result += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static let escaped: Set<UInt8> = Set("\"#%'*/:=?\\{[]^".utf8)

    /// `%XX` decoded (anything else, a stray `%` included, kept as it is).
    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        let bytes = Array(text.utf8)
        var result: [UInt8] = []
        var index = 0
        func digit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = digit(bytes[index + 1]), let low = digit(bytes[index + 2]) {
                result.append(high << 4 | low)
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// The `name=value` directories of a relative file path, names and values unescaped (nil for
    /// the NULL partition).
    static func values(in path: String) -> [String: String?] {
        var result: [String: String?] = [:]
        for part in path.split(separator: "/").dropLast() {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = unescape(String(part[..<equals]))
            let value = String(part[part.index(after: equals)...])
            result[name] = value == nullValue ? String?.none : unescape(value)
        }
        return result
    }

    /// Each row's partition directory (`dt=…/hour=…`), and the rows of each directory in order of
    /// first appearance.
    static func split(_ batch: RecordBatch, by names: [String]) -> [(directory: String, rows: [Int32])] {
        let columns = names.map { batch.column($0)! }
        var order: [String] = []
        var rows: [String: [Int32]] = [:]
        for row in 0..<batch.count {
            let directory = zip(names, columns).map { segment($0, text($1, row)) }.joined(separator: "/")
            if rows[directory] == nil { order.append(directory) }
            rows[directory, default: []].append(Int32(row))
        }
        return order.map { ($0, rows[$0]!) }
    }
}

/// A size as Flink writes it: `128MB`, `1 gb`, `64k`, `65536` (bytes); nil when it is not one (or
/// is over 1 TiB).
public func parseByteSize(_ text: String) -> Int? {
    let compact = text.replacingOccurrences(of: " ", with: "").lowercased()
    let units: [(String, Int)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
    var number = compact, factor = 1
    for (suffix, value) in units where compact.hasSuffix(suffix) {
        number = String(compact.dropLast(suffix.count))
        factor = value
        break
    }
    guard let count = Int(number), count > 0, count <= (1 << 40) / factor else { return nil }
    return count * factor
}
