/// What a checkpoint's offsets and state depend on, and nothing else: the number of sources, the
/// watermark (column and delay), and each aggregation's window, keys, aggregates, the types they read
/// and the output mode. Filters, projections, the sink and any wording of `explain()` are left out,
/// so changing them keeps a checkpoint usable; changing anything here makes a query refuse it.
///
/// The fingerprint hashes `canonical`, an encoding built field by field from these values (never
/// from descriptions meant for people), so rewording a description cannot invalidate checkpoints.
/// Adding a field to the encoding is a format change: bump `version` and accept the old one.
public struct StatefulSignature: Sendable, Hashable, Codable {
    public struct Watermark: Sendable, Hashable, Codable {
        public var column: String
        public var delayMs: Int64

        public init(column: String, delayMs: Int64) {
            self.column = column
            self.delayMs = delayMs
        }
    }

    public struct Window: Sendable, Hashable, Codable {
        /// "tumbling", "hopping", "session" or "cumulating" (its step in `slideMs`).
        public var kind: String
        public var column: String
        public var sizeMs: Int64?
        public var slideMs: Int64?
        public var gapMs: Int64?
    }

    public struct Column: Sendable, Hashable, Codable {
        public var name: String
        public var type: String
    }

    public struct AggregateCall: Sendable, Hashable, Codable {
        public var function: String
        /// nil for count(*).
        public var input: Column?
    }

    public struct Aggregation: Sendable, Hashable, Codable {
        public var window: Window?
        public var keys: [Column]
        public var aggregates: [AggregateCall]
        public var mode: String
    }

    public static let currentVersion = 2

    public var version = Self.currentVersion
    public var sources: Int
    public var watermark: Watermark?
    public var aggregations: [Aggregation]

    public init(sources: Int, watermark: Watermark?, aggregations: [Aggregation]) {
        self.sources = sources
        self.watermark = watermark
        self.aggregations = aggregations
    }

    /// The canonical encoding: fixed field order, every string length-prefixed (so no name can
    /// imitate a separator), integers in decimal.
    public var canonical: String {
        var text = "eddy-signature;v=\(version);sources=\(sources);"
        func string(_ value: String) { text += "\(value.utf8.count):\(value);" }
        func int(_ value: Int64?) { text += value.map { "\($0);" } ?? "-;" }
        func column(_ value: Column?) {
            guard let value else { text += "-;"; return }
            string(value.name)
            string(value.type)
        }
        if let watermark {
            text += "watermark;"
            string(watermark.column)
            int(watermark.delayMs)
        } else {
            text += "nowatermark;"
        }
        for aggregation in aggregations {
            text += "aggregation;"
            if let window = aggregation.window {
                text += "window;"
                string(window.kind)
                string(window.column)
                int(window.sizeMs)
                int(window.slideMs)
                int(window.gapMs)
            } else {
                text += "nowindow;"
            }
            text += "keys=\(aggregation.keys.count);"
            aggregation.keys.forEach(column)
            text += "aggregates=\(aggregation.aggregates.count);"
            for call in aggregation.aggregates {
                string(call.function)
                column(call.input)
            }
            string(aggregation.mode)
        }
        return text
    }

    /// FNV-1a (64-bit) of the canonical encoding, as 16 hex digits.
    public var fingerprint: String { Self.fnv1a(canonical) }

    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Refuses a checkpoint written by a pipeline with other stateful steps, saying what differs.
    /// `legacyFingerprint` is what metadata version 1 stored for this pipeline (a hash of its
    /// physical plan's text; see `PhysicalPlan.legacyFingerprint`), to accept checkpoints written
    /// before signatures.
    func check(_ metadata: CheckpointMetadata, legacyFingerprint: String?) throws(EngineError) {
        if let stored = metadata.signature {
            guard stored.canonical != canonical else { return }
            throw .checkpoint("""
                the checkpoint was written by a different pipeline (other stateful steps); use a new checkpoint \
                directory (or delete this one to start over). What differs:
                \(differences(from: stored).joined(separator: "\n"))
                """)
        }
        guard let legacyFingerprint, metadata.pipelineFingerprint == legacyFingerprint else {
            throw .checkpoint("""
                the checkpoint was written by a different pipeline (other stateful steps); use a new checkpoint \
                directory (or delete this one to start over).
                checkpoint plan:
                \(metadata.plan ?? "(not recorded)")
                this pipeline's stateful steps:
                \(summary)
                """)
        }
    }

    /// The stateful steps for people, one line each.
    public var summary: String {
        var lines = ["sources: \(sources)", "watermark: " + (watermark.map { "\($0.column) - \($0.delayMs) ms" } ?? "none")]
        for (index, aggregation) in aggregations.enumerated() {
            lines.append("aggregation \(index + 1): \(aggregation.summary)")
        }
        return lines.joined(separator: "\n")
    }

    func differences(from stored: StatefulSignature) -> [String] {
        var lines: [String] = []
        func differ(_ what: String, _ old: String, _ new: String) {
            if old != new { lines.append("  \(what): checkpoint \(old), this pipeline \(new)") }
        }
        differ("sources", String(stored.sources), String(sources))
        differ("watermark", stored.watermark.map { "\($0.column) - \($0.delayMs) ms" } ?? "none",
               watermark.map { "\($0.column) - \($0.delayMs) ms" } ?? "none")
        differ("aggregations", String(stored.aggregations.count), String(aggregations.count))
        for (index, (old, new)) in zip(stored.aggregations, aggregations).enumerated() {
            let name = "aggregation \(index + 1)"
            differ("\(name) window", old.windowSummary, new.windowSummary)
            differ("\(name) keys", old.keysSummary, new.keysSummary)
            differ("\(name) aggregates", old.aggregatesSummary, new.aggregatesSummary)
            differ("\(name) output mode", old.mode, new.mode)
        }
        if lines.isEmpty { lines.append("  the signature format (version \(stored.version) against \(version))") }
        return lines
    }
}

extension StatefulSignature.Aggregation {
    var windowSummary: String {
        guard let window else { return "none" }
        switch window.kind {
        case "tumbling": return "TUMBLE(\(window.column), \(window.sizeMs ?? 0) ms)"
        case "hopping": return "HOP(\(window.column), slide \(window.slideMs ?? 0) ms, size \(window.sizeMs ?? 0) ms)"
        case "cumulating": return "CUMULATE(\(window.column), step \(window.slideMs ?? 0) ms, size \(window.sizeMs ?? 0) ms)"
        default: return "SESSION(\(window.column), gap \(window.gapMs ?? 0) ms)"
        }
    }

    var keysSummary: String { "[" + keys.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + "]" }

    var aggregatesSummary: String {
        "[" + aggregates.map { "\($0.function)(\($0.input.map { "\($0.name) \($0.type)" } ?? "*"))" }.joined(separator: ", ") + "]"
    }

    var summary: String { "window \(windowSummary), keys \(keysSummary), aggregates \(aggregatesSummary), mode \(mode)" }
}
