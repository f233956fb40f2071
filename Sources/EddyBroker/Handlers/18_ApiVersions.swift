// ApiVersions (key 18), v0-4.
// Supports: the versions of every API Eddy serves, with Kafka 3.9's ranges (ApiTable). An unknown
// version is answered in v0 with UNSUPPORTED_VERSION and the ApiVersions range (KIP-511; done in
// Broker.handle, before the body is decoded).
// Differs from Kafka: lists only the APIs Eddy implements; no feature flags (v3+ SupportedFeatures
// and FinalizedFeatures are empty), and the client software name/version are not validated.
import EddyWire

extension Broker {
    func apiVersions(_ request: ApiVersionsRequest, _ context: ApiTable.Context) -> ApiVersionsResponse {
        ApiTable.apiVersionsResponse(error: .none)
    }
}
