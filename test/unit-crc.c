/* unit-crc.c: the checksum of lib/stream.c (mz_crc32, slicing by 16) equals zlib's crc32 for every length,
 * alignment and split. */
#include "../lib/stream.c" /* record_crc is static */

#include "unit.h"

int main(void)
{
    enum { MAX = 3000 };
    static uint8_t buf[MAX + 16];
    long bad = 0, tried = 0;
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) x = x * 1103515245u + 12345u, buf[i] = (uint8_t)(x >> 16);
    for (size_t len = 0; len <= MAX; len++)
        for (size_t off = 0; off < 8; off++, tried++)
            if (record_crc(buf + off, len) != (uint32_t)crc32(0, buf + off, (uInt)len)) bad++;
    CHECK(bad == 0, "record_crc = zlib crc32 on %ld buffers (lengths 0-%d, 8 alignments): %ld differ", tried, MAX, bad);
    CHECK(record_crc((const uint8_t *)"123456789", 9) == 0xcbf43926u, "CRC-32 check value of \"123456789\" is cbf43926");
    bad = tried = 0;
    for (size_t len = 0; len <= 200; len++)
        for (size_t cut = 0; cut <= len; cut++, tried++)
            if (mz_crc32(mz_crc32(0, buf + 3, cut), buf + 3 + cut, len - cut) != (uint32_t)crc32(0, buf + 3, (uInt)len)) bad++;
    CHECK(bad == 0, "mz_crc32 continued from a prefix's CRC = zlib crc32 of the whole (%ld splits): %ld differ", tried, bad);
    {
        size_t n = 1 << 20;
        uint8_t *big = malloc(n);
        for (size_t i = 0; i < n; i++) x = x * 1103515245u + 12345u, big[i] = (uint8_t)(x >> 16);
        CHECK(mz_crc32(0, big, n) == (uint32_t)crc32(0, big, (uInt)n), "1 MiB buffer");
        free(big);
    }
    memset(buf, 0xff, 64);
    CHECK(record_crc(buf, 64) == (uint32_t)crc32(0, buf, 64), "all ones");
    return unit_done();
}
