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
