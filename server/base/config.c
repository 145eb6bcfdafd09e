/*
 * config.c - one table of settings; file, environment and flags all go
 * through config_set(), so every source is validated the same way.
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
    S("redis", redis, "127.0.0.1:6379", "Redis address, host:port"),
    S("postgres", postgres, "host=127.0.0.1 port=5432 dbname=rankd", "PostgreSQL conninfo"),
    S("token-secret", token_secret, "",
      "token signing key, 64 hex chars (default: generated once, kept in PostgreSQL)"),
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
    I("idempotency-ttl", idempotency_ttl, 60, 2592000, "86400", "how long an idempotency key is remembered, seconds"),
    I("window-retention", window_retention, 3600, 315360000, "7776000",
      "how long a closed window stays in Redis, seconds"),
    I("default-deadline-ms", default_deadline_ms, 1, 600000, "5000", "deadline of calls that carry none, ms"),
    I("scrypt-n", scrypt_n, 1024, 1048576, "16384", "scrypt cost N for new password hashes (power of two)"),
    I("top-n", top_n, 1, 100, "10", "players in each top-N change event"),
    I("ready-max-lag-ms", ready_max_lag_ms, 100, 86400000, "10000",
      "/readyz fails when the write-behind lags more than this, ms"),
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
        if (s == NULL)
            rc = rk_status_set(st, RK_INVALID_ARGUMENT, "%s: unknown setting %s", source, key);
        else
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

    /* The file comes first, so find --config before anything else. */
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
    }
    if (file == NULL) file = getenv("RANKD_CONFIG");
    if (file && (rc = load_file(cfg, file, st)) != RK_OK) return rc;

    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64] = "RANKD_";
        for (size_t j = 0; settings[i].key[j] && j + 7 < sizeof(env); j++) {
            char c = settings[i].key[j];
            env[6 + j] = c == '-' ? '_' : (char)toupper((unsigned char)c);
            env[7 + j] = '\0';
        }
        const char *v = getenv(env);
        if (v && (rc = config_set(cfg, &settings[i], v, env, st)) != RK_OK) return rc;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cfg->show_help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "unexpected argument \"%s\"", a);
        const char *key = a + 2, *eq = strchr(key, '='), *val;
        size_t klen = eq ? (size_t)(eq - key) : strlen(key);
        if (klen == 6 && strncmp(key, "config", 6) == 0) {
            if (!eq) i++;
            continue;
        }
        const setting *s = find(key, klen);
        if (s == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown flag %s (see --help)", a);
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
    fprintf(out, "usage: rankd [--config FILE] [--KEY VALUE]...\n\n"
                 "Settings come from defaults, then the config file (key = value lines),\n"
                 "then RANKD_<KEY> environment variables, then flags; later wins.\n\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64] = "RANKD_";
        size_t j = 0;
        for (; settings[i].key[j]; j++)
            env[6 + j] = settings[i].key[j] == '-' ? '_' : (char)toupper((unsigned char)settings[i].key[j]);
        env[6 + j] = '\0';
        fprintf(out, "  --%-20s %s\n  %-22s env %s, default \"%s\"\n", settings[i].key, settings[i].help, "", env,
                settings[i].def);
    }
}
