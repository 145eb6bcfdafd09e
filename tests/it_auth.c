/* Journey 3 (a player signs up) and the roles: sign-up rules, login, token
 * expiry metadata, logout revoking at once, no hint whether a user exists,
 * repeated failures slowed down (never locked out), API keys and
 * admin-only calls, a bad credential refused even on a call anyone may
 * make, and a role change voiding the tokens the user already holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static int set_role(const char *token, const char *user, Rankd__Role role, rk_status *st);
static char *admin;
static char *carol; /* the token carol got as an admin, void since her demotion */

static void sign_up_rules(void) {
    Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
    Rankd__SignUpReply *rep = NULL;
    rk_status st;
    req.username = "alice";
    req.password = "short";
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "at least 8") != NULL);
    req.password = "alice-password";
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_OK);
    CHECK(rep && rep->user_id > 0);
    rk_reply_free(rep);
    rep = NULL;
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_ALREADY_EXISTS);
    CHECK(strstr(st.message, "taken") != NULL);
    req.username = "no spaces allowed";
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_INVALID_ARGUMENT);
}

static void login_gives_an_expiring_token(void) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    rk_status st;
    req.username = "alice";
    req.password = "alice-password";
    CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &st), RK_OK);
    if (rep == NULL) return;
    CHECK(rep->token && strlen(rep->token) > 20);
    CHECK(rep->expires_at > time(NULL) + 60);
    CHECK_INT(rep->role, RANKD__ROLE__ROLE_PLAYER);

    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__Identity *me = NULL;
    rk_call_opts o = it_opts(rep->token, NULL);
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_OK);
    if (me) {
        CHECK_STR(me->username, "alice");
        CHECK_INT(me->user_id, rep->user_id);
        CHECK_INT(me->expires_at, rep->expires_at);
    }
    rk_reply_free(me);
    rk_reply_free(rep);
}

static void wrong_password_and_unknown_user_look_the_same(void) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    rk_status a, b;
    req.username = "alice";
    req.password = "wrong-password";
    CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &a), RK_UNAUTHENTICATED);
    req.username = "nobody-here";
    CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &b), RK_UNAUTHENTICATED);
    CHECK_STR(a.message, b.message);
}

static void repeated_failures_are_slowed_down(void) {
    int64_t id = it_sign_up(c, "bruteforced", "right-password");
    CHECK(id > 0);
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    rk_status st;
    req.username = "bruteforced";
    req.password = "guess-guess";
    for (int i = 0; i < 5; i++) CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &st), RK_UNAUTHENTICATED);
    /* Even the right password waits its turn, but not for long. */
    req.password = "right-password";
    CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &st), RK_RESOURCE_EXHAUSTED);
    int wait = -1;
    const char *hint = strstr(st.message, "retry in ");
    CHECK(hint != NULL && sscanf(hint, "retry in %d s", &wait) == 1 && wait >= 1 && wait <= 30);
    if (wait < 1 || wait > 30) return;
    sleep((unsigned)wait);
    CHECK_INT(rk_auth_login(c, &req, &rep, NULL, &st), RK_OK);
    rk_reply_free(rep);
}

static void logout_revokes_at_once(void) {
    char *tok = it_login(c, "alice", "alice-password");
    CHECK(tok != NULL);
    if (tok == NULL) return;
    Rankd__Empty e = RANKD__EMPTY__INIT, *out = NULL;
    Rankd__Identity *me = NULL;
    rk_status st;
    rk_call_opts o = it_opts(tok, NULL);
    CHECK_INT(rk_auth_logout(c, &e, &out, &o, &st), RK_OK);
    rk_reply_free(out);
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_UNAUTHENTICATED);
    CHECK(strstr(st.message, "revoked") != NULL);
    free(tok);
}

static void bad_tokens_are_unauthenticated(void) {
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__Identity *me = NULL;
    rk_status st;
    rk_call_opts o = it_opts("not-a-token", NULL);
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_UNAUTHENTICATED);
    o.token = "rk_0000000000000000000000000000000000000000";
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_UNAUTHENTICATED);
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, NULL, &st), RK_UNAUTHENTICATED); /* no token at all */
}

/* A call anyone may make still refuses a credential that does not hold:
 * a caller who sends one meant to be someone, and silently serving them
 * as nobody would hide an expired or revoked login until it mattered. */
static int list_boards(const char *credential, rk_status *st) {
    Rankd__ListBoardsRequest req = RANKD__LIST_BOARDS_REQUEST__INIT;
    Rankd__ListBoardsReply *rep = NULL;
    rk_call_opts o = it_opts(credential, NULL);
    int rc = rk_boards_list_boards(c, &req, &rep, credential ? &o : NULL, st);
    rk_reply_free(rep);
    return rc;
}

static void bad_credentials_refuse_anonymous_calls(void) {
    rk_status st;
    CHECK_INT(list_boards(NULL, &st), RK_OK);
    CHECK_INT(list_boards("not-a-token", &st), RK_UNAUTHENTICATED);
    CHECK_INT(list_boards("rk_0000000000000000000000000000000000000000", &st), RK_UNAUTHENTICATED);
    CHECK_STR(st.message, "unknown API key");

    char *tok = it_login(c, "alice", "alice-password");
    CHECK(tok != NULL);
    if (tok == NULL) return;
    CHECK_INT(list_boards(tok, &st), RK_OK);
    Rankd__Empty e = RANKD__EMPTY__INIT, *out = NULL;
    rk_call_opts o = it_opts(tok, NULL);
    CHECK_INT(rk_auth_logout(c, &e, &out, &o, &st), RK_OK);
    rk_reply_free(out);
    CHECK_INT(list_boards(tok, &st), RK_UNAUTHENTICATED);
    CHECK(strstr(st.message, "revoked") != NULL);
    free(tok);

    /* A token that expired yesterday: signed by a rankd whose clock is two
     * days behind (same database, so the same token key). */
    it_rankd old;
    char arg[64];
    snprintf(arg, sizeof(arg), "--clock-start=%lld", (long long)time(NULL) - 2 * 86400);
    CHECK_INT(it_rankd_spawn(&old, "behind", arg), 0);
    if (old.client == NULL) return;
    tok = it_login(old.client, "alice", "alice-password");
    it_rankd_stop(&old);
    CHECK(tok != NULL);
    if (tok == NULL) return;
    CHECK_INT(list_boards(tok, &st), RK_UNAUTHENTICATED);
    CHECK_STR(st.message, "token expired");
    free(tok);
}

/* Logout is for login tokens; an API key is withdrawn with RevokeApiKey. */
static void api_keys_do_not_log_out(void) {
    char *key = it_api_key(c, admin, "tetris");
    CHECK(key != NULL);
    if (key == NULL) return;
    Rankd__Empty e = RANKD__EMPTY__INIT, *out = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_auth_logout(c, &e, &out, &o, &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "RevokeApiKey") != NULL);
    rk_reply_free(out);
    free(key);
}

/* Game servers are API keys, never users: SetRole takes player or admin. */
static void set_role_refuses_game_server(void) {
    rk_status st;
    CHECK(it_sign_up(c, "dave", "dave-password") > 0);
    CHECK_INT(set_role(admin, "dave", RANKD__ROLE__ROLE_GAME_SERVER, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "player or admin") != NULL);
}

static void admin_only_calls(void) {
    char *tok = it_login(c, "alice", "alice-password");
    Rankd__CreateApiKeyRequest req = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *rep = NULL;
    rk_status st;
    req.game = "tetris";
    rk_call_opts o = it_opts(tok, NULL);
    CHECK_INT(rk_auth_create_api_key(c, &req, &rep, &o, &st), RK_PERMISSION_DENIED);
    o.token = admin;
    CHECK_INT(rk_auth_create_api_key(c, &req, &rep, &o, &st), RK_OK);
    if (rep) {
        CHECK(strncmp(rep->key, "rk_", 3) == 0);
        /* The key works as a credential, scoped to its game. */
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__Identity *me = NULL;
        rk_call_opts ko = it_opts(rep->key, NULL);
        CHECK_INT(rk_auth_who_am_i(c, &e, &me, &ko, &st), RK_OK);
        if (me) {
            CHECK_STR(me->game, "tetris");
            CHECK_INT(me->role, RANKD__ROLE__ROLE_GAME_SERVER);
        }
        rk_reply_free(me);
        me = NULL;
        /* Revoked: refused at once. */
        Rankd__RevokeApiKeyRequest rv = RANKD__REVOKE_API_KEY_REQUEST__INIT;
        Rankd__Empty *out = NULL;
        rv.has_key_id = 1;
        rv.key_id = rep->info->key_id;
        CHECK_INT(rk_auth_revoke_api_key(c, &rv, &out, &o, &st), RK_OK);
        rk_reply_free(out);
        CHECK_INT(rk_auth_who_am_i(c, &e, &me, &ko, &st), RK_UNAUTHENTICATED);
    }
    rk_reply_free(rep);
    free(tok);
}

/* ---------------------------------------------------------------- role changes */

static int set_role(const char *token, const char *user, Rankd__Role role, rk_status *st) {
    Rankd__SetRoleRequest req = RANKD__SET_ROLE_REQUEST__INIT;
    Rankd__Empty *out = NULL;
    req.username = (char *)user;
    req.has_role = 1;
    req.role = role;
    rk_call_opts o = it_opts(token, NULL);
    int rc = rk_admin_set_role(c, &req, &out, &o, st);
    rk_reply_free(out);
    return rc;
}

/* The token of a demoted admin does nothing an admin (or anyone) may do:
 * no board, no key, no promotion of its holder back, not even WhoAmI. */
static void check_void(const char *tok, const char *board_id) {
    rk_status st;
    CHECK_INT(it_create_board(c, tok, board_id, "carol-game", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_UNAUTHENTICATED);
    Rankd__CreateApiKeyRequest kr = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *key = NULL;
    kr.game = "carol-game";
    rk_call_opts o = it_opts(tok, NULL);
    CHECK_INT(rk_auth_create_api_key(c, &kr, &key, &o, &st), RK_UNAUTHENTICATED);
    rk_reply_free(key);
    CHECK_INT(set_role(tok, "carol", RANKD__ROLE__ROLE_ADMIN, &st), RK_UNAUTHENTICATED);
    CHECK(strstr(st.message, "log in again") != NULL);
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__Identity *me = NULL;
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_UNAUTHENTICATED);
    rk_reply_free(me);
}

/* A fresh login is a player now, and the token works. */
static void check_player(void) {
    char *tok = it_login(c, "carol", "carol-password");
    CHECK(tok != NULL);
    if (tok == NULL) return;
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__Identity *me = NULL;
    rk_status st;
    rk_call_opts o = it_opts(tok, NULL);
    CHECK_INT(rk_auth_who_am_i(c, &e, &me, &o, &st), RK_OK);
    if (me) CHECK_INT(me->role, RANKD__ROLE__ROLE_PLAYER);
    rk_reply_free(me);
    CHECK_INT(set_role(tok, "carol", RANKD__ROLE__ROLE_ADMIN, &st), RK_PERMISSION_DENIED);
    free(tok);
}

/* Redis answers from its live view again (rk:live restored). */
static int wait_live(void) {
    for (int i = 0; i < 300; i++) {
        Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
        Rankd__CountReply *rep = NULL;
        rk_status st;
        req.board_id = "role-live";
        int ok = rk_ranking_count(c, &req, &rep, NULL, &st) == RK_OK && !st.degraded;
        rk_reply_free(rep);
        if (ok) return 1;
        usleep(100000);
    }
    return 0;
}

/* Redis loses everything, and starts again empty. */
static void empty_redis(void) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rk-redis-stop >/dev/null && rm -rf %s/redis/appendonlydir && rk-redis-start >/dev/null",
             getenv("RANKD_TEST_DIR"));
    CHECK_INT(system(cmd), 0);
}

static void demoted_admin_token_is_void(void) {
    rk_status st;
    CHECK(it_sign_up(c, "carol", "carol-password") > 0);
    CHECK_INT(set_role(admin, "carol", RANKD__ROLE__ROLE_ADMIN, &st), RK_OK);
    carol = it_login(c, "carol", "carol-password");
    CHECK(carol != NULL);
    if (carol == NULL) return;
    /* An admin while an admin. */
    CHECK_INT(it_create_board(c, carol, "role-live", "carol-game", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);

    CHECK_INT(set_role(admin, "carol", RANKD__ROLE__ROLE_PLAYER, &st), RK_OK);
    check_void(carol, "role-after");
    check_player();

    /* The void holds while PostgreSQL answers for an emptied Redis, and
     * once Redis is restored. */
    empty_redis();
    check_void(carol, "role-empty");
    CHECK(wait_live());
    check_void(carol, "role-restored");
    check_player();

    /* Redis away: PostgreSQL says so alone. */
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    check_void(carol, "role-down");
    check_player();
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(wait_live());
    check_void(carol, "role-back");
}

/* A rankd that starts on a Redis without its data gives it the token
 * generations back before it marks it live. */
static void void_holds_after_a_start_on_an_empty_redis(void) {
    if (carol == NULL) return;
    CHECK_INT(system("rk-rankd-stop >/dev/null"), 0);
    empty_redis();
    CHECK_INT(system("rk-rankd-start >/dev/null"), 0);
    check_void(carol, "role-start");
    check_player();
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    RUN(sign_up_rules);
    RUN(login_gives_an_expiring_token);
    RUN(wrong_password_and_unknown_user_look_the_same);
    RUN(repeated_failures_are_slowed_down);
    RUN(logout_revokes_at_once);
    RUN(bad_tokens_are_unauthenticated);
    RUN(admin_only_calls);
    RUN(bad_credentials_refuse_anonymous_calls);
    RUN(api_keys_do_not_log_out);
    RUN(set_role_refuses_game_server);
    /* Last: they stop and empty Redis, and restart rankd. */
    RUN(demoted_admin_token_is_void);
    RUN(void_holds_after_a_start_on_an_empty_redis);
    free(carol);
    free(admin);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
