/*
 * rankctl_out.c - how rankctl shows things: times, players, tables, JSON.
 *
 * Design. Every command prints through these few helpers, so a table in
 * `top` and one in `history` line up the same way and --json always means
 * the reply converted generically by json_out. Tables are built in memory
 * first because a column is as wide as its widest cell.
 *
 * What it must never do: print an error (the driver in rankctl.c does),
 * or keep a reply it was handed past ctl_emit().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "json_out.h"
#include "rankctl_cmds.h"

/* Unix seconds as UTC; 0 (never set) as "-". */
const char *ctl_show_time(int64_t secs, char *buf, size_t n) {
    struct tm tm;
    time_t t = (time_t)secs;
    if (secs == 0 || gmtime_r(&t, &tm) == NULL) return "-";
    if (strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return "-";
    return buf;
}

/* Unix microseconds as UTC to the millisecond: "2026-11-23 16:58:01.123 UTC". */
const char *ctl_show_time_us(int64_t us, char *buf, size_t n) {
    /* Floor division, so a time before 1970 still shows its own second. */
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    int ms = (int)((us - secs * 1000000) / 1000);
    struct tm tm;
    time_t t = (time_t)secs;
    if (gmtime_r(&t, &tm) == NULL) return "-";
    size_t len = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    if (len == 0 || (size_t)snprintf(buf + len, n - len, ".%03d UTC", ms) >= n - len) return "-";
    return buf;
}

const char *ctl_show_player(int64_t id, const char *name, char *buf, size_t n) {
    if (name && *name) return name;
    snprintf(buf, n, "#%" PRId64, id);
    return buf;
}

const char *ctl_show_i64(int64_t v, char *buf, size_t n) {
    snprintf(buf, n, "%" PRId64, v);
    return buf;
}

void ctl_kv(const char *key, const char *fmt, ...) {
    va_list ap;
    printf("%-15s ", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* Appends a row of exactly t->ncols strings (copied). */
int ctl_tbl_add(ctl_ctx *cx, ctl_tbl *t, ...) {
    va_list ap;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*cells));
        if (cells == NULL) return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        t->cells = cells;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * (size_t)t->ncols;
    int code = RK_OK;
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        if ((row[i] = strdup(s ? s : "")) == NULL) code = RK_RESOURCE_EXHAUSTED;
    }
    va_end(ap);
    t->nrows++; /* even when short of memory, so ctl_tbl_free sees the row */
    if (code != RK_OK) return rk_status_set(&cx->st, code, "out of memory");
    return RK_OK;
}

void ctl_tbl_print(const ctl_tbl *t) {
    size_t w[CTL_TBL_MAX_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * (size_t)t->ncols + i];
            size_t len = s ? strlen(s) : 0;
            if (len > w[i]) w[i] = len;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        char *const *row = t->cells + r * (size_t)t->ncols;
        int end = t->ncols; /* empty cells at the end print nothing: no trailing blanks */
        while (end > 1 && (row[end - 1] == NULL || row[end - 1][0] == '\0')) end--;
        for (int i = 0; i < end; i++) {
            const char *s = row[i] ? row[i] : "";
            if (i) fputs("  ", stdout);
            if (t->right >> i & 1u)
                printf("%*s", (int)w[i], s);
            else if (i == end - 1)
                fputs(s, stdout);
            else
                printf("%-*s", (int)w[i], s);
        }
        putchar('\n');
    }
}

void ctl_tbl_free(ctl_tbl *t) {
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++) free(t->cells[i]);
    free(t->cells);
}

/* Record metadata ("meta", a JSON object's text, anywhere in a reply) is
 * shown with --meta as the object it is, and left out without it. */
static void json_meta(cJSON *node, int show) {
    cJSON *next;
    for (cJSON *c = node->child; c; c = next) {
        next = c->next;
        if (c->string && strcmp(c->string, "meta") == 0 && cJSON_IsString(c)) {
            cJSON *obj = show ? cJSON_Parse(c->valuestring) : NULL;
            if (obj)
                cJSON_ReplaceItemInObjectCaseSensitive(node, "meta", obj);
            else if (!show)
                cJSON_DeleteItemFromObjectCaseSensitive(node, "meta");
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            json_meta(c, show);
        }
    }
}

int ctl_print_json(ctl_ctx *cx, const ProtobufCMessage *reply) {
    cJSON *doc = NULL;
    int code;
    if ((code = json_out_message(reply, &doc, &cx->st)) != RK_OK) return code;
    json_meta(doc, cx->meta);
    /* cJSON prints an empty object over two lines; "{}" reads better. */
    char *text = doc->child ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text == NULL) return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    printf("%s\n", text);
    free(text);
    return RK_OK;
}

/* The end of every command: on success print the reply as JSON or through
 * `human`; always free it. `code` and cx->st are the call's status. */
int ctl_emit(ctl_ctx *cx, int code, void *reply, ctl_human_fn human, const void *arg) {
    if (code == RK_OK) code = cx->json ? ctl_print_json(cx, reply) : human(cx, reply, arg);
    rk_reply_free(reply);
    return code;
}
