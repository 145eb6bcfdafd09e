/*
 * password.c - scrypt hashes with self-describing parameters.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "password.h"

#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAXMEM (256u << 20)

static int derive(const char *pw, const uint8_t *salt, uint64_t n, uint64_t r, uint64_t p, uint8_t key[KEY_LEN]) {
    int rc = EVP_PBE_scrypt(pw, strlen(pw), salt, SALT_LEN, n, r, p, SCRYPT_MAXMEM, key, KEY_LEN) == 1 ? 0 : -1;
    /* scrypt's 16 MiB scratch would otherwise stay in this thread's malloc
     * arena for good, and each worker has one (BENCHMARKS.md, RSS). */
    malloc_trim(0);
    return rc;
}

static void hex(const uint8_t *in, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", in[i]);
}

static int unhex(const char *in, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int password_hash(const char *password, uint64_t n, char out[PASSWORD_HASH_MAX], rk_status *st) {
    uint8_t salt[SALT_LEN], key[KEY_LEN];
    char salthex[2 * SALT_LEN + 1], keyhex[2 * KEY_LEN + 1];
    if (RAND_bytes(salt, SALT_LEN) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness for a salt");
    if (derive(password, salt, n, SCRYPT_R, SCRYPT_P, key) != 0) return rk_status_set(st, RK_INTERNAL, "scrypt failed");
    hex(salt, SALT_LEN, salthex);
    hex(key, KEY_LEN, keyhex);
    snprintf(out, PASSWORD_HASH_MAX, "scrypt$%" PRIu64 "$%d$%d$%s$%s", n, SCRYPT_R, SCRYPT_P, salthex, keyhex);
    OPENSSL_cleanse(key, sizeof(key));
    return RK_OK;
}

int password_verify(const char *password, const char *stored, rk_status *st) {
    uint64_t n, r, p;
    char salthex[2 * SALT_LEN + 1], keyhex[2 * KEY_LEN + 1];
    uint8_t salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    if (sscanf(stored, "scrypt$%" SCNu64 "$%" SCNu64 "$%" SCNu64 "$%32[0-9a-f]$%64[0-9a-f]", &n, &r, &p, salthex,
               keyhex) != 5 ||
        strlen(salthex) != 2 * SALT_LEN || strlen(keyhex) != 2 * KEY_LEN || unhex(salthex, SALT_LEN, salt) ||
        unhex(keyhex, KEY_LEN, want))
        return rk_status_set(st, RK_INTERNAL, "stored password hash is malformed");
    if (derive(password, salt, n, r, p, got) != 0) return rk_status_set(st, RK_INTERNAL, "scrypt failed");
    int same = CRYPTO_memcmp(got, want, KEY_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    if (!same) return rk_status_set(st, RK_UNAUTHENTICATED, "invalid username or password");
    return RK_OK;
}

int password_outdated(const char *stored, uint64_t n) {
    uint64_t sn, sr, sp;
    if (sscanf(stored, "scrypt$%" SCNu64 "$%" SCNu64 "$%" SCNu64 "$", &sn, &sr, &sp) != 3) return 1;
    return sn != n || sr != SCRYPT_R || sp != SCRYPT_P;
}
