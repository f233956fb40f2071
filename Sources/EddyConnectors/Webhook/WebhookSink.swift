import AsyncHTTPClient
import EddyEngine
import EddyFormats
import Foundation
import NIOCore
import NIOHTTP1

/// `'connector' = 'webhook'`: each batch's rows POSTed to a URL as JSON arrays (alerts to a chat
/// room, an incident tool, a function). At least once: a request that fails (connection, timeout,
/// 408, 425, 429, 5xx) is retried with exponential back-off (honouring `Retry-After`); when the
/// retries run out the batch fails, the query stops, and a restart posts the batch again. Every
/// request carries `Idempotency-Key: <query id>:<batch id>:<part>`, the same on every retry and
/// replay, so a receiver can drop what it already has. A request refused for its content (another
/// 4xx) sends its rows to the dead letters when the query has a destination, else fails the batch.
public struct WebhookSinkDescriptor: SinkDescriptor {
    public var url: String
    /// Extra request headers (`headers.Authorization` and the like).
    public var headers: [(String, String)]
    /// Rows per request.
    public var batchRows: Int
    /// Retries of one request after its first attempt.
    public var maxRetries: Int
    public var initialBackoffMs: Int64
    public var maxBackoffMs: Int64
    /// Per attempt: connect, send and read the answer.
    public var timeoutMs: Int64

    /// The most rows one request may carry.
    public static let batchRowsMax = 10_000

    public init(url: String, headers: [(String, String)] = [], batchRows: Int = 100, maxRetries: Int = 8,
                initialBackoffMs: Int64 = 500, maxBackoffMs: Int64 = 30_000, timeoutMs: Int64 = 10_000) {
        self.url = url
        self.headers = headers
        self.batchRows = batchRows
        self.maxRetries = maxRetries
        self.initialBackoffMs = initialBackoffMs
        self.maxBackoffMs = maxBackoffMs
        self.timeoutMs = timeoutMs
    }

    public var description: String { "webhook[\(url)]" }

    public func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        WebhookSink(descriptor: self, context: context)
    }
}

final class WebhookSink: Sink {
    let descriptor: WebhookSinkDescriptor
    let context: SinkContext
    /// Sleeps between attempts (tests pass a recorder).
    var sleep: (Int64) -> Void = { ms in Thread.sleep(forTimeInterval: Double(ms) / 1000) }

    init(descriptor: WebhookSinkDescriptor, context: SinkContext) {
        self.descriptor = descriptor
        self.context = context
    }

    var description: String { descriptor.description }

    /// The sink keeps no record of what it posted: a replayed batch is posted again (at least once).
    func lastCommittedBatch() -> Int64? { nil }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        guard !batch.isEmpty else { return [] }
        var rejected: [RejectedRow] = []
        var part = 0
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + descriptor.batchRows)
            var lines: [UInt8] = []
            JSONLinesEncoder().encode(batch, rows: start..<end, into: &lines)
            let rows = lines.split(separator: 0x0A)
            var body: [UInt8] = [UInt8(ascii: "[")]
            for (i, row) in rows.enumerated() {
                if i > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: row)
            }
            body.append(UInt8(ascii: "]"))
            if let refusal = try post(body, key: "\(context.queryId):\(batchId):\(part)") {
                guard context.setsRowsAside else {
                    throw .execution("\(description) refused batch \(batchId): \(refusal)")
                }
                rejected += rows.map { RejectedRow(reason: refusal, row: String(decoding: $0, as: UTF8.self)) }
                guard rejected.count <= SinkContext.rejectedRowsMax else {
                    throw .execution("\(description) refused more than \(SinkContext.rejectedRowsMax) rows of batch \(batchId): \(refusal)")
                }
            }
            start = end
            part += 1
        }
        return RejectedRow.deadLetters(rejected, sink: description)
    }

    /// Posts one body until it is taken (nil) or refused for its content (the reason); throws when
    /// the retries run out.
    private func post(_ body: [UInt8], key: String) throws(EngineError) -> String? {
        var backoff = descriptor.initialBackoffMs
        var lastFailure = ""
        for attempt in 0...descriptor.maxRetries {
            if attempt > 0 {
                sleep(backoff)
                backoff = min(descriptor.maxBackoffMs, backoff * 2)
            }
            switch attemptOnce(body, key: key) {
            case .taken:
                return nil
            case .refused(let reason):
                return reason
            case .retry(let reason, let retryAfterMs):
                lastFailure = reason
                if let retryAfterMs { backoff = min(descriptor.maxBackoffMs, max(backoff, retryAfterMs)) }
            }
        }
        throw .execution("\(description): no answer taken after \(descriptor.maxRetries + 1) attempts; the last: \(lastFailure)")
    }

    enum Outcome {
        case taken
        case refused(String)
        case retry(String, retryAfterMs: Int64?)
    }

    func attemptOnce(_ body: [UInt8], key: String) -> Outcome {
        var request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: descriptor.url, method: .POST)
        } catch {
            return .refused("the URL \(descriptor.url) cannot be requested: \(error)")
        }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: key)
        request.headers.add(name: "User-Agent", value: "eddy")
        for (name, value) in descriptor.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(body)
        let deadline = NIODeadline.now() + .milliseconds(descriptor.timeoutMs)
        let response: HTTPClient.Response
        do {
            response = try HTTPClient.shared.execute(request: request, deadline: deadline).wait()
        } catch {
            return .retry("\(error)", retryAfterMs: nil)
        }
        let code = response.status.code
        let text = response.body.map { String(buffer: $0).prefix(300) } ?? ""
        switch code {
        case 200..<300:
            return .taken
        case 408, 425, 429, 500..<600:
            // Seconds, clamped before scaling (a huge value must not overflow); an HTTP date is ignored.
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int64.init).map { min(max($0, 0), 86_400) * 1000 }
            return .retry("HTTP \(code) \(text)", retryAfterMs: retryAfter)
        default:
            return .refused("HTTP \(code) \(text)")
        }
    }
}
