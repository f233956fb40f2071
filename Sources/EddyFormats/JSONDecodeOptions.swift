/// Options of `JSONRowDecoder`.
public struct JSONDecodeOptions: Sendable, Hashable {
    /// Unit of numeric timestamps (see `EpochUnit`). Default: milliseconds.
    public var epochUnit: EpochUnit
    /// Larger records fail with `.tooLarge` without being parsed. Default: 1 MiB.
    public var maxRecordBytes: Int
    /// Objects and arrays nested deeper than this fail with `.tooDeep`; the record's own object is
    /// depth 1. Default: 64. Bounds the decoder's recursion.
    public var maxDepth: Int

    public init(epochUnit: EpochUnit = .milliseconds, maxRecordBytes: Int = 1 << 20, maxDepth: Int = 64) {
        self.epochUnit = epochUnit
        self.maxRecordBytes = maxRecordBytes
        self.maxDepth = maxDepth
    }
}
