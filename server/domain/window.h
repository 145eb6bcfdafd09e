/*
 * window.h - time windows of a board: all-time, daily, weekly, monthly.
 *
 * All windows are in UTC. A week is the ISO 8601 week (Monday 00:00 UTC to
 * the next Monday; the year is the ISO week-based year, so 2024-12-30 is in
 * 2025-W01). Each live window has a label that is part of its Redis key and
 * an end time after which it stops receiving scores.
 */
#ifndef RANKD_WINDOW_H
#define RANKD_WINDOW_H

#include <stdint.h>
#include <time.h>

typedef enum window_kind {
    WINDOW_ALL = 0, /* same numbers as rankd.Window in the schema */
    WINDOW_DAY = 1,
    WINDOW_WEEK = 2,
    WINDOW_MONTH = 3,
} window_kind;

#define WINDOW_KINDS 4
#define WINDOW_LABEL_MAX 48

/* Bit of a window in a board's window mask. */
#define WINDOW_BIT(k) (1u << (k))

/* Writes the label of the window of kind k that contains t:
 * "all", "d:2026-11-23", "w:2026-W48", "mo:2026-11". */
void window_label(window_kind k, time_t t, char out[WINDOW_LABEL_MAX]);

/* Start (inclusive) and end (exclusive) of the window containing t, in Unix
 * seconds. All-time spans [0, INT64_MAX). */
void window_bounds(window_kind k, time_t t, int64_t *start, int64_t *end);

/* ISO 8601 week-based year and week number of t. */
void window_iso_week(time_t t, int *year, int *week);

#endif
