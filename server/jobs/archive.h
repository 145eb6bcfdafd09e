/*
 * archive.h - what PostgreSQL keeps for good: final standings of closed
 * windows and periodic top-N snapshots.
 *
 * A thread looks every cfg.archive_interval_s seconds. For each board and
 * each daily, weekly or monthly window it keeps, the most recent closed
 * windows (7 days, 4 weeks, 2 months back, so a rankd that was down over a
 * roll-over catches up) that have no standings yet get their final top N
 * (cfg.standings_top_n): from Redis while the window's set is there, else
 * computed from the history (report.c), which ranks identically. Inserts
 * are idempotent, so several rankd processes may do this at once.
 * Snapshots of every board's all-time top N are taken every
 * cfg.snapshot_interval_s by whichever process first takes the interval's
 * lock in Redis. The same thread adds the history's monthly partitions.
 */
#ifndef RANKD_ARCHIVE_H
#define RANKD_ARCHIVE_H

#include "job.h"

extern const job_ops archive_job;

#endif
