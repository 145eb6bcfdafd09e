/*
 * auth.h - who is calling, and what they may do.
 *
 * Two kinds of credentials arrive in the envelope's auth_token:
 *   - a login token (token.h), verified by signature and expiry, then
 *     checked against the revocation list and the user's token generation
 *     in Redis (logout and a role change are immediate; PostgreSQL answers
 *     when Redis cannot);
 *   - a game-server API key, "rk_" followed by 40 hex characters, looked up
 *     by its SHA-256 in PostgreSQL and cached for AUTH_KEY_CACHE_S seconds
 *     (a key revoked through this process stops working at once; through
 *     another process, within that time).
 * The permission rules of the schema live here too, in one place.
 */
#ifndef RANKD_AUTH_H
#define RANKD_AUTH_H

#include "server.h"

#define AUTH_KEY_PREFIX "rk_"
#define AUTH_KEY_CACHE_S 30
#define AUTH_KEY_MAX 64

int apikey_cache_open(apikey_cache **out, rk_status *st);
void apikey_cache_close(apikey_cache *c);
void apikey_cache_forget(apikey_cache *c, int64_t key_id);

/* Resolves a credential (NULL or "": anonymous) into call->who. */
int auth_resolve(rpc_call *call, const char *credential, rk_status *st);

/* Copies every user's token generation from PostgreSQL into Redis (never
 * lowering one): for a Redis that lost its data, before it is marked live. */
int auth_restore_gens(rstore *r, pgstore *pg, rk_status *st);

/* Makes a new API key: the text to hand out, and the hash to store. */
int auth_new_apikey(char key[AUTH_KEY_MAX], char hash[65], rk_status *st);
/* SHA-256 of a key, hex. */
void auth_key_hash(const char *key, char hash[65]);

/* RK_OK when `who` may submit to board b for user_id; else
 * RK_PERMISSION_DENIED (or RK_UNAUTHENTICATED for anonymous). */
int auth_can_submit(const principal *who, const board *b, int64_t user_id, rk_status *st);

#endif
