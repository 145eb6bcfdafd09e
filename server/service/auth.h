/*
 * auth.h - who is calling, and what they may do.
 *
 * Two kinds of credentials arrive in the envelope's auth_token:
 *   - a login token (token.h), verified by signature and expiry, then
 *     checked against this process's revocation set (revset.h): logged-out
 *     token ids and users' token generations, no store asked;
 *   - a game-server API key, "rk_" followed by 40 hex characters, looked up
 *     by its SHA-256 in PostgreSQL and cached while it is used (cfg
 *     key_cache_s since its last use; regardless of age while PostgreSQL
 *     is unreachable).
 * A logout, a role change or a key revocation is recorded in PostgreSQL by
 * the handler, applied here at once and published on rk:ev, so every
 * other rankd applies it within milliseconds (events.c calls
 * auth_apply_line); auth_sync re-reads PostgreSQL for the lines a process
 * may have missed. docs/ARCHITECTURE.md ("Revocation") gives the window.
 * The permission rules of the schema live here too, in one place.
 */
#ifndef RANKD_AUTH_H
#define RANKD_AUTH_H

#include "server.h"

#define AUTH_KEY_PREFIX "rk_"
/* How often every rankd re-reads the revocations from PostgreSQL: while
 * its rk:ev subscription is down (Redis away), and otherwise, as a
 * backstop for a line published while only the publisher lost Redis. */
#define AUTH_SYNC_AWAY_S 5
#define AUTH_SYNC_S 60
#define AUTH_KEY_MAX 64

int apikey_cache_open(apikey_cache **out, rk_status *st);
void apikey_cache_close(apikey_cache *c);
void apikey_cache_forget(apikey_cache *c, int64_t key_id);

/* What apikey_cache_get found. */
#define APIKEY_MISS 0  /* not cached: ask PostgreSQL */
#define APIKEY_FRESH 1 /* cached and used within life_us: *out is the answer (the use refreshes it) */
#define APIKEY_STALE 2 /* cached but unused for life_us: ask PostgreSQL; if it is unreachable, *out */

/* The memory-only API-key check: looks up the key with SHA-256 `hash`
 * (auth_key_hash). *ticket is for apikey_cache_put. Thread-safe, no I/O.
 * An answer may say the key is revoked (out->revoked). */
int apikey_cache_get(apikey_cache *c, const char hash[65], int64_t now_us, int64_t life_us, pg_apikey *out,
                     uint64_t *ticket);
/* Caches PostgreSQL's answer for hash, unless a key was forgotten since
 * the apikey_cache_get that gave ticket (the answer may predate it). */
void apikey_cache_put(apikey_cache *c, const char hash[65], const pg_apikey *k, int64_t now_us, uint64_t ticket);

/* The memory-only token check: signature, expiry, logout, token
 * generation. Fills *cl; RK_UNAUTHENTICATED with the reason otherwise.
 * Thread-safe, no I/O. */
int auth_token_check(server *srv, const char *token, token_claims *cl, rk_status *st);

/* Resolves a credential (NULL or "": anonymous) into call->who. */
int auth_resolve(rpc_call *call, const char *credential, rk_status *st);

/* Merges PostgreSQL's revoked tokens and token generations into
 * srv->revoked, drops revoked API keys from the key cache and prunes
 * expired revocations. At start, and whenever a line may have been missed.
 * Never undoes a revocation, so it may race with auth_apply_line. */
int auth_sync(server *srv, pgstore *pg, rk_status *st);

/* After PostgreSQL has recorded it: apply a revocation to this process and
 * publish it on rk:ev for the others. A failed publish only marks the call
 * degraded (the others resync from PostgreSQL). */
int auth_revoked_token(rpc_call *call, const char *jti, int64_t expires_at, rk_status *st);
int auth_raised_gen(rpc_call *call, int64_t user_id, int64_t gen, rk_status *st);
void auth_revoked_key(rpc_call *call, int64_t key_id);
/* A ban (banned 1, with reason) or unban of user_id now at token
 * generation gen (PostgreSQL has it): this process's ban set at once, the
 * tokens voided as by auth_raised_gen, and every rankd told through rk:ev
 * ("b"/"n" uid gen reason). */
int auth_ban_changed(rpc_call *call, int64_t user_id, int64_t gen, int banned, const char *reason, rk_status *st);

/* Applies one rk:ev line split at its tabs (f[0] the kind, nf fields) if it
 * is a revocation ("x", "g" or "k"); returns 1 if it was one, else 0.
 * Memory-only. */
int auth_apply_line(server *srv, char *const *f, int nf);

/* Makes a new API key: the text to hand out, and the hash to store. */
int auth_new_apikey(char key[AUTH_KEY_MAX], char hash[65], rk_status *st);
/* SHA-256 of a key, hex. */
void auth_key_hash(const char *key, char hash[65]);

/* RK_OK when `who` may submit to board b for user_id; else
 * RK_PERMISSION_DENIED (or RK_UNAUTHENTICATED for anonymous). */
int auth_can_submit(const principal *who, const board *b, int64_t user_id, rk_status *st);
/* May who increment a counter of game? Game-server keys of that game and
 * admins may; players may not (a player's client is not trusted to count). */
int auth_can_count(const principal *who, const char *game, rk_status *st);

#endif
