import Foundation

/// Reads the official schemas (JSON with `//` comments) and writes the condensed spec Eddy keeps:
/// the schemas of the messages it serves, with only the keys that shape the bytes.
enum Condenser {
    /// The APIs the broker serves (request and response each), the headers, and the embedded data
    /// formats the group protocol carries.
    static let apis = [
        "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
        "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake",
        "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch",
        "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "DescribeConfigs", "AlterConfigs",
        "SaslAuthenticate", "CreatePartitions", "DeleteGroups", "IncrementalAlterConfigs", "DescribeCluster", "OffsetDelete",
    ]
    static let others = ["RequestHeader", "ResponseHeader", "ConsumerProtocolSubscription", "ConsumerProtocolAssignment"]

    static let messageKeys: Set<String> = [
        "apiKey", "type", "name", "validVersions", "flexibleVersions", "latestVersionUnstable", "fields", "commonStructs",
    ]
    static let fieldKeys: Set<String> = [
        "name", "type", "versions", "nullableVersions", "taggedVersions", "tag", "default", "ignorable",
        "flexibleVersions", "fields",
    ]

    static func run(messagesDirectory: String, output: String) {
        var files = others
        for api in apis { files += [api + "Request", api + "Response"] }
        var condensed: [Any] = []
        for name in files {
            let path = messagesDirectory + "/" + name + ".json"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
            let stripped = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { line -> Substring in
                    let trimmed = line.drop { $0 == " " || $0 == "\t" }
                    return trimmed.hasPrefix("//") ? "" : line
                }
                .joined(separator: "\n")
            guard let object = try? JSONSerialization.jsonObject(with: Data(stripped.utf8)) as? [String: Any] else {
                fail("\(path) is not valid JSON once comments are stripped")
            }
            condensed.append(keep(object, messageKeys))
        }
        var json = String(decoding: try! JSONSerialization.data(
            withJSONObject: condensed, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        json += "\n"
        do { try json.write(toFile: output, atomically: true, encoding: .utf8) } catch { fail("cannot write \(output): \(error)") }
    }

    private static func keep(_ object: [String: Any], _ keys: Set<String>) -> [String: Any] {
        var out: [String: Any] = [:]
        for (key, value) in object where keys.contains(key) {
            if key == "fields" || key == "commonStructs", let list = value as? [[String: Any]] {
                out[key] = list.map { keep($0, fieldKeys.union(["name", "versions", "fields"])) }
            } else {
                out[key] = value
            }
        }
        return out
    }
}
