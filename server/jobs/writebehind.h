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

#include "server.h"

typedef struct writebehind writebehind;

int wb_start(writebehind **out, server *srv, rk_status *st);
/* Finishes the batch in hand, then stops. */
void wb_stop(writebehind *wb);

#endif
