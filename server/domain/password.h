/*
 * password.h - password hashing with scrypt (OpenSSL EVP_PBE_scrypt).
 *
 * The stored form carries its own parameters, "scrypt$N$r$p$salt$key" with
 * salt and key in hex, so the cost can be raised later without breaking
 * existing hashes. Verification recomputes and compares in constant time.
 */
#ifndef RANKD_PASSWORD_H
#define RANKD_PASSWORD_H

#include <stdint.h>

#include <rankd/status.h>

#define PASSWORD_HASH_MAX 192

/* Default cost: N=2^14, r=8, p=1 (16 MiB, tens of milliseconds). */
#define PASSWORD_SCRYPT_N 16384u

/* Hashes `password` with a fresh random salt into out. */
int password_hash(const char *password, uint64_t n, char out[PASSWORD_HASH_MAX], rk_status *st);

/* RK_OK when password matches `stored`; RK_UNAUTHENTICATED when it does
 * not; RK_INTERNAL when `stored` is not a hash we understand. */
int password_verify(const char *password, const char *stored, rk_status *st);

/* 1 when `stored` was made with other parameters than password_hash(.., n)
 * uses now (or is not a hash we understand), so it is worth rehashing. */
int password_outdated(const char *stored, uint64_t n);

#endif
