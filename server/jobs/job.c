/*
 * job.c - the thread under each job (job.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "job.h"

struct job {
    const job_ops *ops;
    void *state;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu; /* with cv: the wait between ticks, cut short by job_stop */
    pthread_cond_t cv;
};

static void wait_ms(job *j, int64_t ms) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    while (!atomic_load(&j->stop))
        if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&j->mu);
}

static void *job_main(void *arg) {
    job *j = arg;
    while (!atomic_load(&j->stop)) {
        int64_t ms = j->ops->tick(j->state, j);
        if (ms > 0) wait_ms(j, ms);
    }
    return NULL;
}

int job_start(job **out, const job_ops *ops, server *srv, rk_status *st) {
    job *j = calloc(1, sizeof(*j));
    if (j == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    j->ops = ops;
    int rc = ops->start(&j->state, srv, st);
    if (rc != RK_OK) {
        free(j);
        return rc;
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        ops->stop(j->state);
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return rk_status_set(st, RK_INTERNAL, "cannot start the %s thread", ops->name);
    }
    *out = j;
    return RK_OK;
}

void job_stop(job *j) {
    if (j == NULL) return;
    pthread_mutex_lock(&j->mu);
    atomic_store(&j->stop, 1);
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    j->ops->stop(j->state);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void *job_state(job *j) { return j->state; }

int job_stopping(const job *j) { return atomic_load(&((job *)j)->stop); }
