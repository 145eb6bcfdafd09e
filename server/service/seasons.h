/*
 * seasons.h - ending a board's season, for an admin's call and for the
 * schedule alike.
 *
 * A season ends at one instant T. Every submission timed before T counts
 * in the season that ends (its final standings, kept in PostgreSQL for
 * good), every one from T on in the next (rk_submit refuses one timed
 * before the current season's start). The board starts empty: all-time,
 * the daily, weekly and monthly windows that T cuts (their part after T
 * only), the personal bests, the plausibility rule's previous
 * submissions, and the board's part of the global board. Idempotency
 * records and rate-limit counts stay: a retry is still the submission it
 * repeats, in the season that took it. The history keeps every row; the
 * seasons' ends say which season each is in (report.h).
 *
 * The work is rebuild_season_end's (rebuild.h), under the board's flag;
 * this module checks that Redis can take it, and then tells this process
 * and the others (the board cache, cached pages, "c" on rk:ev).
 */
#ifndef RANKD_SEASONS_H
#define RANKD_SEASONS_H

#include "rebuild.h"
#include "server.h"

typedef struct seasons_end_in {
    const board *b;
    int64_t season;       /* the season to end: the board's current one */
    int64_t ended_us;     /* the instant it ends, Unix µs */
    const char *ended_by; /* the admin's username, or "schedule" */
    const char *reason;   /* NULL: none */
    int64_t deadline_us;  /* 0: none */
    int try_only;         /* the schedule's: leave a board someone else holds */
} seasons_end_in;

/* The word the seasons' rows keep for an end nobody asked for. */
#define SEASONS_BY_SCHEDULE "schedule"

/* Ends the season, or leaves it (out->ended 0: not the board's current
 * one any more). RK_UNAVAILABLE while Redis is not up or submissions
 * taken without it wait to be applied: the end needs both stores. */
int seasons_end(server *srv, rstore *r, pgstore *pg, const seasons_end_in *in, rebuild_season_result *out,
                rk_status *st);

#endif
