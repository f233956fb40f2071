// CRC-32C (Castagnoli), the checksum of Kafka's record batch v2.
//
// Hand-written in C because Swift cannot yet express "compile this function for SSE4.2 and choose it
// at run time" without unsafeFlags. Three implementations:
//   - x86-64 with SSE4.2: the crc32 instruction, 8 bytes at a time, over three interleaved streams
//     (the instruction has a latency of 3 cycles and a throughput of 1 per cycle, so three
//     independent streams keep it busy), recombined by shifting a stream's CRC over the zeros that
//     follow it with a table-driven GF(2) operator (the method of Mark Adler's crc32c.c, written
//     afresh here).
//   - aarch64 built with the CRC extension (__ARM_FEATURE_CRC32, default on Apple silicon): the
//     crc32c instructions, 8 bytes at a time.
//   - portable: slicing-by-8 tables.
// The choice is made once, at first use, with __builtin_cpu_supports.

#include "CEddyShims.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u  // reflected Castagnoli polynomial

// MARK: - Portable slicing-by-8

static uint32_t crc32c_table[8][256];

static void crc32c_init_portable(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ CRC32C_POLY : crc >> 1;
        crc32c_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = crc32c_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = crc32c_table[0][crc & 0xff] ^ (crc >> 8);
            crc32c_table[k][n] = crc;
        }
    }
}

// A little-endian 64-bit load from any address; compilers turn it into one move.
static inline uint64_t load_le64(const unsigned char *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint32_t crc32c_portable(uint32_t crc, const unsigned char *p, size_t len) {
    crc = ~crc;
    while (len && ((uintptr_t)p & 7) != 0) {
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w = load_le64(p) ^ crc;
        crc = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
              crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
              crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
              crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len) {
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return ~crc;
}

// MARK: - x86-64 SSE4.2

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HAVE_HARDWARE_CANDIDATE 1

// Stream lengths for the three-way interleave; powers of two (crc32c_zeros_op requires it).
#define CRC32C_LONG 8192
#define CRC32C_SHORT 256

static uint32_t crc32c_long[4][256];   // shifts a CRC over CRC32C_LONG zero bytes
static uint32_t crc32c_short[4][256];  // shifts a CRC over CRC32C_SHORT zero bytes

// Multiplies a 32x32 GF(2) matrix (one column per uint32) by a vector.
static uint32_t gf2_matrix_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_matrix_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_matrix_times(mat, mat[n]);
}

// The operator that appends len zero bytes to a (raw, uninverted) CRC; len must be a power of two.
static void crc32c_zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = CRC32C_POLY;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_matrix_square(even, odd);  // two zero bits
    gf2_matrix_square(odd, even);  // four zero bits
    // Each square doubles the count: the first gives one zero byte, in even.
    do {
        gf2_matrix_square(even, odd);
        len >>= 1;
        if (len == 0) return;
        gf2_matrix_square(odd, even);
        len >>= 1;
    } while (len);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void crc32c_zeros(uint32_t zeros[4][256], size_t len) {
    uint32_t op[32];
    crc32c_zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_matrix_times(op, n);
        zeros[1][n] = gf2_matrix_times(op, n << 8);
        zeros[2][n] = gf2_matrix_times(op, n << 16);
        zeros[3][n] = gf2_matrix_times(op, n << 24);
    }
}

static inline uint32_t crc32c_shift(uint32_t zeros[4][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
           zeros[3][crc >> 24];
}

static inline uint64_t load_u64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);  // x86 is little-endian and tolerates unaligned loads
    return v;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len) {
    uint64_t crc0 = ~crc;
    while (len && ((uintptr_t)p & 7) != 0) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        len--;
    }
    while (len >= CRC32C_LONG * 3) {
        uint64_t crc1 = 0, crc2 = 0;
        const unsigned char *end = p + CRC32C_LONG;
        do {
            crc0 = _mm_crc32_u64(crc0, load_u64(p));
            crc1 = _mm_crc32_u64(crc1, load_u64(p + CRC32C_LONG));
            crc2 = _mm_crc32_u64(crc2, load_u64(p + 2 * CRC32C_LONG));
            p += 8;
        } while (p < end);
        crc0 = crc32c_shift(crc32c_long, (uint32_t)crc0) ^ crc1;
        crc0 = crc32c_shift(crc32c_long, (uint32_t)crc0) ^ crc2;
        p += 2 * CRC32C_LONG;
        len -= 3 * CRC32C_LONG;
    }
    while (len >= CRC32C_SHORT * 3) {
        uint64_t crc1 = 0, crc2 = 0;
        const unsigned char *end = p + CRC32C_SHORT;
        do {
            crc0 = _mm_crc32_u64(crc0, load_u64(p));
            crc1 = _mm_crc32_u64(crc1, load_u64(p + CRC32C_SHORT));
            crc2 = _mm_crc32_u64(crc2, load_u64(p + 2 * CRC32C_SHORT));
            p += 8;
        } while (p < end);
        crc0 = crc32c_shift(crc32c_short, (uint32_t)crc0) ^ crc1;
        crc0 = crc32c_shift(crc32c_short, (uint32_t)crc0) ^ crc2;
        p += 2 * CRC32C_SHORT;
        len -= 3 * CRC32C_SHORT;
    }
    while (len >= 8) {
        crc0 = _mm_crc32_u64(crc0, load_u64(p));
        p += 8;
        len -= 8;
    }
    while (len) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        len--;
    }
    return ~(uint32_t)crc0;
}

static void crc32c_init_hardware(void) {
    crc32c_zeros(crc32c_long, CRC32C_LONG);
    crc32c_zeros(crc32c_short, CRC32C_SHORT);
}

static int crc32c_cpu_has_hardware(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }

#define CRC32C_HARDWARE crc32c_sse42

// MARK: - aarch64 CRC extension

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define CRC32C_HAVE_HARDWARE_CANDIDATE 1

static uint32_t crc32c_arm(uint32_t crc, const unsigned char *p, size_t len) {
    crc = ~crc;
    while (len && ((uintptr_t)p & 7) != 0) {
        crc = __crc32cb(crc, *p++);
        len--;
    }
    while (len >= 8) {
        crc = __crc32cd(crc, load_le64(p));
        p += 8;
        len -= 8;
    }
    while (len) {
        crc = __crc32cb(crc, *p++);
        len--;
    }
    return ~crc;
}

static void crc32c_init_hardware(void) {}
// Compiled with the extension enabled, so every CPU this binary runs on has it.
static int crc32c_cpu_has_hardware(void) { return 1; }

#define CRC32C_HARDWARE crc32c_arm
#endif

// MARK: - Dispatch

typedef uint32_t (*crc32c_fn)(uint32_t, const unsigned char *, size_t);

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static crc32c_fn crc32c_selected = crc32c_portable;
static int crc32c_hardware = 0;

static void crc32c_init(void) {
    crc32c_init_portable();
#if defined(CRC32C_HAVE_HARDWARE_CANDIDATE)
    if (crc32c_cpu_has_hardware()) {
        crc32c_init_hardware();
        crc32c_hardware = 1;
        crc32c_selected = CRC32C_HARDWARE;
    }
#endif
}

uint32_t eddy_crc32c_update(uint32_t crc, const void *data, size_t length) {
    pthread_once(&crc32c_once, crc32c_init);
    if (length == 0) return crc;
    return crc32c_selected(crc, (const unsigned char *)data, length);
}

uint32_t eddy_crc32c_update_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&crc32c_once, crc32c_init);
    if (length == 0) return crc;
    return crc32c_portable(crc, (const unsigned char *)data, length);
}

int eddy_crc32c_hardware_available(void) {
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_hardware;
}
