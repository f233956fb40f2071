import EddyEngine

/// A row-at-a-time model of the windowed aggregation, written for obviousness rather than speed: groups
/// in a Dictionary keep every row they were given, and aggregates are computed from those rows at
/// emit. The randomised tests compare the operator against it.
struct ReferenceAggregator {
    struct Row {
        var time: Int64
        var sequence: Int
        var values: [Value]
    }

    struct GroupID: Hashable {
        /// The window start; for cumulating windows (which share starts) the window end.
        var start: Int64
        var key: [Value]
    }

    struct Group {
        var start: Int64
        /// Last event time, for sessions.
        var last: Int64
        var key: [Value]
        var rows: [Row] = []
        var dirty = false
    }

    let schema: Schema
    let timeIndex: Int?
    let keyIndices: [Int]
    let aggregates: [(function: AggregateFunction, column: Int?)]
    let window: WindowSpec
    let mode: OutputMode
    var groups: [GroupID: Group] = [:]
    /// Sessions per key.
    var sessions: [[Value]: [Group]] = [:]
    var watermark = Int64.min
    var sequence = 0

    init(schema: Schema, timeColumn: String?, keyColumns: [String], aggregates: [AggregateSpec], window: WindowSpec, mode: OutputMode) {
        self.schema = schema
        timeIndex = timeColumn.map { schema.index(of: $0)! }
        keyIndices = keyColumns.map { schema.index(of: $0)! }
        self.aggregates = aggregates.map { ($0.function, $0.column.map { schema.index(of: $0)! }) }
        self.window = window
        self.mode = mode
    }

    var stateRows: Int { window.isSession ? sessions.values.reduce(0) { $0 + $1.count } : groups.count }

    /// -0.0 groups with 0.0 (the model's data has no NaN).
    static func normalize(_ value: Value) -> Value {
        if case .float64(let x) = value, x == 0 { return .float64(0) }
        return value
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    mutating func process(_ rows: [[Value]], watermark mark: Int64) -> (late: [Int32], nullTime: [Int32]) {
        watermark = max(watermark, mark)
        let lateBefore = mode == .complete ? Int64.min : watermark
        var late: [Int32] = [], nullTime: [Int32] = []
        for (index, values) in rows.enumerated() {
            var time: Int64 = 0
            if let timeIndex {
                guard case .timestamp(let t) = values[timeIndex] else {
                    nullTime.append(Int32(index))
                    continue
                }
                time = t
            }
            let row = Row(time: time, sequence: sequence + index, values: values)
            let key = keyIndices.map { Self.normalize(values[$0]) }
            switch window {
            case .none:
                add(row, start: 0, key: key)
            case .tumbling(let size, let offset):
                let start = Self.floorDiv(time - offset, size) * size + offset
                if start + size <= lateBefore { late.append(Int32(index)) } else { add(row, start: start, key: key) }
            case .hopping(let size, let slide):
                var any = false
                var start = Self.floorDiv(time - size, slide) * slide + slide
                while start <= time {
                    if start + size > lateBefore {
                        add(row, start: start, key: key)
                        any = true
                    }
                    start += slide
                }
                if !any { late.append(Int32(index)) }
            case .cumulating(let size, let step):
                // Every window [period start, e) with e on the step grid, t < e ≤ period end.
                let periodStart = Self.floorDiv(time, size) * size
                var any = false
                var end = periodStart + step
                while end <= periodStart + size {
                    if end > time && end > lateBefore {
                        add(row, start: end, key: key)
                        any = true
                    }
                    end += step
                }
                if !any { late.append(Int32(index)) }
            case .session(let gap):
                if time < lateBefore {
                    late.append(Int32(index))
                    continue
                }
                var merged = Group(start: time, last: time, key: key, rows: [row], dirty: true)
                var kept: [Group] = []
                for session in sessions[key] ?? [] {
                    if session.start <= time + gap && time <= session.last + gap {
                        merged.start = min(merged.start, session.start)
                        merged.last = max(merged.last, session.last)
                        merged.rows += session.rows
                    } else {
                        kept.append(session)
                    }
                }
                sessions[key] = kept + [merged]
            }
        }
        sequence += rows.count
        return (late, nullTime)
    }

    private mutating func add(_ row: Row, start: Int64, key: [Value]) {
        let id = GroupID(start: start, key: key)
        groups[id, default: Group(start: start, last: 0, key: key)].rows.append(row)
        groups[id]!.dirty = true
    }

    private func start(_ group: Group) -> Int64 {
        if case .cumulating(let size, _) = window { return Self.floorDiv(group.start - 1, size) * size }
        return group.start
    }

    private func end(_ group: Group) -> Int64 {
        switch window {
        case .none: .max
        case .tumbling(let size, _), .hopping(let size, _): group.start + size
        case .cumulating: group.start
        case .session(let gap): group.last + gap
        }
    }

    mutating func emit(watermark mark: Int64) -> [[Value]] {
        watermark = max(watermark, mark)
        var all = window.isSession ? sessions.values.flatMap { $0 } : Array(groups.values)
        var output: [Group]
        switch mode {
        case .append: output = all.filter { end($0) <= watermark }
        case .update: output = all.filter(\.dirty)
        case .complete: output = all
        }
        for index in all.indices { all[index].dirty = false }
        if mode != .complete {
            all = all.filter { end($0) > watermark }
        }
        if window.isSession {
            sessions = Dictionary(grouping: all, by: \.key)
        } else {
            groups = Dictionary(uniqueKeysWithValues: all.map { (GroupID(start: $0.start, key: $0.key), $0) })
        }
        output.sort { a, b in
            if end(a) != end(b) { return end(a) < end(b) }
            if start(a) != start(b) { return start(a) < start(b) }
            for (x, y) in zip(a.key, b.key) where Self.compare(x, y) != 0 { return Self.compare(x, y) < 0 }
            return false
        }
        return output.map(row)
    }

    mutating func flushAll() -> [[Value]] {
        let output = emit(watermark: .max)
        groups = [:]
        sessions = [:]
        return output
    }

    private func row(_ group: Group) -> [Value] {
        var values: [Value] = []
        if window.isWindowed {
            values.append(.timestamp(start(group)))
            values.append(.timestamp(end(group)))
        }
        values += group.key
        for (function, column) in aggregates { values.append(aggregate(function, column, group.rows)) }
        return values
    }

    private func aggregate(_ function: AggregateFunction, _ column: Int?, _ rows: [Row]) -> Value {
        guard let column else { return .int64(Int64(rows.count)) }
        let present = rows.filter { !$0.values[column].isNull }
        let values = present.map { $0.values[column] }
        let type = schema.fields[column].type
        switch function {
        case .count:
            return .int64(Int64(values.count))
        case .countDistinct:
            return .int64(Int64(Set(values.map(Self.normalize)).count))
        case .sum, .avg:
            guard !values.isEmpty else { return .null }
            switch type {
            case .float64:
                let sum = values.reduce(0.0) { if case .float64(let x) = $1 { return $0 + x }; return $0 }
                return .float64(function == .sum ? sum : sum / Double(values.count))
            default:
                var sum: Int64 = 0
                for value in values {
                    switch value {
                    case .int64(let x), .decimal(let x, _): sum += x
                    default: break
                    }
                }
                if function == .avg { return .float64(Double(sum) / Double(values.count) / Double(type.decimalFactor)) }
                if case .decimal(let scale) = type { return .decimal(sum, scale: scale) }
                return .int64(sum)
            }
        case .min, .max:
            guard var best = values.first else { return .null }
            for value in values.dropFirst() {
                let order = Self.compare(value, best)
                if function == .min ? order < 0 : order > 0 { best = value }
            }
            return best
        case .first, .last:
            guard var best = present.first else { return .null }
            for row in present.dropFirst() {
                let earlier = row.time < best.time || (row.time == best.time && row.sequence < best.sequence)
                if function == .first ? earlier : !earlier { best = row }
            }
            return best.values[column]
        }
    }

    /// Output order of values: NULL first; numbers ascending (NaN last); strings by UTF-8 bytes; false < true.
    static func compare(_ a: Value, _ b: Value) -> Int {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)), (.decimal(let x, _), .decimal(let y, _)):
            return sign(x, y)
        case (.float64(let x), .float64(let y)):
            if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? 0 : (x.isNaN ? 1 : -1) }
            return sign(x, y)
        case (.string(let x), .string(let y)):
            return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)):
            return x == y ? 0 : (x ? 1 : -1)
        default:
            preconditionFailure("comparing \(a) with \(b)")
        }
    }
}
