/*
 * it_common.h - helpers for the integration tests, which run under
 * tests/with-services.sh against a real rankd, Redis and PostgreSQL.
 */
#ifndef RANKD_IT_COMMON_H
#define RANKD_IT_COMMON_H

#include <rankd/client.h>

/* A client dialed to $RANKD_URL; exits the test program if it cannot. */
rk_client *it_client(void);

/* Logs in; returns a malloc'ed token (NULL and a message on failure). */
char *it_login(rk_client *c, const char *user, const char *password);
/* Logs in as $RANKD_ADMIN_USER. */
char *it_admin_token(rk_client *c);
/* Signs up `user` with `password`; returns the user id or -1. */
int64_t it_sign_up(rk_client *c, const char *user, const char *password);

/* Creates a board as admin (token); windows is a mask of 1<<rankd.Window. */
int it_create_board(rk_client *c, const char *token, const char *id, const char *game, int lower_is_better,
                    Rankd__Policy policy, unsigned windows, int player_submit);

/* The same with score bounds. */
int it_create_board_bounded(rk_client *c, const char *token, const char *id, const char *game, int lower_is_better,
                            Rankd__Policy policy, unsigned windows, int player_submit, int64_t min_score,
                            int64_t max_score);

/* Creates an API key for game; returns it malloc'ed. */
char *it_api_key(rk_client *c, const char *admin_token, const char *game);

/* Options carrying a token (and optionally an idempotency key). */
rk_call_opts it_opts(const char *token, const char *idem);

/* Another rankd process beside the harness's, on the same Redis and
 * PostgreSQL, with its own RPC and events addresses (free loopback ports),
 * no HTTP server (so tests running at once never share a port) and
 * extra_arg (e.g. "--clock-start=..."; NULL for none). */
typedef struct it_rankd {
    int pid;
    char listen[64]; /* its RPC address */
    char events[64]; /* its PUB address */
    rk_client *client;
} it_rankd;

/* Starts it and waits until it answers; 0 on success (on failure it is
 * stopped again). */
int it_rankd_spawn(it_rankd *r, const char *node, const char *extra_arg);
/* SIGTERM, then waits; returns its exit status (0: a clean stop). */
int it_rankd_stop(it_rankd *r);

/* Runs redis-cli ARGS against the harness's Redis (on a cluster, at the
 * master of the key: -c): the first line of its
 * output goes to out (cap bytes). 0 when redis-cli exited 0. */
int it_redis_cli(const char *args, char *out, size_t cap);
/* it_redis_cli with printf-style arguments, its first line read as an
 * integer; -1 when redis-cli failed. */
long it_redis_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* FLUSHALL on the harness's Redis, or on every master of its cluster
 * (Redis loses all its data); 0 when it did. */
int it_redis_flushall(void);
/* 1 when the harness's rankd runs in the split layout: asked for
 * (RANKD_REDIS_LAYOUT=split) or chosen by itself on a Redis Cluster. */
int it_split_layout(void);
/* One numeric field of an INFO section ("persistence", ...), or -1. */
long it_redis_info_field(const char *section, const char *name);

/* Waits (up to 30 s) until every acknowledged submission is in
 * PostgreSQL and nothing taken without Redis is left to replay (Status:
 * write-behind and Redis backlogs 0, not degraded), asking as admin
 * (token). 1 when drained. */
int it_drained(rk_client *c, const char *token);

/* Waits (up to 10 s) until rankd's global board and aggregates have
 * applied every board change (Status applier_backlog 0; at once without
 * that field, the one-key layout, or while Redis is away). The split
 * layout applies them a moment after each submission: a test that reads
 * those boards right after submitting asks this first. 1 when settled. */
int it_settled(rk_client *c);

#endif
