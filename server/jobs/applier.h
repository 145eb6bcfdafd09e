/*
 * applier.h - the split layout's second half of a submission.
 *
 * In the split layout (store_redis.h, rstore_layout) rk_submit changes only
 * its board's keys, and its stream entry says how the player's all-time
 * value moved and which boards follow it: the global board and the
 * board's aggregates. This job reads every board's stream and applies
 * those entries to each target with rk_apply, in the target's slot, which
 * skips any entry the target has applied already, so each counts exactly
 * once however many rankd run it, and in the stream's order. A target
 * being rebuilt refuses; its entries wait in the stream (the trim keeps
 * them, rk:{b}:mirror) and are applied after. In the one-key layout there
 * are no board streams and the job has nothing to do.
 */
#ifndef RANKD_APPLIER_H
#define RANKD_APPLIER_H

#include "job.h"

extern const job_ops applier_job;

#endif
