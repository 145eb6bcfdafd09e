/*
 * job.h - a background thread behind a small table of operations.
 *
 * Every background task of rankd (the write-behind, the recovery of Redis,
 * the health checks, the archive) is a job: a start that builds its state
 * with its own store connections, a tick that does one step and says when
 * the next is due, and a stop that frees the state. job.c owns the thread,
 * the waiting between ticks and the stop signal, so each job is only its
 * steps:
 *
 *     const job_ops wb_job = {.name = "write-behind", .start = wb_open,
 *                             .tick = wb_tick, .stop = wb_close};
 *
 * A tick must return within about a second (the store calls it makes
 * have timeouts), so rankd stops promptly; a long task checks
 * job_stopping between its steps.
 */
#ifndef RANKD_JOB_H
#define RANKD_JOB_H

#include <stdint.h>

#include "server.h"

typedef struct job job;

typedef struct job_ops {
    const char *name;
    /* Builds the job's state; runs on the starting thread, before the
     * job's thread exists. On failure it frees what it made. */
    int (*start)(void **state, server *srv, rk_status *st);
    /* One step: returns the milliseconds to wait before the next (0: at
     * once). */
    int64_t (*tick)(void *state, job *self);
    /* Frees the state, after the last tick has returned. */
    void (*stop)(void *state);
} job_ops;

int job_start(job **out, const job_ops *ops, server *srv, rk_status *st);
/* Wakes the job from its wait, lets the running tick end, joins the
 * thread and calls ops->stop. NULL is fine. */
void job_stop(job *j);
/* The state ops->start made (for the job's own accessors, health_get). */
void *job_state(job *j);
/* Whether job_stop has been called: a long tick stops early on it. */
int job_stopping(const job *j);

#endif
