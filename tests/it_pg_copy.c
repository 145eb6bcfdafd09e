/* The history's batch insert (pgstore_scores_insert) writes a batch of 16
 * or more rows with one COPY: every column must come out as the INSERT
 * of the same rows writes it (texts with tabs, newlines and backslashes,
 * held rules, metadata, no metadata, times to the microsecond), a batch
 * delivered again must be skipped row by row (the COPY is refused, the
 * INSERT skips what is there), and a value PostgreSQL refuses must be
 * refused as before, with nothing of the batch written. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"
#include "store_pg.h"

#define N 40

static pgstore *pg;
static PGconn *db;

static char ids[2][N][32], keys[N][32], metas[N][64];

/* Batch b (0 or 1) of N rows; copy 1: the row as the COPY writes it. */
static void rows_of(int b, pg_score *rows) {
    for (int i = 0; i < N; i++) {
        snprintf(ids[b][i], sizeof(ids[b][i]), "%d%03d-%d", 1764547200 + b, i, i);
        snprintf(keys[i], sizeof(keys[i]), i % 4 == 0 ? "" : "key\t%d\\x\nz", i);
        snprintf(metas[i], sizeof(metas[i]), "{\"car\":\"rx\\\"%d\",\"map\":\"a\\\\b\"}", i);
        rows[i] = (pg_score){.entry_id = ids[b][i],
                             .board_id = "copy-board",
                             .user_id = 1000 + i,
                             .score = (int64_t)i * 1000003 - 7,
                             .ts_us = 1764547200123456LL + (int64_t)i * 1000001,
                             .idem_key = keys[i],
                             .held_rule = i % 5 == 0 ? "max_step" : (i % 5 == 1 ? NULL : ""),
                             .meta = i % 3 == 0 ? NULL : (i % 3 == 1 ? "" : metas[i])};
    }
}

/* PostgreSQL logs every statement of the test's sessions (ALTER ROLE in
 * main): where its log ends now, and whether what follows names what. */
static long log_end(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/pg/postgres.log", getenv("RANKD_TEST_DIR"));
    FILE *f = fopen(path, "r");
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (f) fclose(f);
    return n;
}

static int log_says(long from, const char *what) {
    char path[1024], line[4096];
    snprintf(path, sizeof(path), "%s/pg/postgres.log", getenv("RANKD_TEST_DIR"));
    FILE *f = fopen(path, "r");
    int found = 0;
    if (f && fseek(f, from, SEEK_SET) == 0)
        while (!found && fgets(line, sizeof(line), f)) found = strstr(line, what) != NULL;
    if (f) fclose(f);
    return found;
}

#define COPY_SQL "statement: COPY scores (entry_id"
#define INSERT_SQL "INSERT INTO scores (entry_id"

static long count(const char *where) {
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM scores WHERE board_id = 'copy-board' AND %s", where);
    PGresult *r = PQexec(db, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

/* Every column of row i of batch 0 (COPY) against batch 1 (INSERT). */
static void same_columns(void) {
    PGresult *r = PQexec(db, "SELECT a.entry_id, b.entry_id FROM scores a JOIN scores b ON a.user_id = b.user_id "
                             "AND a.board_id = b.board_id AND a.entry_id < b.entry_id "
                             "WHERE a.board_id = 'copy-board' AND (a.score, a.submitted_at, a.idempotency_key, "
                             "a.held, a.held_rule, a.meta) IS NOT DISTINCT FROM (b.score, b.submitted_at, "
                             "b.idempotency_key, b.held, b.held_rule, b.meta)");
    CHECK_INT(PQresultStatus(r), PGRES_TUPLES_OK);
    CHECK_INT(PQntuples(r), N);
    PQclear(r);
}

static void copy_writes_what_insert_writes(void) {
    pg_score rows[N];
    rk_status st;
    rows_of(0, rows);
    long at = log_end();
    CHECK_INT(pgstore_scores_insert(pg, rows, N, &st), RK_OK);
    usleep(200 * 1000); /* the log is written by another process */
    CHECK(log_says(at, COPY_SQL));
    CHECK(!log_says(at, INSERT_SQL)); /* one COPY did it all */
    rows_of(1, rows);
    for (int i = 0; i < N; i++) CHECK_INT(pgstore_scores_insert(pg, &rows[i], 1, &st), RK_OK); /* INSERTs */
    CHECK_INT(count("true"), 2 * N);
    same_columns();
    /* What the rows say, checked on their own too. */
    CHECK_INT(count("held = 1 AND held_rule = 'max_step'"), 2 * (N / 5));
    CHECK_INT(count("held IS NULL AND held_rule IS NULL"), 2 * (N - N / 5));
    CHECK_INT(count("meta IS NULL"), 2 * (N - N / 3));
    CHECK_INT(count("meta = '{\"car\":\"rx\\\"2\",\"map\":\"a\\\\b\"}'"), 2);
    CHECK_INT(count("idempotency_key = E'key\\t5\\\\x\\nz'"), 2);
    CHECK_INT(count("submitted_at = timestamptz '2025-12-01 00:00:00.123456+00' + interval '1.000001 second'"), 2);
}

static void a_batch_again_is_skipped(void) {
    pg_score rows[N];
    rk_status st;
    rows_of(0, rows);
    long at = log_end();
    CHECK_INT(pgstore_scores_insert(pg, rows, N, &st), RK_OK);
    CHECK_INT(count("true"), 2 * N);
    usleep(200 * 1000);
    CHECK(log_says(at, COPY_SQL) && log_says(at, INSERT_SQL)); /* refused, then inserted */
    /* Half old, half new: the new half is written once, the old skipped. */
    pg_score mixed[N];
    pg_score fresh[N];
    rows_of(0, rows);
    memcpy(mixed, rows, sizeof(pg_score) * (N / 2));
    static char more[N][32];
    for (int i = 0; i < N / 2; i++) {
        fresh[i] = rows[i];
        snprintf(more[i], sizeof(more[i]), "1764547299%03d-%d", i, i);
        fresh[i].entry_id = more[i];
        mixed[N / 2 + i] = fresh[i];
    }
    CHECK_INT(pgstore_scores_insert(pg, mixed, N, &st), RK_OK);
    CHECK_INT(count("true"), 2 * N + N / 2);
}

static void a_refused_value_writes_nothing(void) {
    pg_score rows[N];
    rk_status st;
    static char bad[N][32];
    rows_of(0, rows);
    for (int i = 0; i < N; i++) {
        snprintf(bad[i], sizeof(bad[i]), "1764547400%03d-%d", i, i);
        rows[i].entry_id = bad[i];
    }
    rows[N / 2].ts_us = INT64_MAX; /* no timestamptz */
    CHECK_INT(pgstore_scores_insert(pg, rows, N, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(count("entry_id LIKE '1764547400%'"), 0);
    rows[N / 2].ts_us = 1764547200123456LL;
    rows[N / 2].board_id = "bad\tboard-but-text"; /* a text is never refused */
    CHECK_INT(pgstore_scores_insert(pg, rows, N, &st), RK_OK);
    CHECK_INT(count("entry_id LIKE '1764547400%'"), N - 1);
}

int main(void) {
    rk_status st;
    const char *conninfo = getenv("RANKD_POSTGRES");
    db = PQconnectdb(conninfo);
    CHECK_INT(PQstatus(db), CONNECTION_OK);
    PQclear(PQexec(db, "ALTER ROLE rankd SET log_statement = 'all'"));
    CHECK_INT(pgstore_open(&pg, conninfo, &st), RK_OK);
    RUN(copy_writes_what_insert_writes);
    RUN(a_batch_again_is_skipped);
    RUN(a_refused_value_writes_nothing);
    PQclear(PQexec(db, "ALTER ROLE rankd RESET log_statement"));
    PQfinish(db);
    pgstore_close(pg);
    return CHECK_SUMMARY();
}
