import CEddyShims
import Foundation

/// Allocator settings for the engine commands (`eddy example`), not the broker.
///
/// A micro-batch allocates and frees blocks of tens of MiB (the bytes read, decoded columns, encoded
/// output) every batch. glibc serves blocks above its mmap threshold with fresh mappings and unmaps
/// them on free, and returns free memory at the top of the heap to the kernel past its trim threshold,
/// so each batch paid page faults and kernel zeroing for memory it had just given back (a third of
/// `eddy example`'s time was in the kernel). Here blocks up to 256 MiB come from the heap and up to
/// 512 MiB of free heap is kept for the next batch; two arenas keep the decode threads' frees in
/// shared arenas. Blocks of 64 MiB or more from a thread other than the main one are mapped anyway
/// (glibc caps a secondary arena's heap at 64 MiB), which is one reason `eddy example` batches default to 24 MiB.
///
/// Not applied to the broker: its many NIO threads would contend on two arenas, and `make
/// bench-broker` measured it slower with these settings. Not applied either when the user set glibc's
/// own variables (`GLIBC_TUNABLES`, `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`).
enum EngineAllocator {
    static func keepBatchBlocks() {
        let environment = ProcessInfo.processInfo.environment
        let userSettings = ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        guard !userSettings.contains(where: { environment[$0] != nil }) else { return }
        _ = eddy_malloc_tune(256 << 20, 512 << 20, 2)
    }
}
