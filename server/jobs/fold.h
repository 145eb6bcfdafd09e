/*
 * fold.h - the counters' fold job.
 *
 * Once a second, while Redis serves: adds to Redis what was counted in
 * PostgreSQL while it could not (exactly once), then records in
 * PostgreSQL the totals Redis holds, so that a Redis that loses its data
 * gets them back (counters.h; docs/ARCHITECTURE.md, "Counters"). Every
 * rankd runs it; an advisory lock makes their folds and replays take
 * turns.
 */
#ifndef RANKD_FOLD_H
#define RANKD_FOLD_H

#include "job.h"

extern const job_ops fold_job;

#endif
