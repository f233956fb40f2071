import EddyConnectors
import EddyCore
import EddyEngine
import EddyFormats
import EddySQL
import Foundation
import Logging
import ServiceLifecycle

/// The pipelines of `eddy server`: each one a SQL file (its CREATE TABLEs and the queries its
/// INSERT INTO / CREATE TABLE … AS start), run until stopped, with its checkpoints under the data
/// directory so that it resumes where it stopped. Pipelines come from `--pipelines DIR` (one per
/// `.sql` file, named after it) and from the API (kept under `<data>/pipelines/` and started again
/// with the server). The host keeps what the API and dashboard show of each: status, errors, the
/// latest progress records and result rows; it tells the metrics and the event hub as batches end.
public final class PipelineHost: @unchecked Sendable {
    /// Most pipelines one server runs (each is at least one thread while a batch runs).
    public static let pipelinesMax = 100
    /// Longest pipeline SQL text the API takes.
    public static let sqlBytesMax = 256 * 1024
    /// Progress records kept per query (about 2 minutes at a 1 s trigger: the dashboard's charts).
    public static let progressKept = 300
    /// Result rows kept per query (the dashboard's live table; the sink holds all of them).
    public static let rowsKept = 500

    public struct Configuration: Sendable {
        /// Holds `checkpoints/<pipeline>/<table>` and `pipelines/<name>.json`.
        public var dataDirectory: String
        /// `.sql` files started with the server.
        public var pipelinesDirectory: String?
        /// Trigger interval of a query whose SQL sets none (SET 'execution.checkpointing.interval' wins).
        public var intervalMs: Int64?
        public var maxBytesPerTrigger: Int64 = 24 << 20

        public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
    }

    public enum Origin: Sendable, Equatable {
        /// A `.sql` file of `--pipelines DIR`.
        case file(String)
        /// Created through the API.
        case api
    }

    public enum Status: String, Sendable, Codable {
        case starting, running, stopping, stopped, finished, failed
    }

    /// A pipeline the host cannot create, start, stop or delete, with the HTTP status it maps to.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case badRequest, notFound, conflict, unavailable }
        public let kind: Kind
        public let description: String
        /// Where in the SQL text the error is, when it is a SQL error.
        public var location: SourceLocation?

        init(_ kind: Kind, _ description: String, at location: SourceLocation? = nil) {
            self.kind = kind
            self.description = description
            self.location = location
        }
    }

    let configuration: Configuration
    let connectors: @Sendable () -> ConnectorRegistry
    let deadLetters: @Sendable (String) throws -> (any DeadLetterSink)?
    let events: EventHub
    let metrics: PipelineMetrics
    let logger: Logger
    private let lock = NSLock()
    private var pipelines: [String: Pipeline] = [:]

    /// `connectors` makes each pipeline's connectors (the embedded broker passed in); `deadLetters`
    /// gives a pipeline's dead-letter destination by its name.
    public init(configuration: Configuration, connectors: @escaping @Sendable () -> ConnectorRegistry,
                deadLetters: @escaping @Sendable (String) throws -> (any DeadLetterSink)?,
                events: EventHub, metrics: PipelineMetrics, logger: Logger) {
        self.configuration = configuration
        self.connectors = connectors
        self.deadLetters = deadLetters
        self.events = events
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: What the API reads

    public var names: [String] { lock.withLock { pipelines.keys.sorted() } }

    public func pipeline(_ name: String) -> Pipeline? { lock.withLock { pipelines[name] } }

    public var all: [Pipeline] { lock.withLock { pipelines.values.sorted { $0.name < $1.name } } }

    // MARK: Lifecycle

    /// Loads the pipelines of `--pipelines DIR` and those the API created, and starts every one
    /// that was not stopped. A pipeline whose SQL fails is shown as failed; the others run.
    public func startAll() async {
        var specs: [(String, String, Origin, Bool)] = []
        if let directory = configuration.pipelinesDirectory {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".sql") }.sorted()
            for file in files {
                let name = String(file.dropLast(4))
                let path = directory + "/" + file
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    logger.error("pipeline file \(path) is not readable UTF-8 text; skipped")
                    continue
                }
                specs.append((name, text, .file(path), false))
            }
        }
        for stored in storedPipelines() where !specs.contains(where: { $0.0 == stored.name }) {
            specs.append((stored.name, stored.sql, .api, stored.stopped))
        }
        for (name, sql, origin, stopped) in specs {
            do {
                _ = try await add(name: name, sql: sql, origin: origin, start: !stopped, persist: false)
            } catch {
                logger.error("pipeline \(name): \(error.description)")
            }
        }
    }

    /// Stops every pipeline between batches (graceful shutdown).
    public func stopAll() async {
        for pipeline in all { await pipeline.stop(persist: false) }
    }

    /// Creates a pipeline from SQL text (the API), stores it so that it starts with the server, and
    /// starts it. A SQL error fails the call with its position and nothing is kept.
    public func create(name: String, sql: String) async throws(Failure) -> Pipeline {
        try await add(name: name, sql: sql, origin: .api, start: true, persist: true)
    }

    private func add(name: String, sql: String, origin: Origin, start: Bool, persist: Bool) async throws(Failure) -> Pipeline {
        try Self.validate(name: name)
        guard sql.utf8.count <= Self.sqlBytesMax else {
            throw Failure(.badRequest, "the SQL text is \(sql.utf8.count) bytes; at most \(Self.sqlBytesMax) are taken")
        }
        let pipeline = Pipeline(name: name, sql: sql, origin: origin, host: self)
        // Claimed before anyone can see it: a start, stop or delete waits for the creation to end.
        _ = pipeline.claim()
        defer { pipeline.release() }
        let refusal = lock.withLock { () -> Failure? in
            if pipelines[name] != nil { return Failure(.conflict, "a pipeline named `\(name)` exists") }
            guard pipelines.count < Self.pipelinesMax else {
                return Failure(.unavailable, "this server runs at most \(Self.pipelinesMax) pipelines")
            }
            pipelines[name] = pipeline
            return nil
        }
        if let refusal { throw refusal }
        metrics.register(pipeline: name)
        do {
            try pipeline.plan()
        } catch {
            if origin == .api && persist {
                lock.withLock { pipelines[name] = nil }
                metrics.forget(pipeline: name)
                throw error
            }
            pipeline.fail(error.description)
            return pipeline
        }
        if persist {
            do {
                try store(pipeline, stopped: false)
            } catch {
                lock.withLock { pipelines[name] = nil }
                metrics.forget(pipeline: name)
                throw error
            }
        }
        if start { pipeline.start() } else { pipeline.markStopped() }
        return pipeline
    }

    /// Stops a pipeline between batches; it stays stopped across server restarts.
    public func stop(_ name: String) async throws(Failure) -> Pipeline {
        let pipeline = try claimed(name)
        defer { pipeline.release() }
        await pipeline.stop(persist: true)
        return pipeline
    }

    /// Starts a stopped, finished or failed pipeline again from its checkpoint (SQL from a file is read again).
    public func start(_ name: String) async throws(Failure) -> Pipeline {
        let pipeline = try claimed(name)
        defer { pipeline.release() }
        await pipeline.stop(persist: false)
        if case .file(let path) = pipeline.origin {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw Failure(.conflict, "cannot read \(path)")
            }
            pipeline.sql = text
        }
        try pipeline.plan()
        if pipeline.origin == .api { try store(pipeline, stopped: false) }
        pipeline.start()
        return pipeline
    }

    /// Stops a pipeline and forgets it: its stored SQL and its checkpoints are deleted (the sinks'
    /// data stays). A pipeline from a file is deleted by removing the file.
    public func delete(_ name: String) async throws(Failure) {
        let pipeline = try claimed(name)
        defer { pipeline.release() }
        if case .file(let path) = pipeline.origin {
            throw Failure(.conflict, "pipeline `\(name)` is the file \(path): remove the file and restart, or stop the pipeline")
        }
        await pipeline.stop(persist: false)
        // Its files and series go before its name is free, so a new pipeline of that name keeps its own.
        try? FileManager.default.removeItem(atPath: storedPath(name))
        try? FileManager.default.removeItem(atPath: checkpointDirectory(name))
        metrics.forget(pipeline: name)
        lock.withLock { pipelines[name] = nil }
        events.publish(ServerEvent(name: "pipeline", json: #"{"pipeline":\#(jsonString(name)),"status":"deleted"}"#, pipeline: name))
    }

    private func existing(_ name: String) throws(Failure) -> Pipeline {
        guard let pipeline = pipeline(name) else { throw Failure(.notFound, "no pipeline named `\(name)`") }
        return pipeline
    }

    /// The pipeline, claimed for a start, stop or delete (409 while another one is under way).
    private func claimed(_ name: String) throws(Failure) -> Pipeline {
        let pipeline = try existing(name)
        guard pipeline.claim() else {
            throw Failure(.conflict, "pipeline `\(name)` is being started, stopped or deleted; try again when that is done")
        }
        return pipeline
    }

    /// Pipeline names are also directory and topic names: letters, digits, `.`, `_` and `-`, at most 200.
    static func validate(name: String) throws(Failure) {
        let ok = !name.isEmpty && name.utf8.count <= 200 && name != "." && name != ".."
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
        guard ok else {
            throw Failure(.badRequest, "pipeline name `\(name)`: use 1 to 200 letters, digits, `.`, `_` and `-`")
        }
    }

    func checkpointDirectory(_ name: String) -> String { configuration.dataDirectory + "/checkpoints/" + name }

    // MARK: Stored pipelines (created through the API)

    private struct Stored: Codable {
        var name: String
        var sql: String
        var stopped: Bool
    }

    private func storedPath(_ name: String) -> String { configuration.dataDirectory + "/pipelines/" + name + ".json" }

    func store(_ pipeline: Pipeline, stopped: Bool) throws(Failure) {
        guard pipeline.origin == .api else { return }
        do {
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory + "/pipelines", withIntermediateDirectories: true)
            let bytes = try JSONEncoder().encode(Stored(name: pipeline.name, sql: pipeline.sql, stopped: stopped))
            try DurableFile.replace(storedPath(pipeline.name), with: bytes)
        } catch {
            throw Failure(.unavailable, "cannot store pipeline `\(pipeline.name)`: \(error)")
        }
    }

    private func storedPipelines() -> [Stored] {
        let directory = configuration.dataDirectory + "/pipelines"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return files.compactMap { file in
            guard let data = FileManager.default.contents(atPath: directory + "/" + file),
                  let stored = try? JSONDecoder().decode(Stored.self, from: data) else {
                logger.error("\(directory)/\(file) is not a stored pipeline; skipped")
                return nil
            }
            return stored
        }
    }
}

/// The host as a service: starts the pipelines, and stops them between batches on graceful shutdown.
public struct PipelineHostService: Service {
    let host: PipelineHost

    public init(host: PipelineHost) { self.host = host }

    public func run() async throws {
        await host.startAll()
        try? await gracefulShutdown()
        await host.stopAll()
    }
}

/// JSON string literal of a text.
func jsonString(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: (try? encoder.encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
}
