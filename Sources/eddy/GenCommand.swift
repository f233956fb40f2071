import ArgumentParser
import EddyConnectors
import EddyCore
import EddyKafka
import Foundation

/// `eddy gen`: deterministic event streams (purchases, card transactions, sensor readings, bids)
/// as JSON lines, to files, to stdout, or to a topic of any Kafka-protocol cluster (librdkafka).
struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate deterministic events as JSON lines (files, stdout or a Kafka topic).",
        discussion: """
            The same kind, seed and count always give the same bytes. Event times rise evenly over \
            --span-ms from --start-ms (or from now with --live); --disorder of them arrive up to \
            --max-disorder-ms early. To publish to a topic (Eddy's broker or Kafka), keyed by the event's \
            user, card, sensor or auction id:
              eddy gen purchases --count 100000 --bootstrap-server 127.0.0.1:9092 --topic shop.purchases.v1
            or through any Kafka client reading stdout:
              eddy gen purchases --count 100000 --keyed | kcat -P -b 127.0.0.1:9092 -t shop.purchases.v1 -K '\\t'
            """
    )

    @Argument(help: "What to generate: \(EventGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: String

    @Option(help: "Number of events.")
    var count: Int64 = 1_000_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Option(help: "Event time of the first event, epoch milliseconds (default 2026-01-01T00:00:00Z).")
    var startMs: Int64 = 1_767_225_600_000

    @Option(help: "Event-time span of all events, in milliseconds.")
    var spanMs: Int64 = 2 * 3_600_000

    @Option(help: "Fraction of events shifted back in time (out of order).")
    var disorder = 0.2

    @Option(help: "Largest shift back, in milliseconds.")
    var maxDisorderMs: Int64 = 5000

    @Option(help: "Fraction of lines replaced by malformed ones (to see dead-lettering).")
    var malformed = 0.0

    @Option(help: "How much hot keys and top categories dominate (0: uniform; 1: the hottest 1 % of keys get a tenth of the events).")
    var skew = 0.0

    @Option(help: "Directory to write files into (renamed into place whole); stdout when absent.")
    var out: String?

    @Option(help: "Number of files to split the events over (with --out).")
    var files = 1

    @Flag(help: "Prefix each stdout line with its key and a tab (kcat -K '\\t').")
    var keyed = false

    @Option(help: "Kafka bootstrap servers (host:port,…) to publish to, with --topic.")
    var bootstrapServer: String?

    @Option(help: "Topic to publish to (with --bootstrap-server); each record keyed by its event's user, card, sensor or auction id.")
    var topic: String?

    @Option(name: .customLong("producer-property"), parsing: .singleValue,
            help: "A librdkafka producer property, name=value (repeatable), e.g. compression.type=zstd. Defaults: acks=all, enable.idempotence=true, partitioner=murmur2_random, message.timeout.ms=30000.")
    var producerProperties: [String] = []

    @Option(help: "Events per second to stdout or the topic (paced in real time); unpaced when absent.")
    var rate: Int64?

    @Flag(help: "Event times start now and span count/rate seconds (with --rate).")
    var live = false

    func validate() throws {
        guard EventGenerator.Kind(rawValue: kind) != nil else {
            throw ValidationError("unknown kind \(kind); choose one of \(EventGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard count >= 0, files >= 1, (0...1).contains(disorder), (0...1).contains(malformed), skew >= 0, skew <= 10 else {
            throw ValidationError("--count must be ≥ 0, --files ≥ 1, --disorder and --malformed within 0...1, --skew within 0...10")
        }
        if live && rate == nil { throw ValidationError("--live needs --rate") }
        if (bootstrapServer == nil) != (topic == nil) { throw ValidationError("--bootstrap-server and --topic go together") }
        if topic != nil && out != nil { throw ValidationError("--out and --topic exclude each other") }
        for property in producerProperties where property.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first?.isEmpty != false || !property.contains("=") {
            throw ValidationError("--producer-property takes name=value, got \(property)")
        }
        if topic != nil && (keyed || files != 1) { throw ValidationError("--keyed and --files do not apply with --topic") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() throws {
        var options = EventGenerator.Options()
        options.seed = seed
        options.count = count
        options.startMs = startMs
        options.spanMs = spanMs
        options.disorderFraction = disorder
        options.maxDisorderMs = maxDisorderMs
        options.malformedFraction = malformed
        options.skew = skew
        if live, let rate {
            options.startMs = Int64(Date().timeIntervalSince1970 * 1000)
            options.spanMs = max(1, count * 1000 / rate)
        }
        let generator = EventGenerator(EventGenerator.Kind(rawValue: kind)!, options: options)
        if let out {
            try writeFiles(generator, to: out)
        } else if let bootstrapServer, let topic {
            try publish(generator, to: topic, bootstrapServer: bootstrapServer)
        } else {
            try writeStdout(generator)
        }
    }

    private func writeFiles(_ generator: EventGenerator, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let perFile = (count + Int64(files) - 1) / Int64(files)
        for file in 0..<files {
            let range = min(count, Int64(file) * perFile)..<min(count, Int64(file + 1) * perFile)
            let name = "\(kind)-\(String(format: "%05d", file)).jsonl"
            // Written under a temporary name and renamed, so a file source watching the directory
            // never sees a half-written file.
            var output = try DurableFileWriter("\(directory)/\(name)")
            var buffer: [UInt8] = []
            var index = range.lowerBound
            while index < range.upperBound {
                let end = min(range.upperBound, index + 65_536)
                buffer.removeAll(keepingCapacity: true)
                generator.appendLines(index..<end, to: &buffer)
                try output.write(buffer)
                index = end
            }
            try output.commit(syncDirectory: false)
        }
        try DurableFile.syncDirectory(directory)
    }

    private func writeStdout(_ generator: EventGenerator) throws {
        let output = FileHandle.standardOutput
        var buffer: [UInt8] = []
        try paced { range in
            buffer.removeAll(keepingCapacity: true)
            for event in range {
                var line: [UInt8] = []
                let key = generator.appendEvent(event, to: &line)
                if keyed { buffer += Array(String(key).utf8) + [0x09] }
                buffer += line
                buffer.append(0x0A)
            }
            try output.write(contentsOf: Data(buffer))
        }
    }

    private func publish(_ generator: EventGenerator, to topic: String, bootstrapServer: String) throws {
        // A record librdkafka cannot deliver fails after message.timeout.ms: 30 s here instead of its
        // 5 minutes, so an unreachable cluster is an error soon, and the flush below outlasts it.
        var properties = ["bootstrap.servers": bootstrapServer, "message.timeout.ms": "30000"]
        for property in producerProperties {
            let parts = property.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            properties[String(parts[0])] = String(parts[1])
        }
        let messageTimeoutMs = Int32(properties["message.timeout.ms"] ?? "") ?? 300_000
        let producer = try KafkaProducer(properties)
        do {
            try paced { range in
                for event in range {
                    var line: [UInt8] = []
                    let key = generator.appendEvent(event, to: &line)
                    try producer.send(topic: topic, key: Array(String(key).utf8), value: line)
                }
                producer.poll()
            }
        } catch {
            // A delivery failed while generating: stop, and say how far it got.
            let deliveries = producer.deliveries
            throw KafkaError("records were not delivered to \(topic) (\(deliveries.delivered) delivered, \(deliveries.failed) failed so far, the rest not sent): \(error)")
        }
        let deliveries = try producer.flush(timeoutMs: messageTimeoutMs &+ 10_000)
        guard deliveries.failed == 0 else {
            throw KafkaError("\(deliveries.failed) of \(count) records were not delivered to \(topic): \(deliveries.firstError ?? "")")
        }
        FileHandle.standardError.write(Data("eddy gen: \(deliveries.delivered) records delivered to \(topic)\n".utf8))
    }

    /// Calls `body` with consecutive ranges of event indexes, sleeping between them to hold --rate.
    private func paced(_ body: (Range<Int64>) throws -> Void) throws {
        let started = Date()
        var index: Int64 = 0
        while index < count {
            let end = min(count, index + (rate.map { max(1, $0 / 20) } ?? 65_536))
            try body(index..<end)
            index = end
            if let rate {
                let due = Double(index) / Double(rate) - Date().timeIntervalSince(started)
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
        }
    }
}
