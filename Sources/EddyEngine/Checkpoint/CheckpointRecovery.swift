/// What a query does when it starts on a checkpoint, decided from which log entries exist (pure).
///
/// Spark's rule: the newest offsets entry N without a commits entry is a batch that was planned and
/// maybe half done: replay it with exactly the recorded offsets and watermark, on top of the state of
/// the last committed batch. Otherwise start the batch after the last commit.
public enum CheckpointRecovery: Sendable, Hashable {
    /// No batch ever planned: start from the sources' initial offsets with empty state.
    case fresh
    /// Batch `batchId` was planned but not committed: replay it; state comes from `stateBatchId` (nil: empty).
    case replay(batchId: Int64, stateBatchId: Int64?)
    /// Everything through `lastCommitted` is done: continue with the next batch on its state.
    case resume(lastCommitted: Int64)

    public static func decide(offsetBatches: [Int64], commitBatches: [Int64]) throws(EngineError) -> CheckpointRecovery {
        let lastOffsets = offsetBatches.max()
        let lastCommit = commitBatches.max()
        switch (lastOffsets, lastCommit) {
        case (nil, nil):
            return .fresh
        case (nil, let commit?):
            throw .checkpoint("commits/\(commit) exists without offsets/\(commit): the checkpoint is damaged")
        case (let planned?, nil):
            guard planned == offsetBatches.min() else {
                throw .checkpoint("offsets/\(planned) exists but no commit before it: the checkpoint is damaged")
            }
            return .replay(batchId: planned, stateBatchId: nil)
        case (let planned?, let commit?):
            if commit > planned {
                throw .checkpoint("commits/\(commit) is newer than the newest offsets entry \(planned)")
            }
            if planned == commit { return .resume(lastCommitted: commit) }
            if planned == commit + 1 { return .replay(batchId: planned, stateBatchId: commit) }
            throw .checkpoint("offsets/\(planned) follows commits/\(commit) with a gap: the checkpoint is damaged")
        }
    }
}
