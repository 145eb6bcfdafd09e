/*
 * season.h - when a board's season ends by itself: the schedule's words
 * and the instants they name (pure, unit-tested in tests/unit_season.c).
 *
 * A schedule is one of, in UTC:
 *   "daily HH:MM"          every day at that time
 *   "weekly DAY HH:MM"     DAY mon, tue, wed, thu, fri, sat or sun
 *   "monthly D HH:MM"      day D of every month, 1 to 28 (every month has it)
 *   "every N{s,m,h}"       N seconds, minutes or hours after the season began
 *                          (1 s to 366 days; for tests and short events)
 * or "" for none. The calendar forms end a season at the first such time
 * after it began; "every" counts from the season's start. Parsing
 * accepts spaces around the words and upper case; season_format writes the
 * one canonical spelling kept in PostgreSQL.
 */
#ifndef RANKD_SEASON_H
#define RANKD_SEASON_H

#include <stdint.h>

#include <rankd/status.h>

#define SEASON_SCHEDULE_MAX 32 /* the longest text accepted, and the canonical one's buffer */

typedef enum season_kind {
    SEASON_NONE = 0,    /* only an admin ends the season */
    SEASON_EVERY = 1,   /* a fixed length from the season's start */
    SEASON_DAILY = 2,   /* at minute_of_day every UTC day */
    SEASON_WEEKLY = 3,  /* on weekday (0 Monday .. 6 Sunday) */
    SEASON_MONTHLY = 4, /* on day mday of every UTC month */
} season_kind;

typedef struct season_schedule {
    season_kind kind;
    int64_t every_s;   /* SEASON_EVERY: the length in seconds */
    int weekday;       /* SEASON_WEEKLY: 0 Monday .. 6 Sunday */
    int mday;          /* SEASON_MONTHLY: 1..28 */
    int minute_of_day; /* the calendar forms: 0..1439 */
} season_schedule;

/* Parses text (NULL or "" is SEASON_NONE) into *out; RK_INVALID_ARGUMENT
 * naming what is wrong otherwise. */
int season_parse(const char *text, season_schedule *out, rk_status *st);

/* The canonical text of s ("" for none). */
void season_format(const season_schedule *s, char out[SEASON_SCHEDULE_MAX]);

/* The first end strictly after started_s (Unix seconds); 0 for none. */
int64_t season_next_end(const season_schedule *s, int64_t started_s);

/* The season that began at started_s is due to end: the latest end at
 * or before now (ends missed while no rankd ran are one end, not one
 * empty season each), or 0 when none has come yet. */
int64_t season_due(const season_schedule *s, int64_t started_s, int64_t now);

#endif
