/*
 * rankd/subscriber.h - live events: subscribe and get decoded callbacks.
 *
 * rankd publishes rankd.Event messages under text topics (docs/EVENTS.md):
 *   "<game>/<board>/top/<window>/"  the top N of a board changed
 *   "<game>/<board>/player/<id>/"   one player's rank changed
 *   "<game>/<board>/window/"        a daily, weekly or monthly window ended
 * A subscription is a topic prefix: "" is everything, "tetris/" one game,
 * "tetris/tetris/top/" one board's tops. The global board's game is
 * "@global". The rk_topic_* helpers build topics.
 *
 * Delivery is best effort, like any pub/sub: a subscriber that falls behind
 * loses messages (never the server's time). TopChanged carries a sequence
 * number per board and window; a gap means "re-sync with rk_ranking_top".
 * After a lost connection the subscriber reconnects and keeps its
 * subscriptions by itself.
 */
#ifndef RANKD_SUBSCRIBER_H
#define RANKD_SUBSCRIBER_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/rankd.pb-c.h>
#include <rankd/status.h>
#include <rankd/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_subscriber rk_subscriber;

/* Called on a library thread for each event. `topic` and `ev` are valid
 * only during the call. */
typedef void (*rk_event_cb)(const char *topic, const Rankd__Event *ev, void *arg);

/* Dials rankd's event address(es) ("tcp://127.0.0.1:7401", comma-separated
 * for several). Nothing arrives until rk_subscriber_subscribe. */
int rk_subscriber_open(rk_subscriber **out, const char *urls, rk_event_cb cb, void *arg, rk_status *st);
/* The same for tls+tcp:// addresses (rankd/tls.h; tls may be NULL when no
 * address is a TLS one). */
int rk_subscriber_open_tls(rk_subscriber **out, const char *urls, const rk_tls_opts *tls, rk_event_cb cb, void *arg,
                           rk_status *st);
int rk_subscriber_subscribe(rk_subscriber *s, const char *prefix, rk_status *st);
int rk_subscriber_unsubscribe(rk_subscriber *s, const char *prefix, rk_status *st);
/* Stops delivery (waits for a callback in progress), ends the connections
 * (within 2 s; usually well under a millisecond) and frees everything.
 * Not from inside the callback. */
void rk_subscriber_close(rk_subscriber *s);

/* Decodes one published message, as the subscriber does before calling
 * back: the topic, a NUL, then a rankd.Event. On success (0) *topic points
 * into msg and *ev is the caller's to free with
 * rankd__event__free_unpacked(*ev, NULL); -1 when msg is not such a
 * message (nothing to free). */
int rk_event_decode(const void *msg, size_t len, const char **topic, Rankd__Event **ev);

/* Topic builders; window is a Rankd__Window. Return the length written. */
int rk_topic_top(char *out, size_t cap, const char *game, const char *board, int window);
int rk_topic_player(char *out, size_t cap, const char *game, const char *board, int64_t user_id);
int rk_topic_window(char *out, size_t cap, const char *game, const char *board);

#ifdef __cplusplus
}
#endif
#endif
