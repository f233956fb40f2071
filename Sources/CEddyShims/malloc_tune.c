#include "CEddyShims.h"

#if defined(__GLIBC__)
#include <malloc.h>

int eddy_malloc_tune(int mmap_threshold, int trim_threshold, int arena_max) {
    int ok = 1;
    if (mmap_threshold > 0 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1) ok = 0;
    if (trim_threshold > 0 && mallopt(M_TRIM_THRESHOLD, trim_threshold) != 1) ok = 0;
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
