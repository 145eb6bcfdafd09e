/*
 * rankctl.c - the rankd command-line client: flags, token, dispatch.
 *
 * Design. Every subcommand is one row of `commands`: its words, a usage
 * synopsis, the options it accepts and the function that runs it. The
 * driver does everything that is the same for all of them: global flags,
 * finding the row, splitting the rest of the command line against the
 * row's option table (strictly: an unknown option, a repeated one or a
 * missing value is a usage error), the token, opening the client, and
 * turning the command's status into output and an exit status. Adding an
 * RPC to the tool is adding a row here and a function in rankctl_cmds.c
 * (or rankctl_history.c, rankctl_live.c). The argument helpers every
 * command shares (numbers, times, USER arguments, the password prompt)
 * live here too, declared in rankctl_cmds.h; the output helpers live in
 * rankctl_out.c.
 *
 * Exit statuses: 0 success, 1 the call (or local work such as reading a
 * file) failed, 2 the command line was wrong. Errors go to stderr as
 * "rankctl: CODE_NAME: message"; with --json a {"code","code_name",
 * "message"} document also goes to stdout so a script always gets JSON.
 *
 * What it must never do: print a token it did not receive in a reply, or
 * leave the token file readable by anyone but its owner.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rankctl_cmds.h"

#define CTL_DEFAULT_URL "tcp://127.0.0.1:7400"
#define CTL_PATH_MAX 4096

/* Internal to the driver: --help was given, print usage and exit 0. */
#define CTL_HELP (-3)

/* ---------------------------------------------------------------- command table */

#define OPT_WINDOW \
    { "--window", "W", "all, daily, weekly or monthly (default all)" }
#define OPT_RANK_MODE \
    { "--rank-mode", "M", "competition (1,2,2,4), dense (1,2,2,3) or unique (1,2,3,4)" }
#define OPT_META \
    { "--meta", NULL, "show each entry's record metadata (a META column; objects with --json)" }
#define OPT_MIN \
    { "--min", "S", "lowest score counted, inclusive (default: no bound)" }
#define OPT_MAX \
    { "--max", "S", "highest score counted, inclusive (default: no bound)" }
#define OPT_PASSWORD \
    { "--password", "P", "the password; else $RANKD_PASSWORD, else asked for (stdin if not a tty)" }
#define OPT_OFFSET \
    { "--offset", "N", "skip the first N rows" }
#define OPT_FROM \
    { "--from", "TIME", "from TIME on: 2026-10-01, 2026-10-01T12:00:00Z or Unix seconds" }
#define OPT_TO \
    { "--to", "TIME", "up to TIME, not included (the same forms)" }
#define OPT_EVENTS_URL \
    { "--events-url", "URL", "rankd's events; else $RANKD_EVENTS_URL, else " CTL_DEFAULT_EVENTS_URL }
#define OPT_COUNT \
    { "--count", "N", "stop after N events" }
#define OPT_REASON \
    { "--reason", "WHY", "why, kept in the audit log (at most 256 bytes)" }
#define OPT_SEASON_SCHEDULE                                                                                     \
    {                                                                                                           \
        "--season-schedule", "S",                                                                               \
            "when seasons end (UTC): 'weekly mon 00:00', 'daily 00:00', 'monthly 1 00:00', 'every 5m'; '' none" \
    }
#define OPT_TIMEOUT \
    { "--timeout", "S", "stop after S seconds (fractions allowed)" }

static const ctl_cmd commands[] = {
    {.name = "signup",
     .synopsis = "USER [--password P]",
     .summary = "create a player account",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_PASSWORD},
     .flags = CTL_CMD_ANON,
     .run = cmd_signup},
    {.name = "login",
     .synopsis = "USER [--password P]",
     .summary = "log in and save the token to the token file",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_PASSWORD},
     .flags = CTL_CMD_ANON,
     .run = cmd_login},
    {.name = "logout", .summary = "revoke the token and remove the token file", .run = cmd_logout},
    {.name = "whoami", .summary = "show who the token belongs to", .run = cmd_whoami},
    {.group = "apikey",
     .name = "create",
     .synopsis = "GAME [--label L] [--reason WHY]",
     .summary = "create a game-server API key (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--label", "L", "a note to tell keys apart"}, OPT_REASON},
     .run = cmd_apikey_create},
    {.group = "apikey",
     .name = "list",
     .synopsis = "[--game G]",
     .summary = "list API keys (admin)",
     .opts = {{"--game", "G", "only this game's keys"}},
     .run = cmd_apikey_list},
    {.group = "apikey",
     .name = "revoke",
     .synopsis = "KEY_ID [--reason WHY]",
     .summary = "revoke an API key",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_apikey_revoke},
    {.group = "board",
     .name = "create",
     .synopsis = "ID --game G [--title T] [--order higher|lower] [--policy best|latest|sum]\n"
                 "                    [--windows daily,weekly,monthly] [--min N] [--max N]"
                 " [--player-submit]\n"
                 "                    [--rate-limit N] [--max-step N] [--max-rate N] [--season-schedule S]\n"
                 "                    [--sources A,B,...] [--shards S] [--reason WHY]",
     .summary = "create a leaderboard",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--game", "G", "the game the board belongs to (required)"},
              {"--title", "T", "a title to show players"},
              {"--order", "O", "higher or lower: which scores are better (default higher)"},
              {"--policy", "P", "best, latest or sum: what a new score does (default best)"},
              {"--windows", "LIST", "extra windows kept besides all-time: daily,weekly,monthly"},
              {"--min", "N", "lowest score accepted"},
              {"--max", "N", "highest score accepted"},
              {"--player-submit", NULL, "let players submit their own scores"},
              {"--rate-limit", "N", "at most N submissions per player a minute (0: none)"},
              {"--max-step", "N", "hold for review a submission improving a player's score by more than N"},
              {"--max-rate", "N", "hold one improving it faster than N a second since their previous one"},
              OPT_SEASON_SCHEDULE,
              {"--sources", "LIST", "an aggregate: each player's sum over these boards' all-time values"},
              {"--shards", "S", "a hot board: its players spread over S sorted sets (1..16, default 1)"},
              OPT_REASON},
     .run = cmd_board_create},
    {.group = "board",
     .name = "update",
     .synopsis = "ID [--title T] [--min N] [--max N] [--player-submit yes|no] [--add-windows LIST]\n"
                 "                    [--rate-limit N] [--max-step N] [--max-rate N] [--season-schedule S]"
                 " [--reason WHY]",
     .summary = "change a board's settings; its order and policy cannot change (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--title", "T", "a new title"},
              {"--min", "N", "lowest score accepted from now on"},
              {"--max", "N", "highest score accepted from now on"},
              {"--player-submit", "yes|no", "whether players may submit their own scores"},
              {"--add-windows", "LIST", "windows to keep from now on: daily,weekly,monthly (filled from the history)"},
              {"--rate-limit", "N", "at most N submissions per player a minute (0: none)"},
              {"--max-step", "N", "hold for review improvements larger than N (0: none)"},
              {"--max-rate", "N", "hold for review improvements faster than N a second (0: none)"},
              {"--order", "O", "higher or lower: refused unless it is the board's"},
              {"--policy", "P", "best, latest or sum: refused unless it is the board's"},
              OPT_SEASON_SCHEDULE,
              OPT_REASON},
     .run = cmd_board_update},
    {.group = "board",
     .name = "get",
     .synopsis = "ID",
     .summary = "show a board's settings",
     .min_pos = 1,
     .max_pos = 1,
     .run = cmd_board_get},
    {.group = "board",
     .name = "list",
     .synopsis = "[--game G]",
     .summary = "list boards",
     .opts = {{"--game", "G", "only this game's boards"}},
     .run = cmd_board_list},
    {.group = "board",
     .name = "delete",
     .synopsis = "ID [--reason WHY]",
     .summary = "delete a board and its scores",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_board_delete},
    {.group = "counter",
     .name = "create",
     .synopsis = "GAME NAME [--shards N] [--stale-ms MS]",
     .summary = "create a counter (admins)",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {{"--shards", "N", "sub-keys increments are spread over, 1..64 (default 1)"},
              {"--stale-ms", "MS", "how old a read may be, 0..60000 (default 1000)"}},
     .run = cmd_counter_create},
    {.group = "counter",
     .name = "list",
     .synopsis = "[--game G]",
     .summary = "list counters",
     .opts = {{"--game", "G", "only this game's counters"}},
     .run = cmd_counter_list},
    {.group = "counter",
     .name = "incr",
     .synopsis = "GAME NAME DELTA [--idempotency-key K]",
     .summary = "add DELTA (may be negative) to a counter (game-server keys and admins)",
     .min_pos = 3,
     .max_pos = 3,
     .opts = {{"--idempotency-key", "K", "makes a retry safe: the same key is counted once"}},
     .run = cmd_counter_incr},
    {.group = "counter",
     .name = "get",
     .synopsis = "GAME NAME [--window W]",
     .summary = "show a counter's total",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_WINDOW},
     .run = cmd_counter_get},
    {.name = "submit",
     .synopsis = "BOARD (--user-id N | --user NAME) SCORE [--idempotency-key K] [--meta JSON]",
     .summary = "submit one score",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {{"--user-id", "N", "the player's numeric id"},
              {"--user", "NAME", "the player's username ('#N' for an id)"},
              {"--idempotency-key", "K",
               "makes a retry safe: the same key gets the first answer (another score under it is refused)"},
              {"--meta", "JSON", "record metadata, a JSON object of at most 1024 bytes ('{\"car\":\"rx7\"}')"}},
     .run = cmd_submit},
    {.name = "submit-batch",
     .synopsis = "FILE|-",
     .summary = "submit scores from lines \"board user score [key] [{metadata}]\"",
     .min_pos = 1,
     .max_pos = 1,
     .run = cmd_submit_batch},
    {.name = "top",
     .synopsis = "BOARD [--window W] [--offset N] [--limit N] [--rank-mode M] [--meta]",
     .summary = "show the best players of a board",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_WINDOW,
              {"--offset", "N", "skip the first N players"},
              {"--limit", "N", "show at most N players (server default 10)"},
              OPT_RANK_MODE,
              OPT_META},
     .run = cmd_top},
    {.name = "rank",
     .synopsis = "BOARD USER [--window W] [--rank-mode M] [--meta]",
     .summary = "show one player's rank",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_WINDOW, OPT_RANK_MODE, OPT_META},
     .run = cmd_rank},
    {.name = "around",
     .synopsis = "BOARD USER [--above N] [--below N] [--window W] [--rank-mode M] [--meta]",
     .summary = "show the players ranked near a player",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {{"--above", "N", "players shown above (server default 5)"},
              {"--below", "N", "players shown below (server default 5)"},
              OPT_WINDOW,
              OPT_RANK_MODE,
              OPT_META},
     .run = cmd_around},
    {.name = "ranks",
     .synopsis = "BOARD USER... [--window W] [--rank-mode M]",
     .summary = "show the ranks of several players",
     .min_pos = 2,
     .max_pos = -1,
     .opts = {OPT_WINDOW, OPT_RANK_MODE},
     .run = cmd_ranks},
    {.name = "count",
     .synopsis = "BOARD [--window W] [--min S] [--max S]",
     .summary = "count the players on a board, or those with a score in [--min, --max]",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_WINDOW, OPT_MIN, OPT_MAX},
     .run = cmd_count},
    {.name = "score-range",
     .synopsis = "BOARD [--min S] [--max S] [--offset N] [--limit N] [--window W] [--rank-mode M]",
     .summary = "show the players with a score in [--min, --max], with their ranks",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_MIN,
              OPT_MAX,
              {"--offset", "N", "skip the first N players of the range"},
              {"--limit", "N", "show at most N players (server default 10)"},
              OPT_WINDOW,
              OPT_RANK_MODE},
     .run = cmd_score_range},
    {.name = "percentile",
     .synopsis = "BOARD (--top P | --score S) [--window W]",
     .summary = "the lowest score in the top P%, or the rank and percentile of a score",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--top", "P", "a percentage in (0, 100]: the score needed to be in the top P%"},
              {"--score", "S", "a score: the rank and \"top x%\" a player with it has"},
              OPT_WINDOW},
     .run = cmd_percentile},
    {.name = "distribution",
     .synopsis = "BOARD [--buckets N] [--min S] [--max S] [--user U] [--window W]",
     .summary = "a histogram of a board's scores",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--buckets", "N", "1 to 100 buckets of equal width (server default 10)"},
              {"--min", "S", "the histogram's lowest score (default: the board's)"},
              {"--max", "S", "the histogram's highest score (default: the board's)"},
              {"--user", "U", "mark this player's bucket ('#N' for an id)"},
              OPT_WINDOW},
     .run = cmd_distribution},
    {.name = "standing",
     .synopsis = "USER [--game G] [--window W] [--offset N] [--limit N] [--rank-mode M]",
     .summary = "show a player's rank, score and percentile on every board and the global board",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--game", "G", "only this game's boards (then not the global board)"},
              OPT_WINDOW,
              {"--offset", "N", "skip the first N boards"},
              {"--limit", "N", "show at most N boards (server default 50)"},
              OPT_RANK_MODE},
     .run = cmd_standing},
    {.name = "status",
     .synopsis = "[--watch [--interval S] [--count N]]",
     .summary = "show the server's health; --watch: refreshed, with rates and latencies",
     .opts = {{"--watch", NULL, "refresh until Ctrl-C, like top (with --json: one JSON line per refresh)"},
              {"--interval", "S", "seconds between refreshes, fractions allowed (default 1)"},
              {"--count", "N", "stop after N refreshes"}},
     .run = cmd_status},
    {.group = "admin",
     .name = "set-role",
     .synopsis = "USER player|admin [--reason WHY]",
     .summary = "change a user's role (admin)",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_REASON},
     .run = cmd_admin_set_role},
    {.group = "admin",
     .name = "rebuild",
     .synopsis = "[BOARD] [--reason WHY]",
     .summary = "rebuild the live boards in Redis from PostgreSQL (admin)",
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_admin_rebuild},
    {.group = "admin",
     .name = "dead-letters",
     .synopsis = "[--limit N]",
     .summary = "list accepted submissions PostgreSQL refused (admin)",
     .opts = {{"--limit", "N", "at most N, oldest first (server default 50, at most 1000)"}},
     .run = cmd_admin_dead_letters},
    {.group = "season",
     .name = "end",
     .synopsis = "BOARD [--season N] [--reason WHY]",
     .summary = "end a board's season: its final standings are kept, the board starts empty (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--season", "N", "end only if N is the board's current season (safe to retry)"}, OPT_REASON},
     .run = cmd_season_end},
    {.group = "season",
     .name = "list",
     .synopsis = "BOARD [--offset N] [--limit N]",
     .summary = "list a board's ended seasons, newest first",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_OFFSET, {"--limit", "N", "at most N seasons (server default 50, at most 1000)"}},
     .run = cmd_season_list},
    {.group = "season",
     .name = "show",
     .synopsis = "BOARD N [--offset N] [--limit N]",
     .summary = "show an ended season and its final standings",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_OFFSET, {"--limit", "N", "at most N players (server default 100, at most 1000)"}},
     .run = cmd_season_show},
    {.name = "remove",
     .synopsis = "BOARD USER [--reason WHY]",
     .summary = "take a player's entry off a board, every window and the global total (admin)",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_REASON},
     .run = cmd_remove},
    {.name = "ban",
     .synopsis = "USER [--reason WHY]",
     .summary = "ban a player: entries off every board, submissions refused, tokens void (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--reason", "WHY", "why, told to the player and kept in the audit log (at most 256 bytes)"}},
     .run = cmd_ban},
    {.name = "unban",
     .synopsis = "USER [--reason WHY]",
     .summary = "lift a ban: the player's entries come back as they were (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_unban},
    {.group = "review",
     .name = "list",
     .synopsis = "[--board B] [--limit N]",
     .summary = "list submissions held for review by a plausibility rule, oldest first (admin)",
     .opts = {{"--board", "B", "only this board's"}, {"--limit", "N", "at most N (server default 50, at most 1000)"}},
     .run = cmd_review_list},
    {.group = "review",
     .name = "approve",
     .synopsis = "ENTRY [--reason WHY]",
     .summary = "approve a held submission: it counts from now on (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_review_approve},
    {.group = "review",
     .name = "reject",
     .synopsis = "ENTRY [--reason WHY]",
     .summary = "reject a held submission: it never counts, the history keeps it (admin)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_REASON},
     .run = cmd_review_reject},
    {.name = "audit",
     .synopsis = "[--limit N] [--before ID] [--action A] [--target T]",
     .summary = "page through the audit log of admin actions, newest first (admin)",
     .opts = {{"--limit", "N", "at most N entries (server default 50, at most 1000)"},
              {"--before", "ID", "entries older than ID (the next page, as the last one says)"},
              {"--action", "A", "only this action: board.create, role.set, entry.remove, ..."},
              {"--target", "T", "only this target: a board id, a username, 'key N'"}},
     .run = cmd_audit},
    {.name = "history",
     .synopsis = "BOARD USER [--from TIME] [--to TIME] [--offset N] [--limit N] [--meta]",
     .summary = "show a player's submissions to a board, newest first",
     .min_pos = 2,
     .max_pos = 2,
     .opts = {OPT_FROM, OPT_TO, OPT_OFFSET, {"--limit", "N", "show at most N (server default 50)"}, OPT_META},
     .run = cmd_history},
    {.name = "report",
     .synopsis = "BOARD [--from TIME] [--to TIME] [--offset N] [--limit N] [--rank-mode M]\n"
                 "                    [--format table|csv|json]",
     .summary = "rank a board's players over a period (all time without --from/--to)",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_FROM,
              OPT_TO,
              OPT_OFFSET,
              {"--limit", "N", "at most N players (default 100)"},
              OPT_RANK_MODE,
              {"--format", "F", "table, csv or json (--json is json)"}},
     .run = cmd_report},
    {.name = "standings",
     .synopsis = "BOARD --window daily|weekly|monthly --at LABEL",
     .summary = "show the final standings of a closed window",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--window", "W", "daily, weekly or monthly (required)"},
              {"--at", "LABEL", "the window: 2026-11-23, 2026-W45 or 2026-11 (required)"}},
     .run = cmd_standings},
    {.name = "snapshot",
     .synopsis = "BOARD [--at TIME]",
     .summary = "show a board's top N as a periodic snapshot recorded it",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {{"--at", "TIME",
               "the last snapshot at or before TIME: 2026-10-01, 2026-10-01T12:00:00Z or Unix seconds"}},
     .run = cmd_snapshot},
    {.name = "events",
     .synopsis = "[--events-url URL] [--topic PREFIX]... [--count N] [--timeout S]",
     .summary = "print live events, one JSON line each",
     .opts = {OPT_EVENTS_URL,
              {"--topic", "PREFIX", "only topics that start with PREFIX (repeatable; default all)", CTL_OPT_REPEAT},
              OPT_COUNT,
              OPT_TIMEOUT},
     .run = cmd_events},
    {.name = "watch",
     .synopsis = "BOARD [--window W] [--limit N] [--events-url URL] [--count N] [--timeout S]",
     .summary = "show a board's top live, redrawn on every change",
     .min_pos = 1,
     .max_pos = 1,
     .opts = {OPT_WINDOW,
              {"--limit", "N", "show the top N (default 10)"},
              OPT_EVENTS_URL,
              {"--count", "N", "stop after N updates"},
              OPT_TIMEOUT},
     .run = cmd_watch},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Global options, split by the same parser as a command's. */
enum { G_URL, G_TOKEN, G_JSON, G_DEADLINE, G_TLS_CA, G_TLS_CERT, G_TLS_KEY, G_TLS_SERVER_NAME };
static const ctl_optspec global_opts[] = {
    [G_URL] = {"--url", "URL", "rankd address; else $RANKD_URL, else " CTL_DEFAULT_URL},
    [G_TOKEN] = {"--token", "TOKEN", "token or API key; else $RANKD_TOKEN, else the token file"},
    [G_JSON] = {"--json", NULL, "print the reply as one JSON document"},
    [G_DEADLINE] = {"--deadline", "MS", "give up on a call after MS milliseconds (default 5000)"},
    [G_TLS_CA] = {"--tls-ca", "FILE", "CA certificate (PEM) of tls+tcp:// servers; else $RANKD_TLS_CA"},
    [G_TLS_CERT] = {"--tls-cert", "FILE", "client certificate (PEM) for servers that want one; else $RANKD_TLS_CERT"},
    [G_TLS_KEY] = {"--tls-key", "FILE", "its private key (PEM); else $RANKD_TLS_KEY"},
    [G_TLS_SERVER_NAME] = {"--tls-server-name", "NAME",
                           "name the server's certificate must carry (default: the address's host); else "
                           "$RANKD_TLS_SERVER_NAME"},
    {NULL, NULL, NULL},
};

/* ---------------------------------------------------------------- helpers for commands */

const char *ctl_opt(const ctl_args *a, const char *name) {
    for (int i = 0; i < CTL_MAX_OPTS && a->cmd->opts[i].name; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0) return a->val[i];
    fprintf(stderr, "rankctl: internal error: %s does not declare %s\n", a->cmd->name, name);
    abort();
}

const char *ctl_opt_next(const ctl_args *a, const char *name, int *it) {
    (void)ctl_opt(a, name); /* the same check for undeclared names */
    for (; *it < a->nrep; (*it)++) {
        const ctl_repval *r = &a->rep[*it];
        if (strcmp(a->cmd->opts[r->opt].name, name) == 0) return a->rep[(*it)++].val;
    }
    return NULL;
}

int ctl_usage(ctl_ctx *cx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cx->st.code = RK_INVALID_ARGUMENT;
    vsnprintf(cx->st.message, sizeof(cx->st.message), fmt, ap);
    va_end(ap);
    return CTL_USAGE;
}

int ctl_parse_i64(ctl_ctx *cx, const char *what, const char *s, int64_t min, int64_t max, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* strtoll skips leading blanks and accepts a lone sign: refuse both. */
    if (*s == '\0' || isspace((unsigned char)*s) || end == s || *end != '\0')
        return ctl_usage(cx, "%s: '%s' is not a whole number", what, s);
    if (errno == ERANGE || v < min || v > max)
        return ctl_usage(cx, "%s: %s is out of range (%lld..%lld)", what, s, (long long)min, (long long)max);
    *out = v;
    return RK_OK;
}

int ctl_parse_u32(ctl_ctx *cx, const char *what, const char *s, uint32_t *out) {
    int64_t v = 0;
    int code = ctl_parse_i64(cx, what, s, 0, UINT32_MAX, &v);
    if (code == RK_OK) *out = (uint32_t)v;
    return code;
}

/* Does `s` have the shape of `tmpl`, where '9' stands for any digit? */
static int has_shape(const char *s, const char *tmpl) {
    for (; *tmpl; s++, tmpl++)
        if (*tmpl == '9' ? !isdigit((unsigned char)*s) : *s != *tmpl) return 0;
    return *s == '\0';
}

/* The latest second a date shows with four digits: 9999-12-31T23:59:59Z. */
#define CTL_TIME_MAX INT64_C(253402300799)

int ctl_parse_time(ctl_ctx *cx, const char *what, const char *s, int64_t *out) {
    struct tm tm = {0}, back;
    int date = has_shape(s, "9999-99-99"), stamp = has_shape(s, "9999-99-99T99:99:99Z");
    if (*s && strspn(s, "0123456789") == strlen(s)) return ctl_parse_i64(cx, what, s, 0, CTL_TIME_MAX, out);
    if (!date && !stamp)
        return ctl_usage(cx,
                         "%s: '%s' is not a time (2026-10-01, 2026-10-01T12:00:00Z or Unix "
                         "seconds)",
                         what, s);
    sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
    if (stamp) sscanf(s + 11, "%2d:%2d:%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    back = tm;
    time_t t = timegm(&tm);
    /* timegm() normalizes 2026-02-30 into March: refuse what moved. */
    if (t < 0 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon || tm.tm_mday != back.tm_mday ||
        tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
        return ctl_usage(cx, "%s: '%s' is not a valid date and time", what, s);
    *out = (int64_t)t;
    return RK_OK;
}

/* A USER argument: "#N" is user id N, anything else a username. */
int ctl_parse_user(ctl_ctx *cx, const char *what, const char *s, int64_t *id, const char **name) {
    *id = 0;
    *name = NULL;
    if (*s == '\0') return ctl_usage(cx, "%s: empty user name", what);
    if (*s != '#') {
        *name = s;
        return RK_OK;
    }
    if (ctl_parse_i64(cx, what, s + 1, 1, INT64_MAX, id) != RK_OK)
        return ctl_usage(cx, "%s: '%s' is not a user id (#1 or above)", what, s);
    return RK_OK;
}

/* Commands whose request carries only a username. */
int ctl_parse_username(ctl_ctx *cx, const char *what, const char *s) {
    if (*s == '\0') return ctl_usage(cx, "%s: empty user name", what);
    if (*s == '#') return ctl_usage(cx, "%s: needs a username, not a user id ('%s')", what, s);
    return RK_OK;
}

/* ---------------------------------------------------------------- token file */

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int ctl_token_path(ctl_ctx *cx, char *buf, size_t n) {
    const char *v;
    int len;
    if ((v = env("RANKD_TOKEN_FILE")))
        len = snprintf(buf, n, "%s", v);
    else if ((v = env("XDG_CONFIG_HOME")))
        len = snprintf(buf, n, "%s/rankd/token", v);
    else if ((v = env("HOME")))
        len = snprintf(buf, n, "%s/.config/rankd/token", v);
    else
        return rk_status_set(&cx->st, RK_FAILED_PRECONDITION,
                             "no token file: set RANKD_TOKEN_FILE, XDG_CONFIG_HOME or HOME");
    if (len < 0 || (size_t)len >= n) return rk_status_set(&cx->st, RK_INVALID_ARGUMENT, "token file path is too long");
    return RK_OK;
}

/* Reads the first line of the token file into *out (caller frees); *out
 * stays NULL when the file does not exist or is empty. */
static int token_read(ctl_ctx *cx, const char *path, char **out) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    *out = NULL;
    if (f == NULL) {
        if (errno == ENOENT) return RK_OK;
        return rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot read token file %s: %s", path, strerror(errno));
    }
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = '\0';
    if (n <= 0) {
        free(line);
        return RK_OK;
    }
    *out = line;
    return RK_OK;
}

/* mkdir -p for the directory part of `path`; new directories get 0700
 * because they hold a credential. */
static int make_parent_dirs(ctl_ctx *cx, const char *path) {
    char dir[CTL_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) return RK_OK;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot create %s: %s", dir, strerror(errno));
        if (c == '\0') break;
        *p = c;
    }
    return RK_OK;
}

int ctl_token_save(ctl_ctx *cx, const char *token) {
    char path[CTL_PATH_MAX], tmp[CTL_PATH_MAX + 16];
    int code, fd;
    if ((code = ctl_token_path(cx, path, sizeof(path))) != RK_OK) return code;
    if ((code = make_parent_dirs(cx, path)) != RK_OK) return code;
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    /* mkstemp creates the file 0600 whatever the umask; write then rename
     * so a reader never sees half a token. */
    if ((fd = mkstemp(tmp)) < 0)
        return rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot write %s: %s", path, strerror(errno));
    size_t len = strlen(token);
    int ok =
        fchmod(fd, 0600) == 0 && write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        return rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot write %s: %s", path, strerror(err));
    }
    return RK_OK;
}

int ctl_token_forget(ctl_ctx *cx, const char *token, int *removed) {
    char path[CTL_PATH_MAX];
    char *saved = NULL;
    int code;
    *removed = 0;
    if ((code = ctl_token_path(cx, path, sizeof(path))) != RK_OK) return code;
    if ((code = token_read(cx, path, &saved)) != RK_OK) return code;
    /* A token given with --token or $RANKD_TOKEN may not be the saved one;
     * deleting someone else's saved login would be a surprise. */
    if (saved && strcmp(saved, token) == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            code = rk_status_set(&cx->st, RK_FAILED_PRECONDITION, "cannot remove %s: %s", path, strerror(errno));
        else
            *removed = 1;
    }
    free(saved);
    return code;
}

/* ---------------------------------------------------------------- passwords */

/* Reads a line from stdin; on a terminal, prompts on stderr with echo off.
 * *out is heap memory the caller wipes and frees. */
static int read_secret(ctl_ctx *cx, const char *prompt, char **out) {
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    size_t cap = 0;
    *out = NULL;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ssize_t n = getline(out, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0 || *out == NULL) {
        free(*out);
        *out = NULL;
        return ctl_usage(cx, "no password: give --password, set RANKD_PASSWORD or type it");
    }
    while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r')) (*out)[--n] = '\0';
    return RK_OK;
}

void ctl_wipe(char *secret) {
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

/* The password: --password, else $RANKD_PASSWORD, else stdin. With
 * `confirm` on a terminal it is asked twice (a typo at sign-up would lock
 * the player out). *out is the caller's to ctl_wipe(). */
int ctl_password(ctl_ctx *cx, const ctl_args *a, int confirm, char **out) {
    const char *given = ctl_opt(a, "--password");
    char *again = NULL;
    int code;
    if (given == NULL) given = env("RANKD_PASSWORD");
    if (given) {
        if ((*out = strdup(given)) == NULL) return rk_status_set(&cx->st, RK_RESOURCE_EXHAUSTED, "out of memory");
        return RK_OK;
    }
    if ((code = read_secret(cx, "Password: ", out)) != RK_OK) return code;
    if (!confirm || !isatty(STDIN_FILENO)) return RK_OK;
    if ((code = read_secret(cx, "Again: ", &again)) != RK_OK) {
        ctl_wipe(*out);
        *out = NULL;
        return code;
    }
    if (*out == NULL || again == NULL || strcmp(*out, again) != 0)
        code = rk_status_set(&cx->st, RK_INVALID_ARGUMENT, "the two passwords differ");
    ctl_wipe(again);
    if (code != RK_OK) {
        ctl_wipe(*out);
        *out = NULL;
    }
    return code;
}

/* ---------------------------------------------------------------- argument splitting */

static int find_opt(const ctl_optspec *specs, const char *name, size_t len) {
    for (int i = 0; i < CTL_MAX_OPTS && specs[i].name; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return i;
    return -1;
}

/* Splits argv[0..argc) against `specs`: option values into val[], the rest
 * into pos[] (which has room for argc entries), and every value of a
 * CTL_OPT_REPEAT option also into rep[] (room for argc; NULL when `specs`
 * has none). With `stop`, splitting ends at the first positional argument,
 * which is where the command begins. `who` prefixes usage errors. *used is
 * how many arguments were consumed. */
static int split_args(ctl_ctx *cx, const char *who, const ctl_optspec *specs, int argc, char **argv, int stop,
                      const char **val, char **pos, int *npos, ctl_repval *rep, int *nrep, int *used) {
    int i = 0, only_pos = 0;
    *npos = 0;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        /* "-" names stdin and "-5" is a score: only "--x" and "-h" are options. */
        int is_opt = !only_pos && arg[0] == '-' && arg[1] != '\0' && !(arg[1] >= '0' && arg[1] <= '9');
        if (!is_opt) {
            if (stop) break;
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            if (stop) {
                i++;
                break;
            }
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return CTL_HELP;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        int k = arg[1] == '-' ? find_opt(specs, arg, len) : -1;
        if (k < 0) {
            if (!stop && find_opt(global_opts, arg, len) >= 0)
                return ctl_usage(cx, "%s: %.*s is a global option; put it before the command", who, (int)len, arg);
            return ctl_usage(cx, "%s: unknown option %.*s", who, (int)len, arg);
        }
        if (val[k] != NULL && !(specs[k].flags & CTL_OPT_REPEAT))
            return ctl_usage(cx, "%s: %s given twice", who, specs[k].name);
        if (specs[k].metavar == NULL) {
            if (eq) return ctl_usage(cx, "%s: %s takes no value", who, specs[k].name);
            val[k] = "";
        } else if (eq) {
            val[k] = eq + 1;
        } else if (i + 1 < argc) {
            val[k] = argv[++i];
        } else {
            return ctl_usage(cx, "%s: %s needs a value (%s)", who, specs[k].name, specs[k].metavar);
        }
        if (specs[k].flags & CTL_OPT_REPEAT) rep[(*nrep)++] = (ctl_repval){k, val[k]};
    }
    *used = i;
    return RK_OK;
}

/* ---------------------------------------------------------------- help */

static void cmd_words(const ctl_cmd *c, char *buf, size_t n) {
    if (c->group)
        snprintf(buf, n, "%s %s", c->group, c->name);
    else
        snprintf(buf, n, "%s", c->name);
}

static void print_opts(FILE *out, const ctl_optspec *specs) {
    for (int i = 0; i < CTL_MAX_OPTS && specs[i].name; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", specs[i].name, specs[i].metavar ? " " : "",
                 specs[i].metavar ? specs[i].metavar : "");
        fprintf(out, "  %-20s %s\n", left, specs[i].help);
    }
}

/* Commands whose group is `group` (all of them when NULL). */
static void print_command_list(FILE *out, const char *group) {
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const ctl_cmd *c = &commands[i];
        char words[64];
        if (group && (c->group == NULL || strcmp(c->group, group) != 0)) continue;
        cmd_words(c, words, sizeof(words));
        fprintf(out, "  %-16s %s\n", words, c->summary);
    }
}

static void print_global_help(FILE *out) {
    fprintf(out, "usage: rankctl [--url URL] [--token TOKEN] [--json] [--deadline MS] [--tls-ca FILE ...] COMMAND "
                 "[ARGS...]\n\nGlobal options (before the command):\n");
    print_opts(out, global_opts);
    fprintf(out, "  %-20s %s\n", "--help", "show this help");
    fprintf(out, "\nCommands:\n");
    print_command_list(out, NULL);
    fprintf(out, "\nUSER arguments take a username, or '#N' (quoted: the shell treats # as a\n"
                 "comment) for user id N. The board id \"global\" is the global board.\n"
                 "Run 'rankctl COMMAND --help' for a command's options.\n");
}

static void print_usage_line(FILE *out, const ctl_cmd *c) {
    char words[64];
    cmd_words(c, words, sizeof(words));
    const char *syn = c->synopsis ? c->synopsis : "";
    fprintf(out, "usage: rankctl %s%s%s\n", words, *syn ? " " : "", syn);
}

static void print_cmd_help(FILE *out, const ctl_cmd *c) {
    print_usage_line(out, c);
    fprintf(out, "\n%c%s.\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (c->opts[0].name) {
        fprintf(out, "\nOptions:\n");
        print_opts(out, c->opts);
    }
}

/* ---------------------------------------------------------------- dispatch */

static int is_group(const char *word) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].group && strcmp(commands[i].group, word) == 0) return 1;
    return 0;
}

/* Finds the row named by argv[0] (and argv[1] for a group); *words is how
 * many arguments named it. */
static const ctl_cmd *find_command(int argc, char **argv, int *words) {
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const ctl_cmd *c = &commands[i];
        if (c->group == NULL && strcmp(c->name, argv[0]) == 0) {
            *words = 1;
            return &commands[i];
        }
        if (c->group && argc > 1 && strcmp(c->group, argv[0]) == 0 && strcmp(c->name, argv[1]) == 0) {
            *words = 2;
            return &commands[i];
        }
    }
    return NULL;
}

/* `rankctl help [WORDS...]`. */
static int run_help(ctl_ctx *cx, int argc, char **argv) {
    int words;
    const ctl_cmd *row;
    if (argc == 0) {
        print_global_help(stdout);
        return RK_OK;
    }
    if ((row = find_command(argc, argv, &words)) != NULL && words == argc) {
        print_cmd_help(stdout, row);
        return RK_OK;
    }
    if (argc == 1 && is_group(argv[0])) {
        printf("usage: rankctl %s SUBCOMMAND ...\n\nSubcommands:\n", argv[0]);
        print_command_list(stdout, argv[0]);
        return RK_OK;
    }
    return ctl_usage(cx, "help: no command named '%s'", argv[0]);
}

/* Prints a failure and picks the exit status; `c` is the command, if the
 * command line got that far. */
static int report(ctl_ctx *cx, int code, const ctl_cmd *c) {
    if (code == RK_OK) return 0;
    if (code == CTL_USAGE) {
        fprintf(stderr, "rankctl: %s\n", cx->st.message);
        if (c)
            print_usage_line(stderr, c);
        else
            fprintf(stderr, "Run 'rankctl help' for the list of commands.\n");
    } else if (code == CTL_PRINTED_FAILURE) {
        fprintf(stderr, "rankctl: %s\n", cx->st.message);
        return 1;
    } else {
        fprintf(stderr, "rankctl: %s: %s\n", rk_code_name(code), cx->st.message);
    }
    if (cx->json) {
        int wire = code == CTL_USAGE ? RK_INVALID_ARGUMENT : code;
        cJSON *doc = cJSON_CreateObject();
        char *text = NULL;
        if (doc && cJSON_AddNumberToObject(doc, "code", wire) &&
            cJSON_AddStringToObject(doc, "code_name", rk_code_name(wire)) &&
            cJSON_AddStringToObject(doc, "message", cx->st.message) && (text = cJSON_Print(doc)) != NULL)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(doc);
    }
    return code == CTL_USAGE ? 2 : 1;
}

/* Splits a command's own arguments and checks the positional count. */
static int parse_command(ctl_ctx *cx, const ctl_cmd *c, int argc, char **argv, ctl_args *a) {
    char who[64];
    int used, code;
    cmd_words(c, who, sizeof(who));
    a->cmd = c;
    if ((code = split_args(cx, who, c->opts, argc, argv, 0, a->val, a->pos, &a->npos, a->rep, &a->nrep, &used)) !=
        RK_OK)
        return code;
    if (a->npos < c->min_pos) return ctl_usage(cx, "%s: missing argument%s", who, c->min_pos - a->npos > 1 ? "s" : "");
    if (c->max_pos >= 0 && a->npos > c->max_pos)
        return ctl_usage(cx, "%s: unexpected argument '%s'", who, a->pos[c->max_pos]);
    return RK_OK;
}

/* The token for calls: --token, else $RANKD_TOKEN, else the token file.
 * *owned is set when the token was read from the file (caller frees). */
static void resolve_token(ctl_ctx *cx, const char *flag, char **owned) {
    char path[CTL_PATH_MAX];
    rk_status quiet = cx->st;
    *owned = NULL;
    if (flag) { /* --token "" asks for an anonymous call */
        cx->token = *flag ? flag : NULL;
        return;
    }
    cx->token = env("RANKD_TOKEN");
    if (cx->token || ctl_token_path(cx, path, sizeof(path)) != RK_OK) {
        cx->st = quiet; /* no token file is not an error until login needs one */
        return;
    }
    /* An unreadable token file only costs the call its identity; the
     * server's UNAUTHENTICATED then says what is missing. */
    if (token_read(cx, path, owned) != RK_OK) fprintf(stderr, "rankctl: warning: %s\n", cx->st.message);
    cx->st = quiet;
    cx->token = *owned;
}

int main(int argc, char **argv) {
    ctl_ctx cx = {0};
    ctl_args args = {0};
    const char *gval[CTL_MAX_OPTS] = {0};
    const ctl_cmd *row = NULL;
    char *file_token = NULL;
    int used = 0, words = 0, npos, code;
    uint32_t deadline = 0;

    args.pos = calloc((size_t)argc + 1, sizeof(*args.pos));
    args.rep = calloc((size_t)argc + 1, sizeof(*args.rep));
    if (args.pos == NULL || args.rep == NULL) {
        free(args.pos);
        free(args.rep);
        fprintf(stderr, "rankctl: out of memory\n");
        return 1;
    }
    argc--;
    argv++;
    code = split_args(&cx, "global options", global_opts, argc, argv, 1, gval, args.pos, &npos, NULL, NULL, &used);
    cx.json = gval[G_JSON] != NULL;
    if (code == CTL_HELP) {
        print_global_help(stdout);
        code = RK_OK;
        goto done;
    }
    if (code != RK_OK) goto done;
    if (gval[G_DEADLINE] && (code = ctl_parse_u32(&cx, "--deadline", gval[G_DEADLINE], &deadline)) != RK_OK) goto done;
    if (gval[G_DEADLINE] && deadline == 0) {
        code = ctl_usage(&cx, "--deadline: must be at least 1 millisecond");
        goto done;
    }
    argc -= used;
    argv += used;
    if (argc == 0) {
        code = ctl_usage(&cx, "no command given");
        goto done;
    }
    if (strcmp(argv[0], "help") == 0) {
        code = run_help(&cx, argc - 1, argv + 1);
        goto done;
    }
    if ((row = find_command(argc, argv, &words)) == NULL) {
        if (!is_group(argv[0]))
            code = ctl_usage(&cx, "unknown command '%s'", argv[0]);
        else if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
            code = run_help(&cx, 1, argv);
        else if (argc > 1)
            code = ctl_usage(&cx, "%s: unknown subcommand '%s'; run 'rankctl help %s'", argv[0], argv[1], argv[0]);
        else
            code = ctl_usage(&cx, "%s: missing subcommand; run 'rankctl help %s'", argv[0], argv[0]);
        goto done;
    }
    code = parse_command(&cx, row, argc - words, argv + words, &args);
    if (code == CTL_HELP) {
        print_cmd_help(stdout, row);
        code = RK_OK;
        goto done;
    }
    if (code != RK_OK) goto done;

    if (!(row->flags & CTL_CMD_ANON)) resolve_token(&cx, gval[G_TOKEN], &file_token);
    const char *url = gval[G_URL] ? gval[G_URL] : env("RANKD_URL");
    cx.tls.ca_file = gval[G_TLS_CA] ? gval[G_TLS_CA] : env("RANKD_TLS_CA");
    cx.tls.cert_file = gval[G_TLS_CERT] ? gval[G_TLS_CERT] : env("RANKD_TLS_CERT");
    cx.tls.key_file = gval[G_TLS_KEY] ? gval[G_TLS_KEY] : env("RANKD_TLS_KEY");
    cx.tls.server_name = gval[G_TLS_SERVER_NAME] ? gval[G_TLS_SERVER_NAME] : env("RANKD_TLS_SERVER_NAME");
    if ((code = rk_client_open_tls(&cx.client, url ? url : CTL_DEFAULT_URL, &cx.tls, &cx.st)) != RK_OK) goto done;
    if (cx.token && (code = rk_client_set_token(cx.client, cx.token, &cx.st)) != RK_OK) goto done;
    if (deadline) rk_client_set_deadline(cx.client, deadline);
    code = row->run(&cx, &args);

done:
    if (cx.client) rk_client_close(cx.client);
    free(file_token);
    free(args.pos);
    free(args.rep);
    fflush(stdout);
    return report(&cx, code, row);
}
