/// Options of `JSONRowDecoder`.
public struct JSONDecodeOptions: Sendable, Hashable {
    /// Unit of numeric timestamps (see `EpochUnit`). Default: milliseconds.
    public var epochUnit: EpochUnit
    /// Larger records fail with `.tooLarge` without being parsed. Default: 1 MiB.
    public var maxRecordBytes: Int
    /// Objects and arrays nested deeper than this fail with `.tooDeep`; the record's own object is
    /// depth 1. Default: 64, at most `maxDepthLimit`: it bounds the decoder's recursion, which must fit
    /// the stack of any thread the decoder runs on.
    public var maxDepth: Int

    public static let maxDepthLimit = 1024

    public init(epochUnit: EpochUnit = .milliseconds, maxRecordBytes: Int = 1 << 20, maxDepth: Int = 64) {
        self.epochUnit = epochUnit
        self.maxRecordBytes = maxRecordBytes
        self.maxDepth = maxDepth
    }
}
