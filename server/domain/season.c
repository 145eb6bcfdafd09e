/*
 * season.c - season schedules: parsing, formatting, the next end.
 * See season.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "season.h"

#define DAY_S 86400
#define EVERY_MAX_S (366LL * DAY_S)

static const char *const weekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* Splits a lower-cased copy of text into at most 4 words. */
static int words(const char *text, char buf[SEASON_SCHEDULE_MAX + 1], char *w[4]) {
    size_t n = 0;
    int nw = 0;
    for (const char *p = text; *p && n < SEASON_SCHEDULE_MAX; p++) buf[n++] = (char)tolower((unsigned char)*p);
    buf[n] = '\0';
    for (char *p = buf; *p;) {
        while (*p == ' ' || *p == '\t') *p++ = '\0';
        if (!*p) break;
        if (nw == 4) return 5;
        w[nw++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
    }
    return nw;
}

/* "HH:MM" -> minutes since midnight, or -1. */
static int clock_time(const char *s) {
    if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* A positive decimal number of at most 9 digits, or -1. */
static int64_t number(const char *s, const char **end) {
    int64_t v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*s) && digits < 10) {
        v = v * 10 + (*s++ - '0');
        digits++;
    }
    *end = s;
    return digits == 0 || digits > 9 ? -1 : v;
}

static int bad(rk_status *st, const char *text, const char *why) {
    return rk_status_set(st, RK_INVALID_ARGUMENT,
                         "season_schedule \"%s\" %s (daily HH:MM, weekly mon HH:MM, monthly 1 HH:MM or every 5m)", text,
                         why);
}

int season_parse(const char *text, season_schedule *out, rk_status *st) {
    char buf[SEASON_SCHEDULE_MAX + 1];
    char *w[4];
    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0') return RK_OK;
    if (strlen(text) > SEASON_SCHEDULE_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "season_schedule is longer than %d bytes", SEASON_SCHEDULE_MAX);
    int nw = words(text, buf, w);
    if (nw == 0) return RK_OK; /* only spaces: none */
    /* w holds four: no schedule has more words. */
    if (nw > 4) return bad(st, text, "has more words than any schedule");
    if (strcmp(w[0], "every") == 0) {
        const char *end;
        int64_t n = nw == 2 ? number(w[1], &end) : -1;
        if (n <= 0) return bad(st, text, "needs a length, e.g. every 30s");
        int64_t unit = strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60 : strcmp(end, "h") == 0 ? 3600 : 0;
        if (unit == 0) return bad(st, text, "needs a unit s, m or h");
        if (n > EVERY_MAX_S / unit) return bad(st, text, "is longer than 366 days");
        out->kind = SEASON_EVERY;
        out->every_s = n * unit;
        return RK_OK;
    }
    int at = clock_time(w[nw - 1]);
    if (strcmp(w[0], "daily") == 0) {
        if (nw != 2 || at < 0) return bad(st, text, "needs a time HH:MM");
        out->kind = SEASON_DAILY;
    } else if (strcmp(w[0], "weekly") == 0) {
        int d = -1;
        for (int i = 0; nw == 3 && i < 7; i++)
            if (strcmp(w[1], weekdays[i]) == 0) d = i;
        if (d < 0) return bad(st, text, "needs a day mon..sun and a time HH:MM");
        if (at < 0) return bad(st, text, "needs a time HH:MM");
        out->kind = SEASON_WEEKLY;
        out->weekday = d;
    } else if (strcmp(w[0], "monthly") == 0) {
        const char *end;
        int64_t d = nw == 3 ? number(w[1], &end) : -1;
        if (d < 1 || d > 28 || *end) return bad(st, text, "needs a day 1 to 28 and a time HH:MM");
        if (at < 0) return bad(st, text, "needs a time HH:MM");
        out->kind = SEASON_MONTHLY;
        out->mday = (int)d;
    } else {
        return bad(st, text, "is not a schedule");
    }
    out->minute_of_day = at;
    return RK_OK;
}

void season_format(const season_schedule *s, char out[SEASON_SCHEDULE_MAX]) {
    int h = s->minute_of_day / 60, m = s->minute_of_day % 60;
    switch (s->kind) {
        case SEASON_EVERY:
            if (s->every_s % 3600 == 0)
                snprintf(out, SEASON_SCHEDULE_MAX, "every %" PRId64 "h", s->every_s / 3600);
            else if (s->every_s % 60 == 0)
                snprintf(out, SEASON_SCHEDULE_MAX, "every %" PRId64 "m", s->every_s / 60);
            else
                snprintf(out, SEASON_SCHEDULE_MAX, "every %" PRId64 "s", s->every_s);
            break;
        case SEASON_DAILY: snprintf(out, SEASON_SCHEDULE_MAX, "daily %02d:%02d", h, m); break;
        case SEASON_WEEKLY:
            snprintf(out, SEASON_SCHEDULE_MAX, "weekly %s %02d:%02d", weekdays[s->weekday], h, m);
            break;
        case SEASON_MONTHLY: snprintf(out, SEASON_SCHEDULE_MAX, "monthly %d %02d:%02d", s->mday, h, m); break;
        default: out[0] = '\0';
    }
}

/* Floor division for times before 1970 too. */
static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The end of the month-form schedule in the month containing t. */
static int64_t month_end(const season_schedule *s, int64_t t, int months_on) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int mon = tm.tm_mon + months_on;
    struct tm e = {.tm_year = tm.tm_year + mon / 12,
                   .tm_mon = mon % 12,
                   .tm_mday = s->mday,
                   .tm_hour = s->minute_of_day / 60,
                   .tm_min = s->minute_of_day % 60};
    return (int64_t)timegm(&e);
}

int64_t season_next_end(const season_schedule *s, int64_t started_s) {
    int64_t t = started_s, day = floor_div(t, DAY_S) * DAY_S, at = (int64_t)s->minute_of_day * 60, e;
    switch (s->kind) {
        case SEASON_EVERY: return t + s->every_s;
        case SEASON_DAILY: e = day + at; return e > t ? e : e + DAY_S;
        case SEASON_WEEKLY: {
            /* 1970-01-01 was a Thursday: Monday-based weekday 3. */
            int64_t wd = (floor_div(t, DAY_S) + 3) % 7;
            e = day - wd * DAY_S + (int64_t)s->weekday * DAY_S + at;
            return e > t ? e : e + 7 * DAY_S;
        }
        case SEASON_MONTHLY: e = month_end(s, t, 0); return e > t ? e : month_end(s, t, 1);
        default: return 0;
    }
}

int64_t season_due(const season_schedule *s, int64_t started_s, int64_t now) {
    if (s->kind == SEASON_NONE) return 0;
    int64_t e = season_next_end(s, started_s);
    if (e > now) return 0;
    if (s->kind == SEASON_EVERY) return started_s + (now - started_s) / s->every_s * s->every_s;
    /* At most a few hundred steps a year of missed ends. */
    for (int64_t next; (next = season_next_end(s, e)) <= now;) e = next;
    return e;
}
