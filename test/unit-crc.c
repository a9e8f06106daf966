/* unit-crc.c: the record checksum of lib/stream.c equals zlib's crc32 for every length and alignment. */
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
    memset(buf, 0xff, 64);
    CHECK(record_crc(buf, 64) == (uint32_t)crc32(0, buf, 64), "all ones");
    return unit_done();
}
