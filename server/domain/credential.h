/*
 * credential.h - what an envelope's auth_token is, from its text alone.
 *
 * The pure first step of auth.c: no store, no clock, no key. A credential
 * starting with "rk_" is an API key and anything else non-empty is a login
 * token; an API key must then be "rk_" and 40 lower-case hex digits, the
 * only form auth_new_apikey hands out. Anything else cannot match a stored
 * key, so it is refused without asking PostgreSQL.
 */
#ifndef RANKD_CREDENTIAL_H
#define RANKD_CREDENTIAL_H

#define CREDENTIAL_KEY_PREFIX "rk_"
#define CREDENTIAL_KEY_HEX 40 /* hex digits after the prefix */

typedef enum credential_kind {
    CREDENTIAL_NONE,   /* NULL or "": an anonymous call */
    CREDENTIAL_APIKEY, /* starts with "rk_" */
    CREDENTIAL_TOKEN,  /* anything else: a login token (token.h) */
} credential_kind;

credential_kind credential_classify(const char *credential);

/* 1 when key is "rk_" followed by exactly 40 lower-case hex digits, else 0. */
int credential_key_well_formed(const char *key);

#endif
