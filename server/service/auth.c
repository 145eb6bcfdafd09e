/*
 * auth.c - credential resolution and permission rules.
 *
 * A token's signature proves who signed it and what they were then; the
 * local revocation set (revset.h) says whether that still holds, so a
 * token check touches no store at all. The set is PostgreSQL's record,
 * loaded at start and kept current by the lines every rankd publishes on
 * rk:ev (auth_sync re-reads it when one may have been missed).
 *
 * API keys are cached by hash. An entry is trusted for key-cache-s since
 * its last use: a revocation reaches every rankd's cache through rk:ev, so
 * the lifetime only bounds how long an unused key occupies a slot and how
 * long a missed line could matter. While PostgreSQL is unreachable a
 * cached key is served whatever its age, so game servers keep submitting
 * through a PostgreSQL outage.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth.h"
#include "banset.h"
#include "credential.h"
#include "log.h"
#include "revset.h"

#define CACHE_SLOTS 64

typedef struct key_entry {
    char hash[65]; /* "": empty */
    pg_apikey key;
    int64_t used_at_us; /* found in PostgreSQL or last used */
} key_entry;

/* A small direct-mapped cache: a game server uses one key for all its
 * calls, so a handful of slots holds every key in use. */
struct apikey_cache {
    pthread_mutex_t mu;
    uint64_t forgets; /* raised by every forget: a lookup that raced one is not cached */
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
    c->forgets++;
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

static unsigned slot_of(const char hash[65]) {
    return (unsigned)strtoul((char[3]){hash[0], hash[1], 0}, NULL, 16) % CACHE_SLOTS;
}

int apikey_cache_get(apikey_cache *c, const char hash[65], int64_t now_us, int64_t life_us, pg_apikey *out,
                     uint64_t *ticket) {
    int rc = APIKEY_MISS;
    pthread_mutex_lock(&c->mu);
    key_entry *e = &c->slots[slot_of(hash)];
    *ticket = c->forgets;
    if (strcmp(e->hash, hash) == 0) {
        *out = e->key;
        rc = now_us - e->used_at_us < life_us ? APIKEY_FRESH : APIKEY_STALE;
        if (rc == APIKEY_FRESH) e->used_at_us = now_us;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void apikey_cache_put(apikey_cache *c, const char hash[65], const pg_apikey *k, int64_t now_us, uint64_t ticket) {
    pthread_mutex_lock(&c->mu);
    if (c->forgets == ticket) { /* else a revocation raced the lookup: ask again next time */
        key_entry *e = &c->slots[slot_of(hash)];
        memcpy(e->hash, hash, sizeof(e->hash));
        e->key = *k;
        e->used_at_us = now_us;
    }
    pthread_mutex_unlock(&c->mu);
}

static int resolve_key(rpc_call *call, const char *credential, rk_status *st) {
    apikey_cache *c = call->srv->apikeys;
    char hash[65];
    /* Not the form auth_new_apikey makes: no stored key can match. */
    if (!credential_key_well_formed(credential)) return rk_status_set(st, RK_UNAUTHENTICATED, "unknown API key");
    auth_key_hash(credential, hash);
    int64_t now = server_now_us();
    uint64_t ticket;
    pg_apikey k;
    int cached = apikey_cache_get(c, hash, now, call->srv->cfg.key_cache_s * 1000000LL, &k, &ticket);
    if (cached != APIKEY_FRESH) {
        if (call->ra) return RPC_SLOW; /* an event loop never waits for PostgreSQL */
        pg_apikey found;
        int rc = pgstore_apikey_lookup(call->w->pg, hash, &found, st);
        if (rc == RK_UNAVAILABLE && cached == APIKEY_STALE) {
            /* PostgreSQL is away: the cached answer is the best there is. */
            rk_status_clear(st);
        } else if (rc != RK_OK) {
            return rc;
        } else {
            k = found;
            apikey_cache_put(c, hash, &k, now, ticket);
        }
    }
    if (k.revoked) return rk_status_set(st, RK_UNAUTHENTICATED, "API key %lld was revoked", (long long)k.id);
    call->who.kind = WHO_APIKEY;
    call->who.role = 2; /* ROLE_GAME_SERVER */
    call->who.key_id = k.id;
    snprintf(call->who.game, sizeof(call->who.game), "%s", k.game);
    return RK_OK;
}

int auth_token_check(server *srv, const char *token, token_claims *cl, rk_status *st) {
    int rc, revoked = 0;
    int64_t gen = 0;
    if ((rc = token_verify(srv->token_key, token, server_time(), cl, st)) != RK_OK) return rc;
    revset_check(srv->revoked, cl->jti, cl->user_id, &revoked, &gen);
    if (revoked) return rk_status_set(st, RK_UNAUTHENTICATED, "token was revoked by logout");
    if (gen > cl->gen)
        return rk_status_set(st, RK_UNAUTHENTICATED,
                             "this token predates a change to the account (role changed); log in again");
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
    int rc;
    if ((rc = auth_token_check(call->srv, credential, &cl, st)) != RK_OK) return rc;
    call->who.kind = WHO_USER;
    call->who.role = cl.role;
    call->who.user_id = cl.user_id;
    call->who.claims = cl;
    return RK_OK;
}

/* ---------------------------------------------------------------- keeping every rankd current */

static int add_revoked(void *arg, const char *jti, int64_t expires_at, rk_status *st) {
    return revset_revoke(arg, jti, expires_at, st);
}

static int add_gen(void *arg, int64_t id, int64_t gen, rk_status *st) { return revset_raise_gen(arg, id, gen, st); }

static void forget_key(void *arg, int64_t key_id) { apikey_cache_forget(arg, key_id); }

static int add_ban(void *arg, int64_t id, int64_t gen, int banned, const char *reason) {
    rk_status st;
    return banset_apply(arg, id, gen, banned, reason, &st);
}

int auth_sync(server *srv, pgstore *pg, rk_status *st) {
    int64_t now = server_time();
    int rc;
    if ((rc = pgstore_revoked_each(pg, now, add_revoked, srv->revoked, st)) != RK_OK ||
        (rc = pgstore_user_gens_each(pg, add_gen, srv->revoked, st)) != RK_OK ||
        (rc = pgstore_revoked_keys_each(pg, forget_key, srv->apikeys, st)) != RK_OK ||
        (rc = pgstore_bans_each(pg, add_ban, srv->bans, st)) != RK_OK)
        return rc;
    revset_prune(srv->revoked, now);
    return RK_OK;
}

static void publish(rpc_call *call, const char *line) {
    rk_status ignore;
    /* Without Redis the other rankd processes hear of it from PostgreSQL
     * (auth_sync, every AUTH_SYNC_AWAY_S while their subscription is down,
     * every AUTH_SYNC_S otherwise). */
    if (rstore_publish(call->w->redis, line, &ignore) != RK_OK) call->degraded = 1;
}

int auth_revoked_token(rpc_call *call, const char *jti, int64_t expires_at, rk_status *st) {
    int rc;
    if ((rc = revset_revoke(call->srv->revoked, jti, expires_at, st)) != RK_OK) return rc;
    char line[128];
    snprintf(line, sizeof(line), "x\t%s\t%lld", jti, (long long)expires_at);
    publish(call, line);
    return RK_OK;
}

int auth_raised_gen(rpc_call *call, int64_t user_id, int64_t gen, rk_status *st) {
    int rc;
    if ((rc = revset_raise_gen(call->srv->revoked, user_id, gen, st)) != RK_OK) return rc;
    char line[64];
    snprintf(line, sizeof(line), "g\t%lld\t%lld", (long long)user_id, (long long)gen);
    publish(call, line);
    return RK_OK;
}

int auth_ban_changed(rpc_call *call, int64_t user_id, int64_t gen, int banned, const char *reason, rk_status *st) {
    int rc;
    char line[64 + BANSET_REASON_MAX + 1];
    if ((rc = banset_apply(call->srv->bans, user_id, gen, banned, reason, st)) != RK_OK) return rc;
    /* The generation voids the user's tokens as a role change does. */
    if ((rc = auth_raised_gen(call, user_id, gen, st)) != RK_OK) return rc;
    int n = snprintf(line, sizeof(line), "%c\t%lld\t%lld\t", banned ? 'b' : 'n', (long long)user_id, (long long)gen);
    /* The reason travels as the line's last field: no tab or newline in it. */
    for (const char *c = banned && reason ? reason : ""; *c && n < (int)sizeof(line) - 1; c++)
        line[n++] = *c == '\t' || *c == '\n' || *c == '\r' ? ' ' : *c;
    line[n] = '\0';
    publish(call, line);
    return RK_OK;
}

void auth_revoked_key(rpc_call *call, int64_t key_id) {
    apikey_cache_forget(call->srv->apikeys, key_id);
    char line[48];
    snprintf(line, sizeof(line), "k\t%lld", (long long)key_id);
    publish(call, line);
}

int auth_apply_line(server *srv, char *const *f, int nf) {
    rk_status ignore;
    switch (f[0][0] == '\0' || f[0][1] != '\0' ? 0 : f[0][0]) {
        case 'x':
            if (nf == 3) revset_revoke(srv->revoked, f[1], strtoll(f[2], NULL, 10), &ignore);
            return 1;
        case 'g':
            if (nf == 3) revset_raise_gen(srv->revoked, strtoll(f[1], NULL, 10), strtoll(f[2], NULL, 10), &ignore);
            return 1;
        case 'k':
            if (nf == 2) apikey_cache_forget(srv->apikeys, strtoll(f[1], NULL, 10));
            return 1;
        case 'b':
        case 'n':
            if (nf >= 3)
                banset_apply(srv->bans, strtoll(f[1], NULL, 10), strtoll(f[2], NULL, 10), f[0][0] == 'b',
                             nf >= 4 ? f[3] : "", &ignore);
            return 1;
        default: return 0;
    }
}

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

int auth_can_count(const principal *who, const char *game, rk_status *st) {
    switch (who->kind) {
        case WHO_ANONYMOUS: return rk_status_set(st, RK_UNAUTHENTICATED, "incrementing a counter needs an API key");
        case WHO_APIKEY:
            if (strcmp(who->game, game) != 0)
                return rk_status_set(st, RK_PERMISSION_DENIED, "this API key is for game %s, not %s", who->game, game);
            return RK_OK;
        case WHO_USER:
        default:
            if (who->role == 3) return RK_OK; /* ROLE_ADMIN */
            return rk_status_set(st, RK_PERMISSION_DENIED, "counters are incremented by game servers and admins");
    }
}
