/*
 * recovery.h - the one owner of "can Redis serve, and from what?".
 *
 * Redis holds the live boards; PostgreSQL holds the record. When Redis
 * goes away, restarts empty or restarts slowly, rankd goes on serving from
 * PostgreSQL and later makes Redis whole again. This module is the state
 * machine that decides each step; everyone else only reads it (where do
 * writes go, where do reads go, is a reply degraded) or reports what they
 * saw (recovery_observe). The restore and replay themselves are done by
 * the recovery job (jobs/restore.c), which reports their end here.
 *
 *   UP           Redis serves its data: reads and writes go to Redis.
 *   DOWN         Redis does not answer: writes are recorded in PostgreSQL
 *                (the history and redis_backlog), reads are computed from
 *                the history.
 *   LOADING      Redis answers LOADING (a restart reading its data set):
 *                as DOWN, until it serves.
 *   RESTORING    Redis serves again, but may have lost its data: its
 *                functions, user directory and boards are being put back
 *                from PostgreSQL. As DOWN for callers.
 *   CATCHING_UP  Restored; what was recorded without Redis is being
 *                replayed into it. Reads go to Redis (they may not show
 *                the backlog yet); writes queue behind the backlog in
 *                PostgreSQL, so every board sees submissions in the order
 *                they came.
 *
 *             gone                   answered / empty       restored
 *   UP ----------------> DOWN ------------------> RESTORING ------> CATCHING_UP
 *    ^  <-- loading -->  LOADING --- answered --^    ^                  |
 *    |                                               | empty            |
 *    +------------------ caught up -----------------------------------+
 *
 * (every state but DOWN goes to DOWN when Redis stops answering, and to
 * LOADING when it answers LOADING; the full table is in recovery.c.)
 *
 * Writers hold the hand-over lock shared from the routing decision until
 * their submission is stored; the replay takes it exclusively to apply the
 * last of the backlog and report RECOVERY_CAUGHT_UP, so no submission
 * slips between the replay's end and UP.
 */
#ifndef RANKD_RECOVERY_H
#define RANKD_RECOVERY_H

#include <rankd/status.h>

typedef enum recovery_state {
    RECOVERY_UP = 0,
    RECOVERY_DOWN,
    RECOVERY_LOADING,
    RECOVERY_RESTORING,
    RECOVERY_CATCHING_UP,
    RECOVERY_NSTATES
} recovery_state;

/* What somebody saw. */
typedef enum recovery_event {
    RECOVERY_LIVE = 0,       /* Redis answered and holds the live view (rk:live) */
    RECOVERY_EMPTY,          /* Redis answered without the live view: it lost its data */
    RECOVERY_GONE,           /* Redis did not answer */
    RECOVERY_IS_LOADING,     /* Redis answered LOADING */
    RECOVERY_RESTORED,       /* the restore is done (the recovery job) */
    RECOVERY_STORED_WITHOUT, /* a submission was recorded in redis_backlog */
    RECOVERY_CAUGHT_UP,      /* the backlog is empty, under the hand-over lock */
    RECOVERY_NEVENTS
} recovery_event;

typedef enum recovery_route { RECOVERY_TO_REDIS = 0, RECOVERY_TO_POSTGRES } recovery_route;

typedef struct recovery recovery;

int recovery_open(recovery **out, recovery_state initial, rk_status *st);
void recovery_close(recovery *rec);

/* The transition table, pure: what `s` becomes on `e`. */
recovery_state recovery_next(recovery_state s, recovery_event e);
const char *recovery_state_name(recovery_state s);

/* Applies e (thread-safe) and returns the state after it; a change is
 * logged and counted in rankd_redis_state. */
recovery_state recovery_observe(recovery *rec, recovery_event e);
recovery_state recovery_get(const recovery *rec);

/* Replies are marked degraded while Redis cannot serve at all. */
int recovery_degraded(const recovery *rec);
/* Where a ranked read goes. */
recovery_route recovery_reads(const recovery *rec);

/* A writer's turn: takes the hand-over lock shared and says where to
 * store. recovery_write_end releases it; stored_without says the
 * submission went to redis_backlog (RECOVERY_STORED_WITHOUT). */
recovery_route recovery_write_begin(recovery *rec);
/* The same for a thread that must not wait: -1 (lock not taken) while
 * the replay holds the lock. */
int recovery_write_try_begin(recovery *rec, recovery_route *route);
void recovery_write_end(recovery *rec, int stored_without);

/* The replay's last step: no writer is between its routing and its store
 * while it holds this. */
void recovery_handover_begin(recovery *rec);
void recovery_handover_end(recovery *rec);

#endif
