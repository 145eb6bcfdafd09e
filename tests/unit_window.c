/* Window boundaries and labels: UTC days, ISO weeks (including the weeks
 * that straddle a new year), calendar months. */
#include <rankd/status.h>

#include "check.h"
#include "window.h"

/* 2026-11-23 is a Monday. */
static const time_t MON_2026_11_23 = 1795392000;

static void day_bounds_are_utc_midnights(void) {
    int64_t s, e;
    window_bounds(WINDOW_DAY, MON_2026_11_23 + 3600 * 13, &s, &e);
    CHECK_INT(s, MON_2026_11_23);
    CHECK_INT(e, MON_2026_11_23 + 86400);
    window_bounds(WINDOW_DAY, MON_2026_11_23 - 1, &s, &e);
    CHECK_INT(e, MON_2026_11_23);
}

static void week_starts_monday(void) {
    int64_t s, e;
    /* Sunday 2026-11-29 23:59:59 is still in the week of Monday the 23rd. */
    window_bounds(WINDOW_WEEK, MON_2026_11_23 + 7 * 86400 - 1, &s, &e);
    CHECK_INT(s, MON_2026_11_23);
    CHECK_INT(e, MON_2026_11_23 + 7 * 86400);
    char label[WINDOW_LABEL_MAX];
    window_label(WINDOW_WEEK, MON_2026_11_23, label);
    CHECK_STR(label, "w:2026-W48");
}

static void iso_week_year_boundaries(void) {
    int y, w;
    window_iso_week(1735516800, &y, &w); /* Monday 2024-12-30 is in 2025-W01 */
    CHECK_INT(y, 2025);
    CHECK_INT(w, 1);
    window_iso_week(1609459200, &y, &w); /* Friday 2021-01-01 is in 2020-W53 */
    CHECK_INT(y, 2020);
    CHECK_INT(w, 53);
    window_iso_week(1767225600, &y, &w); /* Thursday 2026-01-01 is in 2026-W01 */
    CHECK_INT(y, 2026);
    CHECK_INT(w, 1);
}

static void month_bounds_handle_december_and_leap_february(void) {
    int64_t s, e;
    window_bounds(WINDOW_MONTH, 1796083200 /* 2026-12-01 */ + 86400 * 20, &s, &e);
    CHECK_INT(s, 1796083200);
    CHECK_INT(e, 1798761600); /* 2027-01-01 */
    window_bounds(WINDOW_MONTH, 1709251199 /* 2024-02-29 23:59:59 */, &s, &e);
    CHECK_INT(s, 1706745600); /* 2024-02-01 */
    CHECK_INT(e, 1709251200); /* 2024-03-01 */
}

static void labels_name_the_window(void) {
    char label[WINDOW_LABEL_MAX];
    window_label(WINDOW_DAY, MON_2026_11_23 + 5, label);
    CHECK_STR(label, "d:2026-11-23");
    window_label(WINDOW_MONTH, MON_2026_11_23, label);
    CHECK_STR(label, "mo:2026-11");
    window_label(WINDOW_ALL, MON_2026_11_23, label);
    CHECK_STR(label, "all");
}

int main(void) {
    RUN(day_bounds_are_utc_midnights);
    RUN(week_starts_monday);
    RUN(iso_week_year_boundaries);
    RUN(month_bounds_handle_december_and_leap_february);
    RUN(labels_name_the_window);
    return CHECK_SUMMARY();
}
