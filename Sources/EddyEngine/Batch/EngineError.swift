import EddyCore

/// An engine error says whose fault it is (DataFusion's habit): the pipeline as written (`plan`), its
/// configuration, the data or environment while running (`execution`), a limit the pipeline crossed
/// (`limit`), the checkpoint on disk (`checkpoint`), or an internal bug that should be reported.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case plan
        case configuration
        case execution
        case limit
        case checkpoint
        case `internal`
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func plan(_ message: String) -> EngineError { EngineError(.plan, message) }
    public static func configuration(_ message: String) -> EngineError { EngineError(.configuration, message) }
    public static func execution(_ message: String) -> EngineError { EngineError(.execution, message) }
    public static func limit(_ message: String) -> EngineError { EngineError(.limit, message) }
    public static func checkpoint(_ message: String) -> EngineError { EngineError(.checkpoint, message) }
    public static func `internal`(_ message: String) -> EngineError { EngineError(.internal, message) }

    public var description: String {
        switch kind {
        case .plan: "pipeline error: \(message)"
        case .configuration: "configuration error: \(message)"
        case .execution: "execution error: \(message)"
        case .limit: "limit exceeded: \(message)"
        case .checkpoint: "checkpoint error: \(message)"
        case .internal: "internal error (please report it): \(message)"
        }
    }
}

extension EngineError {
    /// Runs a file operation and reports its failure as an error of `kind` (the checkpoint's, by
    /// default), keeping the call, path and cause.
    public static func io<T: ~Copyable>(_ kind: Kind = .checkpoint, _ body: () throws(FileError) -> T) throws(EngineError) -> T {
        do { return try body() } catch { throw EngineError(kind, error.description) }
    }
}
