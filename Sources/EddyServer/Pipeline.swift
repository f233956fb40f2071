import EddyConnectors
import EddyEngine
import EddyFormats
import EddySQL
import Foundation

/// One pipeline of the server: its SQL, its queries (one per INSERT INTO / CREATE TABLE … AS) and
/// what they reported last. Queries run as tasks; stopping cancels them, which ends each between
/// batches. A query that fails stops the pipeline's other queries (as a Flink job fails whole).
public final class Pipeline: @unchecked Sendable {
    public let name: String
    public let origin: PipelineHost.Origin
    unowned let host: PipelineHost
    private let lock = NSLock()
    private var _sql: String
    private var _status: PipelineHost.Status = .starting
    private var _error: String?
    private var _errorLocation: SourceLocation?
    private var _queries: [Query] = []
    private var jobs: [SQLJob] = []
    private var sets: [String: String] = [:]
    private var tasks: [Task<Void, Never>] = []
    private var _startedAt: Date?

    init(name: String, sql: String, origin: PipelineHost.Origin, host: PipelineHost) {
        self.name = name
        self._sql = sql
        self.origin = origin
        self.host = host
    }

    public internal(set) var sql: String {
        get { lock.withLock { _sql } }
        set { lock.withLock { _sql = newValue } }
    }
    public var status: PipelineHost.Status { lock.withLock { _status } }
    public var error: String? { lock.withLock { _error } }
    public var errorLocation: SourceLocation? { lock.withLock { _errorLocation } }
    public var queries: [Query] { lock.withLock { _queries } }
    public var startedAt: Date? { lock.withLock { _startedAt } }

    /// Parses and binds the SQL (nothing runs yet): the queries and their plans.
    func plan() throws(PipelineHost.Failure) {
        let text = sql
        let session = SQLSession(connectors: host.connectors())
        do {
            _ = try session.run(text)
        } catch {
            let failure = PipelineHost.Failure(.badRequest, error.message, at: error.location)
            fail(failure.description, at: error.location)
            throw failure
        }
        guard !session.jobs.isEmpty else {
            let failure = PipelineHost.Failure(.badRequest, "the SQL starts no query: add INSERT INTO <table> SELECT … (or CREATE TABLE … AS SELECT …)")
            fail(failure.description)
            throw failure
        }
        var planned: [Query] = []
        for job in session.jobs {
            let explained: String
            do {
                explained = try job.pipeline.explain()
            } catch {
                let failure = PipelineHost.Failure(.badRequest, "query into `\(job.name)` (\(job.location)): \(error)", at: job.location)
                fail(failure.description, at: job.location)
                throw failure
            }
            let previous = queries.first { $0.table == job.name }
            let query = previous.map { $0.replan(explain: explained) } ?? Query(pipeline: name, table: job.name, explain: explained)
            if case .sink(let input, let sink) = job.pipeline.plan {
                query.setSink(sink.descriptor as? any PeekableSink, schema: try? input.schema())
            }
            planned.append(query)
        }
        lock.withLock {
            jobs = session.jobs
            sets = session.settings
            _queries = planned
            _error = nil
            _errorLocation = nil
        }
    }

    /// Starts every query from its checkpoint.
    func start() {
        let (jobs, sets, queries) = lock.withLock { (self.jobs, self.sets, _queries) }
        var settings = QuerySettings()
        settings.defaultIntervalMs = host.configuration.intervalMs
        settings.maxBytesPerTrigger = host.configuration.maxBytesPerTrigger
        var started: [(Query, StreamingQuery)] = []
        do {
            for (job, query) in zip(jobs, queries) {
                var options = try settings.options(sets)
                options.name = name + "/" + job.name
                if let letters = try host.deadLetters(name) {
                    options.deadLetters = letters
                    options.setsAsideLateRowsAsJSON()
                }
                let metrics = host.metrics, events = host.events, pipelineName = name
                // A table named *alert* is an alert feed: its rows also go out as `alert` events.
                let isAlert = job.name.lowercased().contains("alert")
                let tapped = job.pipeline.tapped { batch in
                    let rows = query.took(batch)
                    let json = #"{"pipeline":\#(jsonString(pipelineName)),"query":\#(jsonString(query.table)),"rows":[\#(rows.joined(separator: ","))]}"#
                    events.publish(ServerEvent(name: "rows", json: json, pipeline: pipelineName))
                    if isAlert { events.publish(ServerEvent(name: "alert", json: json, pipeline: pipelineName)) }
                }
                let checkpoint = host.checkpointDirectory(name) + "/" + QuerySettings.directoryName(job.name)
                let streaming = try tapped.start(checkpoint: checkpoint, options: options) { progress in
                    query.record(progress)
                    metrics.record(progress, pipeline: pipelineName, query: query.table)
                    events.publish(ServerEvent(name: "progress", json: #"{"pipeline":\#(jsonString(pipelineName)),"query":\#(jsonString(query.table)),"progress":\#(progress.json)}"#, pipeline: pipelineName))
                }
                started.append((query, streaming))
            }
        } catch {
            // The queries made before the failure never run: their sinks (connections, files) close now.
            for (_, streaming) in started { try? streaming.execution.plan.sink.close() }
            let message = "cannot start: \(error)"
            host.metrics.countError(pipeline: name, kind: "start")
            fail(message)
            return
        }
        lock.withLock {
            _status = .running
            _startedAt = Date()
            _error = nil
        }
        announce()
        // Made under the lock, so a query that fails at once finds its siblings to stop.
        lock.withLock {
            tasks = started.map { query, streaming in
                query.setStatus(.running)
                return Task { [weak self] in
                    do {
                        try await streaming.run()
                        query.setStatus(Task.isCancelled ? .stopped : .finished)
                    } catch {
                        query.setStatus(.failed, error: "\(error)")
                        self?.queryFailed(query, "\(error)")
                    }
                    self?.queryEnded()
                }
            }
        }
    }

    private var changing = false

    /// Claims the pipeline for one start, stop or delete at a time (two starts at once would run two
    /// queries on one checkpoint); false when another is under way.
    func claim() -> Bool {
        lock.withLock {
            if changing { return false }
            changing = true
            return true
        }
    }

    func release() { lock.withLock { changing = false } }

    private func queryFailed(_ query: Query, _ message: String) {
        host.metrics.countError(pipeline: name, kind: "query")
        host.logger.error("pipeline \(name): query into `\(query.table)` stopped: \(message)")
        lock.withLock {
            _status = .failed
            _error = "query into `\(query.table)` stopped: \(message)"
        }
        for task in lock.withLock({ tasks }) { task.cancel() }
        announce()
    }

    private func queryEnded() {
        let changed = lock.withLock { () -> Bool in
            guard _status == .running else { return false }
            let states = _queries.map(\.status)
            if states.allSatisfy({ $0 == .finished }) { _status = .finished; return true }
            if states.allSatisfy({ $0 == .finished || $0 == .stopped }) && !states.contains(.running) { _status = .stopped; return true }
            return false
        }
        if changed { announce() }
    }

    /// Stops the queries between batches and waits for them.
    func stop(persist: Bool) async {
        let running = lock.withLock { () -> [Task<Void, Never>] in
            let current = tasks
            tasks = []
            if _status == .running || _status == .starting { _status = .stopping }
            return current
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
        lock.withLock {
            if _status == .stopping || _status == .finished || _status == .starting { _status = .stopped }
        }
        if persist { try? host.store(self, stopped: true) }
        announce()
    }

    func markStopped() {
        lock.withLock { _status = .stopped }
    }

    func fail(_ message: String, at location: SourceLocation? = nil) {
        lock.withLock {
            _status = .failed
            _error = message
            _errorLocation = location
        }
        announce()
    }

    private func announce() {
        let status = self.status.rawValue
        host.metrics.setUp(pipeline: name, running: self.status == .running)
        host.events.publish(ServerEvent(name: "pipeline", json: #"{"pipeline":\#(jsonString(name)),"status":"\#(status)"}"#, pipeline: name))
    }

    /// One query of a pipeline: what it last reported.
    public final class Query: @unchecked Sendable {
        public let pipeline: String
        public let table: String
        private let lock = NSLock()
        private var _explain: String
        private var _status: PipelineHost.Status = .starting
        private var _error: String?
        private var _progress: [StreamingQueryProgress] = []
        private var _rows: [String] = []
        private var _columns: [Field] = []
        private var _sink: (any PeekableSink)?

        init(pipeline: String, table: String, explain: String) {
            self.pipeline = pipeline
            self.table = table
            self._explain = explain
        }

        func replan(explain: String) -> Query {
            lock.withLock { _explain = explain }
            return self
        }

        func setSink(_ sink: (any PeekableSink)?, schema: Schema?) {
            lock.withLock {
                _sink = sink
                if let schema, _columns.isEmpty { _columns = schema.fields }
            }
        }

        /// The newest rows: those the server saw written, else (after a restart, before the first
        /// batch with output) read back from the sink's store when it can be (SQLite, files, topics).
        public func newestRows(_ limit: Int) -> [String] {
            let (seen, sink) = lock.withLock { (_rows, _sink) }
            if !seen.isEmpty { return Array(seen.suffix(limit)) }
            return (try? sink?.newestRows(limit)) ?? []
        }

        public var explain: String { lock.withLock { _explain } }
        public var status: PipelineHost.Status { lock.withLock { _status } }
        public var error: String? { lock.withLock { _error } }
        /// Newest last.
        public var progress: [StreamingQueryProgress] { lock.withLock { _progress } }
        /// The newest result rows as JSON objects, newest last.
        public var rows: [String] { lock.withLock { _rows } }
        public var columns: [Field] { lock.withLock { _columns } }

        func setStatus(_ status: PipelineHost.Status, error: String? = nil) {
            lock.withLock {
                _status = status
                _error = error
            }
        }

        func record(_ progress: StreamingQueryProgress) {
            lock.withLock {
                _progress.append(progress)
                if _progress.count > PipelineHost.progressKept { _progress.removeFirst(_progress.count - PipelineHost.progressKept) }
            }
        }

        /// Rows a batch wrote to the sink (called once the sink holds them).
        func took(_ batch: RecordBatch) -> [String] {
            let first = max(0, batch.count - PipelineHost.rowsKept)
            var bytes: [UInt8] = []
            JSONLinesEncoder(options: EncodeOptions()).encode(batch, rows: first..<batch.count, into: &bytes)
            let rows = bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            lock.withLock {
                _columns = batch.schema.fields
                _rows.append(contentsOf: rows)
                if _rows.count > PipelineHost.rowsKept { _rows.removeFirst(_rows.count - PipelineHost.rowsKept) }
            }
            return rows
        }
    }
}
