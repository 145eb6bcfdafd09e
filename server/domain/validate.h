/*
 * validate.h - input rules shared by every handler.
 *
 * Each check answers RK_OK or RK_INVALID_ARGUMENT with a message that names
 * the field and the rule, so a caller can fix the request without reading
 * our source.
 */
#ifndef RANKD_VALIDATE_H
#define RANKD_VALIDATE_H

#include <stdint.h>

#include <rankd/rankd.pb-c.h>
#include <rankd/status.h>

#include "board.h"

#define USERNAME_MIN 3
#define USERNAME_MAX 32
#define PASSWORD_MIN 8
#define PASSWORD_MAX 128
/* Idempotency keys, in the envelope or in a batch entry: at most 128 bytes. */
#define IDEMPOTENCY_KEY_MAX 128
/* Entries in one SubmitBatch, and players in one RanksOf. */
#define SUBMIT_BATCH_MAX 1000
#define RANKS_OF_MAX 1000

/* Board and game ids: [a-z0-9_-], 1 to 64 characters. */
int validate_id(const char *field, const char *id, rk_status *st);

/* Usernames: [A-Za-z0-9_.-], 3 to 32 characters. */
int validate_username(const char *name, rk_status *st);

/* Passwords: 8 to 128 bytes. */
int validate_password(const char *pw, rk_status *st);

/* A reason given with an admin action, kept in the audit log: optional,
 * at most 256 bytes (UTF-8 without NUL is checked on the wire). */
#define REASON_MAX 256
int validate_reason(const char *reason, rk_status *st);

/* Record metadata (SubmitRequest.meta, BatchEntry.meta): optional; at
 * most META_MAX bytes, measured before anything else is looked at, UTF-8
 * without NUL, and exactly one JSON object (json.h). The text is kept as
 * sent. */
#define META_MAX 1024
int validate_meta(const char *meta, rk_status *st);

/* Times in requests: Unix seconds from 1970 to the end of 9999, so that
 * every calendar and microsecond computation on them stays in range. */
#define TIME_MAX_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
int validate_time(const char *field, int64_t s, rk_status *st);

/* A score within the board's bounds (and so within +-2^53). */
int validate_score(const board *b, int64_t score, rk_status *st);

/* Turns a requested board definition into a board, filling defaults:
 * order higher-is-better, policy best, bounds +-2^53, players may not
 * submit. The id "global" is reserved. */
int validate_board(const Rankd__Board *in, board *out, rk_status *st);

/* The anti-cheat settings of in (each only if present) into out. */
int validate_board_limits(const Rankd__Board *in, board *out, rk_status *st);

/* An aggregate's sources (in->sources, if any) into out, with the rules
 * an aggregate's own settings follow; the sources themselves are checked
 * by the caller. */
int validate_board_sources(const Rankd__Board *in, board *out, rk_status *st);

/* Checks a season schedule's text (season.h) and keeps its canonical
 * spelling in out->season_schedule. */
/* A hot board's number of sorted sets (board.h): 1 to BOARD_SHARDS_MAX,
 * and not with what a sharded board does not do yet. */
int validate_board_shards(const Rankd__Board *in, board *out, rk_status *st);
int validate_season_schedule(const char *text, board *out, rk_status *st);
/* When the board's schedule ends its current season (Unix s), 0: never. */
int64_t board_season_ends_at(const board *b);

/* Converts back for replies; strings point into b (no copies).
 * sources_buf holds 2 * BOARD_AGG_MAX pointers. */
void board_to_message(const board *b, Rankd__Board *out, Rankd__Window *windows_buf, char **sources_buf);

#endif
