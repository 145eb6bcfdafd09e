/*
 * banset.h - the banned players, held in memory, so that every
 * submission and login is checked without asking a store.
 *
 * PostgreSQL is the record (users.banned_at, ban_reason). Each rankd fills
 * its set from there at start, applies the "b" and "n" lines every rankd
 * publishes on rk:ev (events.c), and re-reads PostgreSQL when it may have
 * missed one, as it does for revocations. A ban is undone by an unban, so
 * unlike revocations the set is not only growing: every change carries
 * the user's token generation, which both a ban and an unban raise, and a
 * change older than what the set holds for the user is ignored. Messages
 * and re-reads may then arrive in any order.
 *
 * Every function is memory-only: no I/O, safe from any thread, never
 * blocks beyond a short lock.
 */
#ifndef RANKD_BANSET_H
#define RANKD_BANSET_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

/* Reasons are kept to this many bytes (REASON_MAX of validate.h). */
#define BANSET_REASON_MAX 256

typedef struct banset banset;

int banset_open(banset **out, rk_status *st);
void banset_close(banset *b);

/* user_id is banned (banned 1, with reason) or not (banned 0) as of the
 * token generation gen; an older or equal gen than the one held changes
 * nothing. RK_RESOURCE_EXHAUSTED when the set cannot grow. */
int banset_apply(banset *b, int64_t user_id, int64_t gen, int banned, const char *reason, rk_status *st);

/* 1 when user_id is banned, with the reason copied into why (cap bytes,
 * may be NULL); else 0. */
int banset_check(banset *b, int64_t user_id, char *why, size_t cap);

#endif
