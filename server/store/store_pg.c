/*
 * store_pg.c - libpq calls behind store_pg.h.
 *
 * Every statement is parameterised (PQexecParams, text format): no value is
 * ever spliced into SQL. Array parameters are passed as PostgreSQL array
 * literals built by arr_*() below, with every element quoted and escaped.
 */
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "log.h"
#include "metrics.h"
#include "clock.h"
#include "pg_exec.h"

struct pgstore {
    PGconn *conn;
    int in_txn; /* between a BEGIN and its COMMIT or ROLLBACK */
};

/* ---------------------------------------------------------------- migrations */

/* Append-only: a deployed migration is never edited, only followed. */
static const char *const migrations[] = {
    /* 1: the base schema */
    "CREATE TABLE users ("
    "  id bigserial PRIMARY KEY,"
    "  username text NOT NULL UNIQUE,"
    "  password_hash text NOT NULL,"
    "  role smallint NOT NULL DEFAULT 1,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE api_keys ("
    "  id bigserial PRIMARY KEY,"
    "  key_hash text NOT NULL UNIQUE,"
    "  game text NOT NULL,"
    "  label text NOT NULL DEFAULT '',"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  revoked_at timestamptz);"
    "CREATE TABLE boards ("
    "  id text PRIMARY KEY,"
    "  game text NOT NULL,"
    "  title text NOT NULL DEFAULT '',"
    "  higher_is_better boolean NOT NULL,"
    "  policy smallint NOT NULL,"
    "  windows integer NOT NULL,"
    "  min_score bigint NOT NULL,"
    "  max_score bigint NOT NULL,"
    "  player_submit boolean NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    /* The history, partitioned by month (pgstore_ensure_partitions adds
     * them ahead of time; the default partition catches the rest). A
     * unique key of a partitioned table must hold the partition key; the
     * stream entry id fixes the time too, so (entry_id, submitted_at) is
     * as unique as entry_id. */
    "CREATE TABLE scores ("
    "  id bigserial,"
    "  entry_id text NOT NULL,"
    "  board_id text NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  score bigint NOT NULL,"
    "  submitted_at timestamptz NOT NULL,"
    "  idempotency_key text NOT NULL DEFAULT '',"
    "  UNIQUE (entry_id, submitted_at)"
    ") PARTITION BY RANGE (submitted_at);"
    "CREATE TABLE scores_default PARTITION OF scores DEFAULT;"
    "CREATE INDEX scores_board_user_time ON scores (board_id, user_id, submitted_at DESC);"
    "CREATE INDEX scores_board_time ON scores (board_id, submitted_at, user_id);"
    "CREATE INDEX scores_board_idem ON scores (board_id, idempotency_key) WHERE idempotency_key <> '';"
    /* Submissions accepted while Redis was unreachable, in PostgreSQL's
     * history already, waiting to be applied to the live boards. */
    "CREATE TABLE redis_backlog ("
    "  entry_id text PRIMARY KEY,"
    "  board_id text NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  score bigint NOT NULL,"
    "  ts_us bigint NOT NULL,"
    "  idempotency_key text NOT NULL DEFAULT '');"
    /* Final top N of every closed daily, weekly and monthly window. */
    "CREATE TABLE standings ("
    "  board_id text NOT NULL,"
    "  window_kind smallint NOT NULL,"
    "  label text NOT NULL,"
    "  rank bigint NOT NULL,"
    "  position integer NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  score bigint NOT NULL,"
    "  board_size bigint NOT NULL,"
    "  closed_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (board_id, window_kind, label, position));"
    /* Periodic top-N snapshots, for dashboards and audits. */
    "CREATE TABLE snapshots ("
    "  board_id text NOT NULL,"
    "  taken_at timestamptz NOT NULL,"
    "  position integer NOT NULL,"
    "  rank bigint NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  score bigint NOT NULL,"
    "  PRIMARY KEY (board_id, taken_at, position));"
    "CREATE TABLE revoked_tokens ("
    "  jti text PRIMARY KEY,"
    "  expires_at timestamptz NOT NULL);"
    "CREATE TABLE settings ("
    "  key text PRIMARY KEY,"
    "  value text NOT NULL);",
    /* 2: snapshots say how many players the board had */
    "ALTER TABLE snapshots ADD COLUMN board_size bigint NOT NULL DEFAULT 0;",
    /* 3: accepted submissions PostgreSQL refused for their data, kept
     * aside (the stream entry's fields, byte for byte) so that one bad row
     * never stops the write-behind */
    "CREATE TABLE scores_dead_letter ("
    "  entry_id text PRIMARY KEY,"
    "  fields bytea NOT NULL,"
    "  reason text NOT NULL,"
    "  dead_at timestamptz NOT NULL DEFAULT now());",
    /* 4: a user's token generation; a role change raises it, and tokens
     * signed under an older one are void */
    "ALTER TABLE users ADD COLUMN token_gen bigint NOT NULL DEFAULT 0;",
    /* 5: usernames differ by more than case ("Alice" is "alice"'s), so one
     * cannot pass for another */
    "CREATE UNIQUE INDEX users_username_lower ON users (lower(username));",
    /* 6: counters (counter_store.h): definitions, per window what Redis
     * had at the last fold and what was counted without Redis, and the
     * idempotency keys of increments counted without Redis */
    "CREATE TABLE counters ("
    "  game text NOT NULL,"
    "  name text NOT NULL,"
    "  shards integer NOT NULL,"
    "  stale_ms integer NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (game, name));"
    "CREATE TABLE counter_totals ("
    "  game text NOT NULL,"
    "  name text NOT NULL,"
    "  label text NOT NULL,"
    "  folded bigint NOT NULL DEFAULT 0,"
    "  pending bigint NOT NULL DEFAULT 0,"
    "  gen bigint NOT NULL DEFAULT 0,"
    "  expire_at bigint NOT NULL DEFAULT 0,"
    "  updated_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (game, name, label),"
    "  FOREIGN KEY (game, name) REFERENCES counters ON DELETE CASCADE);"
    "CREATE TABLE counter_idem ("
    "  game text NOT NULL,"
    "  name text NOT NULL,"
    "  key text NOT NULL,"
    "  at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (game, name, key));",
    /* 7: moderation. The audit log: one row per admin action, with the
     * admin's username as it was then (users can be renamed by nobody
     * today, but a log must not change when a row elsewhere does). */
    "CREATE TABLE audit_log ("
    "  id bigserial PRIMARY KEY,"
    "  at timestamptz NOT NULL DEFAULT clock_timestamp(),"
    "  actor_id bigint NOT NULL,"
    "  actor text NOT NULL,"
    "  action text NOT NULL,"
    "  target text NOT NULL DEFAULT '',"
    "  detail text NOT NULL DEFAULT '',"
    "  reason text NOT NULL DEFAULT '');"
    "CREATE INDEX audit_log_action ON audit_log (action, id);"
    "CREATE INDEX audit_log_target ON audit_log (target, id);"
    /* A player's entry taken off a board by an admin: the submissions
     * stay in the history, pointing at the removal that took them out of
     * every ranking (who and why are here). A column without a default
     * costs nothing on a big partitioned table. */
    "CREATE TABLE removals ("
    "  id bigserial PRIMARY KEY,"
    "  board_id text NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  actor_id bigint NOT NULL,"
    "  reason text NOT NULL DEFAULT '',"
    "  at timestamptz NOT NULL DEFAULT now());"
    "ALTER TABLE scores ADD COLUMN removal_id bigint;"
    /* A banned player: their submissions are refused and count nowhere
     * while banned_at is set; ban_reason stays ('' after an unban) so a
     * re-read knows whom a ban ever touched. */
    "ALTER TABLE users ADD COLUMN banned_at timestamptz, ADD COLUMN ban_reason text;"
    "CREATE INDEX users_banned ON users (id) WHERE banned_at IS NOT NULL;"
    /* Anti-cheat settings of a board (0: off). */
    "ALTER TABLE boards ADD COLUMN rate_limit integer NOT NULL DEFAULT 0,"
    "  ADD COLUMN max_step bigint NOT NULL DEFAULT 0, ADD COLUMN max_rate bigint NOT NULL DEFAULT 0;"
    /* A submission held by a board's plausibility rule: held 1 waits for
     * review, 2 was rejected; NULL counts (an approval clears it). */
    "ALTER TABLE scores ADD COLUMN held smallint, ADD COLUMN held_rule text;"
    "CREATE INDEX scores_held ON scores (submitted_at, entry_id) WHERE held = 1;",
    /* 8: aggregate boards: the boards an aggregate sums (NULL: a plain
     * board). Which aggregates a board feeds is read off these. */
    "ALTER TABLE boards ADD COLUMN sources text[];",
    /* 9: seasons. A board's schedule, its current season and when that
     * began; every ended season with its final standings. A submission
     * belongs to the season whose [start, end) holds its submitted_at, so
     * the history needs no new column (report.c, SEASON_FLOOR). */
    "ALTER TABLE boards ADD COLUMN season_schedule text NOT NULL DEFAULT '',"
    "  ADD COLUMN season integer NOT NULL DEFAULT 1, ADD COLUMN season_started_at timestamptz;"
    "CREATE TABLE seasons ("
    "  board_id text NOT NULL REFERENCES boards ON DELETE CASCADE,"
    "  season integer NOT NULL,"
    "  started_at timestamptz,"
    "  ended_at timestamptz NOT NULL,"
    "  board_size bigint NOT NULL,"
    "  ended_by text NOT NULL,"
    "  reason text NOT NULL DEFAULT '',"
    "  PRIMARY KEY (board_id, season));"
    "CREATE INDEX seasons_board_end ON seasons (board_id, ended_at);"
    "CREATE TABLE season_standings ("
    "  board_id text NOT NULL,"
    "  season integer NOT NULL,"
    "  position integer NOT NULL,"
    "  rank bigint NOT NULL,"
    "  user_id bigint NOT NULL,"
    "  score bigint NOT NULL,"
    "  PRIMARY KEY (board_id, season, position),"
    "  FOREIGN KEY (board_id, season) REFERENCES seasons ON DELETE CASCADE);",
    /* 10: record metadata (a JSON object's text, at most 1 KiB, checked by
     * rankd): with each submission, and with each one waiting to be
     * replayed into Redis. NULL without any, so rows without it cost
     * nothing and the column is added without rewriting the table. */
    "ALTER TABLE scores ADD COLUMN meta text; ALTER TABLE redis_backlog ADD COLUMN meta text;",
    /* 11: hot boards: how many sorted sets a board's players are spread
     * over in Redis (1: a plain board). The history does not change. */
    "ALTER TABLE boards ADD COLUMN shards smallint NOT NULL DEFAULT 1;",
    /* 12: the delta an idempotency key of a counter counted, so another
     * delta under the key is refused (NULL: recorded by an older rankd,
     * believed). */
    "ALTER TABLE counter_idem ADD COLUMN delta bigint;",
};
#define NMIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

/* ---------------------------------------------------------------- plumbing */

static int conn_ok(pgstore *p, rk_status *st) {
    if (PQstatus(p->conn) == CONNECTION_OK) return RK_OK;
    PQreset(p->conn);
    if (PQstatus(p->conn) == CONNECTION_OK) return RK_OK;
    return rk_status_set(st, RK_UNAVAILABLE, "PostgreSQL is unreachable: %s", PQerrorMessage(p->conn));
}

/* Runs one statement; on RK_OK *res (if given) is the caller's to PQclear.
 * A SELECT that finds the connection broken (PostgreSQL restarted since the
 * last call) is retried once on a fresh connection; anything that writes is
 * not, since it may have run before the connection broke. */
/* A statement that writes nothing, so that sending it again on a new
 * connection after the old one turned out dead cannot apply anything
 * twice: a SELECT, or a WITH ... SELECT (reports) with no data-modifying
 * part. */
static int read_only(const char *sql) {
    if (strncmp(sql, "SELECT", 6) == 0) return 1;
    return strncmp(sql, "WITH", 4) == 0 && !strstr(sql, "INSERT") && !strstr(sql, "UPDATE") && !strstr(sql, "DELETE");
}

int pgstore_exec(pgstore *p, const char *sql, int n, const char *const *params, PGresult **res, rk_status *st) {
    /* Inside a transaction nothing is sent again: a new connection would
     * run the statement outside it. */
    int rc, tries = read_only(sql) && !p->in_txn ? 2 : 1;
    if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) p->in_txn = 0;
    for (;;) {
        if ((rc = conn_ok(p, st)) != RK_OK) return rc;
        int64_t t0 = server_now_us();
        PGresult *r = PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
        metrics_pg_call(server_now_us() - t0);
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
            if (strcmp(sql, "BEGIN") == 0) p->in_txn = 1;
            if (res)
                *res = r;
            else
                PQclear(r);
            return RK_OK;
        }
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int unique = state && strcmp(state, "23505") == 0;
        /* Class 22 (data exception) and 23 (integrity): the values, not
         * the database, are at fault; retrying them cannot help. */
        int data = state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
        char msg[200];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        PQclear(r);
        if (PQstatus(p->conn) != CONNECTION_OK) {
            if (--tries > 0) continue;
            return rk_status_set(st, RK_UNAVAILABLE, "PostgreSQL connection lost: %s", msg);
        }
        if (unique) return rk_status_set(st, RK_ALREADY_EXISTS, "%s", msg);
        if (data) return rk_status_set(st, RK_INVALID_ARGUMENT, "PostgreSQL refused the data: %s", msg);
        return rk_status_set(st, RK_INTERNAL, "PostgreSQL: %s", msg);
    }
}

#define q pgstore_exec

static int64_t geti(PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void gets_(PGresult *r, int row, int col, char *out, size_t cap) {
    snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* A growable string for array literals. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_putc(sbuf *b, char c) {
    if (b->oom) return;
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

/* Appends one quoted, escaped element of an array literal. */
static void arr_elem(sbuf *b, const char *v) {
    if (b->len > 1) sb_putc(b, ',');
    sb_putc(b, '"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') sb_putc(b, '\\');
        sb_putc(b, *v);
    }
    sb_putc(b, '"');
}

/* Rows and the texts of column col of r in one allocation: the m rows of
 * row_size bytes, then every text with its NUL, so freeing the rows frees
 * the texts. *pool is where the first text goes (pool_put). */
static void *rows_with_texts(PGresult *r, int col, size_t row_size, char **pool) {
    int m = PQntuples(r);
    size_t text = 0, slots = m > 0 ? (size_t)m : 1;
    for (int i = 0; i < m; i++)
        if (!PQgetisnull(r, i, col)) text += (size_t)PQgetlength(r, i, col) + 1;
    char *out = calloc(1, slots * row_size + text);
    if (out) *pool = out + slots * row_size;
    return out;
}

/* Copies a text of r into the pool; NULL for SQL NULL. */
static const char *pool_put(PGresult *r, int row, int col, char **pool) {
    if (PQgetisnull(r, row, col)) return NULL;
    size_t len = (size_t)PQgetlength(r, row, col);
    char *at = *pool;
    memcpy(at, PQgetvalue(r, row, col), len);
    at[len] = '\0';
    *pool += len + 1;
    return at;
}

static void arr_int(sbuf *b, int64_t v) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, v);
    arr_elem(b, n);
}

/* ---------------------------------------------------------------- lifecycle */

/* PostgreSQL's NOTICEs ("relation already exists, skipping") are not
 * rankd's news; keep stderr for our own structured lines. */
static void quiet(void *arg, const char *message) {
    (void)arg;
    log_debug("postgres notice", "text=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

int pgstore_open(pgstore **out, const char *conninfo, rk_status *st) {
    pgstore *p = calloc(1, sizeof(*p));
    if (p == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* JIT compiling costs a report more than it saves (a second of a
     * three-second month on a million players); a conninfo that sets its
     * own options wins. */
    const char *const keys[] = {"options", "dbname", NULL};
    const char *const vals[] = {"-c jit=off", conninfo, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    *out = p;
    if (p->conn == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    PQsetNoticeProcessor(p->conn, quiet, NULL);
    if (PQstatus(p->conn) != CONNECTION_OK)
        return rk_status_set(st, RK_UNAVAILABLE, "PostgreSQL is unreachable: %s", PQerrorMessage(p->conn));
    return RK_OK;
}

void pgstore_close(pgstore *p) {
    if (p == NULL) return;
    PQfinish(p->conn);
    free(p);
}

int pgstore_ping(pgstore *p, rk_status *st) { return q(p, "SELECT 1", 0, NULL, NULL, st); }

int pgstore_migrate(pgstore *p, rk_status *st) {
    int rc;
    PGresult *r = NULL;
    if ((rc = q(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    /* One rankd at a time migrates; the others wait here, then see it done. */
    if ((rc = q(p, "SELECT pg_advisory_xact_lock(7400)", 0, NULL, NULL, st)) != RK_OK) goto fail;
    if ((rc = q(p,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                0, NULL, NULL, st)) != RK_OK)
        goto fail;
    if ((rc = q(p, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, &r, st)) != RK_OK) goto fail;
    int have = (int)geti(r, 0, 0);
    PQclear(r);
    if (have > NMIGRATIONS) {
        rc = rk_status_set(st, RK_FAILED_PRECONDITION,
                           "the database is at migration %d, newer than this rankd's last (%d): a newer release "
                           "migrated it; run that release (going back means restoring a backup)",
                           have, NMIGRATIONS);
        goto fail;
    }
    for (int v = have + 1; v <= NMIGRATIONS; v++) {
        char ver[16];
        const char *params[] = {ver};
        snprintf(ver, sizeof(ver), "%d", v);
        PGresult *e = PQexec(p->conn, migrations[v - 1]);
        if (PQresultStatus(e) != PGRES_COMMAND_OK) {
            rc = rk_status_set(st, RK_INTERNAL, "migration %d failed: %s", v, PQresultErrorMessage(e));
            PQclear(e);
            goto fail;
        }
        PQclear(e);
        if ((rc = q(p, "INSERT INTO schema_migrations (version) VALUES ($1::integer)", 1, params, NULL, st)) != RK_OK)
            goto fail;
        log_info("migration applied", "version=%d", v);
    }
    return q(p, "COMMIT", 0, NULL, NULL, st);
fail:
    PQclear(PQexec(p->conn, "ROLLBACK"));
    return rc;
}

int pgstore_schema_version(pgstore *p, int *have, int *known, rk_status *st) {
    PGresult *r = NULL;
    int rc;
    *known = NMIGRATIONS;
    *have = 0;
    if ((rc = q(p, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &r, st)) != RK_OK) return rc;
    int exists = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists) return RK_OK;
    if ((rc = q(p, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, &r, st)) != RK_OK) return rc;
    *have = (int)geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

int pgstore_token_key(pgstore *p, uint8_t key[32], rk_status *st) {
    uint8_t fresh[32];
    char hex[65];
    PGresult *r = NULL;
    int rc;
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness");
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", fresh[i]);
    const char *params[] = {hex};
    if ((rc = q(p, "INSERT INTO settings (key, value) VALUES ('token_key', $1) ON CONFLICT DO NOTHING", 1, params, NULL,
                st)) != RK_OK)
        return rc;
    if ((rc = q(p, "SELECT value FROM settings WHERE key = 'token_key'", 0, NULL, &r, st)) != RK_OK) return rc;
    const char *v = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
    rc = RK_OK;
    if (strlen(v) != 64) rc = rk_status_set(st, RK_INTERNAL, "stored token key is malformed");
    for (int i = 0; rc == RK_OK && i < 32; i++) {
        unsigned b;
        if (sscanf(v + 2 * i, "%2x", &b) != 1) rc = rk_status_set(st, RK_INTERNAL, "stored token key is malformed");
        key[i] = (uint8_t)b;
    }
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------------- users */

#define USER_SELECT "SELECT id, username, password_hash, role, token_gen FROM users "

static void fill_user(PGresult *r, pg_user *u) {
    u->id = geti(r, 0, 0);
    gets_(r, 0, 1, u->username, sizeof(u->username));
    gets_(r, 0, 2, u->password_hash, sizeof(u->password_hash));
    u->role = (int)geti(r, 0, 3);
    u->token_gen = geti(r, 0, 4);
}

int pgstore_user_create(pgstore *p, const char *username, const char *pwhash, int role, int64_t *id, rk_status *st) {
    char rs[8];
    snprintf(rs, sizeof(rs), "%d", role);
    const char *params[] = {username, pwhash, rs};
    PGresult *r = NULL;
    int rc = q(p, "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3::smallint) RETURNING id", 3,
               params, &r, st);
    if (rc == RK_ALREADY_EXISTS) return rk_status_set(st, rc, "username %s is taken", username);
    if (rc != RK_OK) return rc;
    *id = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

static int user_one(pgstore *p, const char *sql, const char *param, pg_user *u, rk_status *st) {
    const char *params[] = {param};
    PGresult *r = NULL;
    int rc = q(p, sql, 1, params, &r, st);
    if (rc != RK_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rk_status_set(st, RK_NOT_FOUND, "no such user");
    }
    fill_user(r, u);
    PQclear(r);
    return RK_OK;
}

int pgstore_user_by_name(pgstore *p, const char *username, pg_user *u, rk_status *st) {
    return user_one(p, USER_SELECT "WHERE username = $1", username, u, st);
}

int pgstore_user_by_id(pgstore *p, int64_t id, pg_user *u, rk_status *st) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, id);
    return user_one(p, USER_SELECT "WHERE id = $1::bigint", n, u, st);
}

int pgstore_user_set_hash(pgstore *p, int64_t id, const char *old_hash, const char *new_hash, rk_status *st) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, id);
    const char *params[] = {n, old_hash, new_hash};
    return q(p, "UPDATE users SET password_hash = $3 WHERE id = $1::bigint AND password_hash = $2", 3, params, NULL,
             st);
}

int pgstore_user_upsert(pgstore *p, const char *username, const char *pwhash, int role, int64_t *id, rk_status *st) {
    char rs[8];
    snprintf(rs, sizeof(rs), "%d", role);
    const char *params[] = {username, pwhash, rs};
    PGresult *r = NULL;
    int rc = q(p,
               "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3::smallint) "
               "ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
               "role = EXCLUDED.role RETURNING id",
               3, params, &r, st);
    if (rc != RK_OK) return rc;
    *id = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

int pgstore_user_set_role(pgstore *p, const char *username, int role, int64_t *user_id, int64_t *token_gen,
                          rk_status *st) {
    char rs[8];
    snprintf(rs, sizeof(rs), "%d", role);
    const char *params[] = {username, rs};
    PGresult *r = NULL;
    /* One statement: no token can be signed with the new role and the old
     * generation. SET reads the row as it was, so the order is free. */
    int rc = q(p,
               "UPDATE users SET role = $2::smallint, token_gen = token_gen + (role <> $2::smallint)::int "
               "WHERE username = $1 RETURNING id, token_gen",
               2, params, &r, st);
    if (rc != RK_OK) return rc;
    int n = PQntuples(r);
    if (n == 1) {
        *user_id = geti(r, 0, 0);
        *token_gen = geti(r, 0, 1);
    }
    PQclear(r);
    return n == 1 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "user %s not found", username);
}

int pgstore_user_gens_each(pgstore *p, int (*fn)(void *arg, int64_t id, int64_t token_gen, rk_status *st), void *arg,
                           rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT id, token_gen FROM users WHERE token_gen > 0 ORDER BY id", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < PQntuples(r) && rc == RK_OK; i++) rc = fn(arg, geti(r, i, 0), geti(r, i, 1), st);
    PQclear(r);
    return rc;
}

int pgstore_users_resolve(pgstore *p, int64_t *ids, const char *const *names, size_t n, int *found,
                          char (*out_names)[PG_NAME_MAX], rk_status *st) {
    sbuf a = {0}, b = {0};
    PGresult *r = NULL;
    int rc;
    sb_putc(&a, '{');
    sb_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        if (ids[i] > 0)
            arr_int(&a, ids[i]);
        else if (names[i])
            arr_elem(&b, names[i]);
    }
    sb_putc(&a, '}');
    sb_putc(&b, '}');
    if (a.oom || b.oom) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    const char *params[] = {a.s, b.s};
    if ((rc = q(p, "SELECT id, username FROM users WHERE id = ANY($1::bigint[]) OR username = ANY($2::text[])", 2,
                params, &r, st)) != RK_OK)
        goto done;
    int rows = PQntuples(r);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < rows; j++) {
            int64_t id = geti(r, j, 0);
            const char *name = PQgetvalue(r, j, 1);
            if ((ids[i] > 0 && ids[i] == id) || (ids[i] <= 0 && names[i] && strcmp(names[i], name) == 0)) {
                found[i] = 1;
                ids[i] = id;
                snprintf(out_names[i], PG_NAME_MAX, "%s", name);
                break;
            }
        }
    }
    PQclear(r);
done:
    free(a.s);
    free(b.s);
    return rc;
}

int pgstore_users_each(pgstore *p, int (*fn)(void *arg, int64_t id, const char *name), void *arg, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT id, username FROM users ORDER BY id", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < PQntuples(r) && rc == RK_OK; i++) rc = fn(arg, geti(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------------- API keys */

#define KEY_COLS "id, game, label, extract(epoch FROM created_at)::bigint, revoked_at IS NOT NULL"

static void fill_key(PGresult *r, int row, pg_apikey *k) {
    k->id = geti(r, row, 0);
    gets_(r, row, 1, k->game, sizeof(k->game));
    gets_(r, row, 2, k->label, sizeof(k->label));
    k->created_at = geti(r, row, 3);
    k->revoked = PQgetvalue(r, row, 4)[0] == 't';
}

int pgstore_apikey_create(pgstore *p, const char *key_hash, const char *game, const char *label, pg_apikey *out,
                          rk_status *st) {
    const char *params[] = {key_hash, game, label};
    PGresult *r = NULL;
    int rc =
        q(p, "INSERT INTO api_keys (key_hash, game, label) VALUES ($1, $2, $3) RETURNING " KEY_COLS, 3, params, &r, st);
    if (rc != RK_OK) return rc;
    fill_key(r, 0, out);
    PQclear(r);
    return RK_OK;
}

int pgstore_apikey_lookup(pgstore *p, const char *key_hash, pg_apikey *out, rk_status *st) {
    const char *params[] = {key_hash};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1", 1, params, &r, st);
    if (rc != RK_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rk_status_set(st, RK_UNAUTHENTICATED, "unknown API key");
    }
    fill_key(r, 0, out);
    PQclear(r);
    return RK_OK;
}

int pgstore_apikey_list(pgstore *p, const char *game, pg_apikey **keys, size_t *n, rk_status *st) {
    const char *params[] = {game ? game : ""};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " KEY_COLS " FROM api_keys WHERE $1 = '' OR game = $1 ORDER BY id", 1, params, &r, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(r);
    *keys = calloc(rows ? (size_t)rows : 1, sizeof(**keys));
    if (*keys == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int i = 0; i < rows; i++) fill_key(r, i, &(*keys)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return RK_OK;
}

int pgstore_apikey_revoke(pgstore *p, int64_t id, rk_status *st) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, id);
    const char *params[] = {n};
    PGresult *r = NULL;
    int rc = q(p, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::bigint RETURNING id", 1,
               params, &r, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(r);
    PQclear(r);
    return rows == 1 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "API key %s not found", n);
}

/* A board's rows ($1) of its current season: since the last season's
 * end (report.h has the rule for any period). */
#define IN_SEASON                                                                                      \
    " AND submitted_at >= coalesce((SELECT max(se.ended_at) FROM seasons se WHERE se.board_id = $1), " \
    "'-infinity')"

/* ---------------------------------------------------------------- boards */

#define BOARD_COLS                                                                                                \
    "id, game, title, higher_is_better, policy, windows, min_score, max_score, player_submit, "                   \
    "extract(epoch FROM created_at)::bigint, rate_limit, max_step, max_rate, " SEASON_COLS ", "                   \
    "coalesce(array_to_string(sources, ','), ''), "                                                               \
    "(SELECT coalesce(string_agg(a.id, ',' ORDER BY a.id), '') FROM boards a WHERE boards.id = ANY(a.sources)), " \
    "shards"
/* Seasons' columns of a board (migration 9), after the others. */
#define SEASON_COLS "season_schedule, season, coalesce((extract(epoch FROM season_started_at) * 1000000)::bigint, 0)"

/* A comma-separated list of board ids into ids (at most BOARD_AGG_MAX). */
static int split_ids(const char *list, char ids[][BOARD_ID_MAX + 1]) {
    int n = 0;
    for (const char *p = list; *p && n < BOARD_AGG_MAX;) {
        size_t len = strcspn(p, ",");
        if (len > BOARD_ID_MAX) len = BOARD_ID_MAX;
        memcpy(ids[n], p, len);
        ids[n++][len] = '\0';
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    return n;
}

static void fill_board(PGresult *r, int row, board *b) {
    memset(b, 0, sizeof(*b));
    gets_(r, row, 0, b->id, sizeof(b->id));
    gets_(r, row, 1, b->game, sizeof(b->game));
    gets_(r, row, 2, b->title, sizeof(b->title));
    b->higher_is_better = PQgetvalue(r, row, 3)[0] == 't';
    b->policy = (board_policy)geti(r, row, 4);
    b->windows = (unsigned)geti(r, row, 5);
    b->min_score = geti(r, row, 6);
    b->max_score = geti(r, row, 7);
    b->player_submit = PQgetvalue(r, row, 8)[0] == 't';
    b->created_at = geti(r, row, 9);
    b->rate_limit = geti(r, row, 10);
    b->max_step = geti(r, row, 11);
    b->max_rate = geti(r, row, 12);
    gets_(r, row, 13, b->season_schedule, sizeof(b->season_schedule));
    b->season = geti(r, row, 14);
    b->season_started_us = geti(r, row, 15);
    b->nsources = split_ids(PQgetvalue(r, row, 16), b->sources);
    b->nfeeds = split_ids(PQgetvalue(r, row, 17), b->feeds);
    b->shards = (int)geti(r, row, 18);
    if (b->shards < 1) b->shards = 1;
}

int pgstore_board_create(pgstore *p, board *b, rk_status *st) {
    char pol[8], win[8], mn[24], mx[24], rl[24], ms[24], mr[24], at[24];
    snprintf(at, sizeof(at), "%" PRId64, b->created_at);
    snprintf(rl, sizeof(rl), "%" PRId64, b->rate_limit);
    snprintf(ms, sizeof(ms), "%" PRId64, b->max_step);
    snprintf(mr, sizeof(mr), "%" PRId64, b->max_rate);
    snprintf(pol, sizeof(pol), "%d", (int)b->policy);
    snprintf(win, sizeof(win), "%u", b->windows);
    snprintf(mn, sizeof(mn), "%" PRId64, b->min_score);
    snprintf(mx, sizeof(mx), "%" PRId64, b->max_score);
    char sources[BOARD_AGG_MAX * (BOARD_ID_MAX + 1) + 1] = "", shards[16];
    snprintf(shards, sizeof(shards), "%d", b->shards > 1 ? b->shards : 1);
    for (int i = 0, used = 0; i < b->nsources; i++)
        used += snprintf(sources + used, sizeof(sources) - (size_t)used, "%s%s", i ? "," : "", b->sources[i]);
    const char *params[] = {b->id,
                            b->game,
                            b->title,
                            b->higher_is_better ? "t" : "f",
                            pol,
                            win,
                            mn,
                            mx,
                            b->player_submit ? "t" : "f",
                            rl,
                            ms,
                            mr,
                            b->season_schedule,
                            b->created_at > 0 ? at : NULL,
                            b->nsources ? sources : NULL,
                            shards};
    PGresult *r = NULL;
    /* created_at by rankd's clock when it gives one (a first season's
     * schedule counts from it), else PostgreSQL's. */
    int rc = q(p,
               "INSERT INTO boards (id, game, title, higher_is_better, policy, windows, min_score, "
               "max_score, player_submit, rate_limit, max_step, max_rate, season_schedule, created_at, sources, "
               "shards) "
               "VALUES ($1, $2, $3, $4::boolean, $5::smallint, $6::integer, $7::bigint, $8::bigint, $9::boolean, "
               "$10::integer, $11::bigint, $12::bigint, $13, coalesce(to_timestamp($14::bigint), now()), "
               "string_to_array($15, ','), $16::smallint) RETURNING " BOARD_COLS,
               16, params, &r, st);
    if (rc == RK_ALREADY_EXISTS) return rk_status_set(st, rc, "board %s already exists", b->id);
    if (rc != RK_OK) return rc;
    fill_board(r, 0, b);
    PQclear(r);
    return RK_OK;
}

int pgstore_board_update(pgstore *p, board *b, rk_status *st) {
    char win[8], mn[24], mx[24], rl[24], ms[24], mr[24];
    snprintf(win, sizeof(win), "%u", b->windows);
    snprintf(mn, sizeof(mn), "%" PRId64, b->min_score);
    snprintf(mx, sizeof(mx), "%" PRId64, b->max_score);
    snprintf(rl, sizeof(rl), "%" PRId64, b->rate_limit);
    snprintf(ms, sizeof(ms), "%" PRId64, b->max_step);
    snprintf(mr, sizeof(mr), "%" PRId64, b->max_rate);
    const char *params[] = {b->id, b->title, win, mn, mx, b->player_submit ? "t" : "f", rl, ms, mr, b->season_schedule};
    PGresult *r = NULL;
    int rc = q(p,
               "UPDATE boards SET title = $2, windows = $3::integer, min_score = $4::bigint, max_score = $5::bigint, "
               "player_submit = $6::boolean, rate_limit = $7::integer, max_step = $8::bigint, max_rate = $9::bigint, "
               "season_schedule = $10 WHERE id = $1 RETURNING " BOARD_COLS,
               10, params, &r, st);
    if (rc != RK_OK) return rc;
    int n = PQntuples(r);
    if (n == 1) fill_board(r, 0, b);
    PQclear(r);
    return n == 1 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "board %s not found", b->id);
}

int pgstore_board_list(pgstore *p, board **boards, size_t *n, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT " BOARD_COLS " FROM boards ORDER BY id", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(r);
    *boards = calloc(rows ? (size_t)rows : 1, sizeof(**boards));
    if (*boards == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int i = 0; i < rows; i++) fill_board(r, i, &(*boards)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return RK_OK;
}

int pgstore_board_get(pgstore *p, const char *id, board *b, rk_status *st) {
    const char *params[] = {id};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " BOARD_COLS " FROM boards WHERE id = $1", 1, params, &r, st);
    if (rc != RK_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rk_status_set(st, RK_NOT_FOUND, "board %s not found", id);
    }
    fill_board(r, 0, b);
    PQclear(r);
    return RK_OK;
}

int pgstore_board_delete(pgstore *p, const char *id, rk_status *st) {
    const char *params[] = {id};
    PGresult *r = NULL;
    int rc;
    if ((rc = q(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    if ((rc = q(p, "DELETE FROM scores WHERE board_id = $1", 1, params, NULL, st)) != RK_OK ||
        (rc = q(p, "DELETE FROM boards WHERE id = $1 RETURNING id", 1, params, &r, st)) != RK_OK) {
        PQclear(PQexec(p->conn, "ROLLBACK"));
        return rc;
    }
    int rows = PQntuples(r);
    PQclear(r);
    if ((rc = q(p, "COMMIT", 0, NULL, NULL, st)) != RK_OK) return rc;
    return rows == 1 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "board %s not found", id);
}

/* ---------------------------------------------------------------- tokens */

int pgstore_token_revoke(pgstore *p, const char *jti, int64_t expires_at, rk_status *st) {
    char e[24];
    snprintf(e, sizeof(e), "%" PRId64, expires_at);
    const char *params[] = {jti, e};
    return q(p,
             "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2::bigint)) "
             "ON CONFLICT DO NOTHING",
             2, params, NULL, st);
}

int pgstore_revoked_each(pgstore *p, int64_t now,
                         int (*fn)(void *arg, const char *jti, int64_t expires_at, rk_status *st), void *arg,
                         rk_status *st) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, now);
    const char *params[] = {n};
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT jti, extract(epoch FROM expires_at)::bigint FROM revoked_tokens "
               "WHERE expires_at > to_timestamp($1::bigint)",
               1, params, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < PQntuples(r) && rc == RK_OK; i++) rc = fn(arg, PQgetvalue(r, i, 0), geti(r, i, 1), st);
    PQclear(r);
    return rc;
}

int pgstore_revoked_keys_each(pgstore *p, void (*fn)(void *arg, int64_t key_id), void *arg, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT id FROM api_keys WHERE revoked_at IS NOT NULL", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) fn(arg, geti(r, i, 0));
    PQclear(r);
    return RK_OK;
}

/* ---------------------------------------------------------------- history */

int pgstore_ensure_partitions(pgstore *p, time_t now, rk_status *st) {
    struct tm tm;
    gmtime_r(&now, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
    for (int i = 0; i < 3; i++) {
        int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
        char sql[320];
        /* Names and bounds are numbers we format: nothing from a request. */
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS scores_%04d_%02d PARTITION OF scores "
                 "FOR VALUES FROM ('%04d-%02d-01 00:00:00+00') TO ('%04d-%02d-01 00:00:00+00')",
                 y, m, y, m, ny, nm);
        int rc = q(p, sql, 0, NULL, NULL, st);
        /* Rows already in the default partition for that month keep it
         * there; the month then simply has no partition of its own. */
        if (rc != RK_OK && rc != RK_INTERNAL && rc != RK_INVALID_ARGUMENT) return rc;
        y = ny;
        m = nm;
    }
    return RK_OK;
}

/* COPY's text format: backslash, tab, newline and carriage return are
 * escaped; nothing else is special. */
static void copy_text(sbuf *b, const char *v) {
    static const char esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};
    for (; *v; v++) {
        char e = esc[(unsigned char)*v];
        if (e) sb_putc(b, '\\');
        sb_putc(b, e ? e : *v);
    }
}

/* "" is NULL (\N) here. */
static void copy_or_null(sbuf *b, const char *v) {
    if (*v) {
        copy_text(b, v);
    } else {
        sb_putc(b, '\\');
        sb_putc(b, 'N');
    }
}

static void copy_int(sbuf *b, int64_t v) {
    char n[24];
    snprintf(n, sizeof(n), "%" PRId64, v);
    copy_text(b, n);
}

/* A time in µs since the epoch as PostgreSQL reads a timestamptz; -1 for
 * one outside years 1-9999 (the INSERT path then says what is wrong). */
static int copy_time(sbuf *b, int64_t us) {
    int64_t sec = us / 1000000, frac = us % 1000000;
    if (frac < 0) frac += 1000000, sec--;
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) return -1;
    char out[48];
    snprintf(out, sizeof(out), "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    copy_text(b, out);
    return 0;
}

/* The batch as COPY's text rows, in the INSERT's columns and meaning:
 * held 1 with a rule, NULL without; no metadata is NULL. -1 when a row
 * cannot be written so (out of memory, a time out of range). */
static int copy_rows(sbuf *b, const pg_score *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const pg_score *r = &rows[i];
        const char *held = r->held_rule ? r->held_rule : "", *meta = r->meta ? r->meta : "";
        copy_text(b, r->entry_id);
        sb_putc(b, '\t');
        copy_text(b, r->board_id);
        sb_putc(b, '\t');
        copy_int(b, r->user_id);
        sb_putc(b, '\t');
        copy_int(b, r->score);
        sb_putc(b, '\t');
        if (copy_time(b, r->ts_us) != 0) return -1;
        sb_putc(b, '\t');
        copy_text(b, r->idem_key ? r->idem_key : "");
        sb_putc(b, '\t');
        copy_or_null(b, *held ? "1" : "");
        sb_putc(b, '\t');
        copy_or_null(b, held);
        sb_putc(b, '\t');
        copy_or_null(b, meta);
        sb_putc(b, '\n');
    }
    return b->oom ? -1 : 0;
}

/* The fast path of pgstore_scores_insert: the batch in one COPY, which
 * costs PostgreSQL less per row than the INSERT below (PostgreSQL is the
 * write-behind's bottleneck; the drain is 1.15x faster). All or nothing: *copied 0 when
 * PostgreSQL refused it (a row already there after a redelivery, a value
 * it will not take), and the INSERT path then does the batch; an error
 * only when the connection failed. */
static int scores_copy(pgstore *p, const pg_score *rows, size_t n, int *copied, rk_status *st) {
    *copied = 0;
    sbuf b = {0};
    if (copy_rows(&b, rows, n) != 0) {
        free(b.s);
        return RK_OK;
    }
    int rc = conn_ok(p, st);
    int64_t t0 = server_now_us();
    PGresult *r = rc == RK_OK ? PQexec(p->conn, "COPY scores (entry_id, board_id, user_id, score, submitted_at, "
                                                "idempotency_key, held, held_rule, meta) FROM STDIN")
                              : NULL;
    if (r && PQresultStatus(r) == PGRES_COPY_IN) {
        int sent = PQputCopyData(p->conn, b.s, (int)b.len) == 1;
        PQputCopyEnd(p->conn, sent ? NULL : "rankd could not send the rows");
        PQclear(r);
        r = PQgetResult(p->conn);
        *copied = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!*copied)
            log_debug("write-behind batch not copied", "rows=%zu error=\"%.*s\"", n,
                      (int)strcspn(r ? PQresultErrorMessage(r) : "", "\n"), r ? PQresultErrorMessage(r) : "");
        /* Drain to the end, so the connection is ready for the next. */
        for (PGresult *more; (more = PQgetResult(p->conn)) != NULL;) PQclear(more);
    }
    metrics_pg_call(server_now_us() - t0);
    PQclear(r);
    free(b.s);
    if (rc == RK_OK && PQstatus(p->conn) != CONNECTION_OK)
        rc = rk_status_set(st, RK_UNAVAILABLE, "PostgreSQL connection lost: %s", PQerrorMessage(p->conn));
    return rc;
}

/* Below this many rows a refused COPY would cost more than it saves. */
#define COPY_MIN_ROWS 16

int pgstore_scores_insert(pgstore *p, const pg_score *rows, size_t n, rk_status *st) {
    if (n >= COPY_MIN_ROWS && !p->in_txn) {
        int copied = 0, rc = scores_copy(p, rows, n, &copied, st);
        if (rc != RK_OK || copied) return rc;
    }
    sbuf a[8] = {{0}};
    int rc = RK_OK;
    for (int c = 0; c < 8; c++) sb_putc(&a[c], '{');
    for (size_t i = 0; i < n; i++) {
        arr_elem(&a[0], rows[i].entry_id);
        arr_elem(&a[1], rows[i].board_id);
        arr_int(&a[2], rows[i].user_id);
        arr_int(&a[3], rows[i].score);
        arr_int(&a[4], rows[i].ts_us);
        arr_elem(&a[5], rows[i].idem_key ? rows[i].idem_key : "");
        arr_elem(&a[6], rows[i].held_rule ? rows[i].held_rule : "");
        arr_elem(&a[7], rows[i].meta ? rows[i].meta : "");
    }
    for (int c = 0; c < 8; c++) {
        sb_putc(&a[c], '}');
        if (a[c].oom) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (rc == RK_OK) {
        const char *params[] = {a[0].s, a[1].s, a[2].s, a[3].s, a[4].s, a[5].s, a[6].s, a[7].s};
        /* A held submission (h: its rule) waits for review: held 1. No
         * metadata (x '', never a JSON object) is NULL. */
        rc = q(p,
               "INSERT INTO scores (entry_id, board_id, user_id, score, submitted_at, idempotency_key, held, "
               "held_rule, meta) "
               "SELECT e, b, u, s, timestamptz 'epoch' + t * interval '1 microsecond', k, "
               "CASE WHEN h = '' THEN NULL ELSE 1 END, nullif(h, ''), nullif(x, '') FROM unnest($1::text[], "
               "$2::text[], "
               "$3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[]) "
               "AS x(e, b, u, s, t, k, h, x) "
               "ON CONFLICT (entry_id, submitted_at) DO NOTHING",
               8, params, NULL, st);
    }
    for (int c = 0; c < 8; c++) free(a[c].s);
    return rc;
}

int pgstore_dead_letter_add(pgstore *p, const char *entry_id, const uint8_t *fields, size_t len, const char *reason,
                            rk_status *st) {
    static const char hex[] = "0123456789abcdef";
    char *x = malloc(2 * len + 3), why[160];
    if (x == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    x[0] = '\\';
    x[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        x[2 + 2 * i] = hex[fields[i] >> 4];
        x[3 + 2 * i] = hex[fields[i] & 15];
    }
    x[2 + 2 * len] = '\0';
    /* The reason may quote the very bytes that were refused. */
    size_t n = 0;
    for (const char *r = reason; *r && n + 1 < sizeof(why); r++) why[n++] = *r >= 0x20 && *r < 0x7f ? *r : '?';
    why[n] = '\0';
    const char *params[] = {entry_id, x, why};
    int rc = q(p,
               "INSERT INTO scores_dead_letter (entry_id, fields, reason) VALUES ($1, $2::bytea, $3) "
               "ON CONFLICT (entry_id) DO NOTHING",
               3, params, NULL, st);
    free(x);
    return rc;
}

int pgstore_dead_letter_count(pgstore *p, int64_t *n, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT count(*) FROM scores_dead_letter", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    *n = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

static int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

int pgstore_dead_letters_each(pgstore *p, int64_t limit, int (*fn)(void *arg, const pg_dead_letter *d), void *arg,
                              rk_status *st) {
    char lim[24];
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    const char *params[] = {lim};
    PGresult *r = NULL;
    /* The fields as hex, decoded here: the text form of bytea is hex too,
     * but encode() says so in the query instead of in a server setting. */
    int rc = q(p,
               "SELECT entry_id, encode(fields, 'hex'), reason, extract(epoch FROM dead_at)::bigint "
               "FROM scores_dead_letter ORDER BY dead_at, entry_id LIMIT $1::bigint",
               1, params, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0, rows = PQntuples(r); rc == RK_OK && i < rows; i++) {
        const char *hex = PQgetvalue(r, i, 1);
        size_t hl = strlen(hex), n = 0;
        uint8_t *bytes = malloc(hl / 2 + 1);
        if (bytes == NULL) {
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
            break;
        }
        for (size_t j = 0; j + 1 < hl; j += 2) {
            int hi = hexval(hex[j]), lo = hexval(hex[j + 1]);
            if (hi < 0 || lo < 0) break;
            bytes[n++] = (uint8_t)(hi << 4 | lo);
        }
        pg_dead_letter d = {.entry_id = PQgetvalue(r, i, 0),
                            .fields = bytes,
                            .len = n,
                            .reason = PQgetvalue(r, i, 2),
                            .dead_at = geti(r, i, 3)};
        rc = fn(arg, &d);
        free(bytes);
    }
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------------- bans */

int pgstore_user_ban(pgstore *p, int64_t user_id, int banned, const char *reason, int64_t *token_gen, int *changed,
                     rk_status *st) {
    char uid[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *params[] = {uid, reason ? reason : ""};
    PGresult *r = NULL;
    /* The generation rises with the change, in the same statement: every
     * token signed before it is void, and every rankd's ban set orders
     * the changes by it. */
    int rc = q(p,
               banned ? "UPDATE users SET banned_at = now(), ban_reason = $2, token_gen = token_gen + 1 "
                        "WHERE id = $1::bigint AND banned_at IS NULL RETURNING token_gen"
                      : "UPDATE users SET banned_at = NULL, ban_reason = '', token_gen = token_gen + 1 "
                        "WHERE id = $1::bigint AND banned_at IS NOT NULL RETURNING token_gen",
               banned ? 2 : 1, params, &r, st);
    if (rc != RK_OK) return rc;
    *changed = PQntuples(r) == 1;
    *token_gen = *changed ? geti(r, 0, 0) : 0;
    PQclear(r);
    return RK_OK;
}

int pgstore_bans_each(pgstore *p, int (*fn)(void *arg, int64_t id, int64_t gen, int banned, const char *reason),
                      void *arg, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT id, token_gen, banned_at IS NOT NULL, coalesce(ban_reason, '') FROM users "
               "WHERE ban_reason IS NOT NULL ORDER BY id",
               0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < PQntuples(r) && rc == RK_OK; i++)
        rc = fn(arg, geti(r, i, 0), geti(r, i, 1), strcmp(PQgetvalue(r, i, 2), "t") == 0, PQgetvalue(r, i, 3));
    PQclear(r);
    return rc;
}

int pgstore_player_boards(pgstore *p, int64_t user_id, char (**ids)[BOARD_ID_MAX + 1], size_t *n, rk_status *st) {
    char uid[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *params[] = {uid};
    PGresult *r = NULL;
    int rc =
        q(p,
          "SELECT DISTINCT board_id FROM scores WHERE user_id = $1::bigint AND removal_id IS NULL AND held IS NULL "
          "ORDER BY board_id",
          1, params, &r, st);
    if (rc != RK_OK) return rc;
    size_t m = (size_t)PQntuples(r);
    char(*out)[BOARD_ID_MAX + 1] = calloc(m ? m : 1, sizeof(*out));
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < m; i++) gets_(r, (int)i, 0, out[i], sizeof(out[i]));
    PQclear(r);
    *ids = out;
    *n = m;
    return RK_OK;
}

int pgstore_personal_best(pgstore *p, const board *b, int64_t user_id, int *found, int64_t *best, rk_status *st) {
    char uid[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *params[] = {b->id, uid};
    PGresult *r = NULL;
    int rc = q(p,
               b->higher_is_better ? "SELECT max(score) FROM scores WHERE board_id = $1 AND user_id = $2::bigint "
                                     "AND removal_id IS NULL AND held IS NULL" IN_SEASON
                                   : "SELECT min(score) FROM scores WHERE board_id = $1 AND user_id = $2::bigint "
                                     "AND removal_id IS NULL AND held IS NULL" IN_SEASON,
               2, params, &r, st);
    if (rc != RK_OK) return rc;
    *found = !PQgetisnull(r, 0, 0);
    *best = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

/* ---------------------------------------------------------------- held submissions */

static void fill_held(PGresult *r, int i, pg_held *h) {
    memset(h, 0, sizeof(*h));
    gets_(r, i, 0, h->entry_id, sizeof(h->entry_id));
    gets_(r, i, 1, h->board_id, sizeof(h->board_id));
    h->user_id = geti(r, i, 2);
    gets_(r, i, 3, h->username, sizeof(h->username));
    h->score = geti(r, i, 4);
    h->submitted_at_us = geti(r, i, 5);
    gets_(r, i, 6, h->rule, sizeof(h->rule));
}

#define HELD_COLS                                                                                      \
    "s.entry_id, s.board_id, s.user_id, coalesce(u.username, ''), s.score, "                           \
    "(extract(epoch FROM s.submitted_at) * 1000000)::bigint, coalesce(s.held_rule, '') FROM scores s " \
    "LEFT JOIN users u ON u.id = s.user_id"

int pgstore_held_each(pgstore *p, const char *board_id, int64_t limit, int (*fn)(void *arg, const pg_held *h),
                      void *arg, int64_t *total, rk_status *st) {
    char lim[24];
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    const char *params[] = {board_id ? board_id : "", lim};
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT " HELD_COLS " WHERE s.held = 1 AND ($1 = '' OR s.board_id = $1) "
               "ORDER BY s.submitted_at, s.entry_id LIMIT $2::bigint",
               2, params, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; rc == RK_OK && i < PQntuples(r); i++) {
        pg_held h;
        fill_held(r, i, &h);
        rc = fn(arg, &h);
    }
    PQclear(r);
    if (rc != RK_OK) return rc;
    if ((rc = q(p, "SELECT count(*) FROM scores WHERE held = 1 AND ($1 = '' OR board_id = $1)", 1, params, &r, st)) !=
        RK_OK)
        return rc;
    *total = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

int pgstore_held_get(pgstore *p, const char *entry_id, pg_held *h, rk_status *st) {
    const char *params[] = {entry_id};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " HELD_COLS " WHERE s.entry_id = $1 AND s.held = 1", 1, params, &r, st);
    if (rc != RK_OK) return rc;
    int n = PQntuples(r);
    if (n == 1) fill_held(r, 0, h);
    PQclear(r);
    return n == 1 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "no submission %s is held for review", entry_id);
}

int pgstore_held_decide(pgstore *p, const char *entry_id, int approve, rk_status *st) {
    const char *params[] = {entry_id};
    PGresult *r = NULL;
    /* held = 1 in the WHERE: a decision is made once. */
    int rc = q(p,
               approve ? "UPDATE scores SET held = NULL WHERE entry_id = $1 AND held = 1 RETURNING 1"
                       : "UPDATE scores SET held = 2 WHERE entry_id = $1 AND held = 1 RETURNING 1",
               1, params, &r, st);
    if (rc != RK_OK) return rc;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0 ? RK_OK : rk_status_set(st, RK_NOT_FOUND, "no submission %s is held for review", entry_id);
}

/* ---------------------------------------------------------------- audit log */

int pgstore_audit_add(pgstore *p, const pg_audit *a, rk_status *st) {
    char actor[24];
    snprintf(actor, sizeof(actor), "%" PRId64, a->actor_id);
    const char *params[] = {actor, a->action, a->target ? a->target : "", a->detail ? a->detail : "",
                            a->reason ? a->reason : ""};
    return q(p,
             "INSERT INTO audit_log (actor_id, actor, action, target, detail, reason) "
             "SELECT $1::bigint, coalesce((SELECT username FROM users WHERE id = $1::bigint), ''), $2, $3, $4, $5",
             5, params, NULL, st);
}

int pgstore_audit_each(pgstore *p, const pg_audit_query *aq, int (*fn)(void *arg, const pg_audit *a), void *arg,
                       rk_status *st) {
    char before[24], lim[24];
    snprintf(before, sizeof(before), "%" PRId64, aq->before_id > 0 ? aq->before_id : INT64_MAX);
    snprintf(lim, sizeof(lim), "%" PRId64, aq->limit);
    const char *params[] = {before, lim, aq->action ? aq->action : "", aq->target ? aq->target : ""};
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor_id, actor, action, target, detail, "
               "reason FROM audit_log WHERE id < $1::bigint AND ($3 = '' OR action = $3) "
               "AND ($4 = '' OR target = $4) ORDER BY id DESC LIMIT $2::bigint",
               4, params, &r, st);
    if (rc != RK_OK) return rc;
    for (int i = 0, rows = PQntuples(r); rc == RK_OK && i < rows; i++) {
        pg_audit a = {.id = geti(r, i, 0),
                      .at_us = geti(r, i, 1),
                      .actor_id = geti(r, i, 2),
                      .actor = PQgetvalue(r, i, 3),
                      .action = PQgetvalue(r, i, 4),
                      .target = PQgetvalue(r, i, 5),
                      .detail = PQgetvalue(r, i, 6),
                      .reason = PQgetvalue(r, i, 7)};
        rc = fn(arg, &a);
    }
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------------- removals */

int pgstore_remove_entry(pgstore *p, const char *board_id, int64_t user_id, int64_t actor_id, const char *reason,
                         int64_t *removal_id, int64_t *marked, rk_status *st) {
    char uid[24], actor[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    snprintf(actor, sizeof(actor), "%" PRId64, actor_id);
    const char *params[] = {board_id, uid, actor, reason ? reason : ""};
    PGresult *r = NULL;
    /* One statement: the removal row exists exactly when rows point at it
     * (a retry after the rows were marked adds none). */
    int rc = q(p,
               "WITH r AS (INSERT INTO removals (board_id, user_id, actor_id, reason) "
               "SELECT $1, $2::bigint, $3::bigint, $4 WHERE EXISTS (SELECT 1 FROM scores WHERE board_id = $1 "
               "AND user_id = $2::bigint AND removal_id IS NULL) RETURNING id), "
               "u AS (UPDATE scores s SET removal_id = r.id FROM r WHERE s.board_id = $1 AND s.user_id = $2::bigint "
               "AND s.removal_id IS NULL RETURNING 1) "
               "SELECT coalesce((SELECT id FROM r), 0), (SELECT count(*) FROM u)",
               4, params, &r, st);
    if (rc != RK_OK) return rc;
    *removal_id = geti(r, 0, 0);
    *marked = geti(r, 0, 1);
    PQclear(r);
    return RK_OK;
}

/* ---------------------------------------------------------------- redis_backlog */

int pgstore_backlog_record(pgstore *p, const pg_backlog_row *row, int *seen, rk_status *st) {
    char uid[24], score[24], ts[24];
    int rc, keyed = row->idem_key[0] != '\0', txn = keyed || row->sum_limited;
    *seen = 0;
    snprintf(uid, sizeof(uid), "%" PRId64, row->user_id);
    snprintf(score, sizeof(score), "%" PRId64, row->score);
    snprintf(ts, sizeof(ts), "%" PRId64, row->ts_us);
    if (txn && (rc = q(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    if (keyed) {
        /* Each statement of a READ COMMITTED transaction sees what was
         * committed before it began: the second of two callers waits for
         * the lock, then finds the first one's row. */
        const char *params[] = {row->board_id, row->idem_key};
        PGresult *r = NULL;
        if ((rc = q(p, "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 0))", 2, params, NULL,
                    st)) != RK_OK ||
            (rc = q(p, "SELECT user_id, score FROM scores WHERE board_id = $1 AND idempotency_key = $2 LIMIT 1", 2,
                    params, &r, st)) != RK_OK)
            goto out;
        *seen = PQntuples(r) > 0;
        /* A key names one submission, as rk_submit holds it. */
        if (*seen && (strcmp(PQgetvalue(r, 0, 0), uid) != 0 || strcmp(PQgetvalue(r, 0, 1), score) != 0)) {
            *seen = 0;
            rc = rk_status_set(st, RK_INVALID_ARGUMENT,
                               "this idempotency key was used for another submission on the board (player %s, score "
                               "%s); use a new key for each submission",
                               PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        if (*seen || rc != RK_OK) goto out;
    }
    if (row->sum_limited) {
        /* The player's total stays within +-2^53, as rk_submit decides it
         * with Redis: checked in exact numeric arithmetic, under a lock on
         * (board, player) so two submissions cannot both pass. After the
         * key: a retry of a recorded submission is its replay, not a
         * second amount. */
        const char *params[] = {row->board_id, uid, score};
        PGresult *r = NULL;
        if ((rc = q(p, "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || 'u' || $2, 0))", 2, params, NULL,
                    st)) != RK_OK ||
            (rc = q(p,
                    "SELECT abs(coalesce(sum(score), 0)::numeric + $3::numeric) <= 9007199254740992 FROM scores "
                    "WHERE board_id = $1 AND user_id = $2::bigint AND removal_id IS NULL AND held IS NULL" IN_SEASON,
                    3, params, &r, st)) != RK_OK)
            goto out;
        int within = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (!within) {
            rc = rk_status_set(st, RK_OUT_OF_RANGE, "the total would leave the exact range of +-2^53");
            goto out;
        }
    }
    const char *meta = row->meta && row->meta[0] ? row->meta : NULL;
    const char *params[] = {row->entry_id, row->board_id, uid, score, ts, row->idem_key, meta};
    rc = q(p,
           "WITH h AS (INSERT INTO scores (entry_id, board_id, user_id, score, submitted_at, idempotency_key, meta) "
           "VALUES ($1, $2, $3::bigint, $4::bigint, timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6, "
           "$7)) "
           "INSERT INTO redis_backlog (entry_id, board_id, user_id, score, ts_us, idempotency_key, meta) "
           "VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6, $7)",
           7, params, NULL, st);
out:
    if (txn) {
        rk_status ignore;
        if (rc == RK_OK) rc = q(p, "COMMIT", 0, NULL, NULL, st);
        if (rc != RK_OK) q(p, "ROLLBACK", 0, NULL, NULL, &ignore);
    }
    return rc;
}

int pgstore_backlog_list(pgstore *p, const char *board_id, int limit, int by_board, pg_backlog_row **rows, size_t *n,
                         rk_status *st) {
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[] = {board_id, limit < 0 ? NULL : lim};
    PGresult *r = NULL;
    int rc = q(p,
               by_board ? "SELECT entry_id, board_id, user_id, score, ts_us, idempotency_key, meta FROM redis_backlog "
                          "WHERE $1::text IS NULL OR board_id = $1 ORDER BY board_id, ts_us, entry_id LIMIT $2::integer"
                        : "SELECT entry_id, board_id, user_id, score, ts_us, idempotency_key, meta FROM redis_backlog "
                          "WHERE $1::text IS NULL OR board_id = $1 ORDER BY ts_us, entry_id LIMIT $2::integer",
               2, params, &r, st);
    if (rc != RK_OK) return rc;
    size_t m = (size_t)PQntuples(r);
    char *pool = NULL;
    pg_backlog_row *out = rows_with_texts(r, 6, sizeof(*out), &pool);
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < m; i++) {
        int row = (int)i;
        snprintf(out[i].entry_id, sizeof(out[i].entry_id), "%s", PQgetvalue(r, row, 0));
        snprintf(out[i].board_id, sizeof(out[i].board_id), "%s", PQgetvalue(r, row, 1));
        out[i].user_id = geti(r, row, 2);
        out[i].score = geti(r, row, 3);
        out[i].ts_us = geti(r, row, 4);
        snprintf(out[i].idem_key, sizeof(out[i].idem_key), "%s", PQgetvalue(r, row, 5));
        out[i].meta = pool_put(r, row, 6, &pool);
    }
    PQclear(r);
    *rows = out;
    *n = m;
    return RK_OK;
}

/* A text[] literal of the ids whose flag is set (flags NULL: all); entry
 * ids are "pg-" and hex digits, so nothing needs escaping. malloc'ed. */
static char *id_array(const char *const *ids, const int *flags, size_t n) {
    size_t cap = 3;
    for (size_t i = 0; i < n; i++) cap += strlen(ids[i]) + 3;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    size_t k = 0;
    out[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (flags && !flags[i]) continue;
        if (k > 1) out[k++] = ',';
        k += (size_t)sprintf(out + k, "\"%s\"", ids[i]);
    }
    out[k++] = '}';
    out[k] = '\0';
    return out;
}

int pgstore_backlog_done(pgstore *p, const char *const *entry_ids, const int *twice, size_t n, rk_status *st) {
    if (n == 0) return RK_OK;
    char *all = id_array(entry_ids, NULL, n), *dup = id_array(entry_ids, twice, n);
    int rc = all && dup ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    const char *params[] = {all, dup};
    if (rc == RK_OK)
        rc = q(p,
               "WITH h AS (DELETE FROM scores WHERE entry_id = ANY($2::text[])) "
               "DELETE FROM redis_backlog WHERE entry_id = ANY($1::text[])",
               2, params, NULL, st);
    free(all);
    free(dup);
    return rc;
}

int pgstore_backlog_size(pgstore *p, int64_t *n, rk_status *st) {
    PGresult *r = NULL;
    int rc = q(p, "SELECT count(*) FROM redis_backlog", 0, NULL, &r, st);
    if (rc != RK_OK) return rc;
    *n = geti(r, 0, 0);
    PQclear(r);
    return RK_OK;
}

/* ---------------------------------------------------------------- the history, for rebuilds */

int pgstore_window_starts(pgstore *p, const char *board_id, const char *unit, int64_t retention_s, int64_t now,
                          int64_t **starts, size_t *n, rk_status *st) {
    char ret[24], at[24];
    snprintf(ret, sizeof(ret), "%" PRId64, retention_s);
    snprintf(at, sizeof(at), "%" PRId64, now);
    const char *params[] = {board_id, ret, unit, at};
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT DISTINCT extract(epoch FROM date_trunc($3, submitted_at AT TIME ZONE 'UTC'))::bigint AS s "
               "FROM scores WHERE board_id = $1 "
               "AND submitted_at >= to_timestamp($4::bigint) - $2::bigint * interval '1 second' ORDER BY s",
               4, params, &r, st);
    if (rc != RK_OK) return rc;
    size_t m = (size_t)PQntuples(r);
    int64_t *out = calloc(m + 1, sizeof(*out));
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < m; i++) out[i] = geti(r, (int)i, 0);
    PQclear(r);
    *starts = out;
    *n = m;
    return RK_OK;
}

int pgstore_has_history(pgstore *p, const char *board_id, int *yes, rk_status *st) {
    const char *params[] = {board_id};
    PGresult *r = NULL;
    int rc = q(p,
               board_id ? "SELECT 1 FROM scores WHERE board_id = $1 LIMIT 1"
                        : "SELECT 1 FROM scores s JOIN boards b ON b.id = s.board_id "
                          "WHERE b.higher_is_better AND $1::text IS NULL LIMIT 1",
               1, params, &r, st);
    if (rc != RK_OK) return rc;
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return RK_OK;
}

/* ---------------------------------------------------------------- reading the history */

/* A bound of a period as a parameter: SQL NULL when open. */
static const char *bound(char *buf, size_t cap, int64_t us) {
    if (us == PG_UNBOUNDED) return NULL;
    snprintf(buf, cap, "%" PRId64, us);
    return buf;
}

int pgstore_history_page(pgstore *p, const char *board_id, int64_t user_id, int64_t from_us, int64_t to_us,
                         int64_t offset, int64_t limit, pg_history_row **rows, size_t *n, int64_t *total,
                         rk_status *st) {
    char uid[24], from[24], to[24], off[24], lim[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    snprintf(off, sizeof(off), "%" PRId64, offset);
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    const char *params[] = {board_id, uid, bound(from, sizeof(from), from_us), bound(to, sizeof(to), to_us), off, lim};
    PGresult *r = NULL;
    int rc =
        q(p,
          "WITH h AS (SELECT score, submitted_at, idempotency_key, id, removal_id, held, meta FROM scores "
          "WHERE board_id = $1 AND user_id = $2::bigint "
          "AND ($3::bigint IS NULL OR submitted_at >= timestamptz 'epoch' + $3::bigint * interval '1 microsecond') "
          "AND ($4::bigint IS NULL OR submitted_at < timestamptz 'epoch' + $4::bigint * interval '1 microsecond')) "
          "SELECT score, (extract(epoch FROM submitted_at) * 1000000)::bigint, idempotency_key, "
          "(SELECT count(*) FROM h), coalesce(removal_id, 0), coalesce(held, 0), meta FROM h "
          "ORDER BY submitted_at DESC, id DESC "
          "OFFSET $5::bigint LIMIT $6::bigint",
          6, params, &r, st);
    if (rc != RK_OK) return rc;
    size_t m = (size_t)PQntuples(r);
    char *pool = NULL;
    pg_history_row *out = rows_with_texts(r, 6, sizeof(*out), &pool);
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < m; i++) {
        out[i].score = geti(r, (int)i, 0);
        out[i].submitted_at_us = geti(r, (int)i, 1);
        gets_(r, (int)i, 2, out[i].idem_key, sizeof(out[i].idem_key));
        out[i].removal_id = geti(r, (int)i, 4);
        out[i].held = (int)geti(r, (int)i, 5);
        out[i].meta = pool_put(r, (int)i, 6, &pool);
    }
    *total = m > 0 ? geti(r, 0, 3) : 0;
    PQclear(r);
    if (m == 0) {
        /* A page past the end still reports the total. */
        if ((rc = q(p,
                    "SELECT count(*) FROM scores WHERE board_id = $1 AND user_id = $2::bigint "
                    "AND ($3::bigint IS NULL OR submitted_at >= timestamptz 'epoch' + $3::bigint * interval '1 "
                    "microsecond') "
                    "AND ($4::bigint IS NULL OR submitted_at < timestamptz 'epoch' + $4::bigint * interval '1 "
                    "microsecond')",
                    4, params, &r, st)) != RK_OK) {
            free(out);
            return rc;
        }
        *total = geti(r, 0, 0);
        PQclear(r);
    }
    *rows = out;
    *n = m;
    return RK_OK;
}

/* ---------------------------------------------------------------- standings and snapshots */

/* Rows of user id, username, score, rank (columns 0-3) from r. */
static int rank_rows(PGresult *r, pg_rank_row **rows, size_t *n, rk_status *st) {
    size_t m = (size_t)PQntuples(r);
    pg_rank_row *out = calloc(m ? m : 1, sizeof(*out));
    if (out == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < m; i++) {
        out[i].user_id = geti(r, (int)i, 0);
        gets_(r, (int)i, 1, out[i].username, sizeof(out[i].username));
        out[i].score = geti(r, (int)i, 2);
        out[i].rank = geti(r, (int)i, 3);
    }
    *rows = out;
    *n = m;
    return RK_OK;
}

/* Ends a transaction begun for a statement per row: COMMIT when every
 * statement went through (rc RK_OK), else ROLLBACK. */
static int end_tx(pgstore *p, int rc, rk_status *st) {
    rk_status ignore;
    if (rc == RK_OK) return q(p, "COMMIT", 0, NULL, NULL, st);
    q(p, "ROLLBACK", 0, NULL, NULL, &ignore);
    return rc;
}

int pgstore_standings_exist(pgstore *p, const char *board_id, int kind, const char *label, int *yes, rk_status *st) {
    char k[8];
    snprintf(k, sizeof(k), "%d", kind);
    const char *params[] = {board_id, k, label};
    PGresult *r = NULL;
    int rc = q(p, "SELECT 1 FROM standings WHERE board_id = $1 AND window_kind = $2::smallint AND label = $3 LIMIT 1",
               3, params, &r, st);
    if (rc != RK_OK) return rc;
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return RK_OK;
}

int pgstore_standings_put(pgstore *p, const char *board_id, int kind, const char *label, const pg_rank_row *rows,
                          size_t n, int64_t board_size, int64_t closed_at, rk_status *st) {
    char k[8], size[24], closed[24];
    snprintf(k, sizeof(k), "%d", kind);
    snprintf(size, sizeof(size), "%" PRId64, board_size);
    snprintf(closed, sizeof(closed), "%" PRId64, closed_at);
    int rc = q(p, "BEGIN", 0, NULL, NULL, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        char pos[24], uid[24], score[24], rank[24];
        snprintf(pos, sizeof(pos), "%zu", i + 1);
        snprintf(uid, sizeof(uid), "%" PRId64, rows[i].user_id);
        snprintf(score, sizeof(score), "%" PRId64, rows[i].score);
        snprintf(rank, sizeof(rank), "%" PRId64, rows[i].rank);
        const char *params[] = {board_id, k, label, rank, pos, uid, score, size, closed};
        rc = q(p,
               "INSERT INTO standings (board_id, window_kind, label, rank, position, user_id, score, board_size, "
               "closed_at) VALUES ($1, $2::smallint, $3, $4::bigint, $5::integer, $6::bigint, $7::bigint, "
               "$8::bigint, to_timestamp($9::bigint)) ON CONFLICT DO NOTHING",
               9, params, NULL, st);
    }
    return end_tx(p, rc, st);
}

int pgstore_standings_get(pgstore *p, const char *board_id, int kind, const char *label, pg_rank_row **rows, size_t *n,
                          int64_t *board_size, int64_t *closed_at, rk_status *st) {
    char k[8];
    snprintf(k, sizeof(k), "%d", kind);
    const char *params[] = {board_id, k, label};
    PGresult *r = NULL;
    int rc = q(p,
               "SELECT s.user_id, coalesce(u.username, ''), s.score, s.rank, s.board_size, "
               "extract(epoch FROM s.closed_at)::bigint FROM standings s LEFT JOIN users u ON u.id = s.user_id "
               "WHERE s.board_id = $1 AND s.window_kind = $2::smallint AND s.label = $3 ORDER BY s.position",
               3, params, &r, st);
    if (rc != RK_OK) return rc;
    if ((rc = rank_rows(r, rows, n, st)) == RK_OK) {
        *board_size = *n ? geti(r, 0, 4) : 0;
        *closed_at = *n ? geti(r, 0, 5) : 0;
    }
    PQclear(r);
    return rc;
}

int pgstore_snapshot_put(pgstore *p, const char *board_id, int64_t taken_at, const pg_rank_row *rows, size_t n,
                         int64_t board_size, rk_status *st) {
    char taken[24], size[24];
    snprintf(taken, sizeof(taken), "%" PRId64, taken_at);
    snprintf(size, sizeof(size), "%" PRId64, board_size);
    int rc = q(p, "BEGIN", 0, NULL, NULL, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        char pos[24], rank[24], uid[24], score[24];
        snprintf(pos, sizeof(pos), "%zu", i + 1);
        snprintf(rank, sizeof(rank), "%" PRId64, rows[i].rank);
        snprintf(uid, sizeof(uid), "%" PRId64, rows[i].user_id);
        snprintf(score, sizeof(score), "%" PRId64, rows[i].score);
        const char *params[] = {board_id, taken, pos, rank, uid, score, size};
        rc = q(p,
               "INSERT INTO snapshots (board_id, taken_at, position, rank, user_id, score, board_size) "
               "VALUES ($1, to_timestamp($2::bigint), $3::integer, $4::bigint, $5::bigint, $6::bigint, "
               "$7::bigint) ON CONFLICT DO NOTHING",
               7, params, NULL, st);
    }
    return end_tx(p, rc, st);
}

int pgstore_snapshot_get(pgstore *p, const char *board_id, int64_t at, pg_snapshot *snap, pg_rank_row **rows, size_t *n,
                         rk_status *st) {
    char when[24];
    snprintf(when, sizeof(when), "%" PRId64, at);
    const char *params[] = {board_id, when};
    PGresult *r = NULL;
    int rc = q(p,
               "WITH t AS (SELECT max(taken_at) AS at FROM snapshots WHERE board_id = $1 "
               "AND taken_at <= to_timestamp($2::bigint)) "
               "SELECT s.user_id, coalesce(u.username, ''), s.score, s.rank, s.board_size, "
               "extract(epoch FROM t.at)::bigint, "
               "coalesce((SELECT extract(epoch FROM max(taken_at))::bigint FROM snapshots "
               "WHERE board_id = $1 AND taken_at < t.at), 0), "
               "coalesce((SELECT extract(epoch FROM min(taken_at))::bigint FROM snapshots "
               "WHERE board_id = $1 AND taken_at > t.at), 0) "
               "FROM t JOIN snapshots s ON s.board_id = $1 AND s.taken_at = t.at "
               "LEFT JOIN users u ON u.id = s.user_id ORDER BY s.position",
               2, params, &r, st);
    if (rc != RK_OK) return rc;
    if ((rc = rank_rows(r, rows, n, st)) == RK_OK) {
        int some = *n > 0;
        *snap = (pg_snapshot){.board_size = some ? geti(r, 0, 4) : 0,
                              .taken_at = some ? geti(r, 0, 5) : 0,
                              .previous = some ? geti(r, 0, 6) : 0,
                              .next = some ? geti(r, 0, 7) : 0};
    }
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------------- seasons */

int pgstore_season_end(pgstore *p, const pg_season_end *e, int *ended, rk_status *st) {
    char season[24], at[24], size[24];
    int rc;
    *ended = 0;
    snprintf(season, sizeof(season), "%" PRId64, e->season);
    snprintf(at, sizeof(at), "%" PRId64, e->ended_us);
    snprintf(size, sizeof(size), "%" PRId64, e->board_size);
    /* The standings as three arrays, one INSERT for them all. */
    size_t cap = e->n * 24 + 3;
    char *pos = malloc(cap), *uids = malloc(cap), *ranks = malloc(cap), *scores = malloc(cap);
    if (!pos || !uids || !ranks || !scores) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    size_t a = 0, b = 0, c = 0, d = 0;
    pos[a++] = uids[b++] = ranks[c++] = scores[d++] = '{';
    for (size_t i = 0; i < e->n; i++) {
        const char *sep = i ? "," : "";
        a += (size_t)snprintf(pos + a, cap - a, "%s%zu", sep, i + 1);
        b += (size_t)snprintf(uids + b, cap - b, "%s%" PRId64, sep, e->rows[i].user_id);
        c += (size_t)snprintf(ranks + c, cap - c, "%s%" PRId64, sep, e->rows[i].rank);
        d += (size_t)snprintf(scores + d, cap - d, "%s%" PRId64, sep, e->rows[i].score);
    }
    snprintf(pos + a, cap - a, "}");
    snprintf(uids + b, cap - b, "}");
    snprintf(ranks + c, cap - c, "}");
    snprintf(scores + d, cap - d, "}");
    if ((rc = q(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) goto out;
    /* Only the season asked for moves on: of several rankd processes ending
     * the same season, the first commits and the others change nothing
     * (the row lock makes them wait for it, then find the next season). */
    const char *up[] = {e->board_id, season, at};
    PGresult *r = NULL;
    rc =
        q(p,
          "WITH old AS (SELECT season_started_at FROM boards WHERE id = $1 AND season = $2::integer FOR UPDATE) "
          "UPDATE boards SET season = season + 1, season_started_at = timestamptz 'epoch' + $3::bigint * interval '1 "
          "microsecond' FROM old WHERE id = $1 RETURNING (extract(epoch FROM old.season_started_at) * 1000000)::bigint",
          3, up, &r, st);
    if (rc == RK_OK && PQntuples(r) == 1) {
        char started[24];
        const char *sp = NULL;
        if (!PQgetisnull(r, 0, 0)) {
            snprintf(started, sizeof(started), "%s", PQgetvalue(r, 0, 0));
            sp = started;
        }
        const char *ins[] = {e->board_id, season, sp, at, size, e->ended_by, e->reason ? e->reason : ""};
        rc = q(p,
               "INSERT INTO seasons (board_id, season, started_at, ended_at, board_size, ended_by, reason) VALUES ($1, "
               "$2::integer, timestamptz 'epoch' + $3::bigint * interval '1 microsecond', timestamptz 'epoch' + "
               "$4::bigint * interval '1 microsecond', $5::bigint, $6, $7)",
               7, ins, NULL, st);
        const char *rows[] = {e->board_id, season, pos, uids, ranks, scores};
        if (rc == RK_OK && e->n > 0)
            rc = q(p,
                   "INSERT INTO season_standings (board_id, season, position, user_id, rank, score) SELECT $1, "
                   "$2::integer, * FROM unnest($3::integer[], $4::bigint[], $5::bigint[], $6::bigint[])",
                   6, rows, NULL, st);
        if (rc == RK_OK) *ended = 1;
    }
    PQclear(r);
    rc = end_tx(p, rc, st);
out:
    free(pos);
    free(uids);
    free(ranks);
    free(scores);
    return rc;
}

#define SEASON_ROW                                                                        \
    "board_id, season, coalesce((extract(epoch FROM started_at) * 1000000)::bigint, 0), " \
    "(extract(epoch FROM ended_at) * 1000000)::bigint, board_size, ended_by, reason FROM seasons"

static void fill_season(PGresult *r, int i, pg_season *s) {
    memset(s, 0, sizeof(*s));
    gets_(r, i, 0, s->board_id, sizeof(s->board_id));
    s->season = geti(r, i, 1);
    s->started_us = geti(r, i, 2);
    s->ended_us = geti(r, i, 3);
    s->board_size = geti(r, i, 4);
    gets_(r, i, 5, s->ended_by, sizeof(s->ended_by));
    gets_(r, i, 6, s->reason, sizeof(s->reason));
}

int pgstore_seasons_list(pgstore *p, const char *board_id, int64_t offset, int64_t limit, pg_season **rows, size_t *n,
                         int64_t *total, rk_status *st) {
    char off[24], lim[24];
    snprintf(off, sizeof(off), "%" PRId64, offset);
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    const char *params[] = {board_id, off, lim};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " SEASON_ROW " WHERE board_id = $1 ORDER BY season DESC OFFSET $2::bigint LIMIT $3::bigint",
               3, params, &r, st);
    if (rc != RK_OK) return rc;
    size_t m = (size_t)PQntuples(r);
    pg_season *out = calloc(m ? m : 1, sizeof(*out));
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < m; i++) fill_season(r, (int)i, &out[i]);
    PQclear(r);
    if ((rc = q(p, "SELECT count(*) FROM seasons WHERE board_id = $1", 1, params, &r, st)) != RK_OK) {
        free(out);
        return rc;
    }
    *total = geti(r, 0, 0);
    PQclear(r);
    *rows = out;
    *n = m;
    return RK_OK;
}

int pgstore_season_get(pgstore *p, const char *board_id, int64_t season, int64_t offset, int64_t limit, pg_season *s,
                       pg_rank_row **rows, size_t *n, int64_t *total, rk_status *st) {
    char num[24], off[24], lim[24];
    snprintf(num, sizeof(num), "%" PRId64, season);
    snprintf(off, sizeof(off), "%" PRId64, offset);
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    const char *params[] = {board_id, num, off, lim};
    PGresult *r = NULL;
    int rc = q(p, "SELECT " SEASON_ROW " WHERE board_id = $1 AND season = $2::integer", 2, params, &r, st);
    if (rc != RK_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rk_status_set(st, RK_NOT_FOUND, "board %s has no ended season %" PRId64, board_id, season);
    }
    fill_season(r, 0, s);
    PQclear(r);
    if ((rc = q(p,
                "SELECT s.user_id, coalesce(u.username, ''), s.score, s.rank, count(*) OVER () FROM season_standings s "
                "LEFT JOIN users u ON u.id = s.user_id WHERE s.board_id = $1 AND s.season = $2::integer "
                "ORDER BY s.position",
                2, params, &r, st)) != RK_OK)
        return rc;
    /* Every kept row is counted, the page cut here: a top N is small. */
    int all = PQntuples(r);
    *total = all;
    pg_rank_row *out = calloc(1 + (size_t)(limit > 0 ? limit : 0), sizeof(*out));
    size_t m = 0;
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int64_t i = offset; i < all && (int64_t)m < limit; i++, m++) {
        out[m].user_id = geti(r, (int)i, 0);
        gets_(r, (int)i, 1, out[m].username, sizeof(out[m].username));
        out[m].score = geti(r, (int)i, 2);
        out[m].rank = geti(r, (int)i, 3);
    }
    PQclear(r);
    *rows = out;
    *n = m;
    return RK_OK;
}
