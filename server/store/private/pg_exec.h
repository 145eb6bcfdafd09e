/*
 * pg_exec.h - the store's own way into libpq, for its modules only
 * (store_pg.c, report.c).
 *
 * Nothing above the store sees this header, nor libpq's: the store
 * library adds this folder and libpq's headers to its private include
 * path only, so a service or handler that tries to send SQL of its own
 * does not compile (tests/layers/up_libpq.c proves it).
 */
#ifndef RANKD_PG_EXEC_H
#define RANKD_PG_EXEC_H

#include <libpq-fe.h>

#include "store_pg.h"

/* Runs one parameterised statement (text format). On RK_OK *res, when
 * given, is the caller's to PQclear. Connection loss is RK_UNAVAILABLE
 * (a SELECT is tried once more on a fresh connection first), a unique
 * violation RK_ALREADY_EXISTS, values PostgreSQL refuses (SQLSTATE
 * classes 22 and 23) RK_INVALID_ARGUMENT, anything else RK_INTERNAL. */
int pgstore_exec(pgstore *p, const char *sql, int n, const char *const *params, PGresult **res, rk_status *st);

#endif
