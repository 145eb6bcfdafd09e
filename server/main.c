/*
 * main.c - rankd: start-up, the first admin, and clean shutdown.
 *
 * Start-up order matters: configuration, PostgreSQL (migrations, token key,
 * boards), Redis (functions, user names), then the write-behind and only
 * then the RPC listeners, so no request arrives before rankd can answer it.
 * Signals are blocked in every thread and taken by sigwait() here, so a
 * SIGTERM is handled in ordinary code: drain, stop, exit 0; a SIGHUP reads
 * the settings again and applies the one that can change while running,
 * the log level. Under systemd (Type=notify) readiness, reloading and
 * stopping are reported with sd_notify(); elsewhere those calls do nothing.
 */
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rankd/rankd.pb-c.h>
#include <systemd/sd-daemon.h>

#include "applier.h"
#include "archive.h"
#include "seasons_job.h"
#include "auth.h"
#include "banset.h"
#include "degraded.h"
#include "events.h"
#include "tlsconf.h"
#include "health.h"
#include "http.h"
#include "metrics.h"
#include "boards.h"
#include "counters.h"
#include "fold.h"
#include "handlers.h"
#include "log.h"
#include "namecache.h"
#include "password.h"
#include "rebuild.h"
#include "recovery.h"
#include "restore.h"
#include "banset.h"
#include "revset.h"
#include "rpipe.h"
#include "topcache.h"
#include "rpc.h"
#include "validate.h"
#include "writebehind.h"

#define DRAIN_MS 10000

/* Every method the schema declares must have a row in rankd_methods,
 * with the schema's input type. */
static int check_methods(rk_status *st) {
    for (size_t s = 0; s < rankd_nservices; s++)
        for (unsigned m = 0; m < rankd_services[s]->n_methods; m++) {
            char full[128];
            snprintf(full, sizeof(full), "%s/%s", rankd_services[s]->name, rankd_services[s]->methods[m].name);
            size_t i = 0;
            while (i < rankd_nmethods && strcmp(rankd_methods[i].name, full) != 0) i++;
            if (i == rankd_nmethods) return rk_status_set(st, RK_INTERNAL, "method %s has no handler", full);
            if (rankd_methods[i].input != rankd_services[s]->methods[m].input)
                return rk_status_set(st, RK_INTERNAL, "method %s has the wrong input type in the method table", full);
        }
    return RK_OK;
}

/* Descriptors rankd needs besides its RPC and events connections: a
 * PostgreSQL and a Redis connection per worker, the loops' and the
 * pipeline's Redis connections, the background threads' own, nng's
 * pollers, and HTTP clients (nng 1.5's HTTP server has no cap of its own). */
#define FD_RESERVE 256

/* Raises the soft descriptor limit to the hard one, and lowers
 * max-connections where the RPC and events sockets together could
 * otherwise run rankd out of descriptors: at the limit, accept() fails
 * (EMFILE) and nng's accept loops retry again and again (the HTTP server's
 * at once, without a pause), while every new caller waits. */
static void fit_descriptors(config *cfg) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t loops = cfg->loops >= 0 ? cfg->loops : (cores > 0 ? cores : 1);
    int64_t reserve = FD_RESERVE + 2 * cfg->workers + loops + cfg->redis_connections;
    int64_t limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)rl.rlim_cur;
    int64_t fit = (limit - reserve) / 2;
    if (fit < 1) fit = 1;
    log_info("descriptor limit", "soft=%lld hard=%lld was=%lld", (long long)limit,
             rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max, (long long)was);
    if (cfg->max_connections > fit) {
        log_warn("max-connections lowered to fit the descriptor limit",
                 "max_connections=%lld was=%lld descriptor_limit=%lld reserved=%lld", (long long)fit,
                 (long long)cfg->max_connections, (long long)limit, (long long)reserve);
        cfg->max_connections = fit;
    }
}

/* Large buffers (a message of up to max-message-bytes is allocated whole
 * when its length arrives) are mapped and unmapped on their own. glibc
 * otherwise raises its mmap threshold the first time such a buffer is
 * freed, and later ones come out of whichever thread's arena is at hand:
 * each new crowd of half-sent messages then grows the heap again instead
 * of costing nothing once it is gone. Setting the threshold fixes it. */
static void fix_malloc(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

static int create_admin(server *srv, pgstore *pg, rk_status *st) {
    const char *pw = getenv("RANKD_ADMIN_PASSWORD");
    char hash[PASSWORD_HASH_MAX];
    int64_t id;
    int rc;
    if ((rc = validate_username(srv->cfg.create_admin, st)) != RK_OK) return rc;
    if (pw == NULL)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "set RANKD_ADMIN_PASSWORD to the new admin's password");
    if ((rc = validate_password(pw, st)) != RK_OK) return rc;
    if ((rc = password_hash(pw, (uint64_t)srv->cfg.scrypt_n, hash, st)) != RK_OK) return rc;
    if ((rc = pgstore_user_upsert(pg, srv->cfg.create_admin, hash, RANKD__ROLE__ROLE_ADMIN, &id, st)) != RK_OK)
        return rc;
    log_info("admin ready", "username=%s user_id=%lld", srv->cfg.create_admin, (long long)id);
    return RK_OK;
}

static int unhex_key(const char *hex, uint8_t key[TOKEN_KEY_LEN], rk_status *st) {
    if (strlen(hex) != 2 * TOKEN_KEY_LEN)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "token-secret must be 64 hex characters");
    for (int i = 0; i < TOKEN_KEY_LEN; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "token-secret must be hex");
        key[i] = (uint8_t)b;
    }
    return RK_OK;
}

/* What the settings table's ranges cannot say: checked before rankd
 * starts and by --check-config, so both refuse the same files. A
 * token-secret is decoded into key. */
static int validate_settings(const config *cfg, uint8_t key[TOKEN_KEY_LEN], rk_status *st) {
    int rc;
    if (strcmp(cfg->redis_layout, "auto") != 0 && strcmp(cfg->redis_layout, "one") != 0 &&
        strcmp(cfg->redis_layout, "split") != 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "redis-layout must be auto, one or split, not \"%s\"",
                             cfg->redis_layout);
    if (log_level_parse(cfg->log_level) < 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "log-level must be debug, info, warn or error, not \"%s\"",
                             cfg->log_level);
    if (cfg->token_secret[0] && (rc = unhex_key(cfg->token_secret, key, st)) != RK_OK) return rc;
    if (cfg->listen[0] == '\0') return rk_status_set(st, RK_INVALID_ARGUMENT, "listen must name an address");
    if (cfg->http[0] && cfg->events[0]) {
        char ws[CONFIG_STR_MAX];
        if (http_ws_url(cfg->http, ws, sizeof(ws)) != 0 || strlen(cfg->events) + strlen(ws) + 2 > sizeof(cfg->events))
            return rk_status_set(st, RK_INVALID_ARGUMENT,
                                 "http must be http://host:port or https://host:port, not \"%s\"", cfg->http);
    }
    return RK_OK;
}

/* libpq's messages end in a newline. */
static const char *trim_end(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
    return s;
}

/* --check-config: the settings, then both stores, each verdict on its own
 * line so an operator sees every problem at once. Exit 0: rankd would
 * start with these settings; 2: the settings are wrong; 1: they are
 * valid but a store does not answer. */
static int check_config(const config *cfg) {
    rk_status st;
    uint8_t key[TOKEN_KEY_LEN];
    pgstore *pg = NULL;
    rstore *redis = NULL;
    int code = 0;
    const char *file = cfg->file[0] ? cfg->file : "no config file";

    rk_status_clear(&st);
    if (validate_settings(cfg, key, &st) != RK_OK) {
        fprintf(stderr, "rankd: %s: %s\n", file, st.message);
        return 2;
    }
    printf("settings: ok (%s)\n", file);
    /* The conninfo is not echoed: it may hold a password. */
    int have = 0, known = 0;
    if (pgstore_open(&pg, cfg->postgres, &st) == RK_OK && pgstore_schema_version(pg, &have, &known, &st) == RK_OK) {
        if (have > known) {
            fprintf(stderr,
                    "rankd: postgres: the database is at migration %d, newer than this rankd's last (%d); run the "
                    "release that migrated it\n",
                    have, known);
            code = 1;
        } else {
            printf("postgres: ok (schema at migration %d; this rankd applies up to %d at start)\n", have, known);
        }
    } else {
        fprintf(stderr, "rankd: postgres: %s\n", trim_end(st.message));
        code = 1;
    }
    pgstore_close(pg);
    rk_status_clear(&st);
    if (rstore_open(&redis, cfg->redis, &st) == RK_OK && rstore_ping(redis, &st) == RK_OK) {
        printf("redis: ok (%s)\n", cfg->redis);
    } else {
        fprintf(stderr, "rankd: redis: %s\n", st.message);
        code = st.code == RK_INVALID_ARGUMENT ? 2 : code ? code : 1;
    }
    rstore_close(redis);
    return code;
}

/* SIGHUP: the settings again from the same sources (file, environment,
 * flags). Only log-level is applied; a file that no longer loads leaves
 * everything as it was, and says why. */
static void reload(int argc, char **argv) {
    static config next;
    rk_status st;
    uint8_t key[TOKEN_KEY_LEN];
    sd_notify(0, "RELOADING=1");
    rk_status_clear(&st);
    if (config_load(&next, argc, argv, &st) != RK_OK || validate_settings(&next, key, &st) != RK_OK) {
        log_error("configuration not reloaded; the running settings stay", "error=\"%s\"", st.message);
    } else {
        log_set_level((log_level)log_level_parse(next.log_level));
        log_info("configuration reloaded", "log_level=%s file=\"%s\" applied=log-level", next.log_level, next.file);
    }
    sd_notify(0, "READY=1");
}

/* writebehind-consumers' upper bound (config.c). */
#define WB_CONSUMERS_MAX 8

/* The background jobs (job.h), started in this order, stopped in reverse. */
enum { JOB_WRITEBEHIND, JOB_APPLIER, JOB_RECOVERY, JOB_HEALTH, JOB_ARCHIVE, JOB_FOLD, JOB_SEASONS, NJOBS };
static const job_ops *const job_table[NJOBS] = {
    [JOB_WRITEBEHIND] = &wb_job,  [JOB_APPLIER] = &applier_job, [JOB_RECOVERY] = &restore_job,
    [JOB_HEALTH] = &health_job,   [JOB_ARCHIVE] = &archive_job, [JOB_FOLD] = &fold_job,
    [JOB_SEASONS] = &seasons_job,
};

int main(int argc, char **argv) {
    static server srv;
    rk_status st;
    pgstore *pg = NULL;
    rstore *redis = NULL;
    job *jobs[NJOBS] = {0};
    job *more_wb[WB_CONSUMERS_MAX - 1] = {0};
    events *ev = NULL;
    http *web = NULL;
    static const char *method_names[METRICS_MAX_METHODS];
    rpc_server *rpc = NULL;
    int code = 1;
    sigset_t sigs;

    rk_status_clear(&st);
    if (config_load(&srv.cfg, argc, argv, &st) != RK_OK) {
        fprintf(stderr, "rankd: %s\n", st.message);
        return 2;
    }
    switch (srv.cfg.action) {
        case CONFIG_HELP: config_usage(stdout); return 0;
        case CONFIG_VERSION: printf("rankd %s\n", RANKD_VERSION); return 0;
        case CONFIG_PRINT: config_print(stdout); return 0;
        case CONFIG_CHECK: return check_config(&srv.cfg);
        case CONFIG_SERVE: break;
    }
    if (validate_settings(&srv.cfg, srv.token_key, &st) != RK_OK) {
        fprintf(stderr, "rankd: %s\n", st.message);
        return 2;
    }
    log_set_level((log_level)log_level_parse(srv.cfg.log_level));
    server_clock_start(srv.cfg.clock_start);
    if (srv.cfg.clock_start)
        log_warn("the clock is moved (clock-start); for tests only", "now=%" PRId64, (int64_t)server_time());
    if (check_methods(&st) != RK_OK) goto fail;
    fix_malloc();
    fit_descriptors(&srv.cfg);
    /* Read once, before anything starts: a wrong path fails the start. */
    if ((tlsconf_any_tls(srv.cfg.listen) || tlsconf_any_tls(srv.cfg.events) || tlsconf_url_is_tls(srv.cfg.http)) &&
        tlsconf_server(&srv.tls, srv.cfg.tls_cert, srv.cfg.tls_key, srv.cfg.tls_ca, &st) != RK_OK)
        goto fail;
    for (size_t i = 0; i < rankd_nmethods && i < METRICS_MAX_METHODS; i++) method_names[i] = rankd_methods[i].name;
    metrics_init(method_names, rankd_nmethods);

    /* Block the signals before any thread starts, so all inherit the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (pgstore_open(&pg, srv.cfg.postgres, &st) != RK_OK || pgstore_migrate(pg, &st) != RK_OK) goto fail;
    if (srv.cfg.create_admin[0]) {
        code = create_admin(&srv, pg, &st) == RK_OK ? 0 : 1;
        if (code) goto fail;
        goto done;
    }
    /* A token-secret setting was read into token_key by validate_settings. */
    if (!srv.cfg.token_secret[0] && pgstore_token_key(pg, srv.token_key, &st) != RK_OK) goto fail;
    if (h_auth_init(&srv, &st) != RK_OK) goto fail;
    if (boards_open(&srv.boards, &st) != RK_OK || boards_load(srv.boards, pg, &st) != RK_OK) goto fail;
    if (counters_open(&srv.counters, &st) != RK_OK || counters_load(srv.counters, pg, &st) != RK_OK) goto fail;
    if (apikey_cache_open(&srv.apikeys, &st) != RK_OK) goto fail;
    if (namecache_open(&srv.names, (size_t)srv.cfg.name_cache, &st) != RK_OK ||
        namecache_open(&srv.ids, (size_t)srv.cfg.name_cache, &st) != RK_OK)
        goto fail;
    /* Token checks read only memory: fill it before any request. */
    if (revset_open(&srv.revoked, &st) != RK_OK || banset_open(&srv.bans, &st) != RK_OK ||
        auth_sync(&srv, pg, &st) != RK_OK)
        goto fail;

    if (pgstore_ensure_partitions(pg, server_time(), &st) != RK_OK) goto fail;
    int64_t waiting = 0;
    if (degraded_backlog_size(pg, &waiting, &st) != RK_OK) goto fail;
    int rc = rstore_open(&redis, srv.cfg.redis, &st), cluster = 0;
    if (rc == RK_OK && (rc = rstore_cluster_enabled(redis, &cluster, &st)) == RK_OK && cluster)
        log_info("Redis is a Redis Cluster; each command goes to the master of its keys' slot", "redis=%s",
                 srv.cfg.redis);
    if (rc == RK_OK && cluster && strcmp(srv.cfg.redis_layout, "one") == 0) {
        rk_status_set(&st, RK_INVALID_ARGUMENT,
                      "redis-layout one needs a single Redis: a Redis Cluster refuses its calls (CROSSSLOT); use "
                      "split or auto");
        goto fail;
    }
    /* Without an answer (Redis away at start) auto means what the
     * address says: a list of seeds is a cluster's. */
    int split = strcmp(srv.cfg.redis_layout, "split") == 0 ||
                (strcmp(srv.cfg.redis_layout, "auto") == 0 && (cluster || strchr(srv.cfg.redis, ',') != NULL));
    rstore_set_layout(split ? RSTORE_SPLIT : RSTORE_ONE);
    if (split) log_info("Redis calls use the split layout: one slot each", "redis_layout=%s", srv.cfg.redis_layout);
    long long listpack = -1;
    char listpack_node[RSTORE_ADDR_MAX];
    if (rc == RK_OK &&
        (rc = rstore_listpack_entries(redis, &listpack, listpack_node, sizeof(listpack_node), &st)) == RK_OK &&
        listpack >= 0 && listpack < RSTORE_BUCKET_FIELDS)
        log_warn("Redis keeps smaller hashes as listpacks than the boards' member buckets need: they take several "
                 "times the memory; set hash-max-listpack-entries to 128 or more",
                 "hash_max_listpack_entries=%lld needed=%d node=%s", listpack, RSTORE_BUCKET_FIELDS, listpack_node);
    if (rc == RK_OK && (rc = rstore_load_functions(redis, &st)) == RK_OK &&
        (rc = rebuild_names(redis, pg, &st)) == RK_OK &&
        /* An empty Redis (restarted without its data) gets its boards
         * back before the first request is taken; a board another process
         * holds the rebuild flag of is not waited for (it may be a dead
         * one's, there for minutes): the recovery job takes it on. */
        (rc = rebuild_missing(redis, pg, srv.boards, srv.cfg.window_retention, 0, &st)) == RK_OK &&
        (rc = counters_restore(srv.counters, redis, pg, srv.cfg.window_retention, &st)) == RK_OK)
        rc = rstore_set_live(redis, &st);
    recovery_state initial = waiting > 0 ? RECOVERY_CATCHING_UP : RECOVERY_UP;
    if (rc == RK_UNAVAILABLE) {
        /* Unreachable, or still loading its data set: rankd serves from
         * PostgreSQL until Redis comes; the recovery job restores Redis
         * then. */
        log_warn("Redis is unavailable; starting degraded", "error=\"%s\"", st.message);
        initial = RECOVERY_DOWN;
    } else if (rc == RK_ABORTED) {
        log_warn("a board is being rebuilt by someone else; starting degraded until it is restored", "error=\"%s\"",
                 st.message);
        initial = RECOVERY_RESTORING;
    } else if (rc != RK_OK) {
        goto fail;
    }
    if (recovery_open(&srv.recovery, initial, &st) != RK_OK) goto fail;

    srv.started = server_time();
    if (srv.cfg.redis_connections > 0 &&
        rpipe_open(&srv.pipe, srv.cfg.redis, (int)srv.cfg.redis_connections, &st) != RK_OK)
        goto fail;
    /* Without the events thread no other rankd's changes would reach the
     * cache: then it only keeps pages for top-cache-ms. */
    if (topcache_open(&srv.tops, srv.cfg.top_cache_ms, &st) != RK_OK) goto fail;
    for (int i = 0; i < NJOBS; i++)
        if (job_start(&jobs[i], job_table[i], &srv, &st) != RK_OK) goto fail;
    /* The write-behind's other consumers (the first is in the table). */
    for (int64_t i = 1; i < srv.cfg.writebehind_consumers; i++)
        if (job_start(&more_wb[i - 1], &wb_job, &srv, &st) != RK_OK) goto fail;
    if (srv.cfg.http[0] && srv.cfg.events[0]) {
        /* The page's WebSocket feed shares the HTTP port (the address was
         * checked by validate_settings). */
        char ws[CONFIG_STR_MAX];
        http_ws_url(srv.cfg.http, ws, sizeof(ws));
        strcat(srv.cfg.events, ",");
        strcat(srv.cfg.events, ws);
    }
    if (events_start(&ev, &srv, &st) != RK_OK) goto fail;
    if (http_start(&web, &srv, job_state(jobs[JOB_HEALTH]), ev, &st) != RK_OK) goto fail;
    if (events_listen(ev, &st) != RK_OK) goto fail;
    if (rpc_start(&rpc, &srv, rankd_methods, rankd_nmethods, &st) != RK_OK) goto fail;
    log_info("ready", "workers=%lld contexts=%lld redis=%s", (long long)srv.cfg.workers, (long long)srv.cfg.contexts,
             srv.cfg.redis);

    sd_notify(0, "READY=1");

    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) reload(argc, argv);
    log_info("shutting down", "signal=%d", sig);
    sd_notify(0, "STOPPING=1");
    rpc_stop(rpc, DRAIN_MS);
    rpc = NULL;
    code = 0;
    goto done;

fail:
    log_error("rankd cannot start", "error=\"%s\" code=%s", st.message, rk_code_name(st.code));
    code = 1;
done:
    rpc_stop(rpc, 0);
    http_stop(web);
    events_stop(ev);
    for (int i = WB_CONSUMERS_MAX - 2; i >= 0; i--) job_stop(more_wb[i]);
    for (int i = NJOBS - 1; i >= 0; i--) job_stop(jobs[i]);
    rstore_close(redis);
    rpipe_close(srv.pipe);
    topcache_close(srv.tops);
    pgstore_close(pg);
    boards_close(srv.boards);
    counters_close(srv.counters);
    apikey_cache_close(srv.apikeys);
    namecache_close(srv.names);
    namecache_close(srv.ids);
    revset_close(srv.revoked);
    banset_close(srv.bans);
    recovery_close(srv.recovery);
    if (srv.tls) nng_tls_config_free(srv.tls); /* the listeners dropped theirs */
    if (code == 0 && !srv.cfg.create_admin[0]) log_info("stopped", "%s", "");
    return code;
}
