#ifndef CEDDY_SHIMS_H
#define CEDDY_SHIMS_H
#include <stddef.h>
#include <stdint.h>

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka's record batch v2 uses.
//
// The crc argument and the result are finished checksums (pre- and post-inverted inside), as in
// zlib's crc32(): start with 0, and feed the result of one call into the next to checksum a buffer
// in pieces. eddy_crc32c_update(0, "123456789", 9) == 0xE3069283.

/// The fastest implementation this CPU supports (SSE4.2 or ARMv8 CRC instructions, else portable).
uint32_t eddy_crc32c_update(uint32_t crc, const void *data, size_t length);

/// The portable table-driven (slicing-by-8) implementation, for tests and benchmarks.
uint32_t eddy_crc32c_update_portable(uint32_t crc, const void *data, size_t length);

/// 1 when eddy_crc32c_update uses a CPU instruction, 0 when it falls back to the portable code.
int eddy_crc32c_hardware_available(void);

/// glibc's mallopt(M_MMAP_THRESHOLD), mallopt(M_TRIM_THRESHOLD) and mallopt(M_ARENA_MAX) (malloc.h is
/// not in Swift's Glibc module); 0 leaves a setting alone. Returns 1 when every setting was taken, 0
/// when one was refused or the C library is not glibc. An mmap threshold glibc refuses (before 2.35:
/// above 32 MiB) falls back to 32 MiB; if that is refused too, the trim threshold is not set either.
int eddy_malloc_tune(int mmap_threshold, int trim_threshold, int arena_max);

/// Reserves disk blocks for `length` bytes from `offset` without changing the file's size (Linux
/// fallocate with FALLOC_FL_KEEP_SIZE). Returns 0, or the errno (EOPNOTSUPP where the file system or
/// the platform cannot).
int eddy_preallocate(int fd, int64_t offset, int64_t length);

#endif
