/*
 * rmap.h - a Redis Cluster's slot map: which master serves each slot.
 *
 * Filled from a CLUSTER SLOTS reply (Redis 7.0 has CLUSTER SHARDS too;
 * SLOTS is one flat array, and enough: rankd sends only to masters),
 * changed one slot at a time by a -MOVED redirection, and read for every
 * command sent to a cluster. The parsers are pure and take replies as
 * hiredis hands them over, so crafted replies test them. A map is plain
 * memory with no lock: its owner (one connection, or one thread) keeps
 * it.
 */
#ifndef RANKD_STORE_RMAP_H
#define RANKD_STORE_RMAP_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#include "rnode.h"
#include "rslot.h"

#define RMAP_NODES_MAX 64 /* masters a map can name; a slot beyond is unknown */

struct redisReply;

typedef struct rmap {
    rnode nodes[RMAP_NODES_MAX]; /* the masters met, in the order met */
    int nnodes;
    int8_t owner[RSLOT_COUNT];  /* index into nodes, or -1: not known */
    int nslots[RMAP_NODES_MAX]; /* slots each node serves: rmap_masters in O(nodes) */
} rmap;

/* An empty map: every slot unknown. */
void rmap_init(rmap *m);

/* Replaces m with the masters of a CLUSTER SLOTS reply. A master named
 * with an empty host (a node that does not know its own address) is taken
 * to be on from's host, the node that answered. RK_INTERNAL, and m
 * unchanged, when the reply is not of that shape. */
int rmap_parse_slots(rmap *m, const struct redisReply *rep, const rnode *from, rk_status *st);

/* The master serving slot, or NULL when not known. */
const rnode *rmap_owner(const rmap *m, int slot);

/* slot is now served by node (a -MOVED said so). 0 when the map already
 * names RMAP_NODES_MAX other masters (the slot is then unknown). */
int rmap_set(rmap *m, int slot, const rnode *node);

/* The masters of the map, for loading functions on each. */
size_t rmap_masters(const rmap *m, rnode *out, size_t cap);

/* A redirection in an error reply's text: "MOVED <slot> <host:port>" or
 * "ASK <slot> <host:port>". */
typedef enum rmap_redirect_kind { RMAP_NONE = 0, RMAP_MOVED, RMAP_ASK } rmap_redirect_kind;
typedef struct rmap_redirect {
    rmap_redirect_kind kind;
    int slot;
    rnode to;
} rmap_redirect;

/* Reads text (the reply's str, len bytes): kind RMAP_NONE when it is no
 * redirection or not well formed. An empty host (Redis 7's answer when
 * it does not know its endpoint) becomes from's host. */
void rmap_parse_redirect(const char *text, size_t len, const rnode *from, rmap_redirect *out);

#endif
