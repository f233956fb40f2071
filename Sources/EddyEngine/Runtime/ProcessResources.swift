import CEddyShims
import Foundation

// Process-level helpers of the commands that run queries (`eddy run`, `eddy demo`) and of the
// pipeline benchmark: the allocator profile, totals over progress reports, peak memory.

/// glibc allocator settings per command, measured with the command's benchmark. Skipped when the user
/// set glibc's own variables (`GLIBC_TUNABLES`, `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_TRIM_THRESHOLD_`), which then rule.
///
/// Both workloads allocate and free large blocks over and over. glibc serves blocks above its mmap
/// threshold with fresh mappings and unmaps them on free, and returns free memory at the top of a heap
/// to the kernel past its trim threshold, so each block paid page faults and kernel zeroing for memory
/// just given back.
public enum Allocator {
    public enum Profile {
        /// `eddy run` and the pipeline benchmark: a micro-batch allocates blocks of tens of MiB (the bytes read, decoded
        /// columns, encoded output) every batch (a third of its time was in the kernel). Blocks up to
        /// 256 MiB come from the heap and up to 512 MiB of free heap is kept for the next batch; two
        /// arenas keep the decode threads' frees in shared arenas. Blocks of 64 MiB or more from a thread
        /// other than the main one are mapped anyway (glibc caps a secondary arena's heap at 64 MiB),
        /// one reason micro-batches default to 24 MiB.
        case engine
        /// `eddy broker`: a request frame of up to a few MiB is allocated per produce request and freed
        /// once written. Blocks up to 64 MiB come from the heap and up to 256 MiB of free heap is kept;
        /// arenas stay glibc's (the NIO threads would contend on two). A/B in one session, ten 4 GB
        /// acks=all runs of 1 KiB records each: broker CPU 2.91 s vs 3.45 s, 1033 vs 981 MB/s. (The
        /// engine's settings, two arenas included, measured slower for the broker.)
        case broker
    }

    public static func tune(for profile: Profile) {
        let environment = ProcessInfo.processInfo.environment
        let userSettings = ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        guard !userSettings.contains(where: { environment[$0] != nil }) else { return }
        switch profile {
        case .engine: _ = eddy_malloc_tune(256 << 20, 512 << 20, 2)
        case .broker: _ = eddy_malloc_tune(64 << 20, 256 << 20, 0)
        }
    }
}

/// Totals over a query's batches (the progress callback runs on the query's task).
public final class Totals: @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var rows: Int64 = 0
    public private(set) var outputRows: Int64 = 0
    public private(set) var batches = 0
    /// State bytes the checkpoint received (every operator, every batch, compactions included), and
    /// the most state held.
    public private(set) var stateCheckpointBytes: Int64 = 0
    public private(set) var peakStateBytes: Int64 = 0

    public init() {}

    /// The benchmarks' summary line: `REPORT rows=… batches=… seconds=… rows_per_s=… output_rows=…
    /// peak_rss_mb=… state_checkpoint_bytes_per_batch=… peak_state_mb=…`.
    public func report(seconds: Double) -> String {
        "REPORT rows=\(rows) batches=\(batches) seconds=\(String(format: "%.3f", seconds)) "
            + "rows_per_s=\(Int(Double(rows) / max(seconds, 1e-9))) output_rows=\(outputRows) "
            + "peak_rss_mb=\(String(format: "%.1f", peakResidentMegabytes())) "
            + "state_checkpoint_bytes_per_batch=\(batches > 0 ? stateCheckpointBytes / Int64(batches) : 0) "
            + "peak_state_mb=\(String(format: "%.1f", Double(peakStateBytes) / 1_048_576))"
    }

    public func add(_ progress: StreamingQueryProgress) {
        lock.withLock {
            rows += progress.numInputRows
            outputRows += progress.sink.numOutputRows
            batches += 1
            stateCheckpointBytes += progress.stateOperators.reduce(0) {
                $0 + ($1.customMetrics["stateCheckpointBytes"] ?? 0) + ($1.customMetrics["stateCompactionBytes"] ?? 0)
            }
            peakStateBytes = max(peakStateBytes, progress.stateOperators.reduce(0) { $0 + $1.memoryUsedBytes })
        }
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
public func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}
