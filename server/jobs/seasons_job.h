/*
 * seasons_job.h - the job that ends seasons when their schedule says.
 *
 * Every second each rankd looks at the boards with a season schedule
 * (season.h) and ends the ones due (seasons.h), at the scheduled
 * instant itself: the end's split of the history is at that instant, so
 * a rankd that notices a second late ends the same season the same way.
 * Several rankd processes end each season once: the board's rebuild flag
 * lets one work on it at a time (the others leave it for their next
 * tick), and PostgreSQL moves a board's season on only from the season
 * asked for (pgstore_season_end), so whoever comes second finds it ended.
 */
#ifndef RANKD_SEASONS_JOB_H
#define RANKD_SEASONS_JOB_H

#include "job.h"

extern const job_ops seasons_job;

#endif
