import CoreMetrics
import EddyWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The broker's request and fsync measurements, reported through swift-metrics: wherever the process
/// bootstraps a metrics backend (`eddy server` bootstraps Prometheus) they appear as
/// `eddy_broker_request_duration_seconds{api}`, `eddy_broker_request_bytes_total{api}`,
/// `eddy_broker_response_bytes_total{api}` (and `GroupCommit`'s `eddy_broker_fsync_duration_seconds`);
/// without one they cost a lookup. Handlers are made once per API and kept.
final class BrokerInstruments: Sendable {
    private struct PerAPI: Sendable {
        let duration: CoreMetrics.Timer
        let requestBytes: CoreMetrics.Counter
        let responseBytes: CoreMetrics.Counter
    }

    private let perAPI = NIOLockedValueBox<[Int16: PerAPI]>([:])

    private func instruments(_ key: ApiKey) -> PerAPI {
        perAPI.withLockedValue { table in
            if let found = table[key.rawValue] { return found }
            let dimensions = [("api", key.name)]
            let made = PerAPI(duration: CoreMetrics.Timer(label: "eddy_broker_request_duration_seconds", dimensions: dimensions),
                              requestBytes: CoreMetrics.Counter(label: "eddy_broker_request_bytes_total", dimensions: dimensions),
                              responseBytes: CoreMetrics.Counter(label: "eddy_broker_response_bytes_total", dimensions: dimensions))
            table[key.rawValue] = made
            return made
        }
    }

    private let errors = NIOLockedValueBox<[Int32: CoreMetrics.Counter]>([:])

    /// Counts the error codes (other than NONE) of a response, by API and code:
    /// `eddy_broker_response_errors_total{api, code}` (code as Kafka names it, `NOT_LEADER_OR_FOLLOWER`).
    func countErrors<R: KafkaResponse>(_ key: ApiKey, _ response: R) {
        var codes: [Int16: Int] = [:]
        response.forEachErrorCode { code in if code != 0 { codes[code, default: 0] += 1 } }
        guard !codes.isEmpty else { return }
        for (code, count) in codes {
            let id = Int32(key.rawValue) << 16 | Int32(UInt16(bitPattern: code))
            let counter = errors.withLockedValue { table in
                if let found = table[id] { return found }
                let name = ErrorCode(rawValue: code).name
                let made = CoreMetrics.Counter(label: "eddy_broker_response_errors_total", dimensions: [("api", key.name), ("code", name)])
                table[id] = made
                return made
            }
            counter.increment(by: count)
        }
    }

    /// `reply` measured: from `began` to when its response is ready (an acks=all produce waits for
    /// its fsync), with the request's and the response's bytes.
    func observe(_ key: ApiKey, requestBytes: Int, began: NIODeadline, _ reply: Reply) -> Reply {
        let instruments = instruments(key)
        instruments.requestBytes.increment(by: requestBytes)
        @Sendable func finish(_ response: ByteBuffer?) {
            instruments.duration.recordNanoseconds((NIODeadline.now() - began).nanoseconds)
            instruments.responseBytes.increment(by: response?.readableBytes ?? 0)
        }
        switch reply {
        case .now(let response):
            finish(response)
            return reply
        case .later(let wait):
            return .later {
                let response = try await wait()
                finish(response)
                return response
            }
        }
    }
}
