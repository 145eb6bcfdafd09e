/*
 * writebehind.h - moves accepted submissions from Redis to PostgreSQL.
 *
 * rk_submit appends every accepted submission to the Redis stream rk:wb in
 * the same atomic step that updates the boards. This thread reads the
 * stream through the consumer group "rankd", inserts each batch into
 * `scores` in one statement (idempotent on the stream entry id), and only
 * after the commit acknowledges and deletes the entries. If rankd dies
 * between commit and acknowledgement the entries are read again at the
 * next start and the insert skips them; if PostgreSQL is down the entries
 * wait in the stream and the backlog drains when it returns.
 */
#ifndef RANKD_WRITEBEHIND_H
#define RANKD_WRITEBEHIND_H

#include "job.h"

/* job_stop finishes the batch in hand, then stops. Restoring Redis after
 * an absence is not this job's: see recovery.h and restore.h. */
extern const job_ops wb_job;

#endif
