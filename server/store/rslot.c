/*
 * rslot.c - the Redis Cluster slot of a key; see rslot.h.
 *
 * The CRC is computed bit by bit: keys are short (tens of bytes) and a
 * slot is taken once per command, so a 512-byte table would buy nothing
 * measurable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Where a command's first key is. Every command rankd sends is in this
 * table or has its key second, as most Redis commands do. */
enum { KEY_NONE = -1, KEY_FCALL = -2, KEY_STREAMS = -3 };
static const struct key_rule {
    const char *cmd;
    int at; /* argv index, or one of the KEY_ rules */
} key_rules[] = {
    {.cmd = "FCALL", .at = KEY_FCALL},
    {.cmd = "FCALL_RO", .at = KEY_FCALL},
    {.cmd = "XREADGROUP", .at = KEY_STREAMS},
    {.cmd = "XGROUP", .at = 2},
    {.cmd = "XINFO", .at = 2},
    {.cmd = "PING", .at = KEY_NONE},
    {.cmd = "INFO", .at = KEY_NONE},
    {.cmd = "PUBLISH", .at = KEY_NONE}, /* a cluster delivers it to every node */
    {.cmd = "FUNCTION", .at = KEY_NONE},
    {.cmd = "CLUSTER", .at = KEY_NONE},
};

int rslot_of_command(int argc, const char *const *argv, const size_t *lens) {
    if (argc < 1) return -1;
    int at = 1;
    for (size_t i = 0; i < sizeof(key_rules) / sizeof(key_rules[0]); i++)
        if (strcasecmp(argv[0], key_rules[i].cmd) == 0) at = key_rules[i].at;
    if (at == KEY_FCALL) at = argc > 3 && atoi(argv[2]) > 0 ? 3 : KEY_NONE;
    if (at == KEY_STREAMS) {
        at = KEY_NONE;
        for (int i = 1; i + 1 < argc; i++)
            if (strcasecmp(argv[i], "STREAMS") == 0) {
                at = i + 1;
                break;
            }
    }
    if (at < 0 || at >= argc) return -1;
    return rslot_of(argv[at], lens ? lens[at] : strlen(argv[at]));
}

void rslot_sentinel(int j, int k, char *out, size_t cap) {
    int lo = (int)((long)j * RSLOT_COUNT / k), hi = (int)((long)(j + 1) * RSLOT_COUNT / k);
    /* CRC16 spreads consecutive numbers over the slots: a range of r slots
     * takes about RSLOT_COUNT / r tries. */
    for (unsigned n = 0;; n++) {
        int len = snprintf(out, cap, "rk:{live.%u}:live", n);
        int s = rslot_of(out, (size_t)len);
        if (s >= lo && s < hi) return;
    }
}
