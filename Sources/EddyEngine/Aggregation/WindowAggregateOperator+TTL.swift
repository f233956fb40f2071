/// State TTL for a plain group-by (Flink's `table.exec.state.ttl`): a group not updated for the TTL,
/// in processing time, is dropped without output; a later row of its key starts it again. Windowed
/// aggregations leave state by the watermark and ignore the TTL.
///
/// The processing time is the batch's (recorded in `offsets/N`), so a replayed batch drops the same
/// groups. The cutoff is rounded down to a step of the TTL's 16th (at least a second), so the groups
/// are scanned at most once a step; a group lives at least the TTL and at most a step longer.
extension WindowAggregateOperator {
    /// Drops the groups last updated before `nowMs - stateTTLMs` (rounded down to the step); returns
    /// how many. Groups restored without an update time start their TTL now.
    public mutating func expireIdle(nowMs: Int64) -> Int {
        guard let ttl = stateTTLMs, failure == nil else { return 0 }
        let step = Swift.max(ttl / 16, 1_000)
        let (difference, overflow) = nowMs.subtractingReportingOverflow(ttl)
        guard !overflow else { return 0 }
        let cutoff = floorDivMod(difference, step).0 * step
        guard cutoff > oldestUpdateMs else { return 0 }
        let removed = removeUpdated(before: cutoff)
        expiredBeforeMs = Swift.max(expiredBeforeMs, cutoff)
        numRowsExpired += removed
        // Groups restored without a time count from now (and the next delta carries their time).
        var oldest = Int64.max
        for id in keys.allMembers {
            if slotUpdatedMs[Int(id)] == .min {
                slotUpdatedMs[Int(id)] = nowMs
                noteChanged(id)
            }
            oldest = Swift.min(oldest, slotUpdatedMs[Int(id)])
        }
        oldestUpdateMs = oldest
        return removed
    }

    /// Frees the groups whose last update time is known and before `cutoff`; returns how many.
    mutating func removeUpdated(before cutoff: Int64) -> Int {
        let times = slotUpdatedMs
        let removed = keys.removeMembers(ofPartition: 0) { id in
            let time = times[Int(id)]
            return time != .min && time < cutoff
        }
        guard !removed.isEmpty else { return 0 }
        for index in states.indices { states[index].reset(removed) }
        for slot in removed {
            slotDirty[Int(slot)] = 0
            slotUpdatedMs[Int(slot)] = .min
        }
        return removed.count
    }
}
