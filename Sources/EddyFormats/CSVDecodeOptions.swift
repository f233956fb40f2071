/// Options of `CSVRowDecoder`.
public struct CSVDecodeOptions: Sendable, Hashable {
    /// The field separator, one ASCII byte other than `"`, CR or LF. Default: `,`.
    public var delimiter: UInt8
    /// Whether the first record is a header naming the columns (columns are then matched by name,
    /// otherwise by position). Default: true.
    public var hasHeader: Bool
    /// Unit of numeric timestamps (see `EpochUnit`). Default: milliseconds.
    public var epochUnit: EpochUnit
    /// Larger records fail with `.tooLarge`. Default: 1 MiB.
    public var maxRecordBytes: Int

    public init(
        delimiter: UInt8 = UInt8(ascii: ","),
        hasHeader: Bool = true,
        epochUnit: EpochUnit = .milliseconds,
        maxRecordBytes: Int = 1 << 20
    ) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.epochUnit = epochUnit
        self.maxRecordBytes = maxRecordBytes
    }
}
