/*
 * config.h - rankd's settings, from a file, the environment and flags.
 *
 * Later sources override earlier ones: built-in defaults, then the file
 * given by --config (lines "key = value", '#' comments), then RANKD_<KEY>
 * environment variables (upper case, '-' as '_'), then --key=value or
 * "--key value" flags. Every setting is one row of a table in config.c,
 * which is also what `rankd --help` prints and what `rankd --print-config`
 * writes out as the shipped, commented rankd.conf (a test checks the two
 * agree). A key or flag that is not in the table is an error naming the
 * nearest one that is.
 */
#ifndef RANKD_CONFIG_H
#define RANKD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include <rankd/status.h>

#define CONFIG_STR_MAX 512

/* What the command line asks rankd to do; every action but serving needs
 * no store, except CONFIG_CHECK, which tries to reach both. */
typedef enum config_action {
    CONFIG_SERVE = 0, /* run the server */
    CONFIG_HELP,      /* --help: print the settings and exit */
    CONFIG_VERSION,   /* --version: print the version and exit */
    CONFIG_PRINT,     /* --print-config: print a commented rankd.conf and exit */
    CONFIG_CHECK,     /* --check-config [FILE]: validate, reach Redis and PostgreSQL, exit */
} config_action;

typedef struct config {
    char listen[CONFIG_STR_MAX];       /* comma-separated nng URLs */
    char redis[CONFIG_STR_MAX];        /* host:port, or a cluster's seeds host:port,host:port,... */
    char postgres[CONFIG_STR_MAX];     /* libpq conninfo */
    char token_secret[CONFIG_STR_MAX]; /* hex; empty: kept in PostgreSQL */
    char log_level[16];
    char redis_layout[16];         /* auto, one or split (store_redis.h, rstore_layout) */
    char node[64];                 /* consumer name for the write-behind */
    int64_t writebehind_consumers; /* write-behind threads (consumers) */
    char create_admin[64];         /* set: create/promote this admin, exit */
    char events[CONFIG_STR_MAX];   /* PUB addresses for live events; "" disables */
    char http[CONFIG_STR_MAX];     /* page, probes and metrics; "" disables */
    char tls_cert[CONFIG_STR_MAX]; /* PEM file; needed by any TLS address */
    char tls_key[CONFIG_STR_MAX];  /* PEM file of its private key */
    char tls_ca[CONFIG_STR_MAX];   /* PEM file; set: client certificates required */
    int64_t loops;                 /* fast-lane event loops; -1: one per core; 0: none */
    int64_t workers;
    int64_t redis_connections; /* shared pipelined connections; 0: one per worker */
    int64_t contexts;
    int64_t token_ttl;             /* seconds */
    int64_t max_message;           /* bytes */
    int64_t idle_timeout_ms;       /* idle RPC connections are closed; 0: never */
    int64_t max_connections;       /* per socket (RPC, events) */
    int64_t idempotency_ttl;       /* seconds */
    int64_t redis_wait_replicas;   /* WAIT for this many replicas before acknowledging; 0: none */
    int64_t redis_wait_timeout_ms; /* how long */
    int64_t window_retention;      /* seconds a closed window stays in Redis */
    int64_t default_deadline_ms;
    int64_t scrypt_n;
    int64_t top_n;               /* entries in a TopChanged event */
    int64_t coalesce_ms;         /* at most one TopChanged per board per this */
    int64_t top_cache_ms;        /* oldest cached top-N page served; 0: no cache */
    int64_t ready_max_lag_ms;    /* /readyz fails when the write-behind lags more */
    int64_t slow_request_ms;     /* a call slower than this is logged at warn; 0: never */
    int64_t standings_top_n;     /* players kept in a closed window's final standings */
    int64_t snapshot_interval_s; /* top-N snapshots of every board; 0: none */
    int64_t archive_interval_s;  /* how often closed windows and snapshots are looked at */
    int64_t name_cache;          /* usernames kept in memory (namecache.h) */
    int64_t key_cache_s;         /* an unused API key is looked up again after this */
    int64_t clock_start;         /* tests: Unix seconds the clock starts at; 0: system */
    config_action action;
    char file[CONFIG_STR_MAX]; /* the config file read; "" when none */
} config;

/* Loads defaults, file, environment and flags into cfg. RK_INVALID_ARGUMENT
 * names the offending source and key. */
int config_load(config *cfg, int argc, char **argv, rk_status *st);

/* Sets every setting to its default. */
int config_defaults(config *cfg, rk_status *st);

/* Reads "key = value" lines from f over what cfg holds ('#' starts a
 * comment line, blank lines are skipped); `name` prefixes the line number
 * in messages. Stops at the first bad line: RK_INVALID_ARGUMENT naming it. */
int config_read(config *cfg, FILE *f, const char *name, rk_status *st);

/* Prints every setting with its default and meaning. */
void config_usage(FILE *out);

/* Prints a rankd.conf with every setting commented out at its default,
 * each under its meaning, its range and its environment variable. */
void config_print(FILE *out);

/* The known word nearest to `word` among `words` (n of them) by edit
 * distance (a swap of two neighbours counts as one edit), or NULL when
 * none is close enough to be what was meant. Exposed for tests. */
const char *config_nearest(const char *word, size_t len, const char *const *words, size_t n);

#endif
