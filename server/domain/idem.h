/*
 * idem.h - idempotency keys, scoped to their caller.
 *
 * A key a client sends is its own: two callers that pick the same key on
 * one board make two submissions. So the key rankd stores (Redis's answer
 * record, the stream, the history, redis_backlog) is the client's key
 * behind its caller's scope: "k<api key id>:<key>" for a game server's API
 * key, "u<user id>:<key>" for a player's token. Every path stores the same
 * string, so a key means the same whichever path took the submission.
 */
#ifndef RANKD_IDEM_H
#define RANKD_IDEM_H

#include <stddef.h>
#include <stdint.h>

/* Longest scope prefix: a letter, 19 digits, the colon. */
#define IDEM_SCOPE_MAX 21

/* Writes the stored form of key into out (cap bytes; at least
 * strlen(key) + IDEM_SCOPE_MAX + 1); api: the caller is an API key. */
void idem_scope(char *out, size_t cap, int api, int64_t caller_id, const char *key);

/* The client's key in a stored one (a key stored before keys were scoped
 * comes back as it is). */
const char *idem_unscoped(const char *stored);

#endif
