/*
 * restore.h - the recovery job: makes Redis whole again after an absence.
 *
 * Four times a second it looks at Redis (rstore_probe) and tells the
 * recovery module what it saw (recovery.h); then it does what the state
 * asks:
 *   RESTORING    load rankd's functions, rebuild the user directory and
 *                every board Redis lacks from PostgreSQL, set rk:live,
 *                drop the cached top pages; then RECOVERY_RESTORED.
 *   CATCHING_UP  replay redis_backlog (degraded.h) in chunks; the last
 *                chunk under the hand-over lock, then RECOVERY_CAUGHT_UP.
 *   UP           replay, once a second, what other rankd processes
 *                recorded while their Redis was away.
 * It is the only job that writes Redis's state.
 */
#ifndef RANKD_RESTORE_H
#define RANKD_RESTORE_H

#include "job.h"

extern const job_ops restore_job;

#endif
