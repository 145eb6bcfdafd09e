/*
 * window.c - UTC window boundaries and labels.
 *
 * Pure arithmetic on Unix seconds (no time zones, no locale), so the same
 * submission lands in the same window on every rankd process.
 */
#include <stdio.h>

#include "window.h"

#define DAY 86400

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

void window_iso_week(time_t t, int *year, int *week) {
    struct tm tm;
    gmtime_r(&t, &tm);
    int64_t days = floor_div((int64_t)t, DAY);
    int wday = (tm.tm_wday + 6) % 7;    /* Monday = 0 */
    int64_t thursday = days - wday + 3; /* Thursday of this week */
    time_t th = (time_t)(thursday * DAY);
    struct tm ttm;
    gmtime_r(&th, &ttm);
    *year = ttm.tm_year + 1900; /* the ISO year */
    int64_t jan1 = days_from_civil(*year, 1, 1);
    *week = (int)((thursday - jan1) / 7) + 1;
}

void window_bounds(window_kind k, time_t t, int64_t *start, int64_t *end) {
    struct tm tm;
    int64_t days = floor_div((int64_t)t, DAY);
    gmtime_r(&t, &tm);
    switch (k) {
        case WINDOW_DAY:
            *start = days * DAY;
            *end = *start + DAY;
            return;
        case WINDOW_WEEK: {
            int wday = (tm.tm_wday + 6) % 7;
            *start = (days - wday) * DAY;
            *end = *start + 7 * DAY;
            return;
        }
        case WINDOW_MONTH: {
            int64_t y = tm.tm_year + 1900;
            unsigned m = (unsigned)tm.tm_mon + 1;
            *start = days_from_civil(y, m, 1) * DAY;
            *end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) * DAY;
            return;
        }
        case WINDOW_ALL:
        default:
            *start = 0;
            *end = INT64_MAX;
            return;
    }
}

void window_label(window_kind k, time_t t, char out[WINDOW_LABEL_MAX]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    switch (k) {
        case WINDOW_DAY:
            snprintf(out, WINDOW_LABEL_MAX, "d:%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
            return;
        case WINDOW_WEEK: {
            int y, w;
            window_iso_week(t, &y, &w);
            snprintf(out, WINDOW_LABEL_MAX, "w:%04d-W%02d", y, w);
            return;
        }
        case WINDOW_MONTH: snprintf(out, WINDOW_LABEL_MAX, "mo:%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1); return;
        case WINDOW_ALL:
        default: snprintf(out, WINDOW_LABEL_MAX, "all"); return;
    }
}
