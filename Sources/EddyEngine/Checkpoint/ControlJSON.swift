import Foundation

/// JSON for small control files (checkpoint metadata, offsets and commit logs, progress lines) through
/// Foundation's coder with sorted keys. Never on the data path: rows are encoded by EddyFormats.
enum ControlJSON {
    static func encode<T: Encodable>(_ value: T) throws(EngineError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch { throw .internal("cannot encode \(T.self): \(error)") }
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], path: String) throws(EngineError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw .checkpoint("\(path) is not a valid \(T.self): \(error)")
        }
    }
}
