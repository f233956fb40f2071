import EddyBroker
import EddyCore
import EddyEngine
import Foundation
import Hummingbird
import NIOCore
import Prometheus

/// The HTTP side of `eddy server`: the REST API under `/api` (described by `/api/openapi.json`),
/// server-sent events at `/api/events`, Prometheus at `/metrics`, and the dashboard at `/`.
/// Every error is JSON: `{"error": {"status": 404, "message": "…"}}` (SQL errors add `line` and `column`).
public struct HTTPAPI: Sendable {
    /// Largest request body (a pipeline's JSON with its SQL).
    public static let bodyBytesMax = 1 << 20
    /// Most records, rows, progress records or dead letters one request returns.
    public static let itemsMax = 1000

    let host: PipelineHost
    let broker: Broker
    let hub: EventHub
    let registry: PrometheusCollectorRegistry
    let brokerMetrics: BrokerMetrics
    let rates: TopicRates
    let info: ServerInfo

    public init(host: PipelineHost, broker: Broker, hub: EventHub, registry: PrometheusCollectorRegistry,
                brokerMetrics: BrokerMetrics, rates: TopicRates, info: ServerInfo) {
        self.host = host
        self.broker = broker
        self.hub = hub
        self.registry = registry
        self.brokerMetrics = brokerMetrics
        self.rates = rates
        self.info = info
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(JSONErrors())
        router.middlewares.add(SameOrigin(loopbackOnly: Self.isLoopback(info.httpAddress)))
        router.get("/") { _, _ in Self.asset(PackageResources.index_html, "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.asset(PackageResources.app_js, "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in Self.asset(PackageResources.style_css, "text/css; charset=utf-8") }
        router.get("/api/openapi.json") { _, _ in Self.asset(PackageResources.openapi_json, "application/json") }
        router.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        router.get("/metrics") { _, _ in
            await brokerMetrics.refresh()
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/api/info") { _, _ in Self.json(info.json) }
        router.get("/api/topics") { _, _ in Self.json(#"{"topics":[\#(broker.topicSummaries().map { topicJSON($0) }.joined(separator: ","))]}"#) }
        router.get("/api/topics/:topic") { _, context in
            let name = try context.parameters.require("topic")
            guard let topic = broker.topicSummaries().first(where: { $0.name == name }) else {
                throw APIError(.notFound, "no topic named `\(name)`")
            }
            return Self.json(topicJSON(topic))
        }
        router.get("/api/topics/:topic/records") { request, context in
            try Self.json(records(topic: try context.parameters.require("topic"), request))
        }
        router.get("/api/groups") { _, _ in Self.json(await groupsJSON()) }
        router.get("/api/pipelines") { _, _ in
            Self.json(#"{"pipelines":[\#(host.all.map { pipelineJSON($0, detail: false) }.joined(separator: ","))]}"#)
        }
        router.post("/api/pipelines") { request, context in
            let body = try await Self.body(request)
            guard let spec = try? JSONDecoder().decode(NewPipeline.self, from: Data(buffer: body)) else {
                throw APIError(.badRequest, #"the body must be JSON: {"name": "…", "sql": "…"}"#)
            }
            let pipeline = try await host.create(name: spec.name, sql: spec.sql)
            return Self.json(pipelineJSON(pipeline, detail: true), status: .created)
        }
        router.get("/api/pipelines/:name") { _, context in
            Self.json(pipelineJSON(try existing(context), detail: true))
        }
        router.delete("/api/pipelines/:name") { _, context in
            try await host.delete(try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        router.post("/api/pipelines/:name/stop") { _, context in
            Self.json(pipelineJSON(try await host.stop(try context.parameters.require("name")), detail: true))
        }
        router.post("/api/pipelines/:name/start") { _, context in
            Self.json(pipelineJSON(try await host.start(try context.parameters.require("name")), detail: true))
        }
        router.get("/api/pipelines/:name/progress") { request, context in
            let query = try Self.query(try existing(context), request)
            let limit = try Self.limit(request, default: 100)
            return Self.json(#"{"query":\#(jsonString(query.table)),"progress":[\#(query.progress.suffix(limit).map(\.json).joined(separator: ","))]}"#)
        }
        router.get("/api/pipelines/:name/results") { request, context in
            let query = try Self.query(try existing(context), request)
            let limit = try Self.limit(request, default: 100)
            let columns = query.columns.map { #"{"name":\#(jsonString($0.name)),"type":\#(jsonString($0.type.description))}"# }
            // Reading a store back is blocking I/O: off the event loops and the cooperative pool.
            let rows = await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: query.newestRows(limit)) }
            }
            return Self.json(#"{"query":\#(jsonString(query.table)),"columns":[\#(columns.joined(separator: ","))],"rows":[\#(rows.joined(separator: ","))]}"#)
        }
        router.get("/api/pipelines/:name/dead-letters") { request, context in
            let pipeline = try existing(context)
            let limit = try Self.limit(request, default: 50)
            return Self.json(try deadLettersJSON(pipeline, limit: limit))
        }
        router.get("/api/events") { request, _ in
            let only = request.uri.queryParameters["pipeline"].map(String.init)
            guard let stream = hub.subscribe() else {
                throw APIError(.serviceUnavailable, "at most \(EventHub.subscribersMax) event streams are open at once (or the server is stopping)")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": eddy events\n\n"))
                    for await event in stream where only == nil || event.pipeline == nil || event.pipeline == only {
                        try await writer.write(ByteBuffer(string: event.encoded))
                    }
                    try await writer.finish(nil)
                })
        }
        return router
    }

    // MARK: Responses

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ bytes: [UInt8], _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func body(_ request: Request) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: bodyBytesMax)
        } catch {
            throw APIError(.contentTooLarge, "the body is larger than \(bodyBytesMax) bytes")
        }
    }

    static func limit(_ request: Request, default value: Int) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return value }
        guard let limit = Int(text), limit >= 1, limit <= itemsMax else {
            throw APIError(.badRequest, "limit must be a number from 1 to \(itemsMax), not `\(text)`")
        }
        return limit
    }

    static func query(_ pipeline: Pipeline, _ request: Request) throws -> Pipeline.Query {
        let queries = pipeline.queries
        guard let wanted = request.uri.queryParameters["query"] else {
            guard let first = queries.first else { throw APIError(.notFound, "pipeline `\(pipeline.name)` has no query") }
            return first
        }
        guard let query = queries.first(where: { $0.table == wanted }) else {
            throw APIError(.notFound, "pipeline `\(pipeline.name)` has no query into `\(wanted)`; it has \(queries.map { "`\($0.table)`" }.joined(separator: ", "))")
        }
        return query
    }

    func existing(_ context: BasicRequestContext) throws -> Pipeline {
        let name = try context.parameters.require("name")
        guard let pipeline = host.pipeline(name) else { throw APIError(.notFound, "no pipeline named `\(name)`") }
        return pipeline
    }

    struct NewPipeline: Decodable {
        var name: String
        var sql: String
    }

    // MARK: JSON bodies

    func topicJSON(_ topic: Broker.TopicSummary) -> String {
        let partitions = topic.partitions.map { p in
            #"{"partition":\#(p.partition),"logStartOffset":\#(p.logStartOffset),"logEndOffset":\#(p.logEndOffset),"lastStableOffset":\#(p.lastStableOffset),"sizeBytes":\#(p.sizeBytes),"segments":\#(p.segments)}"#
        }
        let records = topic.partitions.reduce(Int64(0)) { $0 + $1.logEndOffset - $1.logStartOffset }
        let bytes = topic.partitions.reduce(Int64(0)) { $0 + $1.sizeBytes }
        let configs = topic.configs.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
        return #"{"name":\#(jsonString(topic.name)),"internal":\#(topic.isInternal),"records":\#(records),"sizeBytes":\#(bytes),"messagesPerSecond":\#(jsonNumber(rates.rate(topic.name))),"configs":{\#(configs.joined(separator: ","))},"partitions":[\#(partitions.joined(separator: ","))]}"#
    }

    func groupsJSON() async -> String {
        let lag = (try? await broker.consumerLag()) ?? []
        let groups = broker.groupSummaries().map { group in
            let members = group.members.map {
                #"{"memberId":\#(jsonString($0.memberId)),"groupInstanceId":\#($0.groupInstanceId.map(jsonString) ?? "null"),"clientId":\#(jsonString($0.clientId)),"clientHost":\#(jsonString($0.clientHost))}"#
            }
            let mine = lag.filter { $0.group == group.groupId }
            let partitions = mine.map {
                #"{"topic":\#(jsonString($0.topicPartition.topic)),"partition":\#($0.topicPartition.partition.rawValue),"committedOffset":\#($0.committedOffset),"logEndOffset":\#($0.logEndOffset),"lagRecords":\#($0.lagRecords),"lagSeconds":\#(jsonNumber($0.lagSeconds))}"#
            }
            let records = mine.reduce(Int64(0)) { $0 + $1.lagRecords }
            let seconds = mine.map(\.lagSeconds).max() ?? 0
            return #"{"groupId":\#(jsonString(group.groupId)),"state":\#(jsonString(group.state)),"protocolType":\#(jsonString(group.protocolType)),"protocolName":\#(jsonString(group.protocolName)),"lagRecords":\#(records),"lagSeconds":\#(jsonNumber(seconds)),"members":[\#(members.joined(separator: ","))],"partitions":[\#(partitions.joined(separator: ","))]}"#
        }
        return #"{"groups":[\#(groups.joined(separator: ","))]}"#
    }

    func pipelineJSON(_ pipeline: Pipeline, detail: Bool) -> String {
        var fields = [
            #""name":\#(jsonString(pipeline.name))"#,
            #""status":"\#(pipeline.status.rawValue)""#,
            #""origin":\#(jsonString(pipeline.origin.description))"#,
            #""error":\#(pipeline.error.map(jsonString) ?? "null")"#,
            #""startedAt":\#(pipeline.startedAt.map { jsonString(formatTimestamp(Int64($0.timeIntervalSince1970 * 1000))) } ?? "null")"#,
        ]
        if let location = pipeline.errorLocation {
            fields.append(#""errorLocation":{"line":\#(location.line),"column":\#(location.column)}"#)
        }
        if detail { fields.append(#""sql":\#(jsonString(pipeline.sql))"#) }
        let queries = pipeline.queries.map { query in
            var q = [
                #""table":\#(jsonString(query.table))"#,
                #""status":"\#(query.status.rawValue)""#,
                #""error":\#(query.error.map(jsonString) ?? "null")"#,
                #""lastProgress":\#(query.progress.last?.json ?? "null")"#,
            ]
            if detail { q.append(#""plan":\#(jsonString(query.explain))"#) }
            return "{" + q.joined(separator: ",") + "}"
        }
        fields.append(#""queries":[\#(queries.joined(separator: ","))]"#)
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// The newest records of a topic: `partition` (default every one), `offset` (default the newest
    /// `limit`), `limit` (default 20). Values and keys are text when they are UTF-8, else base64.
    func records(topic: String, _ request: Request) throws -> String {
        let parameters = request.uri.queryParameters
        guard let ranges = broker.readableRanges(topic, isolation: .readCommitted) else {
            throw APIError(.notFound, "no topic named `\(topic)`")
        }
        let limit = try Self.limit(request, default: 20)
        var partitions = Array(ranges.indices)
        if let text = parameters["partition"] {
            guard let p = Int(text), ranges.indices.contains(p) else {
                throw APIError(.badRequest, "partition must be from 0 to \(ranges.count - 1), not `\(text)`")
            }
            partitions = [p]
        }
        var from: Int64?
        if let text = parameters["offset"] {
            guard let offset = Int64(text), offset >= 0 else { throw APIError(.badRequest, "offset must be a non-negative number, not `\(text)`") }
            from = offset
        }
        var items: [(Int64, String)] = []
        for p in partitions {
            let range = ranges[p]
            var next = max(range.start.rawValue, from ?? (range.end.rawValue - Int64(limit)))
            var taken = 0
            while next < range.end.rawValue && taken < limit {
                let before = next
                next = try broker.read(topic, partition: PartitionID(Int32(p)), from: Offset(next), to: range.end, maxBytes: 1 << 20,
                                       isolation: .readCommitted) { record in
                    guard taken < limit else { return }
                    taken += 1
                    items.append((record.timestamp.millis, recordJSON(record, partition: p)))
                }.rawValue
                if next <= before { break }
            }
        }
        items.sort { $0.0 < $1.0 }
        return #"{"topic":\#(jsonString(topic)),"records":[\#(items.suffix(limit).map(\.1).joined(separator: ","))]}"#
    }

    func recordJSON(_ record: LogRecord, partition: Int) -> String {
        let headers = record.headers.map { "{\"key\":\(jsonString($0.key)),\"value\":\($0.value.map { bytesJSON($0) } ?? "null")}" }
        return #"{"partition":\#(partition),"offset":\#(record.offset.rawValue),"timestamp":\#(jsonString(formatTimestamp(record.timestamp.millis))),"key":\#(record.key.map { bytesJSON(Array($0)) } ?? "null"),"value":\#(record.value.map { bytesJSON(Array($0)) } ?? "null"),"headers":[\#(headers.joined(separator: ","))]}"#
    }

    /// Bytes as a JSON string when they are UTF-8, else as `{"base64": "…"}`.
    func bytesJSON(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return jsonString(text) }
        return #"{"base64":"\#(Data(bytes).base64EncodedString())"}"#
    }

    /// The newest dead letters of a pipeline (its topic `<pipeline>.dead-letters`), with their reasons.
    func deadLettersJSON(_ pipeline: Pipeline, limit: Int) throws -> String {
        let topic = ServerInfo.deadLetterTopic(pipeline.name)
        guard let ranges = broker.readableRanges(topic, isolation: .readCommitted) else {
            return #"{"topic":\#(jsonString(topic)),"deadLetters":[]}"#
        }
        var letters: [(Int64, String)] = []
        for (p, range) in ranges.enumerated() {
            var next = max(range.start.rawValue, range.end.rawValue - Int64(limit))
            while next < range.end.rawValue {
                let before = next
                next = try broker.read(topic, partition: PartitionID(Int32(p)), from: Offset(next), to: range.end, maxBytes: 1 << 20,
                                       isolation: .readCommitted) { record in
                    var header: [String: String] = [:]
                    for h in record.headers { header[h.key] = h.value.map { String(decoding: $0, as: UTF8.self) } }
                    let fields = [
                        #""offset":\#(record.offset.rawValue)"#,
                        #""timestamp":\#(jsonString(formatTimestamp(record.timestamp.millis)))"#,
                        #""reason":\#(jsonString(header["eddy.error.reason"] ?? ""))"#,
                        #""detail":\#(jsonString(header["eddy.error.detail"] ?? ""))"#,
                        #""source":\#(jsonString(header["eddy.error.source"] ?? ""))"#,
                        #""sourcePartition":\#(jsonString(header["eddy.error.partition"] ?? ""))"#,
                        #""sourceOffset":\#(jsonString(header["eddy.error.offset"] ?? ""))"#,
                        #""value":\#(record.value.map { bytesJSON(Array($0)) } ?? "null")"#,
                    ]
                    letters.append((record.timestamp.millis, "{" + fields.joined(separator: ",") + "}"))
                }.rawValue
                if next <= before { break }
            }
        }
        letters.sort { $0.0 < $1.0 }
        return #"{"topic":\#(jsonString(topic)),"deadLetters":[\#(letters.suffix(limit).map(\.1).joined(separator: ","))]}"#
    }
}

extension HTTPAPI {
    /// Whether `host:port` names a loopback address.
    static func isLoopback(_ address: String) -> Bool {
        let host = address.split(separator: ":", omittingEmptySubsequences: false).dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}

/// Refuses what a web page of another site could make a browser send: a POST or DELETE whose
/// `Origin` is not this server (cross-site request forgery: a page must not create pipelines), and,
/// when the server listens on loopback only, any request whose `Host` is not a loopback name (a
/// DNS-rebinding page reading the API). Clients that are not browsers send no `Origin` and a loopback
/// `Host`, and pass.
struct SameOrigin: RouterMiddleware {
    typealias Context = BasicRequestContext
    let loopbackOnly: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority ?? ""
        if loopbackOnly && !host.isEmpty && !HTTPAPI.isLoopback(host.contains(":") ? host : host + ":0") {
            throw APIError(.forbidden, "Host \(host) is not this server's loopback address")
        }
        if request.method != .get && request.method != .head, let origin = request.headers[.origin] {
            let originHost = origin.split(separator: "/").dropFirst(1).first.map(String.init) ?? ""
            guard originHost == host else {
                throw APIError(.forbidden, "a request from the page \(origin) is refused: only this server's own pages may change pipelines")
            }
        }
        return try await next(request, context)
    }
}

/// A number as JSON (non-finite numbers, which JSON has not, as 0).
func jsonNumber(_ value: Double) -> String {
    value.isFinite ? String(value) : "0"
}

extension PipelineHost.Origin: CustomStringConvertible {
    public var description: String {
        switch self {
        case .api: "api"
        case .file(let path): path
        }
    }
}

/// An API error: its status and message, as JSON.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var line: Int?
    var column: Int?
    /// The `Allow` header of a 405.
    var allow: String?

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = [#""status":\#(status.code)"#, #""message":\#(jsonString(message))"#]
        if let line, let column { fields += [#""line":\#(line)"#, #""column":\#(column)"#] }
        var response = HTTPAPI.json(#"{"error":{\#(fields.joined(separator: ","))}}"#, status: status)
        if let allow { response.headers[.allow] = allow }
        return response
    }
}

/// Turns every error into a JSON error body: the host's failures with their status, Hummingbird's
/// own (no such route, a bad parameter) with theirs, anything else as a 500 with its text.
struct JSONErrors: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let failure as PipelineHost.Failure {
            var error = APIError(failure.status, failure.description)
            if let location = failure.location { (error.line, error.column) = (location.line, location.column) }
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = Self.methods(of: request.uri.path), !allowed.contains(request.method.rawValue) {
                var refusal = APIError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))")
                refusal.allow = allowed.joined(separator: ", ")
                throw refusal
            }
            throw APIError(error.status, error.body ?? (error.status == .notFound ? "no such resource: \(request.uri.path)" : error.status.reasonPhrase))
        } catch {
            throw APIError(.internalServerError, "\(error)")
        }
    }
}

extension JSONErrors {
    /// The routes and their methods (HTTPAPI.router): a known path asked with another method is a 405.
    static let routes: [([String], [String])] = [
        (["api", "info"], ["GET"]), (["api", "topics"], ["GET"]), (["api", "topics", "*"], ["GET"]),
        (["api", "topics", "*", "records"], ["GET"]), (["api", "groups"], ["GET"]), (["api", "pipelines"], ["GET", "POST"]),
        (["api", "pipelines", "*"], ["GET", "DELETE"]), (["api", "pipelines", "*", "stop"], ["POST"]),
        (["api", "pipelines", "*", "start"], ["POST"]), (["api", "pipelines", "*", "progress"], ["GET"]),
        (["api", "pipelines", "*", "results"], ["GET"]), (["api", "pipelines", "*", "dead-letters"], ["GET"]),
        (["api", "events"], ["GET"]), (["api", "openapi.json"], ["GET"]), (["healthz"], ["GET"]), (["metrics"], ["GET"]),
        ([], ["GET"]), (["app.js"], ["GET"]), (["style.css"], ["GET"]),
    ]

    static func methods(of path: String) -> [String]? {
        let parts = path.split(separator: "/").map(String.init)
        return routes.first { pattern, _ in
            pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0 == "*" || $0 == $1 }
        }?.1
    }
}

extension PipelineHost.Failure {
    var status: HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        }
    }
}
