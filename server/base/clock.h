/*
 * clock.h - the one clock every part of rankd reads.
 *
 * Two clocks: a monotonic one for deadlines and intervals, and the wall
 * clock for everything that is a date (submission times, windows, token
 * expiry, standings). The clock-start setting moves the wall clock for
 * tests, and moves all of those together because nothing else in rankd
 * asks the system for the time. A leaf module: it includes nothing of
 * rankd's.
 */
#ifndef RANKD_CLOCK_H
#define RANKD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic microseconds, for deadlines. */
int64_t server_now_us(void);
/* Wall-clock microseconds since the epoch. */
int64_t server_wall_us(void);
/* The same in whole seconds. */
time_t server_time(void);
/* Makes the wall clock read at_s (Unix seconds) now and run on from there;
 * 0 keeps the system clock. Call before any thread starts. */
void server_clock_start(int64_t at_s);

#endif
