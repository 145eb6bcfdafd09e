/*
 * watchset.h - the boards the events thread keeps coalescing state for.
 *
 * GET /api/top is anonymous, so this table must not grow with what callers
 * ask: its users put only boards that exist in it, and it holds at most
 * `max` states. At the cap, making a new state evicts the least recently
 * used one (preferring one that owes no event); watchset_expire drops the
 * states that owe nothing and have not been touched for a while. A board's
 * sequence numbers must never go back, even after its state was dropped,
 * so every new state starts from the highest seq any dropped one reached.
 * Pure memory, one thread (the events thread); no locking.
 */
#ifndef RANKD_WATCHSET_H
#define RANKD_WATCHSET_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#include "board.h"
#include "window.h"

typedef struct watch_state {
    char id[BOARD_ID_MAX + 1];
    unsigned dirty;                /* WINDOW_BIT(k) of windows owing a TopChanged */
    int64_t last_us[WINDOW_KINDS]; /* when the last TopChanged went out */
    uint64_t seq[WINDOW_KINDS];    /* of the last TopChanged */
    int64_t used_us;               /* last change, ask or event: the LRU and idle order */
} watch_state;

typedef struct watchset watchset;

int watchset_open(watchset **out, size_t max, rk_status *st);
void watchset_close(watchset *w);

/* The state of board id, touched at now; made when missing (evicting one
 * at the cap). NULL only when out of memory. The pointer is valid until
 * the next call that makes or drops a state. */
watch_state *watchset_get(watchset *w, const char *id, int64_t now);

/* The states as an array: watchset_at(w, i) for i < watchset_count(w). */
size_t watchset_count(const watchset *w);
watch_state *watchset_at(watchset *w, size_t i);

/* Drops state i; the last state moves to i (look at i again). */
void watchset_drop(watchset *w, size_t i);

/* Drops every state that owes nothing and was last touched more than
 * idle_us before now. */
void watchset_expire(watchset *w, int64_t now, int64_t idle_us);

#endif
