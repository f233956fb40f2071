import Foundation

/// An inclusive range of versions as the schemas write them: "3", "0-7", "9+", "none".
struct Versions: Equatable {
    var low: Int
    var high: Int  // Int.max for "n+"

    static let none = Versions(low: 1, high: 0)
    var isEmpty: Bool { low > high }

    init(low: Int, high: Int) {
        self.low = low
        self.high = high
    }

    init(_ text: String?) {
        guard let text, text != "none", !text.isEmpty else {
            self = .none
            return
        }
        if text.hasSuffix("+") {
            self.init(low: Int(text.dropLast())!, high: Int.max)
        } else if let dash = text.firstIndex(of: "-") {
            self.init(low: Int(text[..<dash])!, high: Int(text[text.index(after: dash)...])!)
        } else {
            self.init(low: Int(text)!, high: Int(text)!)
        }
    }

    func intersection(_ other: Versions) -> Versions {
        Versions(low: max(low, other.low), high: min(high, other.high))
    }

    func contains(_ other: Versions) -> Bool { other.isEmpty || (low <= other.low && other.high <= high) }
}

struct Field {
    var name: String
    var type: String
    var versions: Versions
    var nullable: Versions
    var tagged: Versions
    var tag: Int?
    var defaultValue: String?
    var ignorable: Bool
    var flexibleOverride: Versions?
    var fields: [Field]?
}

struct Message {
    var name: String
    var kind: String  // request, response, header, data
    var apiKey: Int?
    var valid: Versions
    var flexible: Versions
    var latestVersionUnstable: Bool
    var fields: [Field]
    var commonStructs: [(name: String, fields: [Field])]
}

enum Spec {
    static func load(path: String) -> [Message] {
        guard let data = FileManager.default.contents(atPath: path),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            fail("cannot read the spec \(path)")
        }
        return list.map(message)
    }

    private static func message(_ o: [String: Any]) -> Message {
        Message(
            name: o["name"] as! String,
            kind: o["type"] as! String,
            apiKey: o["apiKey"] as? Int,
            valid: Versions(o["validVersions"] as? String),
            flexible: Versions(o["flexibleVersions"] as? String),
            latestVersionUnstable: o["latestVersionUnstable"] as? Bool ?? false,
            fields: (o["fields"] as? [[String: Any]] ?? []).map(field),
            commonStructs: (o["commonStructs"] as? [[String: Any]] ?? []).map {
                ($0["name"] as! String, ($0["fields"] as? [[String: Any]] ?? []).map(field))
            }
        )
    }

    private static func field(_ o: [String: Any]) -> Field {
        let ignorable: Bool
        if let b = o["ignorable"] as? Bool { ignorable = b } else { ignorable = (o["ignorable"] as? String) == "true" }
        var defaultValue: String? = nil
        if let d = o["default"] { defaultValue = "\(d)" }
        return Field(
            name: o["name"] as! String,
            type: o["type"] as! String,
            versions: Versions(o["versions"] as? String),
            nullable: Versions(o["nullableVersions"] as? String),
            tagged: Versions(o["taggedVersions"] as? String),
            tag: o["tag"] as? Int,
            defaultValue: defaultValue,
            ignorable: ignorable,
            flexibleOverride: (o["flexibleVersions"] as? String).map { Versions($0) },
            fields: (o["fields"] as? [[String: Any]]).map { $0.map(field) }
        )
    }
}
