/* The watched-boards table on its own: a board's state is found again and
 * touched, the table never holds more than its cap (the least recently
 * used state goes, one owing an event only when every one does), quiet
 * states expire while owing ones stay, and a board's seq never goes back
 * after its state was dropped. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "watchset.h"

static watchset *open_set(size_t max) {
    watchset *w = NULL;
    rk_status st;
    CHECK_INT(watchset_open(&w, max, &st), RK_OK);
    return w;
}

static int has(watchset *w, const char *id) {
    for (size_t i = 0; i < watchset_count(w); i++)
        if (strcmp(watchset_at(w, i)->id, id) == 0) return 1;
    return 0;
}

static void found_again_and_touched(void) {
    watchset *w = open_set(8);
    watch_state *a = watchset_get(w, "tetris", 100);
    CHECK(a != NULL);
    if (a == NULL) return;
    a->dirty = 1;
    watch_state *b = watchset_get(w, "tetris", 250);
    CHECK(b == a);
    CHECK_INT(b->dirty, 1);
    CHECK_INT(b->used_us, 250);
    CHECK_INT(watchset_count(w), 1);
    watchset_close(w);
}

static void never_above_the_cap(void) {
    watchset *w = open_set(3);
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "b%d", i);
        CHECK(watchset_get(w, id, i) != NULL);
    }
    CHECK_INT(watchset_count(w), 3);
    /* The three most recent are the ones kept. */
    CHECK(has(w, "b997") && has(w, "b998") && has(w, "b999"));
    watchset_close(w);
}

static void the_least_recently_used_goes_first(void) {
    watchset *w = open_set(3);
    watchset_get(w, "a", 10);
    watchset_get(w, "b", 20);
    watchset_get(w, "c", 30);
    watchset_get(w, "a", 40); /* a is used again: b is now the oldest */
    watchset_get(w, "d", 50);
    CHECK(has(w, "a") && !has(w, "b") && has(w, "c") && has(w, "d"));
    /* c is older than a and d, but it owes an event: a clean one goes. */
    for (size_t i = 0; i < watchset_count(w); i++)
        if (strcmp(watchset_at(w, i)->id, "c") == 0) watchset_at(w, i)->dirty = 1;
    watchset_get(w, "e", 60);
    CHECK(!has(w, "a") && has(w, "c") && has(w, "d") && has(w, "e"));
    watchset_close(w);
}

static void quiet_states_expire_owing_ones_stay(void) {
    watchset *w = open_set(8);
    watchset_get(w, "quiet", 0);
    watchset_get(w, "owing", 0)->dirty = 2;
    watchset_get(w, "recent", 900);
    watchset_expire(w, 1000, 500);
    CHECK(!has(w, "quiet") && has(w, "owing") && has(w, "recent"));
    CHECK_INT(watchset_count(w), 2);
    watchset_close(w);
}

static void seq_never_goes_back(void) {
    watchset *w = open_set(8);
    watch_state *s = watchset_get(w, "tetris", 0);
    CHECK_INT(s->seq[0], 0);
    s->seq[0] = 7;
    s->seq[2] = 3;
    watchset_expire(w, 10, 5); /* quiet: dropped */
    CHECK_INT(watchset_count(w), 0);
    s = watchset_get(w, "tetris", 20);
    CHECK(s->seq[0] >= 7 && s->seq[2] >= 3);
    watchset_close(w);
}

int main(void) {
    RUN(found_again_and_touched);
    RUN(never_above_the_cap);
    RUN(the_least_recently_used_goes_first);
    RUN(quiet_states_expire_owing_ones_stay);
    RUN(seq_never_goes_back);
    return CHECK_SUMMARY();
}
