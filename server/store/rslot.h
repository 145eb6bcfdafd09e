/*
 * rslot.h - the Redis Cluster slot of a key.
 *
 * A Redis Cluster splits its key space into RSLOT_COUNT slots and each
 * master serves some of them. A key's slot is CRC16 (the XMODEM variant:
 * polynomial 0x1021, start 0, no reflection) of the key, modulo 16384;
 * when the key holds a hash tag (a '{', then a '}' after it, with at least
 * one byte between the first '{' and the first '}' after it) only the
 * tag's bytes are hashed, so "rk:{7}:all" and "rk:{7}:pb" share a slot.
 * Pure: the same answers as CLUSTER KEYSLOT, checked against it by the
 * cluster tests.
 */
#ifndef RANKD_STORE_RSLOT_H
#define RANKD_STORE_RSLOT_H

#include <stddef.h>
#include <stdint.h>

#define RSLOT_COUNT 16384

/* CRC16-XMODEM of buf[0..len): "123456789" gives 0x31C3. */
uint16_t rslot_crc16(const void *buf, size_t len);

/* The slot (0..RSLOT_COUNT-1) of key[0..len), hash tag rule included. */
int rslot_of(const char *key, size_t len);

/* The slot of a command's first key, or -1 for a command without keys
 * (PING, INFO, PUBLISH, FUNCTION, CLUSTER, an FCALL of no keys). The key
 * of FCALL and FCALL_RO is the first after numkeys, of XREADGROUP the
 * first after STREAMS, of XGROUP its third word; of any other command
 * its second. lens NULL: argv's strings end with a NUL. */
int rslot_of_command(int argc, const char *const *argv, const size_t *lens);

/* Writes "rk:{live.<n>}:live" for the smallest n whose slot lies in the
 * j-th of k equal ranges of slots (0 <= j < k <= RSLOT_COUNT), so that k
 * such keys, one per range, put one on every master that owns a whole
 * range: the split layout's markers of "this master still has its data"
 * (store_redis.h, rstore_probe). */
void rslot_sentinel(int j, int k, char *out, size_t cap);

#endif
