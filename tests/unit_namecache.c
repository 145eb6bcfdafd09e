/* The username cache: what it keeps, that it never holds more than its
 * capacity, that the clock spares recently used names, and that it is
 * safe with many threads at once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rankd/status.h>

#include "check.h"
#include "namecache.h"

static void hits_and_misses(void) {
    namecache *c = NULL;
    rk_status st;
    CHECK_INT(namecache_open(&c, 8, &st), RK_OK);
    int64_t id = 0;
    char canon[NAMECACHE_NAME_MAX];
    CHECK_INT(namecache_get(c, "alice", &id, canon), 0);
    namecache_put(c, "alice", 7, "Alice");
    CHECK_INT(namecache_get(c, "alice", &id, canon), 1);
    CHECK_INT(id, 7);
    CHECK_STR(canon, "Alice");
    CHECK_INT(namecache_get(c, "Alice", &id, NULL), 0); /* keys are exact */
    namecache_put(c, "alice", 7, "Alice");              /* again: still one entry */
    CHECK_INT(namecache_size(c), 1);
    namecache_put(c, "this-name-is-far-too-long-to-be-a-username-at-all", 9, "x");
    CHECK_INT(namecache_size(c), 1);
    CHECK_INT(namecache_get(NULL, "alice", &id, NULL), 0);
    namecache_close(c);
    CHECK(namecache_open(&c, 0, &st) != RK_OK);
}

static void never_more_than_capacity(void) {
    namecache *c = NULL;
    rk_status st;
    CHECK_INT(namecache_open(&c, 100, &st), RK_OK);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "u%d", i);
        namecache_put(c, name, i + 1, name);
        CHECK(namecache_size(c) <= 100);
    }
    CHECK_INT(namecache_size(c), 100);
    /* Whatever is held still answers correctly. */
    int held = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t id = 0;
        char canon[NAMECACHE_NAME_MAX];
        snprintf(name, sizeof(name), "u%d", i);
        if (namecache_get(c, name, &id, canon)) {
            held++;
            CHECK_INT(id, i + 1);
            CHECK_STR(canon, name);
        }
    }
    CHECK_INT(held, 100);
    /* The last name put is always there. */
    int64_t id;
    CHECK_INT(namecache_get(c, "u999", &id, NULL), 1);
    namecache_close(c);
}

static void the_clock_spares_used_names(void) {
    namecache *c = NULL;
    rk_status st;
    CHECK_INT(namecache_open(&c, 4, &st), RK_OK);
    int64_t id;
    namecache_put(c, "a", 1, "a");
    namecache_put(c, "b", 2, "b");
    namecache_put(c, "c", 3, "c");
    namecache_put(c, "d", 4, "d");
    CHECK_INT(namecache_get(c, "a", &id, NULL), 1); /* a is used, the rest not */
    namecache_put(c, "e", 5, "e");                  /* evicts b, the first unused */
    CHECK_INT(namecache_get(c, "a", &id, NULL), 1);
    CHECK_INT(namecache_get(c, "b", &id, NULL), 0);
    CHECK_INT(namecache_get(c, "e", &id, NULL), 1);
    CHECK_INT(id, 5);
    /* Every entry used: the hand goes round once and takes one anyway. */
    CHECK_INT(namecache_get(c, "c", &id, NULL), 1);
    CHECK_INT(namecache_get(c, "d", &id, NULL), 1);
    namecache_put(c, "f", 6, "f");
    CHECK_INT(namecache_size(c), 4);
    CHECK_INT(namecache_get(c, "f", &id, NULL), 1);
    namecache_close(c);
}

static namecache *shared;

static void *hammer(void *arg) {
    int base = *(int *)arg;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        int64_t id;
        snprintf(name, sizeof(name), "t%d", (base + i * 7) % 3000);
        if (namecache_get(shared, name, &id, NULL)) {
            if (id != (base + i * 7) % 3000 + 1) return (void *)1;
        } else {
            namecache_put(shared, name, (base + i * 7) % 3000 + 1, name);
        }
    }
    return NULL;
}

static void many_threads(void) {
    rk_status st;
    CHECK_INT(namecache_open(&shared, 500, &st), RK_OK);
    pthread_t t[4];
    int base[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, &base[i]);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
    CHECK_INT(namecache_size(shared), 500);
    namecache_close(shared);
}

int main(void) {
    RUN(hits_and_misses);
    RUN(never_more_than_capacity);
    RUN(the_clock_spares_used_names);
    RUN(many_threads);
    return CHECK_SUMMARY();
}
