/*
 * auth.c - credential resolution and permission rules.
 *
 * A token's signature proves who signed it and what they were then; the
 * stores say whether that still holds. Every token check is one Redis
 * round trip (revoked? the user's generation?), or one PostgreSQL query
 * when Redis cannot say, so a logout or a role change takes effect on
 * every rankd at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "credential.h"
#include "degraded.h"

#define CACHE_SLOTS 64

typedef struct key_entry {
    char hash[65];
    pg_apikey key;
    int64_t cached_at_us;
} key_entry;

/* A small direct-mapped cache: a game server uses one key for all its
 * calls, so a handful of slots holds every key in use. */
struct apikey_cache {
    pthread_mutex_t mu;
    key_entry slots[CACHE_SLOTS];
};

int apikey_cache_open(apikey_cache **out, rk_status *st) {
    apikey_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return RK_OK;
}

void apikey_cache_close(apikey_cache *c) {
    if (c == NULL) return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void apikey_cache_forget(apikey_cache *c, int64_t key_id) {
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->slots[i].hash[0] && c->slots[i].key.id == key_id) c->slots[i].hash[0] = '\0';
    pthread_mutex_unlock(&c->mu);
}

void auth_key_hash(const char *key, char hash[65]) {
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) sprintf(hash + 2 * i, "%02x", d[i]);
}

int auth_new_apikey(char key[AUTH_KEY_MAX], char hash[65], rk_status *st) {
    uint8_t raw[20];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness for a key");
    strcpy(key, AUTH_KEY_PREFIX);
    for (size_t i = 0; i < sizeof(raw); i++) sprintf(key + 3 + 2 * i, "%02x", raw[i]);
    auth_key_hash(key, hash);
    return RK_OK;
}

static int resolve_key(rpc_call *call, const char *credential, rk_status *st) {
    apikey_cache *c = call->srv->apikeys;
    char hash[65];
    /* Not the form auth_new_apikey makes: no stored key can match. */
    if (!credential_key_well_formed(credential)) return rk_status_set(st, RK_UNAUTHENTICATED, "unknown API key");
    auth_key_hash(credential, hash);
    unsigned slot = (unsigned)strtoul((char[3]){hash[0], hash[1], 0}, NULL, 16) % CACHE_SLOTS;
    int64_t now = server_now_us();
    pg_apikey k;
    int hit = 0;

    pthread_mutex_lock(&c->mu);
    key_entry *e = &c->slots[slot];
    if (strcmp(e->hash, hash) == 0 && now - e->cached_at_us < AUTH_KEY_CACHE_S * 1000000LL) {
        k = e->key;
        hit = 1;
    }
    pthread_mutex_unlock(&c->mu);

    if (!hit) {
        if (call->ra) return RPC_SLOW; /* an event loop never waits for PostgreSQL */
        int rc = pgstore_apikey_lookup(call->w->pg, hash, &k, st);
        if (rc != RK_OK) return rc;
        pthread_mutex_lock(&c->mu);
        memcpy(e->hash, hash, sizeof(hash));
        e->key = k;
        e->cached_at_us = now;
        pthread_mutex_unlock(&c->mu);
    }
    if (k.revoked) return rk_status_set(st, RK_UNAUTHENTICATED, "API key %lld was revoked", (long long)k.id);
    call->who.kind = WHO_APIKEY;
    call->who.role = 2; /* ROLE_GAME_SERVER */
    call->who.key_id = k.id;
    snprintf(call->who.game, sizeof(call->who.game), "%s", k.game);
    return RK_OK;
}

int auth_resolve(rpc_call *call, const char *credential, rk_status *st) {
    memset(&call->who, 0, sizeof(call->who));
    switch (credential_classify(credential)) {
        case CREDENTIAL_NONE: return RK_OK;
        case CREDENTIAL_APIKEY: return resolve_key(call, credential, st);
        case CREDENTIAL_TOKEN: break;
    }

    token_claims cl;
    int rc, revoked = 0;
    int64_t gen = 0;
    /* Whether it was revoked is a store's answer. */
    if (call->ra) return RPC_SLOW;
    if ((rc = token_verify(call->srv->token_key, credential, server_time(), &cl, st)) != RK_OK) return rc;
    rc = rstore_token_check(call->w->redis, cl.jti, cl.user_id, &revoked, &gen, st);
    if (rc == RK_UNAVAILABLE) {
        rk_status_clear(st);
        rc = degraded_token_check(call->w->pg, cl.jti, cl.user_id, &revoked, &gen, st);
    }
    if (rc != RK_OK) return rc;
    if (revoked) return rk_status_set(st, RK_UNAUTHENTICATED, "token was revoked by logout");
    if (gen == TOKEN_GEN_GONE) return rk_status_set(st, RK_UNAUTHENTICATED, "the token's user no longer exists");
    if (gen > cl.gen)
        return rk_status_set(st, RK_UNAUTHENTICATED,
                             "this token predates a change to the account (role changed); log in again");
    call->who.kind = WHO_USER;
    call->who.role = cl.role;
    call->who.user_id = cl.user_id;
    call->who.claims = cl;
    return RK_OK;
}

static int raise_gen(void *arg, int64_t id, int64_t gen, rk_status *st) { return rstore_raise_gen(arg, id, gen, st); }

int auth_restore_gens(rstore *r, pgstore *pg, rk_status *st) { return pgstore_user_gens_each(pg, raise_gen, r, st); }

int auth_can_submit(const principal *who, const board *b, int64_t user_id, rk_status *st) {
    switch (who->kind) {
        case WHO_ANONYMOUS:
            return rk_status_set(st, RK_UNAUTHENTICATED, "submitting a score needs a token or an API key");
        case WHO_APIKEY:
            if (strcmp(who->game, b->game) != 0)
                return rk_status_set(st, RK_PERMISSION_DENIED,
                                     "this API key is for game %s; board %s belongs to game %s", who->game, b->id,
                                     b->game);
            return RK_OK;
        case WHO_USER:
        default:
            if (who->role == 3) return RK_OK; /* ROLE_ADMIN */
            if (!b->player_submit)
                return rk_status_set(st, RK_PERMISSION_DENIED, "board %s accepts scores only from its game server",
                                     b->id);
            if (user_id != who->user_id)
                return rk_status_set(st, RK_PERMISSION_DENIED, "players may submit only their own scores");
            return RK_OK;
    }
}
