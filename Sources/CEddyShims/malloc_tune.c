#include "CEddyShims.h"

#if defined(__GLIBC__)
#include <malloc.h>

// Setting either threshold turns off glibc's dynamic mmap threshold (which otherwise rises to the size
// of blocks the program frees). So when glibc refuses the mmap threshold asked for (before 2.35 it
// refuses more than 32 MiB), 32 MiB is tried instead, and if that is refused too the trim threshold is
// left alone: a fixed 128 KiB mmap threshold would map and unmap every large block.
int eddy_malloc_tune(int mmap_threshold, int trim_threshold, int arena_max) {
    int ok = 1;
    int mmap_set = mmap_threshold <= 0;
    if (mmap_threshold > 0) {
        mmap_set = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1;
        if (!mmap_set && mmap_threshold > (32 << 20)) mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
        if (!mmap_set) ok = 0;
    }
    if (trim_threshold > 0 && (!mmap_set || mallopt(M_TRIM_THRESHOLD, trim_threshold) != 1)) ok = 0;
    if (arena_max > 0 && mallopt(M_ARENA_MAX, arena_max) != 1) ok = 0;
    return ok;
}
#else
int eddy_malloc_tune(int mmap_threshold, int trim_threshold, int arena_max) {
    (void)mmap_threshold;
    (void)trim_threshold;
    (void)arena_max;
    return 0;
}
#endif
