/*
 * rslot.c - the Redis Cluster slot of a key; see rslot.h.
 *
 * The CRC is computed bit by bit: keys are short (tens of bytes) and a
 * slot is taken once per command, so a 512-byte table would buy nothing
 * measurable.
 */
#include <string.h>

#include "rslot.h"

uint16_t rslot_crc16(const void *buf, size_t len) {
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

int rslot_of(const char *key, size_t len) {
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - from);
        /* "{}" hashes the whole key, as Redis does. */
        if (close && close > open + 1) return rslot_crc16(open + 1, (size_t)(close - open - 1)) & (RSLOT_COUNT - 1);
    }
    return rslot_crc16(key, len) & (RSLOT_COUNT - 1);
}
