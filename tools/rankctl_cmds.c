/*
 * rankctl_cmds.c - one function per rankctl subcommand.
 *
 * Design. A command turns already-split arguments into a request, makes
 * the blocking call, and hands the reply to ctl_emit(), which prints it either
 * as JSON (generically, through json_out) or through the command's own
 * human printer: aligned tables for lists, "key  value" lines for single
 * records. Enum arguments are parsed, and enum values shown, through small
 * name tables, so "--order lower" and the "lower" in `board get` are the
 * same word.
 *
 * What it must never do: exit, or print an error. Failures go back to the
 * driver in rankctl.c as a status with its message in cx->st; usage
 * mistakes as CTL_USAGE via ctl_usage().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankctl_cmds.h"

/* rankd.proto: SubmitBatchRequest.entries holds at most this many. */
#define BATCH_MAX 1000

/* ---------------------------------------------------------------- enum names */

typedef struct name_map {
    const char *name;
    int value;
} name_map;

/* The first name of a value is the one shown; later ones are accepted too. */
static const name_map window_names[] = {
    {"all", RANKD__WINDOW__WINDOW_ALL_TIME},    {"all-time", RANKD__WINDOW__WINDOW_ALL_TIME},
    {"daily", RANKD__WINDOW__WINDOW_DAILY},     {"weekly", RANKD__WINDOW__WINDOW_WEEKLY},
    {"monthly", RANKD__WINDOW__WINDOW_MONTHLY}, {NULL, 0}};
static const name_map rank_mode_names[] = {{"competition", RANKD__RANK_MODE__RANK_COMPETITION},
                                           {"dense", RANKD__RANK_MODE__RANK_DENSE},
                                           {"unique", RANKD__RANK_MODE__RANK_UNIQUE},
                                           {NULL, 0}};
static const name_map order_names[] = {
    {"higher", RANKD__ORDER__ORDER_HIGHER_IS_BETTER}, {"lower", RANKD__ORDER__ORDER_LOWER_IS_BETTER}, {NULL, 0}};
static const name_map policy_names[] = {{"best", RANKD__POLICY__POLICY_BEST},
                                        {"latest", RANKD__POLICY__POLICY_LATEST},
                                        {"sum", RANKD__POLICY__POLICY_SUM},
                                        {NULL, 0}};
static const name_map role_names[] = {{"player", RANKD__ROLE__ROLE_PLAYER},
                                      {"game-server", RANKD__ROLE__ROLE_GAME_SERVER},
                                      {"admin", RANKD__ROLE__ROLE_ADMIN},
                                      {NULL, 0}};
/* What set-role may ask for: the server refuses game-server (that role is
 * an API key's, never a user's), so rankctl does not offer it. */
static const name_map settable_role_names[] = {
    {"player", RANKD__ROLE__ROLE_PLAYER}, {"admin", RANKD__ROLE__ROLE_ADMIN}, {NULL, 0}};

static int parse_name(ctl_ctx *cx, const char *what, const char *s, const name_map *map, int *out) {
    char choices[128] = "";
    for (const name_map *m = map; m->name; m++) {
        if (strcmp(m->name, s) == 0) {
            *out = m->value;
            return RK_OK;
        }
        size_t len = strlen(choices);
        snprintf(choices + len, sizeof(choices) - len, "%s%s", len ? ", " : "", m->name);
    }
    return ctl_usage(cx, "%s: '%s' is not one of %s", what, s, choices);
}

/* The shown name of `value`; unknown values (a newer server) as a number,
 * in `buf`. */
static const char *show_name(const name_map *map, int value, char *buf, size_t n) {
    for (const name_map *m = map; m->name; m++)
        if (m->value == value) return m->name;
    snprintf(buf, n, "%d", value);
    return buf;
}

/* protobuf-c makes every enum int-sized, so one helper can set any enum
 * field through its address. */
_Static_assert(sizeof(Rankd__Window) == sizeof(int), "protobuf-c enums are int-sized");

/* Optional enum, integer options: the has_ flag is set only when the
 * option is given, so the server's default applies otherwise. */
static int opt_enum(ctl_ctx *cx, const ctl_args *a, const char *opt, const name_map *map, protobuf_c_boolean *has,
                    void *field) {
    const char *s = ctl_opt(a, opt);
    int v = 0, code;
    if (s == NULL) return RK_OK;
    if ((code = parse_name(cx, opt, s, map, &v)) != RK_OK) return code;
    *has = 1;
    memcpy(field, &v, sizeof(v));
    return RK_OK;
}

int ctl_opt_u32(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, uint32_t *out) {
    const char *s = ctl_opt(a, opt);
    if (s == NULL) return RK_OK;
    *has = 1;
    return ctl_parse_u32(cx, opt, s, out);
}

static int opt_i64(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, int64_t *out) {
    const char *s = ctl_opt(a, opt);
    if (s == NULL) return RK_OK;
    *has = 1;
    return ctl_parse_i64(cx, opt, s, INT64_MIN, INT64_MAX, out);
}

/* ---------------------------------------------------------------- auth */

static int human_signup(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__SignUpReply *r = (const void *)m;
    printf("Created user %s (id %" PRId64 ").\n", (const char *)arg, r->user_id);
    return RK_OK;
}

int cmd_signup(ctl_ctx *cx, const ctl_args *a) {
    Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
    Rankd__SignUpReply *reply = NULL;
    char *password = NULL;
    int code;
    if ((code = ctl_parse_username(cx, "signup", a->pos[0])) != RK_OK) return code;
    if ((code = ctl_password(cx, a, 1, &password)) != RK_OK) return code;
    req.username = a->pos[0];
    req.password = password;
    code = rk_auth_sign_up(cx->client, &req, &reply, NULL, &cx->st);
    ctl_wipe(password);
    return ctl_emit(cx, code, reply, human_signup, a->pos[0]);
}

static int human_login(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__LoginReply *r = (const void *)m;
    char rb[16], tb[40];
    printf("Logged in as %s (id %" PRId64 ", %s); token saved, expires %s.\n", (const char *)arg, r->user_id,
           show_name(role_names, r->role, rb, sizeof(rb)), ctl_show_time(r->expires_at, tb, sizeof(tb)));
    return RK_OK;
}

int cmd_login(ctl_ctx *cx, const ctl_args *a) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *reply = NULL;
    char *password = NULL;
    int code;
    if ((code = ctl_parse_username(cx, "login", a->pos[0])) != RK_OK) return code;
    if ((code = ctl_password(cx, a, 0, &password)) != RK_OK) return code;
    req.username = a->pos[0];
    req.password = password;
    code = rk_auth_login(cx->client, &req, &reply, NULL, &cx->st);
    ctl_wipe(password);
    if (code == RK_OK && (reply->token == NULL || *reply->token == '\0'))
        code = rk_status_set(&cx->st, RK_INTERNAL, "rankd accepted the login but sent no token");
    if (code == RK_OK) code = ctl_token_save(cx, reply->token);
    return ctl_emit(cx, code, reply, human_login, a->pos[0]);
}

static int human_logout(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)m;
    printf("Logged out%s.\n", *(const int *)arg ? "; token file removed" : "");
    return RK_OK;
}

int cmd_logout(ctl_ctx *cx, const ctl_args *a) {
    (void)a;
    Rankd__Empty req = RANKD__EMPTY__INIT;
    Rankd__Empty *reply = NULL;
    int code, removed = 0;
    if (cx->token == NULL)
        return rk_status_set(&cx->st, RK_UNAUTHENTICATED, "not logged in (no --token, RANKD_TOKEN or token file)");
    code = rk_auth_logout(cx->client, &req, &reply, NULL, &cx->st);
    rk_reply_free(reply);
    /* A token the server no longer knows is as logged out as it gets. */
    if (code == RK_UNAUTHENTICATED) {
        rk_status_clear(&cx->st);
        code = RK_OK;
    }
    if (code == RK_OK) code = ctl_token_forget(cx, cx->token, &removed);
    /* The reply is Empty either way; `req` prints the same. */
    if (code == RK_OK) code = cx->json ? ctl_print_json(cx, &req.base) : human_logout(cx, &req.base, &removed);
    return code;
}

static int human_whoami(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__Identity *r = (const void *)m;
    char rb[16], tb[40];
    if (r->user_id) ctl_kv("user id", "%" PRId64, r->user_id);
    if (r->username && *r->username) ctl_kv("username", "%s", r->username);
    ctl_kv("role", "%s", show_name(role_names, r->role, rb, sizeof(rb)));
    if (r->game && *r->game) ctl_kv("game", "%s", r->game);
    ctl_kv("expires at", "%s", ctl_show_time(r->expires_at, tb, sizeof(tb)));
    return RK_OK;
}

int cmd_whoami(ctl_ctx *cx, const ctl_args *a) {
    (void)a;
    Rankd__Empty req = RANKD__EMPTY__INIT;
    Rankd__Identity *reply = NULL;
    int code = rk_auth_who_am_i(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_whoami, NULL);
}

/* ---------------------------------------------------------------- api keys */

static void kv_api_key(const Rankd__ApiKey *k) {
    char tb[40];
    ctl_kv("key id", "%" PRId64, k->key_id);
    ctl_kv("game", "%s", k->game ? k->game : "");
    ctl_kv("label", "%s", k->label ? k->label : "");
    ctl_kv("created at", "%s", ctl_show_time(k->created_at, tb, sizeof(tb)));
    ctl_kv("revoked", "%s", k->revoked ? "yes" : "no");
}

static int human_apikey_create(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__CreateApiKeyReply *r = (const void *)m;
    ctl_kv("key", "%s", r->key ? r->key : "");
    if (r->info) kv_api_key(r->info);
    fprintf(stderr, "Store the key now: rankd keeps only its hash and cannot show it again.\n");
    return RK_OK;
}

int cmd_apikey_create(ctl_ctx *cx, const ctl_args *a) {
    Rankd__CreateApiKeyRequest req = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *reply = NULL;
    req.game = a->pos[0];
    req.label = (char *)ctl_opt(a, "--label");
    req.reason = (char *)ctl_opt(a, "--reason");
    int code = rk_auth_create_api_key(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_apikey_create, NULL);
}

static int human_apikey_list(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__ListApiKeysReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 5, .right = 1u << 0};
    char ib[24], tb[40];
    int code = ctl_tbl_add(cx, &t, "ID", "GAME", "LABEL", "CREATED", "REVOKED");
    for (size_t i = 0; code == RK_OK && i < r->n_keys; i++) {
        const Rankd__ApiKey *k = r->keys[i];
        code = ctl_tbl_add(cx, &t, ctl_show_i64(k->key_id, ib, sizeof(ib)), k->game, k->label,
                           ctl_show_time(k->created_at, tb, sizeof(tb)), k->revoked ? "yes" : "no");
    }
    if (code == RK_OK) ctl_tbl_print(&t);
    ctl_tbl_free(&t);
    return code;
}

int cmd_apikey_list(ctl_ctx *cx, const ctl_args *a) {
    Rankd__ListApiKeysRequest req = RANKD__LIST_API_KEYS_REQUEST__INIT;
    Rankd__ListApiKeysReply *reply = NULL;
    req.game = (char *)ctl_opt(a, "--game");
    int code = rk_auth_list_api_keys(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_apikey_list, NULL);
}

/* For calls answered with Empty: a sentence saying what was done. */
static int human_done(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)m;
    printf("%s\n", (const char *)arg);
    return RK_OK;
}

int cmd_apikey_revoke(ctl_ctx *cx, const ctl_args *a) {
    Rankd__RevokeApiKeyRequest req = RANKD__REVOKE_API_KEY_REQUEST__INIT;
    Rankd__Empty *reply = NULL;
    char done[64];
    int code = ctl_parse_i64(cx, "KEY_ID", a->pos[0], 1, INT64_MAX, &req.key_id);
    if (code != RK_OK) return code;
    req.has_key_id = 1;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_auth_revoke_api_key(cx->client, &req, &reply, NULL, &cx->st);
    snprintf(done, sizeof(done), "Revoked API key %" PRId64 ".", req.key_id);
    return ctl_emit(cx, code, reply, human_done, done);
}

/* ---------------------------------------------------------------- boards */

static void show_windows(const Rankd__Board *b, char *buf, size_t n) {
    char nb[16];
    size_t len = (size_t)snprintf(buf, n, "all");
    for (size_t i = 0; i < b->n_windows && len < n; i++) {
        if (b->windows[i] == RANKD__WINDOW__WINDOW_ALL_TIME) continue;
        len += (size_t)snprintf(buf + len, n - len, ",%s", show_name(window_names, b->windows[i], nb, sizeof(nb)));
    }
}

/* "a, b, c" into buf (cut short when it does not fit). */
static const char *join_ids(char *const *ids, size_t n, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", ids[i]);
    return buf;
}

static int human_board(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__Board *b = ((const Rankd__BoardReply *)(const void *)m)->board;
    char nb[24], wb[600], tb[40];
    if (b == NULL) return rk_status_set(&cx->st, RK_INTERNAL, "rankd sent no board");
    ctl_kv("id", "%s", b->id ? b->id : "");
    ctl_kv("game", "%s", b->game ? b->game : "");
    ctl_kv("title", "%s", b->title ? b->title : "");
    ctl_kv("order", "%s", show_name(order_names, b->order, nb, sizeof(nb)));
    ctl_kv("policy", "%s", show_name(policy_names, b->policy, nb, sizeof(nb)));
    show_windows(b, wb, sizeof(wb));
    ctl_kv("windows", "%s", wb);
    ctl_kv("min score", "%s", b->has_min_score ? ctl_show_i64(b->min_score, nb, sizeof(nb)) : "-");
    ctl_kv("max score", "%s", b->has_max_score ? ctl_show_i64(b->max_score, nb, sizeof(nb)) : "-");
    ctl_kv("player submit", "%s", b->player_submit ? "yes" : "no");
    if (b->rate_limit) ctl_kv("rate limit", "%u submissions per player a minute", b->rate_limit);
    if (b->max_step)
        ctl_kv("max step", "%s (larger improvements are held for review)", ctl_show_i64(b->max_step, nb, sizeof(nb)));
    if (b->max_rate)
        ctl_kv("max rate", "%s a second (faster improvements are held for review)",
               ctl_show_i64(b->max_rate, nb, sizeof(nb)));
    if (b->n_sources) ctl_kv("sums", "%s", join_ids(b->sources, b->n_sources, wb, sizeof(wb)));
    if (b->n_feeds) ctl_kv("counts toward", "%s", join_ids(b->feeds, b->n_feeds, wb, sizeof(wb)));
    if (b->shards > 1) ctl_kv("shards", "%u", b->shards); /* a hot board */
    ctl_kv("created at", "%s", ctl_show_time(b->created_at, tb, sizeof(tb)));
    if (b->has_season && b->n_sources == 0) { /* an aggregate follows its sources' seasons */
        char sb[48];
        ctl_kv("season", "%u, since %s", b->season,
               b->season_started_us ? ctl_show_time_us(b->season_started_us, sb, sizeof(sb)) : "the board's creation");
    }
    if (b->season_schedule && b->season_schedule[0])
        ctl_kv("season schedule", "%s (UTC; next end %s)", b->season_schedule,
               ctl_show_time(b->season_ends_at, tb, sizeof(tb)));
    return RK_OK;
}

/* "daily,weekly" into b->windows (which points at `buf`, room for `n`). */
static int parse_windows(ctl_ctx *cx, const char *list, Rankd__Window *buf, size_t n, Rankd__Board *b) {
    char copy[128], *rest = copy;
    if (snprintf(copy, sizeof(copy), "%s", list) >= (int)sizeof(copy)) return ctl_usage(cx, "--windows: list too long");
    b->windows = buf;
    b->n_windows = 0;
    /* strsep, unlike strtok, shows "daily,,weekly" as an empty name. */
    for (char *w; *list && (w = strsep(&rest, ",")) != NULL;) {
        int v = 0, code;
        if ((code = parse_name(cx, "--windows", w, window_names, &v)) != RK_OK) return code;
        for (size_t i = 0; i < b->n_windows; i++)
            if ((int)buf[i] == v) return ctl_usage(cx, "--windows: '%s' given twice", w);
        if (b->n_windows == n) return ctl_usage(cx, "--windows: too many windows");
        buf[b->n_windows++] = (Rankd__Window)v;
    }
    return RK_OK;
}

int cmd_board_create(ctl_ctx *cx, const ctl_args *a) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *reply = NULL;
    Rankd__Window windows[8];
    const char *s;
    int code;

    b.id = a->pos[0];
    if ((b.game = (char *)ctl_opt(a, "--game")) == NULL) return ctl_usage(cx, "board create: --game is required");
    b.title = (char *)ctl_opt(a, "--title");
    if ((code = opt_enum(cx, a, "--order", order_names, &b.has_order, &b.order)) != RK_OK ||
        (code = opt_enum(cx, a, "--policy", policy_names, &b.has_policy, &b.policy)) != RK_OK)
        return code;
    if ((s = ctl_opt(a, "--windows")) &&
        (code = parse_windows(cx, s, windows, sizeof(windows) / sizeof(windows[0]), &b)) != RK_OK)
        return code;
    if ((code = opt_i64(cx, a, "--min", &b.has_min_score, &b.min_score)) != RK_OK ||
        (code = opt_i64(cx, a, "--max", &b.has_max_score, &b.max_score)) != RK_OK)
        return code;
    if (b.has_min_score && b.has_max_score && b.min_score > b.max_score)
        return ctl_usage(cx, "board create: --min is above --max");
    b.has_player_submit = b.player_submit = ctl_opt(a, "--player-submit") != NULL;
    if ((code = ctl_opt_u32(cx, a, "--rate-limit", &b.has_rate_limit, &b.rate_limit)) != RK_OK ||
        (code = opt_i64(cx, a, "--max-step", &b.has_max_step, &b.max_step)) != RK_OK ||
        (code = opt_i64(cx, a, "--max-rate", &b.has_max_rate, &b.max_rate)) != RK_OK)
        return code;
    b.season_schedule = (char *)ctl_opt(a, "--season-schedule");
    if ((code = ctl_opt_u32(cx, a, "--shards", &b.has_shards, &b.shards)) != RK_OK) return code;
    char sources[600], *srcs[9];
    if ((s = ctl_opt(a, "--sources")) != NULL) {
        if (snprintf(sources, sizeof(sources), "%s", s) >= (int)sizeof(sources))
            return ctl_usage(cx, "--sources: list too long");
        char *rest = sources;
        b.sources = srcs;
        for (char *id; (id = strsep(&rest, ",")) != NULL;) {
            if (b.n_sources == sizeof(srcs) / sizeof(srcs[0])) return ctl_usage(cx, "--sources: too many boards");
            srcs[b.n_sources++] = id; /* rankd says what is wrong with one */
        }
    }
    req.board = &b;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_boards_create_board(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_board, NULL);
}

int cmd_board_update(ctl_ctx *cx, const ctl_args *a) {
    Rankd__UpdateBoardRequest req = RANKD__UPDATE_BOARD_REQUEST__INIT;
    Rankd__Board wins = RANKD__BOARD__INIT;
    Rankd__BoardReply *reply = NULL;
    Rankd__Window windows[8];
    const char *s;
    int code;
    req.board_id = a->pos[0];
    req.title = (char *)ctl_opt(a, "--title");
    req.reason = (char *)ctl_opt(a, "--reason");
    req.season_schedule = (char *)ctl_opt(a, "--season-schedule");
    if ((code = opt_enum(cx, a, "--order", order_names, &req.has_order, &req.order)) != RK_OK ||
        (code = opt_enum(cx, a, "--policy", policy_names, &req.has_policy, &req.policy)) != RK_OK ||
        (code = opt_i64(cx, a, "--min", &req.has_min_score, &req.min_score)) != RK_OK ||
        (code = opt_i64(cx, a, "--max", &req.has_max_score, &req.max_score)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--rate-limit", &req.has_rate_limit, &req.rate_limit)) != RK_OK ||
        (code = opt_i64(cx, a, "--max-step", &req.has_max_step, &req.max_step)) != RK_OK ||
        (code = opt_i64(cx, a, "--max-rate", &req.has_max_rate, &req.max_rate)) != RK_OK)
        return code;
    if ((s = ctl_opt(a, "--add-windows")) != NULL) {
        if ((code = parse_windows(cx, s, windows, sizeof(windows) / sizeof(windows[0]), &wins)) != RK_OK) return code;
        req.add_windows = wins.windows;
        req.n_add_windows = wins.n_windows;
    }
    if ((s = ctl_opt(a, "--player-submit")) != NULL) {
        if (strcmp(s, "yes") != 0 && strcmp(s, "no") != 0)
            return ctl_usage(cx, "board update: --player-submit takes yes or no, not '%s'", s);
        req.has_player_submit = 1;
        req.player_submit = strcmp(s, "yes") == 0;
    }
    code = rk_boards_update_board(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_board, NULL);
}

int cmd_board_get(ctl_ctx *cx, const ctl_args *a) {
    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *reply = NULL;
    req.board_id = a->pos[0];
    int code = rk_boards_get_board(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_board, NULL);
}

static int human_board_list(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__ListBoardsReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 6};
    char ob[16], pb[16], wb[64];
    int code = ctl_tbl_add(cx, &t, "ID", "GAME", "ORDER", "POLICY", "WINDOWS", "TITLE");
    for (size_t i = 0; code == RK_OK && i < r->n_boards; i++) {
        const Rankd__Board *b = r->boards[i];
        show_windows(b, wb, sizeof(wb));
        code = ctl_tbl_add(cx, &t, b->id, b->game, show_name(order_names, b->order, ob, sizeof(ob)),
                           show_name(policy_names, b->policy, pb, sizeof(pb)), wb, b->title);
    }
    if (code == RK_OK) ctl_tbl_print(&t);
    ctl_tbl_free(&t);
    return code;
}

int cmd_board_list(ctl_ctx *cx, const ctl_args *a) {
    Rankd__ListBoardsRequest req = RANKD__LIST_BOARDS_REQUEST__INIT;
    Rankd__ListBoardsReply *reply = NULL;
    req.game = (char *)ctl_opt(a, "--game");
    int code = rk_boards_list_boards(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_board_list, NULL);
}

int cmd_board_delete(ctl_ctx *cx, const ctl_args *a) {
    Rankd__DeleteBoardRequest req = RANKD__DELETE_BOARD_REQUEST__INIT;
    Rankd__Empty *reply = NULL;
    char done[128];
    req.board_id = a->pos[0];
    req.reason = (char *)ctl_opt(a, "--reason");
    int code = rk_boards_delete_board(cx->client, &req, &reply, NULL, &cx->st);
    snprintf(done, sizeof(done), "Deleted board %.100s.", a->pos[0]);
    return ctl_emit(cx, code, reply, human_done, done);
}

/* ---------------------------------------------------------------- scores */

static int human_submit(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__SubmitReply *r = (const void *)m;
    ctl_kv("user id", "%" PRId64, r->user_id);
    ctl_kv("score", "%" PRId64, r->score);
    ctl_kv("rank", "%" PRId64 " of %" PRId64, r->rank, r->board_size);
    if (r->has_previous_rank) ctl_kv("before", "rank %" PRId64 ", score %" PRId64, r->previous_rank, r->previous_score);
    ctl_kv("personal best", "%s", r->personal_best ? "yes" : "no");
    if (r->replayed) ctl_kv("replayed", "yes (answered from the idempotency record)");
    if (r->held) ctl_kv("held", "yes: the board's plausibility rule holds it for review; it counts once approved");
    return RK_OK;
}

int cmd_submit(ctl_ctx *cx, const ctl_args *a) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *reply = NULL;
    rk_call_opts opts = {0};
    const char *id = ctl_opt(a, "--user-id"), *user = ctl_opt(a, "--user");
    const char *name = NULL;
    int code;

    if ((id == NULL) == (user == NULL)) return ctl_usage(cx, "submit: give exactly one of --user-id and --user");
    if (id)
        code = ctl_parse_i64(cx, "--user-id", id, 1, INT64_MAX, &req.user_id);
    else
        code = ctl_parse_user(cx, "--user", user, &req.user_id, &name);
    if (code != RK_OK) return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    if ((code = ctl_parse_i64(cx, "SCORE", a->pos[1], INT64_MIN, INT64_MAX, &req.score)) != RK_OK) return code;
    req.has_score = 1;
    req.board_id = a->pos[0];
    if ((opts.idempotency_key = ctl_opt(a, "--idempotency-key")) && !*opts.idempotency_key)
        return ctl_usage(cx, "submit: --idempotency-key is empty");
    /* Checked by rankd (INVALID_ARGUMENT naming the fault), not here. */
    req.meta = (char *)ctl_opt(a, "--meta");
    code = rk_scores_submit(cx->client, &req, &reply, &opts, &cx->st);
    return ctl_emit(cx, code, reply, human_submit, NULL);
}

/* One input line of submit-batch; the entry's strings point into `text`. */
typedef struct batch_line {
    char *text; /* owned */
    char *meta; /* owned: the line's metadata, NULL for none */
    long lineno;
    Rankd__BatchEntry entry;
} batch_line;

typedef struct batch {
    const char *file; /* for messages */
    batch_line *lines;
    size_t n, cap;
} batch;

static void batch_free(batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->lines[i].text);
        free(b->lines[i].meta);
    }
    free(b->lines);
}

/* Splits "board user score [key] [{json}]" in place: the record's
 * metadata, a JSON object, is the rest of the line from its first '{'
 * (it may hold spaces; rankd checks it), copied out before the fields are
 * cut there. */
static int batch_parse_line(ctl_ctx *cx, const batch *b, batch_line *l) {
    char *f[5], *save = NULL, *brace = strchr(l->text, '{');
    int nf = 0;
    const char *name;
    if (brace) {
        size_t len = strlen(brace);
        while (len > 0 && strchr(" \t\r\n", brace[len - 1])) len--;
        if ((l->meta = strndup(brace, len)) == NULL)
            return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        *brace = '\0';
    }
    char *fields = l->text;
    for (char *w = strtok_r(fields, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
        if (nf < 5) f[nf++] = w;
    if (nf < 3 || nf > 4)
        return ctl_usage(cx, "%s:%ld: expected 'board user score [idempotency-key] [{metadata}]'", b->file, l->lineno);
    rankd__batch_entry__init(&l->entry);
    l->entry.board_id = f[0];
    if (ctl_parse_user(cx, "user", f[1], &l->entry.user_id, &name) != RK_OK ||
        ctl_parse_i64(cx, "score", f[2], INT64_MIN, INT64_MAX, &l->entry.score) != RK_OK) {
        char why[RK_STATUS_MSG_MAX];
        snprintf(why, sizeof(why), "%s", cx->st.message);
        return ctl_usage(cx, "%s:%ld: %s", b->file, l->lineno, why);
    }
    l->entry.has_user_id = l->entry.user_id != 0;
    l->entry.username = (char *)name;
    l->entry.has_score = 1;
    if (nf == 4) l->entry.idempotency_key = f[3];
    l->entry.meta = l->meta;
    return RK_OK;
}

/* Reads every line before anything is sent, so a typo on line 900 does
 * not leave the first 899 half-submitted. Blank lines and lines starting
 * with '#' are skipped. */
static int batch_read(ctl_ctx *cx, FILE *in, batch *b) {
    char *text = NULL;
    size_t cap = 0;
    long lineno = 0;
    int code = RK_OK;
    while (getline(&text, &cap, in) >= 0) {
        const char *p = text + strspn(text, " \t\r\n");
        lineno++;
        if (*p == '\0' || *p == '#') continue;
        if (b->n == b->cap) {
            size_t ncap = b->cap ? b->cap * 2 : 64;
            batch_line *lines = realloc(b->lines, ncap * sizeof(*lines));
            if (lines == NULL) {
                code = rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
                break;
            }
            b->lines = lines;
            b->cap = ncap;
        }
        batch_line *l = &b->lines[b->n++];
        l->text = text; /* the entry's strings will point into it */
        l->meta = NULL;
        l->lineno = lineno;
        text = NULL;
        cap = 0;
        if ((code = batch_parse_line(cx, b, l)) != RK_OK) break;
    }
    if (code == RK_OK && ferror(in))
        code = rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot read %s: %s", b->file, strerror(errno));
    free(text);
    if (code == RK_OK && b->n == 0) code = ctl_usage(cx, "%s: no scores to submit", b->file);
    return code;
}

static int human_batch(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    const Rankd__SubmitBatchReply *r = (const void *)m;
    const batch *b = arg;
    ctl_tbl t = {.ncols = 8, .right = 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6};
    char lb[24], ub[32], sb[24], kb[24], rb[24];
    int code = ctl_tbl_add(cx, &t, "LINE", "STATUS", "BOARD", "PLAYER", "SCORE", "STORED", "RANK", "NOTE");
    for (size_t i = 0; code == RK_OK && i < r->n_results; i++) {
        const Rankd__BatchResult *res = r->results[i];
        const Rankd__BatchEntry *e = &b->lines[i].entry;
        const Rankd__SubmitReply *ok = res->code == RK_OK ? res->reply : NULL;
        const char *note = res->code != RK_OK        ? res->message
                           : ok && ok->held          ? "held for review"
                           : ok && ok->replayed      ? "replayed"
                           : ok && ok->personal_best ? "personal best"
                                                     : "";
        snprintf(lb, sizeof(lb), "%ld", b->lines[i].lineno);
        code = ctl_tbl_add(cx, &t, lb, rk_code_name(res->code), e->board_id,
                           ctl_show_player(e->user_id, e->username, ub, sizeof(ub)),
                           ctl_show_i64(e->score, sb, sizeof(sb)), ok ? ctl_show_i64(ok->score, kb, sizeof(kb)) : "",
                           ok ? ctl_show_i64(ok->rank, rb, sizeof(rb)) : "", note);
    }
    if (code == RK_OK) ctl_tbl_print(&t);
    ctl_tbl_free(&t);
    return code;
}

/* Sends b's entries BATCH_MAX at a time; *all gets every result in input
 * order, pointing into the replies kept in `replies` (caller frees both). */
static int batch_send(ctl_ctx *cx, const batch *b, Rankd__SubmitBatchReply **replies, Rankd__SubmitBatchReply *all) {
    Rankd__BatchEntry **entries = malloc(BATCH_MAX * sizeof(*entries));
    int code = RK_OK;
    all->results = malloc(b->n * sizeof(*all->results));
    if (entries == NULL || all->results == NULL) {
        free(entries);
        return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t done = 0, k = 0; done < b->n; k++) {
        Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
        size_t n = b->n - done < BATCH_MAX ? b->n - done : BATCH_MAX;
        for (size_t i = 0; i < n; i++) entries[i] = &b->lines[done + i].entry;
        req.entries = entries;
        req.n_entries = n;
        if ((code = rk_scores_submit_batch(cx->client, &req, &replies[k], NULL, &cx->st)) != RK_OK) {
            if (done > 0) {
                char why[RK_STATUS_MSG_MAX];
                snprintf(why, sizeof(why), "%s", cx->st.message);
                rk_status_set(&cx->st, code, "%s (entries up to line %ld were already processed)", why,
                              b->lines[done - 1].lineno);
            }
            break;
        }
        if (replies[k]->n_results != n) {
            code = rk_status_set(&cx->st, RK_INTERNAL, "rankd answered %zu results for %zu entries",
                                 replies[k]->n_results, n);
            break;
        }
        memcpy(all->results + done, replies[k]->results, n * sizeof(*all->results));
        done += n;
        all->n_results = done;
    }
    free(entries);
    return code;
}

int cmd_submit_batch(ctl_ctx *cx, const ctl_args *a) {
    batch b = {.file = a->pos[0]};
    Rankd__SubmitBatchReply all = RANKD__SUBMIT_BATCH_REPLY__INIT;
    Rankd__SubmitBatchReply **replies = NULL;
    size_t nreplies = 0, failed = 0;
    int stdin_in = strcmp(b.file, "-") == 0;
    FILE *in = stdin_in ? stdin : fopen(b.file, "r");
    int code;

    if (in == NULL) return rk_status_set(&cx->st, RK_NOT_FOUND, "cannot open %s: %s", b.file, strerror(errno));
    if (stdin_in) b.file = "<stdin>";
    code = batch_read(cx, in, &b);
    if (!stdin_in) fclose(in);
    if (code != RK_OK) goto out;

    if ((replies = calloc((b.n + BATCH_MAX - 1) / BATCH_MAX, sizeof(*replies))) == NULL) {
        code = rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    nreplies = (b.n + BATCH_MAX - 1) / BATCH_MAX;
    if ((code = batch_send(cx, &b, replies, &all)) != RK_OK) goto out;
    code = cx->json ? ctl_print_json(cx, &all.base) : human_batch(cx, &all.base, &b);
    for (size_t i = 0; i < all.n_results; i++) failed += all.results[i]->code != RK_OK;
    if (code == RK_OK && failed > 0) {
        rk_status_set(&cx->st, RK_ABORTED, "%zu of %zu entries failed", failed, all.n_results);
        code = CTL_PRINTED_FAILURE;
    }
out:
    for (size_t i = 0; i < nreplies; i++) rk_reply_free(replies[i]);
    free(replies);
    free(all.results);
    batch_free(&b);
    return code;
}

/* ---------------------------------------------------------------- ranking */

/* A META cell: the metadata as sent, "-" for none. */
static const char *show_meta(const char *meta) { return meta && *meta ? meta : "-"; }

static int human_rank_list(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__RankListReply *r = (const void *)m;
    ctl_tbl t = {.ncols = cx->meta ? 4 : 3, .right = 1u << 0 | 1u << 2};
    char rb[24], pb[32], sb[24];
    int code = ctl_tbl_add(cx, &t, "RANK", "PLAYER", "SCORE", "META");
    for (size_t i = 0; code == RK_OK && i < r->n_entries; i++) {
        const Rankd__RankEntry *e = r->entries[i];
        /* rank 0: the player has no score in this window */
        code = ctl_tbl_add(cx, &t, e->rank ? ctl_show_i64(e->rank, rb, sizeof(rb)) : "-",
                           ctl_show_player(e->user_id, e->username, pb, sizeof(pb)),
                           e->rank ? ctl_show_i64(e->score, sb, sizeof(sb)) : "-", show_meta(e->meta));
    }
    if (code != RK_OK) goto out;
    ctl_tbl_print(&t);
    if (r->has_board_size) printf("(%" PRId64 " players on the board)\n", r->board_size);
out:
    ctl_tbl_free(&t);
    return code;
}

int ctl_opt_window(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has, void *field) {
    return opt_enum(cx, a, "--window", window_names, has, field);
}

int ctl_opt_rank_mode(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has, void *field) {
    return opt_enum(cx, a, "--rank-mode", rank_mode_names, has, field);
}

const char *ctl_show_window(int window, char *buf, size_t n) { return show_name(window_names, window, buf, n); }

int cmd_top(ctl_ctx *cx, const ctl_args *a) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    cx->meta = ctl_opt(a, "--meta") != NULL;
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--offset", &req.has_offset, &req.offset)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit)) != RK_OK)
        return code;
    code = rk_ranking_top(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_rank_list, NULL);
}

static int human_rank(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__RankReply *r = (const void *)m;
    const Rankd__RankEntry *e = r->entry;
    char pb[32];
    if (e == NULL || e->rank == 0) {
        printf("Not ranked on this board.\n");
    } else {
        ctl_kv("player", "%s", ctl_show_player(e->user_id, e->username, pb, sizeof(pb)));
        ctl_kv("user id", "%" PRId64, e->user_id);
        ctl_kv("rank", "%" PRId64, e->rank);
        ctl_kv("score", "%" PRId64, e->score);
        if (e->has_percentile) ctl_kv("percentile", "top %.4g%%", e->percentile);
        if (cx->meta) ctl_kv("meta", "%s", show_meta(e->meta));
    }
    if (r->has_board_size) ctl_kv("board size", "%" PRId64, r->board_size);
    return RK_OK;
}

int cmd_rank(ctl_ctx *cx, const ctl_args *a) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *reply = NULL;
    const char *name;
    int code;
    req.board_id = a->pos[0];
    cx->meta = ctl_opt(a, "--meta") != NULL;
    if ((code = ctl_parse_user(cx, "USER", a->pos[1], &req.user_id, &name)) != RK_OK ||
        (code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK)
        return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    code = rk_ranking_rank(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_rank, NULL);
}

int cmd_around(ctl_ctx *cx, const ctl_args *a) {
    Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
    Rankd__RankListReply *reply = NULL;
    const char *name;
    int code;
    req.board_id = a->pos[0];
    cx->meta = ctl_opt(a, "--meta") != NULL;
    if ((code = ctl_parse_user(cx, "USER", a->pos[1], &req.user_id, &name)) != RK_OK ||
        (code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--above", &req.has_above, &req.above)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--below", &req.has_below, &req.below)) != RK_OK)
        return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    code = rk_ranking_around(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_rank_list, NULL);
}

int cmd_ranks(ctl_ctx *cx, const ctl_args *a) {
    Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
    Rankd__RankListReply *reply = NULL;
    size_t n = (size_t)a->npos - 1;
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_rank_mode(cx, a, &req.has_rank_mode, &req.rank_mode)) != RK_OK)
        return code;
    req.user_ids = malloc(n * sizeof(*req.user_ids));
    req.usernames = malloc(n * sizeof(*req.usernames));
    if (req.user_ids == NULL || req.usernames == NULL) {
        code = rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        const char *name;
        if ((code = ctl_parse_user(cx, "USER", a->pos[i + 1], &id, &name)) != RK_OK) goto out;
        if (name)
            req.usernames[req.n_usernames++] = (char *)name;
        else
            req.user_ids[req.n_user_ids++] = id;
    }
    code = rk_ranking_ranks_of(cx->client, &req, &reply, NULL, &cx->st);
    code = ctl_emit(cx, code, reply, human_rank_list, NULL);
out:
    free(req.user_ids);
    free(req.usernames);
    return code;
}

static int human_count(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    printf("%" PRId64 "\n", ((const Rankd__CountReply *)(const void *)m)->count);
    return RK_OK;
}

int cmd_count(ctl_ctx *cx, const ctl_args *a) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *reply = NULL;
    int code;
    req.board_id = a->pos[0];
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK ||
        (code = ctl_opt_bounds(cx, a, &req.has_min_score, &req.min_score, &req.has_max_score, &req.max_score)) != RK_OK)
        return code;
    code = rk_ranking_count(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_count, NULL);
}

/* ---------------------------------------------------------------- admin */

static int human_status(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__ServerStatus *s = (const void *)m;
    int64_t u = s->uptime_s;
    ctl_kv("version", "%s", s->version ? s->version : "");
    ctl_kv("redis", "%s", s->redis_ok ? "ok" : "DOWN");
    if (s->redis_state) ctl_kv("redis state", "%s", s->redis_state);
    ctl_kv("postgres", "%s", s->postgres_ok ? "ok" : "DOWN");
    ctl_kv("uptime", "%" PRId64 "d %02d:%02d:%02d", u / 86400, (int)(u % 86400 / 3600), (int)(u % 3600 / 60),
           (int)(u % 60));
    ctl_kv("backlog", "%" PRId64 " submissions not yet in PostgreSQL", s->writebehind_backlog);
    if (s->has_writebehind_lag_ms)
        ctl_kv("lag", "%.3f s (the oldest of them; /readyz fails above ready-max-lag-ms)",
               (double)s->writebehind_lag_ms / 1e3);
    if (s->has_applier_backlog)
        ctl_kv("applier", "%" PRId64 " board changes the global board and aggregates have not applied yet",
               s->applier_backlog);
    if (s->redis_backlog) ctl_kv("redis backlog", "%" PRId64 " submissions not yet applied to Redis", s->redis_backlog);
    if (s->has_dead_letters)
        ctl_kv("dead letters", "%" PRId64 " submissions PostgreSQL refused (table scores_dead_letter)",
               s->dead_letters);
    ctl_kv("requests", "%" PRId64, s->requests_total);
    char at[40];
    if (s->has_now) ctl_kv("clock", "%s", ctl_show_time(s->now, at, sizeof(at)));
    return RK_OK;
}

int cmd_status(ctl_ctx *cx, const ctl_args *a) {
    if (ctl_opt(a, "--watch")) return ctl_status_watch(cx, a);
    if (ctl_opt(a, "--interval") || ctl_opt(a, "--count"))
        return ctl_usage(cx, "status: --interval and --count go with --watch");
    Rankd__Empty req = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *reply = NULL;
    int code = rk_admin_status(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_status, NULL);
}

int cmd_admin_set_role(ctl_ctx *cx, const ctl_args *a) {
    Rankd__SetRoleRequest req = RANKD__SET_ROLE_REQUEST__INIT;
    Rankd__Empty *reply = NULL;
    char done[128];
    int code, v = 0;
    if ((code = ctl_parse_username(cx, "admin set-role", a->pos[0])) != RK_OK ||
        (code = parse_name(cx, "role", a->pos[1], settable_role_names, &v)) != RK_OK)
        return code;
    req.username = a->pos[0];
    req.has_role = 1;
    req.role = (Rankd__Role)v;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_admin_set_role(cx->client, &req, &reply, NULL, &cx->st);
    snprintf(done, sizeof(done), "%.80s is now %s.", a->pos[0], a->pos[1]);
    return ctl_emit(cx, code, reply, human_done, done);
}

/* The fields as one line: "name=value" pairs separated by spaces, any
 * byte that is not printable ASCII as \xNN (the row is shown so that it
 * can be repaired; nothing in it is trusted to be text). */
static const char *show_fields(const ProtobufCBinaryData *f, char *buf, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < f->len && o + 5 < n; i++) {
        uint8_t c = f->data[i];
        if (c == '\n') {
            if (i + 1 < f->len) buf[o++] = ' ';
        } else if (c >= 0x20 && c < 0x7f && c != '\\') {
            buf[o++] = (char)c;
        } else {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        }
    }
    buf[o] = '\0';
    return buf;
}

static int human_dead_letters(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__DeadLettersReply *r = (const void *)m;
    if (r->n_letters == 0) {
        printf("No dead letters: PostgreSQL took every accepted submission.\n");
        return RK_OK;
    }
    ctl_tbl t = {.ncols = 4};
    char tb[40], fb[512];
    int code = ctl_tbl_add(cx, &t, "ENTRY", "SET ASIDE", "FIELDS", "REASON");
    for (size_t i = 0; code == RK_OK && i < r->n_letters; i++) {
        const Rankd__DeadLetter *d = r->letters[i];
        code = ctl_tbl_add(cx, &t, d->entry_id, ctl_show_time(d->dead_at, tb, sizeof(tb)),
                           show_fields(&d->fields, fb, sizeof(fb)), d->reason);
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(%zu of %" PRId64 " in scores_dead_letter, oldest first)\n", r->n_letters, r->total);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_admin_dead_letters(ctl_ctx *cx, const ctl_args *a) {
    Rankd__DeadLettersRequest req = RANKD__DEAD_LETTERS_REQUEST__INIT;
    Rankd__DeadLettersReply *reply = NULL;
    int code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit);
    if (code != RK_OK) return code;
    code = rk_admin_dead_letters(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_dead_letters, NULL);
}

/* ---------------------------------------------------------------- moderation */

static int human_audit(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__AuditReply *r = (const void *)m;
    if (r->n_entries == 0) {
        printf("No audit entries%s.\n", r->next_before_id ? " on this page" : "");
        return RK_OK;
    }
    ctl_tbl t = {.ncols = 7, .right = 1u << 0};
    char ib[24], tb[48], pb[48];
    int code = ctl_tbl_add(cx, &t, "ID", "WHEN", "WHO", "ACTION", "TARGET", "DETAIL", "REASON");
    for (size_t i = 0; code == RK_OK && i < r->n_entries; i++) {
        const Rankd__AuditEntry *e = r->entries[i];
        code =
            ctl_tbl_add(cx, &t, ctl_show_i64(e->id, ib, sizeof(ib)), ctl_show_time(e->at_us / 1000000, tb, sizeof(tb)),
                        ctl_show_player(e->actor_id, e->actor, pb, sizeof(pb)), e->action, e->target, e->detail,
                        e->reason && e->reason[0] ? e->reason : "-");
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        if (r->next_before_id)
            printf("(newest first; older entries: --before %" PRId64 ")\n", r->next_before_id);
        else
            printf("(newest first; no older entries)\n");
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_audit(ctl_ctx *cx, const ctl_args *a) {
    Rankd__AuditRequest req = RANKD__AUDIT_REQUEST__INIT;
    Rankd__AuditReply *reply = NULL;
    const char *s;
    int code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit);
    if (code != RK_OK) return code;
    if ((s = ctl_opt(a, "--before")) != NULL) {
        if ((code = ctl_parse_i64(cx, "--before", s, 1, INT64_MAX, &req.before_id)) != RK_OK) return code;
        req.has_before_id = 1;
    }
    req.action = (char *)ctl_opt(a, "--action");
    req.target = (char *)ctl_opt(a, "--target");
    code = rk_moderation_audit(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_audit, NULL);
}

static int human_remove(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__RemoveEntryReply *r = (const void *)m;
    const ctl_args *a = arg;
    printf("Removed %s's entry from %s (%" PRId64 " submission%s kept in the history, marked removed).\n", a->pos[1],
           a->pos[0], r->removed_submissions, r->removed_submissions == 1 ? "" : "s");
    return RK_OK;
}

int cmd_remove(ctl_ctx *cx, const ctl_args *a) {
    Rankd__RemoveEntryRequest req = RANKD__REMOVE_ENTRY_REQUEST__INIT;
    Rankd__RemoveEntryReply *reply = NULL;
    const char *name = NULL;
    int code = ctl_parse_user(cx, "USER", a->pos[1], &req.user_id, &name);
    if (code != RK_OK) return code;
    req.board_id = a->pos[0];
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_moderation_remove_entry(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_remove, a);
}

static int human_ban(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__BanReply *r = (const void *)m;
    printf("Banned %s: their entries left %" PRId64 " board%s and the global board.\n", (const char *)arg, r->boards,
           r->boards == 1 ? "" : "s");
    return RK_OK;
}

static int human_unban(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__UnbanReply *r = (const void *)m;
    printf("Unbanned %s: %" PRId64 " entr%s put back as they were.\n", (const char *)arg, r->entries,
           r->entries == 1 ? "y" : "ies");
    return RK_OK;
}

int cmd_ban(ctl_ctx *cx, const ctl_args *a) {
    Rankd__BanRequest req = RANKD__BAN_REQUEST__INIT;
    Rankd__BanReply *reply = NULL;
    const char *name = NULL;
    int code = ctl_parse_user(cx, "USER", a->pos[0], &req.user_id, &name);
    if (code != RK_OK) return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_moderation_ban(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_ban, a->pos[0]);
}

int cmd_unban(ctl_ctx *cx, const ctl_args *a) {
    Rankd__UnbanRequest req = RANKD__UNBAN_REQUEST__INIT;
    Rankd__UnbanReply *reply = NULL;
    const char *name = NULL;
    int code = ctl_parse_user(cx, "USER", a->pos[0], &req.user_id, &name);
    if (code != RK_OK) return code;
    req.has_user_id = req.user_id != 0;
    req.username = (char *)name;
    req.reason = (char *)ctl_opt(a, "--reason");
    code = rk_moderation_unban(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_unban, a->pos[0]);
}

static int human_held(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__HeldReply *r = (const void *)m;
    if (r->n_held == 0) {
        printf("No submissions are held for review.\n");
        return RK_OK;
    }
    ctl_tbl t = {.ncols = 6, .right = 1u << 3};
    char tb[48], pb[48], sb[24];
    int code = ctl_tbl_add(cx, &t, "ENTRY", "SUBMITTED", "BOARD", "SCORE", "PLAYER", "RULE");
    for (size_t i = 0; code == RK_OK && i < r->n_held; i++) {
        const Rankd__HeldSubmission *h = r->held[i];
        code = ctl_tbl_add(cx, &t, h->entry_id, ctl_show_time_us(h->submitted_at_us, tb, sizeof(tb)), h->board_id,
                           ctl_show_i64(h->score, sb, sizeof(sb)),
                           ctl_show_player(h->user_id, h->username, pb, sizeof(pb)), h->rule);
    }
    if (code == RK_OK) {
        ctl_tbl_print(&t);
        printf("(%zu of %" PRId64 " held for review, oldest first)\n", r->n_held, r->total);
    }
    ctl_tbl_free(&t);
    return code;
}

int cmd_review_list(ctl_ctx *cx, const ctl_args *a) {
    Rankd__HeldRequest req = RANKD__HELD_REQUEST__INIT;
    Rankd__HeldReply *reply = NULL;
    int code = ctl_opt_u32(cx, a, "--limit", &req.has_limit, &req.limit);
    if (code != RK_OK) return code;
    req.board_id = (char *)ctl_opt(a, "--board");
    code = rk_moderation_held(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_held, NULL);
}

static int human_review(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__ReviewReply *r = (const void *)m;
    const Rankd__HeldSubmission *h = r->submission;
    char pb[48];
    if (h == NULL) return rk_status_set(&cx->st, RK_INTERNAL, "rankd sent no submission");
    printf("%s %s: %" PRId64 " by %s on %s %s.\n", r->approved ? "Approved" : "Rejected", h->entry_id, h->score,
           ctl_show_player(h->user_id, h->username, pb, sizeof(pb)), h->board_id,
           r->approved ? "now counts" : "will never count");
    return RK_OK;
}

static int review(ctl_ctx *cx, const ctl_args *a, int approve) {
    Rankd__ReviewRequest req = RANKD__REVIEW_REQUEST__INIT;
    Rankd__ReviewReply *reply = NULL;
    req.entry_id = a->pos[0];
    req.has_approve = 1;
    req.approve = approve;
    req.reason = (char *)ctl_opt(a, "--reason");
    int code = rk_moderation_review(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_review, NULL);
}

int cmd_review_approve(ctl_ctx *cx, const ctl_args *a) { return review(cx, a, 1); }
int cmd_review_reject(ctl_ctx *cx, const ctl_args *a) { return review(cx, a, 0); }
