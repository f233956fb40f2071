/// One aggregate of a windowed group-by: a function, its input column (nil only for count(*)) and the
/// name of its output column.
public struct AggregateSpec: Sendable, Hashable, CustomStringConvertible {
    public var function: AggregateFunction
    public var column: String?
    public var outputName: String

    public init(_ function: AggregateFunction, _ column: String? = nil, as outputName: String) {
        self.function = function
        self.column = column
        self.outputName = outputName
    }

    /// count(*).
    public static func countStar(as outputName: String) -> AggregateSpec {
        AggregateSpec(.count, nil, as: outputName)
    }

    public var description: String {
        switch function {
        case .countDistinct: "count(DISTINCT \(column ?? "*")) AS \(outputName)"
        default: "\(function.rawValue)(\(column ?? "*")) AS \(outputName)"
        }
    }
}
