/*
 * rankctl_history.c - the commands answered from the score history:
 * history, report, standings, snapshot, and admin rebuild.
 *
 * Design. Like every command file: build the request from already-split
 * arguments, make the call, hand the reply to ctl_emit() with a printer
 * for people. What is particular here is time: --from and --to take a
 * date, a UTC timestamp or Unix seconds (ctl_parse_time), --to is
 * exclusive like the schema's `to`, and both left out mean all time.
 * `report` has a third way to print, CSV, for spreadsheets; --format json
 * is exactly --json.
 *
 * What it must never do: exit, or print an error (see rankctl_cmds.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rankctl_cmds.h"

/* ---------------------------------------------------------------- shared pieces */

static int opt_time(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, int64_t *out) {
    const char *s = ctl_opt(a, opt);
    if (s == NULL) return RK_OK;
    *has = 1;
    return ctl_parse_time(cx, opt, s, out);
}

/* --from and --to into a request's from/to fields; from must come first. */
static int opt_period(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has_from, int64_t *from,
                      protobuf_c_boolean *has_to, int64_t *to) {
    int code;
    if ((code = opt_time(cx, a, "--from", has_from, from)) != RK_OK ||
        (code = opt_time(cx, a, "--to", has_to, to)) != RK_OK)
        return code;
    if (*has_from && *has_to && *from >= *to) return ctl_usage(cx, "--from must be before --to (--to is not included)");
    return RK_OK;
}

/* RANK, PLAYER, SCORE: the rows of a report or of final standings. */
static int print_ranks(ctl_ctx *cx, Rankd__RankEntry *const *entries, size_t n) {
    ctl_tbl t = {.ncols = 3, .right = 1u << 0 | 1u << 2};
    char rb[24], pb[32], sb[24];
    int code = ctl_tbl_add(cx, &t, "RANK", "PLAYER", "SCORE");
    for (size_t i = 0; code == RK_OK && i < n; i++) {
        const Rankd__RankEntry *e = entries[i];
        code = ctl_tbl_add(cx, &t, ctl_show_i64(e->rank, rb, sizeof(rb)),
                           ctl_show_player(e->user_id, e->username, pb, sizeof(pb)),
                           ctl_show_i64(e->score, sb, sizeof(sb)));
    }
    if (code == RK_OK) ctl_tbl_print(&t);
    ctl_tbl_free(&t);
    return code;
}

/* ---------------------------------------------------------------- history */

static int human_history(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    const Rankd__HistoryReply *r = (const void *)m;
    const Rankd__HistoryRequest *q = arg;
    /* A REMOVED column only when an admin removed some of them. */
    int removed = 0;
    for (size_t i = 0; i < r->n_entries; i++) removed |= r->entries[i]->removed;
    ctl_tbl t = {.ncols = 3 + removed + cx->meta, .right = 1u << 1};
    char wb[48], sb[24];
    /* With --meta, a META column after KEY. */
    int code = cx->meta ? ctl_tbl_add(cx, &t, "WHEN", "SCORE", "KEY", "META", "REMOVED")
                        : ctl_tbl_add(cx, &t, "WHEN", "SCORE", "KEY", "REMOVED");
    for (size_t i = 0; code == RK_OK && i < r->n_entries; i++) {
        const Rankd__HistoryEntry *e = r->entries[i];
        const char *key = e->idempotency_key && *e->idempotency_key ? e->idempotency_key : "-";
        const char *when = ctl_show_time_us(e->submitted_at_us, wb, sizeof(wb)),
                   *score = ctl_show_i64(e->score, sb, sizeof(sb));
        const char *gone = e->removed ? "yes" : "no";
        code = cx->meta ? ctl_tbl_add(cx, &t, when, score, key, e->meta && *e->meta ? e->meta : "-", gone)
                        : ctl_tbl_add(cx, &t, when, score, key, gone);
    }
    if (code != RK_OK) goto out;
    ctl_tbl_print(&t);
    uint32_t first = q->has_offset ? q->offset : 0;
    const char *s = r->total == 1 ? "" : "s";
    if ((int64_t)r->n_entries == r->total)
        printf("(%" PRId64 " submission%s)\n", r->total, s);
    else if (r->n_entries > 0)
        printf("(%" PRIu32 "-%" PRIu32 " of %" PRId64 " submission%s)\n", first + 1, first + (uint32_t)r->n_entries,
               r->total, s);
    else
        printf("(none after the first %" PRIu32 " of %" PRId64 " submission%s)\n", first, r->total, s);
out:
    ctl_tbl_free(&t);
    return code;
}

int cmd_history(ctl_ctx *cx, const ctl_args *a) {
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *reply = NULL;
    const char *name;
    int code;
    req.board_id = a->pos[0];
    cx->meta = ctl_opt(a, "--meta") != NULL;
    if ((code = ctl_parse_user(cx, "USER", a->pos[1], &req.user_id, &name)) != RK_OK ||
        (code = opt_period(cx, a, &req.has_from, &req.from, &req.has_to, &req.to)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    code = rk_history_history(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_history, &req);
}

/* ---------------------------------------------------------------- report */

/* Ways `report` prints; --json is REPORT_JSON. */
enum { REPORT_TABLE, REPORT_CSV, REPORT_JSON };

typedef struct report_view {
    const Rankd__ReportRequest *req;
    int format; /* REPORT_TABLE or REPORT_CSV; JSON never reaches a printer */
} report_view;

/* One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a
 * comma, a quote, a line break or blanks at either end. */
static void csv_field(const char *s) {
    size_t len = strlen(s);
    if (len == 0 || (s[strcspn(s, ",\"\r\n")] == '\0' && s[0] != ' ' && s[len - 1] != ' ')) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_csv(const Rankd__ReportReply *r) {
    printf("rank,user_id,username,score\n");
    for (size_t i = 0; i < r->n_entries; i++) {
        const Rankd__RankEntry *e = r->entries[i];
        printf("%" PRId64 ",%" PRId64 ",", e->rank, e->user_id);
        csv_field(e->username ? e->username : "");
        printf(",%" PRId64 "\n", e->score);
    }
}

/* "all time", "from A to B", "since A" or "before B". */
static void show_period(const Rankd__ReportRequest *q, char *buf, size_t n) {
    char fb[40], tb[40];
    const char *from = ctl_show_time(q->from, fb, sizeof(fb));
    const char *to = ctl_show_time(q->to, tb, sizeof(tb));
    if (q->has_from && q->has_to)
        snprintf(buf, n, "from %s to %s", from, to);
    else if (q->has_from)
        snprintf(buf, n, "since %s", from);
    else if (q->has_to)
        snprintf(buf, n, "before %s", to);
    else
        snprintf(buf, n, "all time");
}

static int human_report(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    const Rankd__ReportReply *r = (const void *)m;
    const report_view *v = arg;
    char period[128];
    int code;
    if (v->format == REPORT_CSV) {
        print_csv(r);
        return RK_OK;
    }
    if ((code = print_ranks(cx, r->entries, r->n_entries)) != RK_OK) return code;
    show_period(v->req, period, sizeof(period));
    printf("(%" PRId64 " player%s, %s; source: %s)\n", r->board_size, r->board_size == 1 ? "" : "s", period,
           r->source && *r->source ? r->source : "?");
    return RK_OK;
}

int cmd_report(ctl_ctx *cx, const ctl_args *a) {
    static const char *const formats[] = {[REPORT_TABLE] = "table", [REPORT_CSV] = "csv", [REPORT_JSON] = "json"};
    Rankd__ReportRequest req = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *reply = NULL;
    report_view view = {.req = &req, .format = REPORT_TABLE};
    const char *f = ctl_opt(a, "--format");
    int code;
    if (f) {
        int k = 0;
        while (k <= REPORT_JSON && strcmp(formats[k], f) != 0) k++;
        if (k > REPORT_JSON) return ctl_usage(cx, "--format: '%s' is not one of table, csv, json", f);
        if (cx->json && k != REPORT_JSON)
            return ctl_usage(cx, "report: --json and --format %s contradict each other", f);
        view.format = k;
    }
    if (view.format == REPORT_JSON) cx->json = 1; /* errors as JSON too, exactly as --json */
    req.board_id = a->pos[0];
    if ((code = opt_period(cx, a, &req.has_from, &req.from, &req.has_to, &req.to)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK)
        return code;
    code = rk_history_report(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_report, &view);
}

/* ---------------------------------------------------------------- standings */

static int human_standings(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    const Rankd__StandingsReply *r = (const void *)m;
    const Rankd__StandingsRequest *q = arg;
    char wb[16], tb[40];
    int code = print_ranks(cx, r->entries, r->n_entries);
    if (code != RK_OK) return code;
    printf("(%" PRId64 " player%s in the %s window %s; final standings stored %s)\n", r->board_size,
           r->board_size == 1 ? "" : "s", ctl_show_window(q->window, wb, sizeof(wb)), q->at,
           ctl_show_time(r->closed_at, tb, sizeof(tb)));
    return RK_OK;
}

int cmd_standings(ctl_ctx *cx, const ctl_args *a) {
    static const struct {
        const char *name;
        Rankd__Window window;
    } windows[] = {{"daily", RANKD__WINDOW__WINDOW_DAILY},
                   {"weekly", RANKD__WINDOW__WINDOW_WEEKLY},
                   {"monthly", RANKD__WINDOW__WINDOW_MONTHLY}};
    Rankd__StandingsRequest req = RANKD__STANDINGS_REQUEST__INIT;
    Rankd__StandingsReply *reply = NULL;
    const char *w = ctl_opt(a, "--window");
    req.board_id = a->pos[0];
    if (w == NULL) return ctl_usage(cx, "standings: --window is required");
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
        if (strcmp(windows[i].name, w) == 0) {
            req.has_window = 1;
            req.window = windows[i].window;
        }
    if (!req.has_window) return ctl_usage(cx, "--window: '%s' is not one of daily, weekly, monthly", w);
    if ((req.at = (char *)ctl_opt(a, "--at")) == NULL)
        return ctl_usage(cx, "standings: --at is required (2026-11-23, 2026-W45 or 2026-11)");
    int code = rk_history_standings(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_standings, &req);
}

/* ---------------------------------------------------------------- snapshot */

static int human_snapshot(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__SnapshotReply *r = (const void *)m;
    char tb[40], pb[40], nb[40];
    int code = print_ranks(cx, r->entries, r->n_entries);
    if (code != RK_OK) return code;
    printf("(%" PRId64 " player%s; snapshot taken %s; previous %s, next %s)\n", r->board_size,
           r->board_size == 1 ? "" : "s", ctl_show_time(r->taken_at, tb, sizeof(tb)),
           ctl_show_time(r->previous, pb, sizeof(pb)), ctl_show_time(r->next, nb, sizeof(nb)));
    return RK_OK;
}

int cmd_snapshot(ctl_ctx *cx, const ctl_args *a) {
    Rankd__SnapshotRequest req = RANKD__SNAPSHOT_REQUEST__INIT;
    Rankd__SnapshotReply *reply = NULL;
    req.board_id = a->pos[0];
    int code = opt_time(cx, a, "--at", &req.has_at, &req.at);
    if (code != RK_OK) return code;
    code = rk_history_snapshot(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_snapshot, NULL);
}

/* ---------------------------------------------------------------- admin rebuild */

static int human_rebuild(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__RebuildReply *r = (const void *)m;
    printf("Rebuilt %" PRId64 " board%s from PostgreSQL: %" PRId64 " entr%s written to Redis.\n", r->boards,
           r->boards == 1 ? "" : "s", r->entries, r->entries == 1 ? "y" : "ies");
    return RK_OK;
}

int cmd_admin_rebuild(ctl_ctx *cx, const ctl_args *a) {
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *reply = NULL;
    if (a->npos > 0) {
        req.board_id = a->pos[0];
        if (*req.board_id == '\0') return ctl_usage(cx, "admin rebuild: empty board id (leave it out for every board)");
    }
    req.reason = (char *)ctl_opt(a, "--reason");
    int code = rk_admin_rebuild(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_rebuild, NULL);
}
