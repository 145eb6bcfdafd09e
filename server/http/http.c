/*
 * http.c - rankd's HTTP face: the live page, probes and metrics.
 *
 * Served by nng's HTTP server on cfg.http. The same host and port also
 * carry the events WebSocket (events.c listens on ws://.../events), so one
 * port gives a browser everything. Every handler here answers from memory
 * (the board cache, the health snapshot, the metrics atomics) and never
 * waits on Redis or PostgreSQL: nng runs handlers on its own threads, which
 * must not block. The reads that need a store (the player view, the
 * distribution) are api.c's, which answers them from a thread of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "api.h"
#include "boards.h"
#include "counters.h"
#include "events.h"
#include "health.h"
#include "http.h"
#include "reply.h"
#include "log.h"
#include "metrics.h"
#include "query.h"
#include "tlsconf.h"
#include "validate.h"

extern const char web_index_html[], web_app_js[], web_style_css[];
extern const size_t web_index_html_len, web_app_js_len, web_style_css_len;

struct http {
    server *srv;
    health *health;
    events *events;
    api *api; /* /api/player, /api/history, /api/distribution */
    nng_http_server *hs;
    nng_url *url;
};

/* ---------------------------------------------------------------- replies */

static void reply(nng_aio *aio, uint16_t status, const char *type, const char *body, size_t len) {
    http_reply(aio, status, type, body, len);
}

static http *self(nng_aio *aio) {
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    return nng_http_handler_get_data(h);
}

/* ---------------------------------------------------------------- probes */

static void on_healthz(nng_aio *aio) { reply(aio, 200, "text/plain", "ok\n", 3); }

static void on_readyz(nng_aio *aio) {
    http *h = self(aio);
    health_snapshot s;
    char body[256];
    health_get(h->health, &s);
    int lag_ok = s.lag_ms <= h->srv->cfg.ready_max_lag_ms;
    int ready = s.redis_ok && s.postgres_ok && lag_ok;
    int n = snprintf(
        body, sizeof(body), "%s\nredis %s\npostgres %s\nmigrations done\nwrite-behind lag %lld ms (bound %lld)\n",
        ready ? "ready" : "not ready", s.redis_ok ? "ok" : "unreachable", s.postgres_ok ? "ok" : "unreachable",
        (long long)s.lag_ms, (long long)h->srv->cfg.ready_max_lag_ms);
    reply(aio, ready ? 200 : 503, "text/plain", body, (size_t)n);
}

static void on_metrics(nng_aio *aio) {
    char *text = NULL;
    size_t len = 0;
    if (metrics_render(&text, &len) != 0) {
        reply(aio, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    reply(aio, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

/* ---------------------------------------------------------------- the page's API */

/* Appends s as a JSON string. */
static int json_str(char *out, size_t cap, size_t *n, const char *s) {
    if (*n + 2 >= cap) return -1;
    out[(*n)++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (*n + 7 >= cap) return -1;
        if (c == '"' || c == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)c;
        } else if (c < 0x20) {
            *n += (size_t)snprintf(out + *n, cap - *n, "\\u%04x", c);
        } else {
            out[(*n)++] = (char)c;
        }
    }
    out[(*n)++] = '"';
    return 0;
}

static const char *const window_names[WINDOW_KINDS] = {"all", "daily", "weekly", "monthly"};

static int board_json(char *out, size_t cap, size_t *n, const char *id, const char *game, const char *title, int higher,
                      unsigned windows) {
    if (*n + 64 >= cap) return -1;
    *n += (size_t)snprintf(out + *n, cap - *n, "{\"id\":");
    if (json_str(out, cap, n, id) || *n + 16 >= cap) return -1;
    *n += (size_t)snprintf(out + *n, cap - *n, ",\"game\":");
    if (json_str(out, cap, n, game) || *n + 16 >= cap) return -1;
    *n += (size_t)snprintf(out + *n, cap - *n, ",\"title\":");
    if (json_str(out, cap, n, title) || *n + 64 >= cap) return -1;
    *n += (size_t)snprintf(out + *n, cap - *n, ",\"order\":\"%s\",\"windows\":[", higher ? "higher" : "lower");
    int first = 1;
    for (int k = 0; k < WINDOW_KINDS; k++) {
        if (!(windows & WINDOW_BIT(k))) continue;
        if (*n + 16 >= cap) return -1;
        *n += (size_t)snprintf(out + *n, cap - *n, "%s\"%s\"", first ? "" : ",", window_names[k]);
        first = 0;
    }
    if (*n + 3 >= cap) return -1;
    *n += (size_t)snprintf(out + *n, cap - *n, "]}");
    return 0;
}

static void on_boards(nng_aio *aio) {
    http *h = self(aio);
    board *all = NULL;
    size_t nb = 0, n = 0;
    rk_status st;
    if (boards_list(h->srv->boards, NULL, &all, &nb, &st) != RK_OK) {
        reply(aio, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    size_t cap = 256 + nb * (3 * BOARD_TITLE_MAX * 6 + 128);
    char *out = malloc(cap);
    int bad = out == NULL;
    if (!bad) {
        n = (size_t)snprintf(out, cap, "{\"boards\":[");
        bad = board_json(out, cap, &n, BOARD_GLOBAL_ID, "@global", "Global", 1, WINDOW_BIT(WINDOW_ALL));
        for (size_t i = 0; !bad && i < nb; i++) {
            out[n++] = ',';
            bad = board_json(out, cap, &n, all[i].id, all[i].game, all[i].title[0] ? all[i].title : all[i].id,
                             all[i].higher_is_better, all[i].windows);
        }
        if (!bad) n += (size_t)snprintf(out + n, cap - n, "]}\n");
    }
    free(all);
    if (bad)
        reply(aio, 500, "text/plain", "cannot list boards\n", 19);
    else
        reply(aio, 200, "application/json", out, n);
    free(out);
}

static void on_top(nng_aio *aio) {
    http *h = self(aio);
    nng_http_req *req = nng_aio_get_input(aio, 0);
    const char *uri = nng_http_req_get_uri(req);
    char id[BOARD_ID_MAX + 2], win[16];
    rk_status st;
    query_value(uri, "board", id, sizeof(id));
    query_value(uri, "window", win, sizeof(win));
    int k = 0;
    while (k < WINDOW_KINDS && strcmp(win[0] ? win : "all", window_names[k]) != 0) k++;
    if (validate_id("board", id, &st) != RK_OK || k == WINDOW_KINDS) {
        const char *msg = "{\"ok\":false,\"error\":\"board and window (all, daily, weekly, monthly) are required\"}\n";
        reply(aio, 400, "application/json", msg, strlen(msg));
        return;
    }
    if (h->events == NULL) {
        const char *msg = "{\"ok\":false,\"error\":\"live events are disabled\"}\n";
        reply(aio, 503, "application/json", msg, strlen(msg));
        return;
    }
    /* Only boards that exist are watched (events.c): asked of memory, as
     * every handler here must not wait on a store. A board created through
     * another rankd is known here once it has been used through this one. */
    board b;
    if (strcmp(id, BOARD_GLOBAL_ID) != 0 && boards_get(h->srv->boards, NULL, id, &b, &st) != RK_OK) {
        char msg[BOARD_ID_MAX + 64];
        int n = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"no board %s\"}\n", id);
        reply(aio, 404, "application/json", msg, (size_t)n);
        return;
    }
    events_request_top(h->events, id, k);
    reply(aio, 200, "application/json", "{\"ok\":true}\n", 12);
}

/* GET /api/counters?game=G: the game's counters and their latest totals,
 * from memory (the events thread reads them every coalesce-ms; the page
 * then follows CounterChanged events). */
static void on_counters(nng_aio *aio) {
    http *h = self(aio);
    nng_http_req *req = nng_aio_get_input(aio, 0);
    char game[BOARD_ID_MAX + 2];
    rk_status st;
    query_value(nng_http_req_get_uri(req), "game", game, sizeof(game));
    if (game[0] && validate_id("game", game, &st) != RK_OK) {
        const char *msg = "{\"ok\":false,\"error\":\"game must be [a-z0-9_-]{1,64}\"}\n";
        reply(aio, 400, "application/json", msg, strlen(msg));
        return;
    }
    counter *defs = NULL;
    counter_totals *tot = NULL;
    int *has = NULL;
    size_t nc = 0, n = 0;
    if (counters_seen(h->srv->counters, game, &defs, &tot, &has, &nc, &st) != RK_OK) {
        reply(aio, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    size_t cap = 64 + nc * (4 * BOARD_ID_MAX + 4 * (WINDOW_LABEL_MAX + 64) + 128);
    char *out = malloc(cap);
    int bad = out == NULL;
    if (!bad) n = (size_t)snprintf(out, cap, "{\"counters\":[");
    for (size_t i = 0; !bad && i < nc; i++) {
        n += (size_t)snprintf(out + n, cap - n, "%s{\"game\":", i ? "," : "");
        bad = json_str(out, cap, &n, defs[i].game);
        if (!bad) n += (size_t)snprintf(out + n, cap - n, ",\"name\":");
        bad = bad || json_str(out, cap, &n, defs[i].name);
        if (!bad && has[i]) {
            n += (size_t)snprintf(out + n, cap - n, ",\"read_at_us\":%" PRId64 ",\"totals\":{", tot[i].read_at_us);
            for (int k = 0; k < WINDOW_KINDS; k++)
                n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":%" PRId64, k ? "," : "", window_names[k],
                                      tot[i].total[k]);
            n += (size_t)snprintf(out + n, cap - n, "}");
        }
        if (!bad) n += (size_t)snprintf(out + n, cap - n, "}");
    }
    if (!bad) n += (size_t)snprintf(out + n, cap - n, "]}\n");
    free(defs);
    free(tot);
    free(has);
    if (bad)
        reply(aio, 500, "text/plain", "cannot list counters\n", 21);
    else
        reply(aio, 200, "application/json", out, n);
    free(out);
}

/* The player view and the distribution: api.c answers them off nng's threads. */
static void on_player(nng_aio *aio) { api_ask(self(aio)->api, API_PLAYER, aio); }
static void on_history(nng_aio *aio) { api_ask(self(aio)->api, API_HISTORY, aio); }
static void on_distribution(nng_aio *aio) { api_ask(self(aio)->api, API_DISTRIBUTION, aio); }

/* ---------------------------------------------------------------- lifecycle */

typedef struct route {
    const char *path;
    void (*fn)(nng_aio *);
} route;

static const route routes[] = {
    {"/healthz", on_healthz},   {"/readyz", on_readyz},       {"/metrics", on_metrics},
    {"/api/boards", on_boards}, {"/api/top", on_top},         {"/api/counters", on_counters},
    {"/api/player", on_player}, {"/api/history", on_history}, {"/api/distribution", on_distribution},
};

typedef struct asset {
    const char *path;
    const char *data;
    const size_t *len;
    const char *type;
} asset;

static const asset assets[] = {
    {"/", web_index_html, &web_index_html_len, "text/html; charset=utf-8"},
    {"/app.js", web_app_js, &web_app_js_len, "text/javascript; charset=utf-8"},
    {"/style.css", web_style_css, &web_style_css_len, "text/css; charset=utf-8"},
};

int http_start(http **out, server *srv, health *hl, events *ev, rk_status *st) {
    int rv;
    *out = NULL;
    if (srv->cfg.http[0] == '\0') return RK_OK;
    http *h = calloc(1, sizeof(*h));
    if (h == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    h->srv = srv;
    h->health = hl;
    h->events = ev;
    *out = h;
    if ((rv = api_start(&h->api, srv, st)) != RK_OK) return rv;
    if ((rv = nng_url_parse(&h->url, srv->cfg.http)) != 0 || (rv = nng_http_server_hold(&h->hs, h->url)) != 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot serve HTTP on %s: %s", srv->cfg.http, nng_strerror(rv));
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        nng_http_handler *hd;
        if ((rv = nng_http_handler_alloc(&hd, routes[i].path, routes[i].fn)) != 0)
            return rk_status_set(st, RK_INTERNAL, "HTTP handler: %s", nng_strerror(rv));
        nng_http_handler_set_data(hd, h, NULL);
        if ((rv = nng_http_server_add_handler(h->hs, hd)) != 0) {
            nng_http_handler_free(hd);
            return rk_status_set(st, RK_INTERNAL, "HTTP handler %s: %s", routes[i].path, nng_strerror(rv));
        }
    }
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        nng_http_handler *hd;
        if ((rv = nng_http_handler_alloc_static(&hd, assets[i].path, assets[i].data, *assets[i].len, assets[i].type)) !=
                0 ||
            (rv = nng_http_server_add_handler(h->hs, hd)) != 0)
            return rk_status_set(st, RK_INTERNAL, "HTTP asset %s: %s", assets[i].path, nng_strerror(rv));
    }
    if (tlsconf_url_is_tls(srv->cfg.http)) {
        if (srv->tls == NULL)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s needs tls-cert and tls-key", srv->cfg.http);
        if ((rv = nng_http_server_set_tls(h->hs, srv->tls)) != 0)
            return rk_status_set(st, RK_INTERNAL, "cannot serve HTTPS on %s: %s", srv->cfg.http, nng_strerror(rv));
    }
    if ((rv = nng_http_server_start(h->hs)) != 0)
        return rk_status_set(st, RK_UNAVAILABLE, "cannot serve HTTP on %s: %s", srv->cfg.http, nng_strerror(rv));
    log_info("serving HTTP", "url=%s", srv->cfg.http);
    return RK_OK;
}

void http_stop(http *h) {
    if (h == NULL) return;
    /* The API first: it answers what it still holds, which the server's
     * stop waits for; what arrives meanwhile is answered 503 at once. */
    api_stop(h->api);
    if (h->hs) {
        nng_http_server_stop(h->hs);
        nng_http_server_release(h->hs);
    }
    if (h->url) nng_url_free(h->url);
    api_free(h->api);
    free(h);
}

int http_ws_url(const char *http_url, char *out, size_t cap) {
    int n, secure = strncmp(http_url, "https://", 8) == 0;
    if (!secure && strncmp(http_url, "http://", 7) != 0) return -1;
    if (secure)
        n = snprintf(out, cap, "wss://%s", http_url + 8);
    else
        n = snprintf(out, cap, "ws://%s", http_url + 7);
    if (n < 0 || (size_t)n >= cap) return -1;
    /* Drop a trailing path, then add ours. */
    char *slash = strchr(out + (secure ? 6 : 5), '/');
    if (slash) *slash = '\0';
    if (strlen(out) + 8 >= cap) return -1;
    strcat(out, "/events");
    return 0;
}
