/*
 * store_pg.h - rankd's durable record in PostgreSQL.
 *
 * Users, API keys, boards, revoked tokens, settings and the full score
 * history. One pgstore is one connection, owned by one thread. The schema
 * is created and upgraded by pgstore_migrate() at start: numbered
 * migrations, each applied once in its own transaction under an advisory
 * lock, so several rankd processes may start together.
 *
 * Errors: a lost connection is RK_UNAVAILABLE (and is re-established on the
 * next call); a unique violation is RK_ALREADY_EXISTS; values PostgreSQL
 * refuses (SQLSTATE classes 22 and 23: bad encoding, out of range, a
 * broken constraint) are RK_INVALID_ARGUMENT; anything else is RK_INTERNAL
 * with PostgreSQL's message.
 */
#ifndef RANKD_STORE_PG_H
#define RANKD_STORE_PG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rankd/status.h>

#include "board.h"

#define PG_NAME_MAX 40

typedef char pg_name[PG_NAME_MAX];
#define PG_HASH_MAX 192

typedef struct pgstore pgstore;

int pgstore_open(pgstore **out, const char *conninfo, rk_status *st);
void pgstore_close(pgstore *p);
int pgstore_ping(pgstore *p, rk_status *st);
/* Applies the migrations the database lacks. A database migrated past the
 * last migration this rankd knows (by a newer release) is
 * RK_FAILED_PRECONDITION, and nothing is changed: an older rankd must not
 * write a schema it does not know. */
int pgstore_migrate(pgstore *p, rk_status *st);

/* The last migration applied to the database (*have; 0 for a new one) and
 * the last this rankd knows (*known), without changing anything. */
int pgstore_schema_version(pgstore *p, int *have, int *known, rk_status *st);

/* Creates the monthly partitions of the score history for the month of
 * `now` and the two after it, if missing. */
int pgstore_ensure_partitions(pgstore *p, time_t now, rk_status *st);

/* The token signing key: created once at random, shared by all rankd
 * processes of a deployment through the settings table. */
int pgstore_token_key(pgstore *p, uint8_t key[32], rk_status *st);

/* ---- users (role numbers are rankd.Role) */
typedef struct pg_user {
    int64_t id;
    char username[PG_NAME_MAX];
    char password_hash[PG_HASH_MAX];
    int role;
    int64_t token_gen; /* raised by a role change; older tokens are void */
} pg_user;

int pgstore_user_create(pgstore *p, const char *username, const char *pwhash, int role, int64_t *id, rk_status *st);
/* RK_NOT_FOUND when no such user. */
int pgstore_user_by_name(pgstore *p, const char *username, pg_user *u, rk_status *st);
int pgstore_user_by_id(pgstore *p, int64_t id, pg_user *u, rk_status *st);
/* Replaces the user's password hash, if it is still old_hash (a password
 * changed meanwhile is left alone). */
int pgstore_user_set_hash(pgstore *p, int64_t id, const char *old_hash, const char *new_hash, rk_status *st);
/* Creates the user with the hash, or updates hash and role when present. */
int pgstore_user_upsert(pgstore *p, const char *username, const char *pwhash, int role, int64_t *id, rk_status *st);
/* Sets the role; a change raises the user's token generation in the same
 * statement. *user_id and *token_gen are the user's after the update;
 * RK_NOT_FOUND when no such user. */
int pgstore_user_set_role(pgstore *p, const char *username, int role, int64_t *user_id, int64_t *token_gen,
                          rk_status *st);
/* Calls fn for every user whose token generation is above 0, in id order
 * (for restoring Redis's copy); stops at the first status fn returns. */
int pgstore_user_gens_each(pgstore *p, int (*fn)(void *arg, int64_t id, int64_t token_gen, rk_status *st), void *arg,
                           rk_status *st);
/* Resolves players named by id or by name: ids[i] > 0 is checked, else
 * names[i] is looked up. Sets found[i], ids[i] and out_names[i]. */
int pgstore_users_resolve(pgstore *p, int64_t *ids, const char *const *names, size_t n, int *found,
                          char (*out_names)[PG_NAME_MAX], rk_status *st);
/* Calls fn for every user, in id order; used to fill Redis's name map. */
int pgstore_users_each(pgstore *p, int (*fn)(void *arg, int64_t id, const char *name), void *arg, rk_status *st);

/* ---- API keys (only a SHA-256 of the key is stored) */
typedef struct pg_apikey {
    int64_t id;
    char game[BOARD_ID_MAX + 1];
    char label[BOARD_TITLE_MAX + 1];
    int64_t created_at;
    int revoked;
} pg_apikey;

int pgstore_apikey_create(pgstore *p, const char *key_hash, const char *game, const char *label, pg_apikey *out,
                          rk_status *st);
int pgstore_apikey_lookup(pgstore *p, const char *key_hash, pg_apikey *out, rk_status *st);
/* *keys is malloc'ed; caller frees. game "" lists every game. */
int pgstore_apikey_list(pgstore *p, const char *game, pg_apikey **keys, size_t *n, rk_status *st);
int pgstore_apikey_revoke(pgstore *p, int64_t id, rk_status *st);

/* ---- boards */
int pgstore_board_create(pgstore *p, board *b, rk_status *st); /* created_at: b's if > 0, else now */
/* *boards is malloc'ed; caller frees. */
int pgstore_board_list(pgstore *p, board **boards, size_t *n, rk_status *st);
int pgstore_board_get(pgstore *p, const char *id, board *b, rk_status *st);
/* Writes b's changeable settings (title, windows, bounds, player_submit,
 * the anti-cheat ones) and reads the board back into b; RK_NOT_FOUND
 * when it is gone. */
int pgstore_board_update(pgstore *p, board *b, rk_status *st);
/* Deletes the board and its score history. */
int pgstore_board_delete(pgstore *p, const char *id, rk_status *st);

/* ---- tokens */
int pgstore_token_revoke(pgstore *p, const char *jti, int64_t expires_at, rk_status *st);
/* Calls fn for every revoked token that has not expired by now (Unix
 * seconds), with its expiry; stops at the first status fn returns. */
int pgstore_revoked_each(pgstore *p, int64_t now,
                         int (*fn)(void *arg, const char *jti, int64_t expires_at, rk_status *st), void *arg,
                         rk_status *st);
/* Calls fn with the id of every revoked API key. */
int pgstore_revoked_keys_each(pgstore *p, void (*fn)(void *arg, int64_t key_id), void *arg, rk_status *st);

/* ---- score history, written behind */
typedef struct pg_score {
    const char *entry_id; /* the stream entry id: makes the insert idempotent */
    const char *board_id;
    int64_t user_id;
    int64_t score;
    int64_t ts_us;
    const char *idem_key;  /* "" when none */
    const char *held_rule; /* "" or NULL: it counts; else the rule that held it for review */
    const char *meta;      /* record metadata, "" or NULL: none (scores.meta NULL) */
} pg_score;

/* Inserts n rows in one statement (a COPY from 16 rows on; the INSERT when
 * PostgreSQL refuses the COPY); rows already present are skipped.
 * RK_INVALID_ARGUMENT: PostgreSQL refused a row for its values (nothing
 * of the batch was written); RK_UNAVAILABLE: it could not be asked. */
int pgstore_scores_insert(pgstore *p, const pg_score *rows, size_t n, rk_status *st);

/* Keeps a stream entry PostgreSQL will never take (its fields as they
 * were, len bytes) with the reason; adding one twice keeps the first. */
int pgstore_dead_letter_add(pgstore *p, const char *entry_id, const uint8_t *fields, size_t len, const char *reason,
                            rk_status *st);
/* How many entries were set aside so far. */
int pgstore_dead_letter_count(pgstore *p, int64_t *n, rk_status *st);
/* One set-aside entry, as pgstore_dead_letters_each hands it over: every
 * pointer is valid only during the callback (copy what you keep). */
typedef struct pg_dead_letter {
    const char *entry_id;
    const uint8_t *fields;
    size_t len;
    const char *reason;
    int64_t dead_at; /* Unix seconds */
} pg_dead_letter;
/* Calls fn for the oldest `limit` entries, oldest first; a non-zero
 * return from fn stops and is returned. */
int pgstore_dead_letters_each(pgstore *p, int64_t limit, int (*fn)(void *arg, const pg_dead_letter *d), void *arg,
                              rk_status *st);

/* ---- removals: a player's entry taken off a board, the history kept */
/* Marks every counted submission of the player to the board as removed
 * by a new removal row (who, why), in one statement. *marked is how many
 * rows it marked (0: none left to mark, and no removal row is added),
 * *removal_id the new row's id (0 then). */
int pgstore_remove_entry(pgstore *p, const char *board_id, int64_t user_id, int64_t actor_id, const char *reason,
                         int64_t *removal_id, int64_t *marked, rk_status *st);

/* ---- bans */
/* Bans (banned 1, with reason) or unbans (0) the user, raising their token
 * generation in the same statement; *token_gen is the new one. *changed 0:
 * the user was already so (or does not exist), nothing was written. */
int pgstore_user_ban(pgstore *p, int64_t user_id, int banned, const char *reason, int64_t *token_gen, int *changed,
                     rk_status *st);
/* Calls fn for every user a ban ever touched: id, token generation,
 * whether banned now, and the reason ("" when not). */
int pgstore_bans_each(pgstore *p, int (*fn)(void *arg, int64_t id, int64_t gen, int banned, const char *reason),
                      void *arg, rk_status *st);
/* The boards the user has counted submissions on; *ids is malloc'ed. */
int pgstore_player_boards(pgstore *p, int64_t user_id, char (**ids)[BOARD_ID_MAX + 1], size_t *n, rk_status *st);
/* The user's best single counted score on the board (*found 0: none). */
int pgstore_personal_best(pgstore *p, const board *b, int64_t user_id, int *found, int64_t *best, rk_status *st);

/* ---- held submissions: kept by a board's plausibility rule for review */
typedef struct pg_held {
    char entry_id[112]; /* RSTORE_ENTRY_ID_MAX */
    char board_id[BOARD_ID_MAX + 1];
    int64_t user_id;
    char username[PG_NAME_MAX];
    int64_t score;
    int64_t submitted_at_us;
    char rule[16]; /* max_step or max_rate */
} pg_held;
/* Calls fn for the oldest `limit` submissions waiting for review (of
 * board_id, or every board for NULL or ""), oldest first; *total counts
 * every one waiting. */
int pgstore_held_each(pgstore *p, const char *board_id, int64_t limit, int (*fn)(void *arg, const pg_held *h),
                      void *arg, int64_t *total, rk_status *st);
/* The submission entry_id if it waits for review, else RK_NOT_FOUND. */
int pgstore_held_get(pgstore *p, const char *entry_id, pg_held *h, rk_status *st);
/* Approves (it counts from now on) or rejects (it never will) a waiting
 * submission, once: RK_NOT_FOUND when it waits no more. */
int pgstore_held_decide(pgstore *p, const char *entry_id, int approve, rk_status *st);

/* ---- the audit log: one row per admin action */
/* One row; the strings are read only during the call (add) or the
 * callback (each). actor is filled from users by add, ignored there. */
typedef struct pg_audit {
    int64_t id;
    int64_t at_us; /* Unix microseconds */
    int64_t actor_id;
    const char *actor, *action, *target, *detail, *reason;
} pg_audit;
/* Which rows pgstore_audit_each reads: newest first, ids below before_id
 * (0: from the newest), at most limit, action and target "" or NULL for
 * any. */
typedef struct pg_audit_query {
    int64_t before_id, limit;
    const char *action, *target;
} pg_audit_query;
/* Appends a row (id and time are PostgreSQL's). */
int pgstore_audit_add(pgstore *p, const pg_audit *a, rk_status *st);
/* Calls fn for each matching row, newest first; a non-zero return from fn
 * stops and is returned. */
int pgstore_audit_each(pgstore *p, const pg_audit_query *aq, int (*fn)(void *arg, const pg_audit *a), void *arg,
                       rk_status *st);

/* ---- the history, as rebuilds ask it */
/* The starts (Unix s, ascending, distinct) of the `unit` ("day", "week",
 * "month") windows of a board that have submissions since now -
 * retention_s. *starts is malloc'ed. */
int pgstore_window_starts(pgstore *p, const char *board_id, const char *unit, int64_t retention_s, int64_t now,
                          int64_t **starts, size_t *n, rk_status *st);
/* Whether a board (NULL: any board that counts toward the global board)
 * has any submission in the history. */
int pgstore_has_history(pgstore *p, const char *board_id, int *yes, rk_status *st);

/* ---- redis_backlog: submissions taken without Redis (degraded.h) */
#define PG_ENTRY_MAX 48
#define PG_KEY_MAX 192 /* a stored (scoped) idempotency key */
typedef struct pg_backlog_row {
    char entry_id[PG_ENTRY_MAX]; /* "pg-" and 32 hex digits */
    char board_id[BOARD_ID_MAX + 1];
    int64_t user_id, score, ts_us;
    char idem_key[PG_KEY_MAX]; /* "" when none */
    int sum_limited;           /* a sum board: the player's total must stay within +-2^53 */
    /* Record metadata, NULL or "" for none. Recording reads it during the
     * call; a listed row's points into the rows' allocation (freed with
     * them). */
    const char *meta;
} pg_backlog_row;

/* Records one submission in the history and the backlog, in one
 * statement. With an idempotency key, inside a transaction under an
 * advisory lock on (board, key), so callers retrying one key at once on
 * any number of rankd processes record it once: *seen is then 1 and
 * nothing is written when the history already has the key for the same
 * player and score; for another, RK_INVALID_ARGUMENT (a key names one
 * submission) and nothing is written. With sum_limited, RK_OUT_OF_RANGE
 * (nothing written) when the player's total would leave +-2^53. */
int pgstore_backlog_record(pgstore *p, const pg_backlog_row *row, int *seen, rk_status *st);
/* Up to limit rows (-1: all), of one board (NULL: every board), in
 * submission order (by_board: grouped by board instead). *rows is
 * malloc'ed; the caller frees it. */
int pgstore_backlog_list(pgstore *p, const char *board_id, int limit, int by_board, pg_backlog_row **rows, size_t *n,
                         rk_status *st);
/* Drops n applied rows from the backlog in one statement, and with them
 * from the history those whose twice[i] is set (Redis had taken them
 * already, with a stream entry of its own). */
int pgstore_backlog_done(pgstore *p, const char *const *entry_ids, const int *twice, size_t n, rk_status *st);
int pgstore_backlog_size(pgstore *p, int64_t *n, rk_status *st);

/* ---- reading the history (History) */
#define PG_UNBOUNDED INT64_MIN /* a period's open end */

typedef struct pg_history_row {
    int64_t score;
    int64_t submitted_at_us;
    char idem_key[PG_KEY_MAX]; /* as stored (scoped, idem.h); "" when none */
    int64_t removal_id;        /* removed by an admin (removals.id); 0: counted */
    int held;                  /* scores.held: 0 counted, 1 waiting for review, 2 rejected */
    const char *meta;          /* record metadata, NULL for none; inside the rows' allocation */
} pg_history_row;

/* One player's submissions to a board in [from_us, to_us) (either end
 * PG_UNBOUNDED), newest first, offset rows skipped and at most limit
 * returned. *total counts every submission of the period, also for a page
 * past its end. *rows is malloc'ed (also when *n is 0); the caller frees
 * it. */
int pgstore_history_page(pgstore *p, const char *board_id, int64_t user_id, int64_t from_us, int64_t to_us,
                         int64_t offset, int64_t limit, pg_history_row **rows, size_t *n, int64_t *total,
                         rk_status *st);

/* ---- standings and snapshots (archive.h): final and periodic top N */
typedef struct pg_rank_row {
    int64_t user_id;
    int64_t score;
    int64_t rank;
    char username[PG_NAME_MAX]; /* read back only; "" for a user gone since */
} pg_rank_row;

/* Whether a closed window (kind: window_kind, label without the board's
 * prefix, "2026-11-23") has final standings. */
int pgstore_standings_exist(pgstore *p, const char *board_id, int kind, const char *label, int *yes, rk_status *st);
/* Stores a window's final top N in one transaction, rows in listing order
 * (their position is their place in rows; usernames are not read). Rows
 * already stored are kept as they were, so several rankd processes may
 * store the same window at once. */
int pgstore_standings_put(pgstore *p, const char *board_id, int kind, const char *label, const pg_rank_row *rows,
                          size_t n, int64_t board_size, int64_t closed_at, rk_status *st);
/* A window's final top N, in listing order, with the board's size then
 * and when it was closed (Unix seconds); *n is 0 when the window has
 * none. *rows is malloc'ed (also then); the caller frees it. */
int pgstore_standings_get(pgstore *p, const char *board_id, int kind, const char *label, pg_rank_row **rows, size_t *n,
                          int64_t *board_size, int64_t *closed_at, rk_status *st);

/* Stores one board's (BOARD_GLOBAL_ID: the global board's) top N taken at
 * taken_at (Unix seconds) in one transaction, so a reader never sees half
 * a snapshot; usernames are not read. */
int pgstore_snapshot_put(pgstore *p, const char *board_id, int64_t taken_at, const pg_rank_row *rows, size_t n,
                         int64_t board_size, rk_status *st);

typedef struct pg_snapshot {
    int64_t board_size;
    int64_t taken_at; /* Unix seconds */
    int64_t previous; /* the snapshot before, or 0 */
    int64_t next;     /* the snapshot after, or 0 */
} pg_snapshot;

/* The latest snapshot of a board taken at or before at (Unix seconds),
 * rows in listing order; *n is 0 when there is none. *rows is malloc'ed
 * (also then); the caller frees it. */
int pgstore_snapshot_get(pgstore *p, const char *board_id, int64_t at, pg_snapshot *snap, pg_rank_row **rows, size_t *n,
                         rk_status *st);

/* ---- seasons (rebuild.h, rebuild_season_end): ended seasons and their final standings */
typedef struct pg_season_end {
    const char *board_id;
    int64_t season;   /* the season that ends: the board's current one */
    int64_t ended_us; /* Unix µs: the next season's start */
    int64_t board_size;
    const char *ended_by;    /* the admin's username, or "schedule" */
    const char *reason;      /* NULL: none */
    const pg_rank_row *rows; /* the final top N in listing order (usernames not read) */
    size_t n;
} pg_season_end;

/* Ends e->season of the board in one transaction: the season's row and
 * its standings, the board's next season starting at e->ended_us. *ended
 * is 0 (and nothing written) when the board's current season is not
 * e->season any more: someone ended it first. */
int pgstore_season_end(pgstore *p, const pg_season_end *e, int *ended, rk_status *st);

typedef struct pg_season {
    char board_id[65];
    int64_t season;
    int64_t started_us; /* 0: the board's beginning */
    int64_t ended_us;
    int64_t board_size;
    char ended_by[PG_NAME_MAX];
    char reason[257];
} pg_season;

/* The board's ended seasons, newest first, a page of them; *total counts
 * all. *rows is malloc'ed (also when *n is 0); the caller frees it. */
int pgstore_seasons_list(pgstore *p, const char *board_id, int64_t offset, int64_t limit, pg_season **rows, size_t *n,
                         int64_t *total, rk_status *st);

/* One ended season (RK_NOT_FOUND when the board has none of that number)
 * and a page of its final standings; *total counts the rows kept. *rows
 * is malloc'ed (also when *n is 0); the caller frees it. */
int pgstore_season_get(pgstore *p, const char *board_id, int64_t season, int64_t offset, int64_t limit, pg_season *s,
                       pg_rank_row **rows, size_t *n, int64_t *total, rk_status *st);

#endif
