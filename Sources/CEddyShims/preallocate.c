// fallocate(2) with FALLOC_FL_KEEP_SIZE: neither is in Swift's Glibc module (fcntl.h declares them only
// under _GNU_SOURCE).
#define _GNU_SOURCE
#include "CEddyShims.h"

#include <errno.h>

#if defined(__linux__)
#include <fcntl.h>

int eddy_preallocate(int fd, int64_t offset, int64_t length) {
    int r;
    do {
        r = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
    } while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : errno;
}
#else
int eddy_preallocate(int fd, int64_t offset, int64_t length) {
    (void)fd;
    (void)offset;
    (void)length;
    return EOPNOTSUPP;
}
#endif
