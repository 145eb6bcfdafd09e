/*
 * http.h - the live page, /healthz, /readyz and /metrics over HTTP.
 *
 *   GET /             the live leaderboard page (server/web/, built in)
 *   GET /healthz      200 while the process runs
 *   GET /readyz       200 when Redis and PostgreSQL answer, migrations ran
 *                     and the write-behind lag is under cfg.ready_max_lag_ms
 *   GET /metrics      Prometheus text (metrics.h)
 *   GET /api/boards   the boards, as JSON, for the page's picker
 *   GET /api/top?board=ID&window=W   asks for a fresh TopChanged event
 *   GET /api/counters?game=G         the game's counters, from memory
 *   GET /api/player, /api/history, /api/distribution   the player view (api.h)
 * The events WebSocket shares the port at ws://HOST:PORT/events.
 */
#ifndef RANKD_HTTP_H
#define RANKD_HTTP_H

#include <stddef.h>

#include "events.h"
#include "health.h"
#include "server.h"

typedef struct http http;

/* Serves on cfg.http; nothing when it is empty. `ev` may be NULL. */
int http_start(http **out, server *srv, health *h, events *ev, rk_status *st);
void http_stop(http *h);

/* "http://host:port[/...]" -> "ws://host:port/events", "https://..." ->
 * "wss://host:port/events"; 0 or -1. */
int http_ws_url(const char *http_url, char *out, size_t cap);

#endif
