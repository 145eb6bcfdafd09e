/*
 * events.h - live events: rank changes pushed to subscribers.
 *
 * rk_submit publishes every change on the Redis channel rk:ev (see
 * rankd.lua). Each rankd process subscribes to it, so a change made through
 * any process reaches the subscribers of all of them, and republishes it on
 * its own nng PUB socket as rankd.Event messages under text topics
 * (docs/EVENTS.md):
 *   - RankChanged at once, for the player who moved;
 *   - TopChanged for each window of a changed board (and the global board),
 *     coalesced: at most one per board and window per cfg.coalesce_ms, and
 *     always read fresh from Redis when sent, so it carries the latest state;
 *   - WindowRolled when a daily, weekly or monthly window ends;
 *   - CounterChanged for each counter whose totals changed, at most one
 *     per counter per cfg.coalesce_ms (counters.h).
 * One thread does all of it with its own connections; PUB never blocks, and
 * nng drops messages for subscribers that do not keep up (the per-board
 * sequence numbers in TopChanged let them notice).
 */
#ifndef RANKD_EVENTS_H
#define RANKD_EVENTS_H

#include "server.h"

typedef struct events events;

/* Opens the PUB socket and starts the thread (with cfg.events empty the
 * thread still runs, publishing nothing: it applies the revocations other
 * rankd processes send on rk:ev, auth.h); events_listen then listens on
 * every address of cfg.events. Two
 * steps because a ws:// address shares the HTTP server, and listening on it
 * starts that server: the page's other routes must be in place first, or a
 * page that reconnects at once gets 404s for them. */
int events_start(events **out, server *srv, rk_status *st);
int events_listen(events *ev, rk_status *st);
void events_stop(events *ev);

/* Asks for a fresh TopChanged of a board and window (the page calls this
 * when it opens a board). Thread-safe; the event follows within a tick. */
void events_request_top(events *ev, const char *board_id, int window);

/* Topic of an event: "<game>/<board>/<kind>/<detail>/"; the global board's
 * game is "@global". Writes at most cap bytes including the NUL. */
void events_topic_top(char *out, size_t cap, const char *game, const char *board, int window);
void events_topic_player(char *out, size_t cap, const char *game, const char *board, int64_t uid);
void events_topic_window(char *out, size_t cap, const char *game, const char *board);
/* "<game>/#counter/<name>/": "#" is in no board id, so no board's topics
 * start this way. */
void events_topic_counter(char *out, size_t cap, const char *game, const char *name);

#endif
