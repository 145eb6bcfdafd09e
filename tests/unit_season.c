/* Season schedules: the words accepted and refused, the canonical
 * spelling, and when a season that began at some time ends. */
#include <string.h>
#include <time.h>

#include "check.h"
#include "season.h"

/* Unix seconds of a UTC date and time. */
static int64_t at(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static void canonical(const char *in, const char *want) {
    season_schedule s;
    rk_status st;
    char out[SEASON_SCHEDULE_MAX];
    CHECK_INT(season_parse(in, &s, &st), RK_OK);
    season_format(&s, out);
    CHECK_STR(out, want);
}

static void parses_every_form(void) {
    canonical("weekly mon 00:00", "weekly mon 00:00");
    canonical("  Weekly  SUN 23:59 ", "weekly sun 23:59");
    canonical("daily 07:30", "daily 07:30");
    canonical("monthly 1 00:00", "monthly 1 00:00");
    canonical("monthly 28 12:05", "monthly 28 12:05");
    canonical("every 5s", "every 5s");
    canonical("every 120s", "every 2m");
    canonical("every 90m", "every 90m");
    canonical("every 48h", "every 48h");
    canonical("", "");
    canonical(NULL, "");
    season_schedule s;
    rk_status st;
    CHECK_INT(season_parse("every 5s", &s, &st), RK_OK);
    CHECK_INT(s.kind, SEASON_EVERY);
    CHECK_INT(s.every_s, 5);
    CHECK_INT(season_parse("weekly wed 01:02", &s, &st), RK_OK);
    CHECK_INT(s.kind, SEASON_WEEKLY);
    CHECK_INT(s.weekday, 2);
    CHECK_INT(s.minute_of_day, 62);
}

static void refuses_what_is_not_a_schedule(void) {
    static const char *const bad[] = {"weekly",
                                      "weekly mon",
                                      "weekly monday 00:00",
                                      "weekly mon 24:00",
                                      "daily 7:30",
                                      "daily 07:60",
                                      "daily",
                                      "monthly 29 00:00",
                                      "monthly 0 00:00",
                                      "monthly x 00:00",
                                      "every",
                                      "every 5",
                                      "every 5d",
                                      "every 0s",
                                      "every -5s",
                                      "every 9000h",
                                      "hourly",
                                      "daily 00:00 extra",
                                      "every 1234567890s",
                                      "weekly mon 00:00 and more words than fit"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        season_schedule s;
        rk_status st;
        rk_status_clear(&st);
        int rc = season_parse(bad[i], &s, &st);
        if (rc != RK_INVALID_ARGUMENT) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK_INT(rc, RK_INVALID_ARGUMENT);
        CHECK(strstr(st.message, "season_schedule") != NULL);
    }
}

static void next_end_of_each_form(void) {
    season_schedule s;
    rk_status st;
    /* Tuesday 2026-12-01 16:00: the next Monday 00:00 is 2026-12-07. */
    int64_t t = at(2026, 12, 1, 16, 0, 0);
    season_parse("weekly mon 00:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 7, 0, 0, 0));
    /* Exactly at an end: the next one, a week on. */
    CHECK_INT(season_next_end(&s, at(2026, 12, 7, 0, 0, 0)), at(2026, 12, 14, 0, 0, 0));
    CHECK_INT(season_next_end(&s, at(2026, 12, 6, 23, 59, 59)), at(2026, 12, 7, 0, 0, 0));
    season_parse("weekly tue 17:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 1, 17, 0, 0));
    season_parse("weekly tue 15:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 8, 15, 0, 0));
    season_parse("daily 00:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 2, 0, 0, 0));
    season_parse("daily 16:30", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 1, 16, 30, 0));
    season_parse("monthly 1 00:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2027, 1, 1, 0, 0, 0));
    /* December to January crosses the year. */
    CHECK_INT(season_next_end(&s, at(2026, 12, 31, 23, 0, 0)), at(2027, 1, 1, 0, 0, 0));
    season_parse("monthly 15 06:00", &s, &st);
    CHECK_INT(season_next_end(&s, t), at(2026, 12, 15, 6, 0, 0));
    CHECK_INT(season_next_end(&s, at(2027, 1, 20, 0, 0, 0)), at(2027, 2, 15, 6, 0, 0));
    season_parse("every 5s", &s, &st);
    CHECK_INT(season_next_end(&s, t), t + 5);
    season_parse("", &s, &st);
    CHECK_INT(season_next_end(&s, t), 0);
}

static void due_only_once_an_end_has_come(void) {
    season_schedule s;
    rk_status st;
    season_parse("weekly mon 00:00", &s, &st);
    int64_t began = at(2026, 12, 1, 16, 0, 0), monday = at(2026, 12, 7, 0, 0, 0);
    CHECK_INT(season_due(&s, began, monday - 1), 0);
    CHECK_INT(season_due(&s, began, monday), monday);
    CHECK_INT(season_due(&s, began, monday + 3600), monday);
    /* A season that began at that Monday's end is not due again then. */
    CHECK_INT(season_due(&s, monday, monday), 0);
    CHECK_INT(season_due(&s, monday, monday + 3600), 0);
    /* Three Mondays missed: one end, at the last of them. */
    CHECK_INT(season_due(&s, began, monday + 14 * 86400 + 5), monday + 14 * 86400);
    season_parse("every 5s", &s, &st);
    CHECK_INT(season_due(&s, began, began + 4), 0);
    CHECK_INT(season_due(&s, began, began + 5), began + 5);
    CHECK_INT(season_due(&s, began, began + 17), began + 15);
    season_parse("", &s, &st);
    CHECK_INT(season_due(&s, began, began + 86400 * 400), 0);
}

int main(void) {
    RUN(parses_every_form);
    RUN(refuses_what_is_not_a_schedule);
    RUN(next_end_of_each_form);
    RUN(due_only_once_an_end_has_come);
    return CHECK_SUMMARY();
}
