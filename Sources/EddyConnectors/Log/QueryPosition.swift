import EddyCore
import EddyEngine

/// Where a query's writes into a topic got to: the batch and the index within it of its newest
/// record, read from the `eddy.query.id` / `eddy.batch.id` / `eddy.batch.index` headers its sinks
/// write. A batch replayed after a crash skips what is at or before it (the topic sinks' exactly once).
struct QueryPosition: Comparable {
    var batchId: Int64
    var index: Int

    static func < (a: QueryPosition, b: QueryPosition) -> Bool { (a.batchId, a.index) < (b.batchId, b.index) }

    /// The newest record of `queryId` among the last `scanRecords` records of `partition` (at
    /// read_committed: among those of committed transactions).
    static func newest(of queryId: String, in log: any RecordLog, topic: String, partition: PartitionID,
                       scanRecords: Int64, isolation: IsolationLevel = .readUncommitted) throws -> QueryPosition? {
        let ranges = try log.readableRanges(topic, isolation: isolation) ?? []
        guard Int(partition.rawValue) < ranges.count else { return nil }
        let range = ranges[Int(partition.rawValue)]
        var found: QueryPosition?
        var from = max(range.start, Offset(range.end.rawValue - scanRecords))
        while from < range.end {
            let next = try log.read(topic, partition: partition, from: from, to: range.end, maxBytes: 4 << 20,
                                    isolation: isolation) { record in
                var query: String?, batch: Int64?, index: Int?
                for header in record.headers {
                    let text = header.value.map { String(decoding: $0, as: UTF8.self) }
                    switch header.key {
                    case DeadLetter.queryIdHeader: query = text
                    case DeadLetter.batchIdHeader: batch = text.flatMap { Int64($0) }
                    case DeadLetter.indexHeader: index = text.flatMap { Int($0) }
                    default: continue
                    }
                }
                if query == queryId, let batch, let index {
                    let position = QueryPosition(batchId: batch, index: index)
                    found = max(found ?? position, position)
                }
            }
            guard next > from else { break }
            from = next
        }
        return found
    }
}
