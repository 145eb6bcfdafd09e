/*
 * rankctl_cmds.h - the contract between rankctl's driver and its commands.
 *
 * rankctl.c owns the process: global flags, the token, the command table,
 * strict argument parsing and the mapping of failures to exit statuses,
 * plus the argument helpers commands share (numbers, times, USER
 * arguments, the password prompt); rankctl_out.c the output helpers
 * (tables, shown values, JSON), all declared below.
 * rankctl_cmds.c, rankctl_history.c, rankctl_seasons.c and rankctl_live.c own one function
 * per subcommand: build the request from already-split arguments, make
 * the call, print the answer. A command never exits and never prints an
 * error itself; it returns a status and leaves the words in cx->st, so
 * every failure is reported in one place and one format.
 */
#ifndef RANKCTL_CMDS_H
#define RANKCTL_CMDS_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/client.h>

/* Returned instead of an rk_code when the command line itself is wrong
 * (exit status 2); cx->st.message says what is wrong with it. */
#define CTL_USAGE (-1)

/* Returned when the answer was printed but reports failures of its own
 * (some entries of a batch): exit status 1, cx->st.message on stderr, and
 * no JSON error document, since the reply already is one. */
#define CTL_PRINTED_FAILURE (-2)

/* Options a command accepts; at most this many per command. */
#define CTL_MAX_OPTS 16

/* Everything a command may use. Owned by main; commands only read it,
 * apart from `st`, where a failing command leaves its reason. */
typedef struct ctl_ctx {
    rk_client *client; /* open and carrying the token and deadline */
    const char *token; /* the token sent with calls; NULL when none */
    int json;          /* --json: one JSON document on stdout */
    int meta;          /* --meta on a read: show record metadata (a column; objects in JSON) */
    rk_tls_opts tls;   /* --tls-* (or $RANKD_TLS_*), for tls+tcp:// addresses */
    rk_status st;      /* why the command failed */
} ctl_ctx;

/* Option flags, one bit each. */
#define CTL_OPT_REPEAT (1u << 0) /* may be given again; every value is kept (ctl_opt_next) */

/* One option of a command. A NULL `metavar` makes it a flag with no
 * value. */
typedef struct ctl_optspec {
    const char *name;    /* "--game" */
    const char *metavar; /* "GAME"; NULL for a flag */
    const char *help;    /* one line for `rankctl CMD --help` */
    unsigned flags;      /* CTL_OPT_* */
} ctl_optspec;

/* One value of a CTL_OPT_REPEAT option. */
typedef struct ctl_repval {
    int opt;         /* index in the command's option table */
    const char *val; /* points into argv */
} ctl_repval;

struct ctl_cmd;

/* A parsed command line: option values by their index in the command's
 * option table, and the positional arguments in order. */
typedef struct ctl_args {
    const struct ctl_cmd *cmd;
    const char *val[CTL_MAX_OPTS]; /* NULL: not given; "" for a given flag; the last value */
    char **pos;                    /* points into argv */
    int npos;
    ctl_repval *rep; /* every value of CTL_OPT_REPEAT options, in order */
    int nrep;
} ctl_args;

typedef int (*ctl_run_fn)(ctl_ctx *cx, const ctl_args *a);

/* Command flags, one bit each. */
#define CTL_CMD_ANON (1u << 0) /* sends no token: a stale one must not block a fresh login */

/* One row of the command table. NULL synopsis: no arguments. */
typedef struct ctl_cmd {
    const char *group;              /* "board" for `board create`; NULL for one word */
    const char *name;               /* "create" */
    const char *synopsis;           /* positionals and options, for usage lines */
    const char *summary;            /* one line for `rankctl help` */
    int min_pos;                    /* positional arguments required */
    int max_pos;                    /* at most this many; -1 for no limit */
    ctl_optspec opts[CTL_MAX_OPTS]; /* ends at the first NULL name */
    unsigned flags;                 /* CTL_CMD_* */
    ctl_run_fn run;
} ctl_cmd;

/* ---------------------------------------------------------------- arguments (rankctl.c) */

/* The value of option `name` ("--game"), or NULL when it was not given.
 * Asking for an option the command does not declare is a bug: it aborts. */
const char *ctl_opt(const ctl_args *a, const char *name);

/* The values of a CTL_OPT_REPEAT option in command-line order: start
 * with *it = 0; NULL after the last one. */
const char *ctl_opt_next(const ctl_args *a, const char *name, int *it);

/* Records a usage error in cx->st and returns CTL_USAGE. */
int ctl_usage(ctl_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses all of `s` as a decimal integer in [min, max]. `what` names the
 * argument in the usage error ("--limit", "score"). */
int ctl_parse_i64(ctl_ctx *cx, const char *what, const char *s, int64_t min, int64_t max, int64_t *out);
int ctl_parse_u32(ctl_ctx *cx, const char *what, const char *s, uint32_t *out);

/* A point in time for --from and --to: "2026-10-01" (midnight UTC),
 * "2026-10-01T12:00:00Z" or Unix seconds ("1790812800"). */
int ctl_parse_time(ctl_ctx *cx, const char *what, const char *s, int64_t *out);

/* A USER argument: "#N" sets *id to N (*name NULL), anything else sets
 * *name to `s` (*id 0). */
int ctl_parse_user(ctl_ctx *cx, const char *what, const char *s, int64_t *id, const char **name);

/* For requests that carry only a username: refuses "" and "#N". */
int ctl_parse_username(ctl_ctx *cx, const char *what, const char *s);

/* The token file's path: $RANKD_TOKEN_FILE, $XDG_CONFIG_HOME/rankd/token
 * or $HOME/.config/rankd/token. RK_FAILED_PRECONDITION when none of
 * these variables is set. */
int ctl_token_path(ctl_ctx *cx, char *buf, size_t n);

/* Writes `token` to the token file with mode 0600, creating its directory
 * (mode 0700) when missing. The file is replaced atomically. */
int ctl_token_save(ctl_ctx *cx, const char *token);

/* Removes the token file if it holds `token`; *removed says whether it
 * did. A missing file is not an error. */
int ctl_token_forget(ctl_ctx *cx, const char *token, int *removed);

/* The password for signup/login: --password, else $RANKD_PASSWORD, else a
 * line from stdin, asked for with echo off on a terminal (twice with
 * `confirm`). *out is heap memory the caller releases with ctl_wipe(). */
int ctl_password(ctl_ctx *cx, const ctl_args *a, int confirm, char **out);

/* Zeroes and frees a secret; NULL is fine. */
void ctl_wipe(char *secret);

/* ---------------------------------------------------------------- enums (rankctl_cmds.c) */

/* Optional --window, --rank-mode and integer options of a request: the
 * has_ flag is set only when the option is given, so the server's default
 * applies otherwise. `field` is the request's enum field. */
int ctl_opt_window(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has, void *field);
int ctl_opt_rank_mode(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has, void *field);
int ctl_opt_u32(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, uint32_t *out);

/* A Rankd__Window as the word --window takes ("all", "weekly"). */
const char *ctl_show_window(int window, char *buf, size_t n);

/* ---------------------------------------------------------------- output (rankctl_out.c) */

/* Shown forms of values. Each returns either a constant or `buf`. */
const char *ctl_show_time(int64_t unix_secs, char *buf, size_t n);              /* UTC; 0 as "-" */
const char *ctl_show_time_us(int64_t unix_us, char *buf, size_t n);             /* UTC with ms */
const char *ctl_show_player(int64_t id, const char *name, char *buf, size_t n); /* name or #id */
const char *ctl_show_i64(int64_t v, char *buf, size_t n);

/* Prints one "key            value" line of a record. */
void ctl_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CTL_TBL_MAX_COLS 8

/* A table printed with every column as wide as its widest cell. Start
 * with {.ncols = N, .right = bits}, add the header row first. */
typedef struct ctl_tbl {
    int ncols;      /* at most CTL_TBL_MAX_COLS */
    unsigned right; /* bit i: right-align column i (numbers) */
    char **cells;   /* row-major, owned; row 0 is the header */
    size_t nrows, cap;
} ctl_tbl;

/* Appends a row of exactly t->ncols strings (copied; NULL prints empty). */
int ctl_tbl_add(ctl_ctx *cx, ctl_tbl *t, ...);
void ctl_tbl_print(const ctl_tbl *t);
void ctl_tbl_free(ctl_tbl *t);

/* Prints a reply for people; `arg` is whatever the command passed along. */
typedef int (*ctl_human_fn)(ctl_ctx *cx, const ProtobufCMessage *reply, const void *arg);

/* Prints `reply` as one JSON document (see json_out.h). */
int ctl_print_json(ctl_ctx *cx, const ProtobufCMessage *reply);

/* The end of every command: when `code` is RK_OK print the reply as JSON
 * (--json) or through `human`; always free the reply. Returns the status
 * to hand back to the driver (cx->st holds the call's message). */
int ctl_emit(ctl_ctx *cx, int code, void *reply, ctl_human_fn human, const void *arg);

/* ---------------------------------------------------------------- rankctl_cmds.c */

int cmd_signup(ctl_ctx *cx, const ctl_args *a);
int cmd_login(ctl_ctx *cx, const ctl_args *a);
int cmd_logout(ctl_ctx *cx, const ctl_args *a);
int cmd_whoami(ctl_ctx *cx, const ctl_args *a);
int cmd_apikey_create(ctl_ctx *cx, const ctl_args *a);
int cmd_apikey_list(ctl_ctx *cx, const ctl_args *a);
int cmd_apikey_revoke(ctl_ctx *cx, const ctl_args *a);
int cmd_board_create(ctl_ctx *cx, const ctl_args *a);
int cmd_board_get(ctl_ctx *cx, const ctl_args *a);
int cmd_board_list(ctl_ctx *cx, const ctl_args *a);
int cmd_board_delete(ctl_ctx *cx, const ctl_args *a);
int cmd_submit(ctl_ctx *cx, const ctl_args *a);
int cmd_submit_batch(ctl_ctx *cx, const ctl_args *a);
int cmd_top(ctl_ctx *cx, const ctl_args *a);
int cmd_rank(ctl_ctx *cx, const ctl_args *a);
int cmd_around(ctl_ctx *cx, const ctl_args *a);
int cmd_ranks(ctl_ctx *cx, const ctl_args *a);
int cmd_count(ctl_ctx *cx, const ctl_args *a);
int cmd_status(ctl_ctx *cx, const ctl_args *a);
int cmd_admin_set_role(ctl_ctx *cx, const ctl_args *a);
int cmd_admin_dead_letters(ctl_ctx *cx, const ctl_args *a);
int cmd_audit(ctl_ctx *cx, const ctl_args *a);
int cmd_board_update(ctl_ctx *cx, const ctl_args *a);
int cmd_remove(ctl_ctx *cx, const ctl_args *a);
int cmd_ban(ctl_ctx *cx, const ctl_args *a);
int cmd_unban(ctl_ctx *cx, const ctl_args *a);
int cmd_review_list(ctl_ctx *cx, const ctl_args *a);
int cmd_review_approve(ctl_ctx *cx, const ctl_args *a);
int cmd_review_reject(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_history.c */

int cmd_history(ctl_ctx *cx, const ctl_args *a);
int cmd_report(ctl_ctx *cx, const ctl_args *a);
int cmd_standings(ctl_ctx *cx, const ctl_args *a);
int cmd_snapshot(ctl_ctx *cx, const ctl_args *a);
int cmd_admin_rebuild(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_stand.c */

/* An optional score option (--min, --max): within +-2^53. */
int ctl_opt_score(ctl_ctx *cx, const ctl_args *a, const char *opt, protobuf_c_boolean *has, int64_t *out);
/* --min and --max, inclusive, into a request's bounds; --min <= --max. */
int ctl_opt_bounds(ctl_ctx *cx, const ctl_args *a, protobuf_c_boolean *has_min, int64_t *min,
                   protobuf_c_boolean *has_max, int64_t *max);

int cmd_score_range(ctl_ctx *cx, const ctl_args *a);
int cmd_percentile(ctl_ctx *cx, const ctl_args *a);
int cmd_distribution(ctl_ctx *cx, const ctl_args *a);
int cmd_standing(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_top.c */

/* `status --watch [--interval S] [--count N]`: refreshed until SIGINT or
 * N refreshes; cmd_status hands over when --watch is given. */
int ctl_status_watch(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_live.c */

/* Where rankd publishes events: --events-url, else $RANKD_EVENTS_URL. */
#define CTL_DEFAULT_EVENTS_URL "tcp://127.0.0.1:7401"

int cmd_events(ctl_ctx *cx, const ctl_args *a);
int cmd_watch(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_seasons.c */

int cmd_season_end(ctl_ctx *cx, const ctl_args *a);
int cmd_season_list(ctl_ctx *cx, const ctl_args *a);
int cmd_season_show(ctl_ctx *cx, const ctl_args *a);

/* ---------------------------------------------------------------- rankctl_counters.c */

int cmd_counter_create(ctl_ctx *cx, const ctl_args *a);
int cmd_counter_list(ctl_ctx *cx, const ctl_args *a);
int cmd_counter_incr(ctl_ctx *cx, const ctl_args *a);
int cmd_counter_get(ctl_ctx *cx, const ctl_args *a);

#endif
