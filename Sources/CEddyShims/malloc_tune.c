#include "CEddyShims.h"

#if defined(__GLIBC__)
#include <malloc.h>

int eddy_malloc_tune(size_t mmap_threshold, int arena_max) {
    int ok = 1;
    if (mmap_threshold > 0 && mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) != 1) ok = 0;
    if (arena_max > 0 && mallopt(M_ARENA_MAX, arena_max) != 1) ok = 0;
    return ok;
}
#else
int eddy_malloc_tune(size_t mmap_threshold, int arena_max) {
    (void)mmap_threshold;
    (void)arena_max;
    return 0;
}
#endif
