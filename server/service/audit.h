/*
 * audit.h - the audit log: who did what, when and why.
 *
 * Every admin action writes one row after it has taken effect, through
 * audit_record. The row is written last on purpose: an action that failed
 * leaves no row claiming it happened. If the action succeeded but the row
 * could not be written (PostgreSQL went away in between), the caller is
 * told so (UNAVAILABLE naming what was done), so nobody believes a
 * missing row means nothing happened.
 */
#ifndef RANKD_AUDIT_H
#define RANKD_AUDIT_H

#include "server.h"

/* The actions the log knows, as its `action` column holds them. */
#define AUDIT_BOARD_CREATE "board.create"
#define AUDIT_BOARD_DELETE "board.delete"
#define AUDIT_BOARD_UPDATE "board.update"
#define AUDIT_ROLE_SET "role.set"
#define AUDIT_APIKEY_CREATE "apikey.create"
#define AUDIT_APIKEY_REVOKE "apikey.revoke"
#define AUDIT_REBUILD "rebuild"
#define AUDIT_ENTRY_REMOVE "entry.remove"
#define AUDIT_PLAYER_BAN "player.ban"
#define AUDIT_PLAYER_UNBAN "player.unban"
#define AUDIT_HELD_APPROVE "held.approve"
#define AUDIT_HELD_REJECT "held.reject"
#define AUDIT_SEASON_END "season.end"

/* Appends one row for the caller (call->who) with `reason` (NULL: none)
 * and a detail formatted from fmt. RK_OK, or RK_UNAVAILABLE saying that
 * `action` on `target` was done but not recorded. */
int audit_record(rpc_call *call, const char *action, const char *target, const char *reason, rk_status *st,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
