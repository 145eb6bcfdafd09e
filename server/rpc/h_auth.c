/*
 * h_auth.c - sign-up, login, logout, who-am-i and API keys.
 *
 * Login never says whether a username exists: an unknown name costs the
 * same scrypt as a wrong password (a decoy hash made at start with the
 * current parameters) and gets the same answer. A hash made with other
 * parameters (an older --scrypt-n) is replaced at the owner's next login,
 * so its different cost does not single the account out for long.
 *
 * Guessing is slowed down, never locked out (OWASP's advice): every
 * attempt is counted in Redis before its password is checked, per account
 * and per client address, and after a few failures each further attempt
 * must wait a doubling delay, capped at LOGIN_ACCOUNT_CAP_MS, or is
 * refused RESOURCE_EXHAUSTED with when to retry. The owner can always get
 * in after at most that long from any address but the guesser's: the
 * address's count is kept apart, so a guessing address slows down only
 * itself, on every account it tries.
 * Without Redis, attempts are not throttled (PostgreSQL alone decides).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "banset.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "validate.h"

#define LOGIN_WINDOW_S 900         /* counts are forgotten this long after the last attempt */
#define LOGIN_ACCOUNT_FREE 5       /* attempts on an account before any wait */
#define LOGIN_ACCOUNT_CAP_MS 30000 /* the longest wait an account's owner can meet */
#define LOGIN_ADDRESS_FREE 50      /* failures from one address, over all accounts */
#define LOGIN_ADDRESS_CAP_MS 300000

static const rstore_throttle login_throttle = {.window_s = LOGIN_WINDOW_S,
                                               .account_free = LOGIN_ACCOUNT_FREE,
                                               .account_cap_ms = LOGIN_ACCOUNT_CAP_MS,
                                               .address_free = LOGIN_ADDRESS_FREE,
                                               .address_cap_ms = LOGIN_ADDRESS_CAP_MS};

/* Written once by h_auth_init before any worker starts; read-only after. */
static char decoy_hash[PASSWORD_HASH_MAX];

int h_auth_init(const server *srv, rk_status *st) {
    return password_hash("decoy password for unknown users", (uint64_t)srv->cfg.scrypt_n, decoy_hash, st);
}

int h_sign_up(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SignUpRequest *req = (const Rankd__SignUpRequest *)m;
    char hash[PASSWORD_HASH_MAX];
    int64_t id;
    int rc;
    if ((rc = validate_username(req->username, st)) != RK_OK) return rc;
    if ((rc = validate_password(req->password, st)) != RK_OK) return rc;
    if ((rc = password_hash(req->password, (uint64_t)call->srv->cfg.scrypt_n, hash, st)) != RK_OK) return rc;
    if ((rc = pgstore_user_create(call->w->pg, req->username, hash, RANKD__ROLE__ROLE_PLAYER, &id, st)) != RK_OK)
        return rc;
    char *name = req->username;
    rk_status ignore; /* names are refilled from PostgreSQL at start */
    rstore_set_names(call->w->redis, &id, &name, 1, &ignore);
    NEW(call, rep, Rankd__SignUpReply, rankd__sign_up_reply__init);
    rep->has_user_id = 1;
    rep->user_id = id;
    *out = &rep->base;
    log_info("user signed up", "user_id=%lld", (long long)id);
    return RK_OK;
}

int h_login(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__LoginRequest *req = (const Rankd__LoginRequest *)m;
    rk_status ignore;
    pg_user u;
    int rc;
    if (req->username == NULL || req->username[0] == '\0')
        return rk_status_set(st, RK_INVALID_ARGUMENT, "username is required");
    if (req->password == NULL || req->password[0] == '\0')
        return rk_status_set(st, RK_INVALID_ARGUMENT, "password is required");
    if (strlen(req->username) > USERNAME_MAX || strlen(req->password) > PASSWORD_MAX)
        return rk_status_set(st, RK_UNAUTHENTICATED, "invalid username or password");

    int64_t wait_ms = 0;
    if (rstore_login_try(call->w->redis, req->username, call->peer, &login_throttle, &wait_ms, &ignore) == RK_OK &&
        wait_ms > 0) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "too many failed logins; retry in %lld s",
                      (long long)((wait_ms + 999) / 1000));
        st->retry_after_ms = wait_ms;
        return RK_RESOURCE_EXHAUSTED;
    }

    rc = pgstore_user_by_name(call->w->pg, req->username, &u, st);
    if (rc == RK_NOT_FOUND) {
        password_verify(req->password, decoy_hash, &ignore);
        rc = RK_UNAUTHENTICATED;
    } else if (rc == RK_OK) {
        rc = password_verify(req->password, u.password_hash, st);
    }
    if (rc == RK_UNAUTHENTICATED) return rk_status_set(st, RK_UNAUTHENTICATED, "invalid username or password");
    if (rc != RK_OK) return rc;
    rstore_login_ok(call->w->redis, req->username, call->peer, &ignore);
    /* Told only after the right password: a ban says nothing to a guesser. */
    char why[BANSET_REASON_MAX + 1];
    if (banset_check(call->srv->bans, u.id, why, sizeof(why)))
        return rk_status_set(st, RK_PERMISSION_DENIED, "%s is banned: %s", u.username,
                             why[0] ? why : "no reason given");
    if (password_outdated(u.password_hash, (uint64_t)call->srv->cfg.scrypt_n)) {
        /* The password is at hand only now: store it at today's cost. */
        char hash[PASSWORD_HASH_MAX];
        if (password_hash(req->password, (uint64_t)call->srv->cfg.scrypt_n, hash, &ignore) == RK_OK &&
            pgstore_user_set_hash(call->w->pg, u.id, u.password_hash, hash, &ignore) == RK_OK)
            log_info("password rehashed", "user_id=%lld", (long long)u.id);
    }

    token_claims cl = {.user_id = u.id,
                       .role = u.role,
                       .expires_at = (int64_t)server_time() + call->srv->cfg.token_ttl,
                       .gen = u.token_gen};
    char *tok = arena_alloc(&call->w->arena, TOKEN_MAX);
    if (tok == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = token_new_jti(&cl, st)) != RK_OK || (rc = token_sign(call->srv->token_key, &cl, tok, st)) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__LoginReply, rankd__login_reply__init);
    rep->token = tok;
    rep->has_expires_at = rep->has_user_id = rep->has_role = 1;
    rep->expires_at = cl.expires_at;
    rep->user_id = u.id;
    rep->role = (Rankd__Role)u.role;
    *out = &rep->base;
    return RK_OK;
}

int h_logout(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    (void)m;
    int rc;
    if (call->who.kind != WHO_USER)
        return rk_status_set(st, RK_FAILED_PRECONDITION,
                             "only login tokens log out; revoke API keys with RevokeApiKey");
    const token_claims *cl = &call->who.claims;
    /* PostgreSQL keeps the record; every rankd's memory is what requests
     * check, and auth_revoked_token tells them all. */
    if ((rc = pgstore_token_revoke(call->w->pg, cl->jti, cl->expires_at, st)) != RK_OK) return rc;
    if ((rc = auth_revoked_token(call, cl->jti, cl->expires_at, st)) != RK_OK) return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}

int h_who_am_i(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    (void)m;
    NEW(call, rep, Rankd__Identity, rankd__identity__init);
    rep->has_role = 1;
    rep->role = (Rankd__Role)call->who.role;
    if (call->who.kind == WHO_APIKEY) {
        rep->game = arena_strdup(&call->w->arena, call->who.game);
    } else {
        pg_user u;
        int rc = pgstore_user_by_id(call->w->pg, call->who.user_id, &u, st);
        if (rc == RK_NOT_FOUND) return rk_status_set(st, RK_UNAUTHENTICATED, "the token's user no longer exists");
        if (rc != RK_OK) return rc;
        rep->has_user_id = rep->has_expires_at = 1;
        rep->user_id = u.id;
        rep->username = arena_strdup(&call->w->arena, u.username);
        rep->expires_at = call->who.claims.expires_at;
    }
    *out = &rep->base;
    return RK_OK;
}

static Rankd__ApiKey *key_message(rpc_call *call, const pg_apikey *k) {
    Rankd__ApiKey *m = arena_alloc(&call->w->arena, sizeof(*m));
    if (m == NULL) return NULL;
    rankd__api_key__init(m);
    m->has_key_id = m->has_created_at = m->has_revoked = 1;
    m->key_id = k->id;
    m->game = arena_strdup(&call->w->arena, k->game);
    m->label = arena_strdup(&call->w->arena, k->label);
    m->created_at = k->created_at;
    m->revoked = k->revoked;
    return m;
}

int h_create_api_key(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CreateApiKeyRequest *req = (const Rankd__CreateApiKeyRequest *)m;
    char key[AUTH_KEY_MAX], hash[65];
    pg_apikey info;
    int rc;
    if ((rc = validate_id("game", req->game, st)) != RK_OK) return rc;
    if (req->label && strlen(req->label) > BOARD_TITLE_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "label is longer than %d bytes", BOARD_TITLE_MAX);
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = auth_new_apikey(key, hash, st)) != RK_OK) return rc;
    if ((rc = pgstore_apikey_create(call->w->pg, hash, req->game, req->label ? req->label : "", &info, st)) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__CreateApiKeyReply, rankd__create_api_key_reply__init);
    rep->key = arena_strdup(&call->w->arena, key);
    rep->info = key_message(call, &info);
    if (rep->key == NULL || rep->info == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = &rep->base;
    log_info("API key created", "key_id=%lld game=%s", (long long)info.id, info.game);
    char target[32];
    snprintf(target, sizeof(target), "key %lld", (long long)info.id);
    /* The reply carries the key: an unrecorded creation is still answered
     * as an error, so the key is never handed out unaudited. */
    return audit_record(call, AUDIT_APIKEY_CREATE, target, req->reason, st, "game %s, label \"%s\"", info.game,
                        info.label);
}

int h_list_api_keys(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ListApiKeysRequest *req = (const Rankd__ListApiKeysRequest *)m;
    pg_apikey *keys = NULL;
    size_t n = 0;
    int rc = pgstore_apikey_list(call->w->pg, req->game, &keys, &n, st);
    if (rc != RK_OK) return rc;
    Rankd__ListApiKeysReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__ApiKey **list = ARENA_ARRAY(call, Rankd__ApiKey *, n);
    if (rep == NULL || list == NULL) {
        free(keys);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    rankd__list_api_keys_reply__init(rep);
    for (size_t i = 0; i < n; i++) list[i] = key_message(call, &keys[i]);
    free(keys);
    rep->n_keys = n;
    rep->keys = list;
    *out = &rep->base;
    return RK_OK;
}

int h_revoke_api_key(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RevokeApiKeyRequest *req = (const Rankd__RevokeApiKeyRequest *)m;
    int rc;
    if (!req->has_key_id || req->key_id <= 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "key_id is required");
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = pgstore_apikey_revoke(call->w->pg, req->key_id, st)) != RK_OK) return rc;
    auth_revoked_key(call, req->key_id); /* this process at once, the others through rk:ev */
    char target[32];
    snprintf(target, sizeof(target), "key %lld", (long long)req->key_id);
    if ((rc = audit_record(call, AUDIT_APIKEY_REVOKE, target, req->reason, st, "revoked")) != RK_OK) return rc;
    NEW(call, rep, Rankd__Empty, rankd__empty__init);
    *out = &rep->base;
    return RK_OK;
}
