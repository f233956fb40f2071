import CEddyShims
import Foundation

/// glibc allocator settings per command, measured with the command's benchmark. Skipped when the user
/// set glibc's own variables (`GLIBC_TUNABLES`, `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_TRIM_THRESHOLD_`), which then rule.
///
/// Both workloads allocate and free large blocks over and over. glibc serves blocks above its mmap
/// threshold with fresh mappings and unmaps them on free, and returns free memory at the top of a heap
/// to the kernel past its trim threshold, so each block paid page faults and kernel zeroing for memory
/// just given back.
enum Allocator {
    enum Profile {
        /// `eddy example`: a micro-batch allocates blocks of tens of MiB (the bytes read, decoded
        /// columns, encoded output) every batch (a third of its time was in the kernel). Blocks up to
        /// 256 MiB come from the heap and up to 512 MiB of free heap is kept for the next batch; two
        /// arenas keep the decode threads' frees in shared arenas. Blocks of 64 MiB or more from a thread
        /// other than the main one are mapped anyway (glibc caps a secondary arena's heap at 64 MiB),
        /// one reason `eddy example` batches default to 24 MiB.
        case engine
        /// `eddy broker`: a request frame of up to a few MiB is allocated per produce request and freed
        /// once written. Blocks up to 64 MiB come from the heap and up to 256 MiB of free heap is kept;
        /// arenas stay glibc's (the NIO threads would contend on two). A/B in one session, ten 4 GB
        /// acks=all runs of 1 KiB records each: broker CPU 2.91 s vs 3.45 s, 1033 vs 981 MB/s. (The
        /// engine's settings, two arenas included, measured slower for the broker.)
        case broker
    }

    static func tune(for profile: Profile) {
        let environment = ProcessInfo.processInfo.environment
        let userSettings = ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        guard !userSettings.contains(where: { environment[$0] != nil }) else { return }
        switch profile {
        case .engine: _ = eddy_malloc_tune(256 << 20, 512 << 20, 2)
        case .broker: _ = eddy_malloc_tune(64 << 20, 256 << 20, 0)
        }
    }
}
