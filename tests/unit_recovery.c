/* The recovery state machine: every path an outage can take, where reads
 * and writes go in each state, and the hand-over lock that keeps a
 * submission from slipping between the replay's end and UP. */
#include <rankd/status.h>

#include "check.h"
#include "recovery.h"

/* Feeds events from a state; the state after each is checked. */
static recovery_state walk(recovery_state s, const recovery_event *ev, const recovery_state *want, int n) {
    for (int i = 0; i < n; i++) {
        s = recovery_next(s, ev[i]);
        if (s != want[i])
            fprintf(stderr, "  step %d: %s, expected %s\n", i, recovery_state_name(s), recovery_state_name(want[i]));
        CHECK_INT(s, want[i]);
    }
    return s;
}

static void outage_with_data_kept(void) {
    const recovery_event ev[] = {RECOVERY_LIVE,     RECOVERY_GONE, RECOVERY_GONE,     RECOVERY_LIVE,
                                 RECOVERY_RESTORED, RECOVERY_LIVE, RECOVERY_CAUGHT_UP};
    const recovery_state want[] = {RECOVERY_UP,          RECOVERY_DOWN,        RECOVERY_DOWN, RECOVERY_RESTORING,
                                   RECOVERY_CATCHING_UP, RECOVERY_CATCHING_UP, RECOVERY_UP};
    walk(RECOVERY_UP, ev, want, 7);
}

static void restart_empty_between_probes(void) {
    /* Never seen away: only rk:live tells that it lost its data. */
    const recovery_event ev[] = {RECOVERY_EMPTY, RECOVERY_EMPTY, RECOVERY_RESTORED, RECOVERY_CAUGHT_UP};
    const recovery_state want[] = {RECOVERY_RESTORING, RECOVERY_RESTORING, RECOVERY_CATCHING_UP, RECOVERY_UP};
    walk(RECOVERY_UP, ev, want, 4);
}

static void restart_while_loading(void) {
    const recovery_event ev[] = {RECOVERY_GONE,     RECOVERY_IS_LOADING, RECOVERY_IS_LOADING,
                                 RECOVERY_RESTORED, RECOVERY_LIVE,       RECOVERY_RESTORED};
    /* RESTORED while loading is stale news: ignored. */
    const recovery_state want[] = {RECOVERY_DOWN,    RECOVERY_LOADING,   RECOVERY_LOADING,
                                   RECOVERY_LOADING, RECOVERY_RESTORING, RECOVERY_CATCHING_UP};
    walk(RECOVERY_UP, ev, want, 6);
}

static void caught_up_only_from_catching_up(void) {
    recovery_state from[] = {RECOVERY_DOWN, RECOVERY_LOADING, RECOVERY_RESTORING};
    for (int i = 0; i < 3; i++) CHECK_INT(recovery_next(from[i], RECOVERY_CAUGHT_UP), from[i]);
    CHECK_INT(recovery_next(RECOVERY_CATCHING_UP, RECOVERY_CAUGHT_UP), RECOVERY_UP);
}

static void lost_again_in_every_state(void) {
    for (int s = 0; s < RECOVERY_NSTATES; s++) {
        CHECK_INT(recovery_next((recovery_state)s, RECOVERY_GONE), RECOVERY_DOWN);
        CHECK_INT(recovery_next((recovery_state)s, RECOVERY_IS_LOADING), RECOVERY_LOADING);
    }
    /* Emptied while catching up: restored again before the replay goes on. */
    CHECK_INT(recovery_next(RECOVERY_CATCHING_UP, RECOVERY_EMPTY), RECOVERY_RESTORING);
}

static void a_write_without_redis_leaves_up(void) {
    CHECK_INT(recovery_next(RECOVERY_UP, RECOVERY_STORED_WITHOUT), RECOVERY_DOWN);
    for (int s = RECOVERY_DOWN; s < RECOVERY_NSTATES; s++)
        CHECK_INT(recovery_next((recovery_state)s, RECOVERY_STORED_WITHOUT), s);
}

static void routes_per_state(void) {
    static const struct {
        recovery_state s;
        recovery_route reads, writes;
        int degraded;
    } rows[] = {
        {RECOVERY_UP, RECOVERY_TO_REDIS, RECOVERY_TO_REDIS, 0},
        {RECOVERY_DOWN, RECOVERY_TO_POSTGRES, RECOVERY_TO_POSTGRES, 1},
        {RECOVERY_LOADING, RECOVERY_TO_POSTGRES, RECOVERY_TO_POSTGRES, 1},
        {RECOVERY_RESTORING, RECOVERY_TO_POSTGRES, RECOVERY_TO_POSTGRES, 1},
        {RECOVERY_CATCHING_UP, RECOVERY_TO_REDIS, RECOVERY_TO_POSTGRES, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        recovery *rec = NULL;
        rk_status st;
        CHECK_INT(recovery_open(&rec, rows[i].s, &st), RK_OK);
        CHECK_INT(recovery_get(rec), rows[i].s);
        CHECK_INT(recovery_reads(rec), rows[i].reads);
        CHECK_INT(recovery_degraded(rec), rows[i].degraded);
        CHECK_INT(recovery_write_begin(rec), rows[i].writes);
        recovery_write_end(rec, 0);
        recovery_close(rec);
    }
}

static void handover_holds_writers_off(void) {
    recovery *rec = NULL;
    rk_status st;
    recovery_route route = RECOVERY_TO_REDIS;
    CHECK_INT(recovery_open(&rec, RECOVERY_CATCHING_UP, &st), RK_OK);
    recovery_handover_begin(rec);
    CHECK_INT(recovery_write_try_begin(rec, &route), -1);
    CHECK_INT(recovery_observe(rec, RECOVERY_CAUGHT_UP), RECOVERY_UP);
    recovery_handover_end(rec);
    CHECK_INT(recovery_write_try_begin(rec, &route), 0);
    CHECK_INT(route, RECOVERY_TO_REDIS);
    recovery_write_end(rec, 1); /* it found Redis gone after all */
    CHECK_INT(recovery_get(rec), RECOVERY_DOWN);
    recovery_close(rec);
}

static void names(void) {
    CHECK_STR(recovery_state_name(RECOVERY_UP), "up");
    CHECK_STR(recovery_state_name(RECOVERY_CATCHING_UP), "catching-up");
    CHECK_STR(recovery_state_name(RECOVERY_NSTATES), "?");
}

int main(void) {
    RUN(outage_with_data_kept);
    RUN(restart_empty_between_probes);
    RUN(restart_while_loading);
    RUN(caught_up_only_from_catching_up);
    RUN(lost_again_in_every_state);
    RUN(a_write_without_redis_leaves_up);
    RUN(routes_per_state);
    RUN(handover_holds_writers_off);
    RUN(names);
    return CHECK_SUMMARY();
}
