/*
 * health.h - is rankd ready to serve, and how far behind is PostgreSQL?
 *
 * A thread checks once a second, with its own connections, whether Redis
 * and PostgreSQL answer and how large and how old the write-behind backlog
 * is. HTTP handlers and the Status RPC read the last result without any
 * I/O, so a probe never waits on a store.
 */
#ifndef RANKD_HEALTH_H
#define RANKD_HEALTH_H

#include <stdint.h>

#include "job.h"

typedef struct health health;

typedef struct health_snapshot {
    int redis_ok;
    int postgres_ok;
    int64_t backlog;      /* stream entries not yet in PostgreSQL */
    int64_t lag_ms;       /* age of the oldest of them */
    int64_t dead_letters; /* entries PostgreSQL refused, set aside */
    int64_t checked_us;
} health_snapshot;

/* Its state (job_state) is the health the getter reads; the first check
 * is done in start, so the first answer is there before anyone asks. */
extern const job_ops health_job;
void health_get(health *h, health_snapshot *out);

#endif
