import EddyCore

extension FetchRequest {
    /// `isolationLevel` by name.
    public var isolation: IsolationLevel { IsolationLevel(wireValue: isolationLevel) }
}

extension ListOffsetsRequest {
    /// `isolationLevel` by name.
    public var isolation: IsolationLevel { IsolationLevel(wireValue: isolationLevel) }
}
