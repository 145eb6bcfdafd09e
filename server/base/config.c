/*
 * config.c - one table of settings; file, environment and flags all go
 * through config_set(), so every source is validated the same way. --help
 * and the shipped rankd.conf (--print-config) are both printed from the
 * table, so neither can name a setting that does not exist or miss one.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

typedef enum { T_STR, T_INT } setting_type;

typedef struct setting {
    const char *key;
    setting_type type;
    size_t offset;
    size_t size; /* T_STR: buffer size */
    int64_t min, max;
    const char *def;
    const char *help;
} setting;

#define S(k, f, d, h) \
    { k, T_STR, offsetof(config, f), sizeof(((config *)0)->f), 0, 0, d, h }
#define I(k, f, lo, hi, d, h) \
    { k, T_INT, offsetof(config, f), 0, lo, hi, d, h }

static const setting settings[] = {
    S("listen", listen, "tcp://127.0.0.1:7400", "RPC addresses, comma-separated (tcp://, ipc://, tls+tcp://)"),
    S("redis", redis, "127.0.0.1:6379", "Redis address, host:port; a Redis Cluster as host:port,host:port,..."),
    S("postgres", postgres, "host=127.0.0.1 port=5432 dbname=rankd", "PostgreSQL conninfo"),
    S("token-secret", token_secret, "",
      "token signing key, 64 hex chars (default: generated once, kept in PostgreSQL)"),
    S("redis-layout", redis_layout, "auto",
      "where each Redis call's keys live: one (a single Redis: a submission changes its board and the global board "
      "in one call), split (every call in one slot, as a Redis Cluster needs: the global board and aggregates follow "
      "within a second), or auto (split on a Redis Cluster, one elsewhere)"),
    S("log-level", log_level, "info", "debug, info, warn or error"),
    S("node", node, "rankd", "this process's name in the write-behind consumer group"),
    S("create-admin", create_admin, "",
      "create or promote USER to admin (password from RANKD_ADMIN_PASSWORD), then exit"),
    S("events", events, "tcp://127.0.0.1:7401",
      "live event PUB addresses, comma-separated (tcp://, ipc://, ws://, tls+tcp://, wss://); empty disables"),
    S("http", http, "http://127.0.0.1:7480",
      "HTTP address of the live page, /healthz, /readyz and /metrics (http://, or https:// with tls-cert); empty "
      "disables"),
    S("tls-cert", tls_cert, "",
      "PEM certificate (then its chain) for the TLS addresses: tls+tcp:// in listen and events, https:// in http "
      "(whose events feed is then wss://)"),
    S("tls-key", tls_key, "", "PEM private key of tls-cert (unencrypted; keep it mode 0600)"),
    S("tls-ca", tls_ca, "",
      "PEM CA certificate(s); when set, every TLS client must present a certificate signed by one of them"),
    I("loops", loops, -1, 64, "-1",
      "event loops of the fast lane (reads and submissions that need only Redis); -1: one per core; 0: none, every "
      "call runs on the workers"),
    I("workers", workers, 1, 256, "16", "worker threads (each owns a PostgreSQL connection)"),
    I("writebehind-consumers", writebehind_consumers, 1, 8, "3",
      "write-behind threads, each a consumer of the streams with its own Redis and PostgreSQL connections (the first "
      "is named node, the others node.2, node.3...)"),
    I("redis-connections", redis_connections, 0, 64, "2",
      "Redis connections the workers share, pipelining concurrent requests into one round trip; 0: one unpipelined "
      "connection per worker"),
    I("contexts", contexts, 1, 4096, "128", "requests in flight on the RPC socket"),
    I("token-ttl", token_ttl, 60, 31536000, "86400", "lifetime of a login token, seconds"),
    I("max-message", max_message, 1024, 64 << 20, "262144",
      "largest message accepted, bytes; the connection of a larger one is closed (the largest legitimate request, a "
      "full SubmitBatch, is 259,478 bytes; each method also has its own bound)"),
    I("idle-timeout-ms", idle_timeout_ms, 0, 86400000, "60000",
      "an RPC connection with no request in flight and none completed (nor answered) for this long is closed, as is "
      "one that sends part of a message and stops; ms, 0: never"),
    I("max-connections", max_connections, 1, 1048576, "4096",
      "connections kept on the RPC socket, and on the events socket; more are closed as they arrive (lowered at start "
      "to fit the descriptor limit)"),
    I("redis-wait-replicas", redis_wait_replicas, 0, 16, "0",
      "acknowledge a submission only once this many Redis replicas have it (WAIT); 0: when the master has it"),
    I("redis-wait-timeout-ms", redis_wait_timeout_ms, 1, 60000, "500",
      "how long a submission waits for redis-wait-replicas; past it the call answers UNAVAILABLE (retry with the "
      "idempotency key)"),
    I("idempotency-ttl", idempotency_ttl, 60, 2592000, "86400", "how long an idempotency key is remembered, seconds"),
    I("window-retention", window_retention, 3600, 315360000, "7776000",
      "how long a closed window stays in Redis, seconds"),
    I("default-deadline-ms", default_deadline_ms, 1, 600000, "5000", "deadline of calls that carry none, ms"),
    I("scrypt-n", scrypt_n, 1024, 1048576, "16384", "scrypt cost N for new password hashes (power of two)"),
    I("top-n", top_n, 1, 100, "10", "players in each top-N change event"),
    I("ready-max-lag-ms", ready_max_lag_ms, 100, 86400000, "10000",
      "/readyz fails when the write-behind lags more than this, ms"),
    I("slow-request-ms", slow_request_ms, 0, 600000, "500",
      "a call answered after more than this many ms is logged at warn (\"slow request\": method, code, duration, "
      "peer); 0: never. At log-level debug every call is logged"),
    I("standings-top-n", standings_top_n, 1, 10000, "100", "players kept in the final standings of a closed window"),
    I("snapshot-interval-s", snapshot_interval_s, 0, 31536000, "3600",
      "seconds between top-N snapshots of every board; 0 disables"),
    I("archive-interval-s", archive_interval_s, 1, 86400, "60",
      "seconds between looks for closed windows and due snapshots"),
    I("top-cache-ms", top_cache_ms, 0, 60000, "1000",
      "top-N pages are served from memory until the board changes, never older than this, ms; 0 disables"),
    I("coalesce-ms", coalesce_ms, 10, 60000, "100", "at most one top-N event per board and window per this many ms"),
    I("name-cache", name_cache, 1, 100000000, "100000",
      "usernames (with their ids) each rankd keeps in memory, so a player named by username costs no Redis round "
      "trip; the least recently used go first"),
    I("key-cache-s", key_cache_s, 1, 86400, "600",
      "an API key is checked against PostgreSQL again after this many seconds without use (revocations reach every "
      "rankd at once); while PostgreSQL is unreachable cached keys are served whatever their age"),
    I("clock-start", clock_start, 0, 253402300799, "0",
      "for tests only: rankd's clock reads this Unix time at start and runs on from there (windows, submission times, "
      "tokens); 0: the system clock"),
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const setting *find(const char *key, size_t len) {
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].key) == len && strncmp(settings[i].key, key, len) == 0) return &settings[i];
    return NULL;
}

/* RANKD_<KEY>: upper case, '-' as '_'. */
static void env_name(const setting *s, char env[64]) {
    size_t j = 0;
    memcpy(env, "RANKD_", 6);
    for (; s->key[j] && j + 7 < 64; j++) env[6 + j] = s->key[j] == '-' ? '_' : (char)toupper((unsigned char)s->key[j]);
    env[6 + j] = '\0';
}

/* Flags that are not settings: what they ask for, and whether a value
 * follows (--config FILE; --check-config takes an optional FILE). */
typedef struct action_flag {
    const char *name;
    config_action action;
} action_flag;

static const action_flag action_flags[] = {
    {.name = "help", .action = CONFIG_HELP},
    {.name = "version", .action = CONFIG_VERSION},
    {.name = "print-config", .action = CONFIG_PRINT},
    {.name = "check-config", .action = CONFIG_CHECK},
};
#define NACTIONS (sizeof(action_flags) / sizeof(action_flags[0]))

/* ---------------------------------------------------------------- did you mean */

#define NEAREST_MAX_LEN 64

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of neighbours each cost one, so "lsiten" is one from "listen". */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    size_t d[NEAREST_MAX_LEN + 1][NEAREST_MAX_LEN + 1];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *config_nearest(const char *word, size_t len, const char *const *words, size_t n) {
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    if (len == 0 || len > NEAREST_MAX_LEN) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t lw = strlen(words[i]);
        if (lw > NEAREST_MAX_LEN) continue;
        size_t d = edit_distance(word, len, words[i], lw);
        if (d < best_d) best_d = d, best = words[i];
    }
    /* Two edits, or a third of the word for long ones: closer than that a
     * guess helps; farther, it only confuses. */
    size_t allowed = len / 3 > 2 ? len / 3 : 2;
    return best_d <= allowed && best_d < len ? best : NULL;
}

/* "; did you mean PREFIXkey?" for the setting (or, for flags, the action)
 * nearest to key, or "" when none is near. */
static void suggest(const char *key, size_t len, int flags, char *out, size_t n) {
    const char *words[NSETTINGS + NACTIONS + 1];
    size_t nw = 0;
    for (size_t i = 0; i < NSETTINGS; i++) words[nw++] = settings[i].key;
    if (flags) {
        for (size_t i = 0; i < NACTIONS; i++) words[nw++] = action_flags[i].name;
        words[nw++] = "config";
    }
    const char *near = config_nearest(key, len, words, nw);
    if (near)
        snprintf(out, n, "; did you mean %s%s?", flags ? "--" : "", near);
    else
        out[0] = '\0';
}

static int config_set(config *cfg, const setting *s, const char *value, const char *source, rk_status *st) {
    char *base = (char *)cfg + s->offset;
    if (s->type == T_STR) {
        if (strlen(value) >= s->size)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s: %s is too long", source, s->key);
        strcpy(base, value);
        return RK_OK;
    }
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < s->min || v > s->max)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s: %s must be an integer in %lld..%lld, not \"%s\"", source,
                             s->key, (long long)s->min, (long long)s->max, value);
    *(int64_t *)(void *)base = v;
    return RK_OK;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

int config_read(config *cfg, FILE *f, const char *name, rk_status *st) {
    char line[1024], source[CONFIG_STR_MAX + 32];
    int lineno = 0, rc = RK_OK;
    while (rc == RK_OK && fgets(line, sizeof(line), f)) {
        lineno++;
        char *p = trim(line);
        if (*p == '\0' || *p == '#') continue;
        char *eq = strchr(p, '=');
        snprintf(source, sizeof(source), "%s:%d", name, lineno);
        if (eq == NULL) {
            rc = rk_status_set(st, RK_INVALID_ARGUMENT, "%s: expected key = value", source);
            break;
        }
        *eq = '\0';
        char *key = trim(p), *val = trim(eq + 1);
        const setting *s = find(key, strlen(key));
        if (s == NULL) {
            char hint[NEAREST_MAX_LEN + 32];
            suggest(key, strlen(key), 0, hint, sizeof(hint));
            rc = rk_status_set(st, RK_INVALID_ARGUMENT, "%s: unknown setting %s%s", source, key, hint);
        } else
            rc = config_set(cfg, s, val, source, st);
    }
    return rc;
}

static int load_file(config *cfg, const char *path, rk_status *st) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot open config file %s: %s", path, strerror(errno));
    int rc = config_read(cfg, f, path, st);
    fclose(f);
    return rc;
}

int config_defaults(config *cfg, rk_status *st) {
    int rc;
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NSETTINGS; i++)
        if ((rc = config_set(cfg, &settings[i], settings[i].def, "default", st)) != RK_OK) return rc;
    return RK_OK;
}

int config_load(config *cfg, int argc, char **argv, rk_status *st) {
    int rc;
    const char *file = NULL;
    if ((rc = config_defaults(cfg, st)) != RK_OK) return rc;

    /* The file comes first, so find --config (or the FILE of
     * --check-config FILE) before anything else. */
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--check-config=", 15) == 0)
            file = argv[i] + 15;
        else if (strcmp(argv[i], "--check-config") == 0 && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            file = argv[i + 1];
    }
    if (file == NULL) file = getenv("RANKD_CONFIG");
    if (file && strlen(file) >= sizeof(cfg->file))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "config file name is too long");
    if (file && (rc = load_file(cfg, file, st)) != RK_OK) return rc;
    if (file) strcpy(cfg->file, file);

    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64];
        env_name(&settings[i], env);
        const char *v = getenv(env);
        if (v && (rc = config_set(cfg, &settings[i], v, env, st)) != RK_OK) return rc;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) {
            cfg->action = CONFIG_HELP;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "unexpected argument \"%s\"", a);
        const char *key = a + 2, *eq = strchr(key, '='), *val;
        size_t klen = eq ? (size_t)(eq - key) : strlen(key);
        if (klen == 6 && strncmp(key, "config", 6) == 0) {
            if (!eq) i++;
            continue;
        }
        const action_flag *act = NULL;
        for (size_t k = 0; k < NACTIONS; k++)
            if (strlen(action_flags[k].name) == klen && strncmp(action_flags[k].name, key, klen) == 0)
                act = &action_flags[k];
        if (act) {
            /* Help wins over everything else asked for. */
            if (cfg->action != CONFIG_HELP) cfg->action = act->action;
            if (act->action == CONFIG_CHECK && !eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                i++; /* its FILE, read above */
            else if (eq && act->action != CONFIG_CHECK)
                return rk_status_set(st, RK_INVALID_ARGUMENT, "flag --%s takes no value", act->name);
            continue;
        }
        const setting *s = find(key, klen);
        if (s == NULL) {
            char hint[NEAREST_MAX_LEN + 32];
            suggest(key, klen, 1, hint, sizeof(hint));
            return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown flag --%.*s%s (see --help)", (int)klen, key, hint);
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return rk_status_set(st, RK_INVALID_ARGUMENT, "flag %s needs a value", a);
        if ((rc = config_set(cfg, s, val, "flag", st)) != RK_OK) return rc;
    }
    return RK_OK;
}

void config_usage(FILE *out) {
    fprintf(out,
            "usage: rankd [--config FILE] [--KEY VALUE]...\n"
            "       rankd --check-config [FILE] [--KEY VALUE]...\n"
            "       rankd --print-config | --version | --help\n\n"
            "Settings come from defaults, then the config file (key = value lines),\n"
            "then RANKD_<KEY> environment variables, then flags; later wins.\n\n"
            "  --%-20s %s\n  --%-20s %s\n  --%-20s %s\n  --%-20s %s\n  --%-20s %s\n\n",
            "config FILE", "read settings from FILE (env RANKD_CONFIG)", "check-config [FILE]",
            "check the settings (and FILE) and that Redis and PostgreSQL answer; exit 0 if so", "print-config",
            "print a commented config file with every setting at its default", "version", "print the version", "help",
            "print this help");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64];
        env_name(&settings[i], env);
        fprintf(out, "  --%-20s %s\n  %-22s env %s, default \"%s\"\n", settings[i].key, settings[i].help, "", env,
                settings[i].def);
    }
}

/* Writes text as '#' comment lines of at most 76 columns. */
static void comment_wrapped(FILE *out, const char *text) {
    const size_t width = 74;
    while (*text) {
        size_t n = strlen(text);
        if (n > width) {
            n = width;
            while (n > 0 && text[n] != ' ') n--;
            if (n == 0) n = width;
        }
        fprintf(out, "# %.*s\n", (int)n, text);
        text += n;
        while (*text == ' ') text++;
    }
}

void config_print(FILE *out) {
    fprintf(out, "# rankd.conf: every setting of rankd, each at its default.\n"
                 "#\n"
                 "# This file is what `rankd --print-config` prints, from the same table as\n"
                 "# `rankd --help`. Lines are \"key = value\"; a line starting with '#' is a\n"
                 "# comment. A setting left commented out keeps its default (so a new\n"
                 "# release's default reaches it). RANKD_<KEY> environment variables and\n"
                 "# --key flags override this file. Check an edited file, and that Redis\n"
                 "# and PostgreSQL answer, with `rankd --check-config FILE`.\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        char env[64], line[128];
        env_name(s, env);
        fprintf(out, "\n");
        comment_wrapped(out, s->help);
        if (s->type == T_INT)
            snprintf(line, sizeof(line), "an integer in %lld..%lld; env %s", (long long)s->min, (long long)s->max, env);
        else
            snprintf(line, sizeof(line), "env %s", env);
        comment_wrapped(out, line);
        fprintf(out, "#%s =%s%s\n", s->key, s->def[0] ? " " : "", s->def);
    }
}
