/*
 * rnode.h - Redis node addresses: one "host:port", or a seed list.
 *
 * The `redis` setting names one Redis, or several nodes of one Redis
 * Cluster as "host:port,host:port,...". Every Redis connection of rankd
 * (store_redis.c, rpipe.c, store_async.c) reads it here, so all of them
 * accept the same forms and say the same words about a bad one. Pure:
 * nothing here connects.
 */
#ifndef RANKD_STORE_RNODE_H
#define RANKD_STORE_RNODE_H

#include <stddef.h>

#include <rankd/status.h>

#define RNODE_HOST_MAX 256
#define RNODE_SEEDS_MAX 16
#define RNODE_ADDR_MAX (RNODE_HOST_MAX + 8) /* "host:port" and its NUL */

typedef struct rnode {
    char host[RNODE_HOST_MAX];
    int port; /* 1..65535 */
} rnode;

/* Reads "host:port" (the last ':' splits, so "::1:6379" is host "::1").
 * RK_INVALID_ARGUMENT, naming text, when it is not of that form. */
int rnode_parse(const char *text, size_t len, rnode *out, rk_status *st);

/* Reads a comma-separated list of 1..RNODE_SEEDS_MAX addresses (blanks
 * around each are ignored) into out[0..*n). */
int rnode_parse_list(const char *list, rnode *out, size_t *n, rk_status *st);

/* "host:port" into out (cap bytes). */
void rnode_format(const rnode *node, char *out, size_t cap);

/* 1 when a and b are the same address. */
int rnode_same(const rnode *a, const rnode *b);

#endif
