/*
 * rnode.c - Redis node addresses; see rnode.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnode.h"

int rnode_parse(const char *text, size_t len, rnode *out, rk_status *st) {
    while (len && (*text == ' ' || *text == '\t')) text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t')) len--;
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (text[i] == ':') colon = text + i;
    size_t hlen = colon ? (size_t)(colon - text) : 0;
    long port = 0;
    if (colon) {
        char digits[8] = "";
        size_t dlen = len - hlen - 1;
        if (dlen > 0 && dlen < sizeof(digits)) {
            memcpy(digits, colon + 1, dlen);
            char *end = NULL;
            port = strtol(digits, &end, 10);
            if (*end != '\0') port = 0;
        }
    }
    if (colon == NULL || hlen == 0 || hlen >= sizeof(out->host) || port <= 0 || port > 65535)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "redis address must be host:port, not \"%.*s\"",
                             (int)(len > 200 ? 200 : len), text);
    memcpy(out->host, text, hlen);
    out->host[hlen] = '\0';
    out->port = (int)port;
    return RK_OK;
}

int rnode_parse_list(const char *list, rnode *out, size_t *n, rk_status *st) {
    *n = 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == RNODE_SEEDS_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "redis names more than %d nodes", RNODE_SEEDS_MAX);
        int rc = rnode_parse(p, len, &out[*n], st);
        if (rc != RK_OK) return rc;
        (*n)++;
        if (comma == NULL) return RK_OK;
        p = comma + 1;
    }
}

void rnode_format(const rnode *node, char *out, size_t cap) { snprintf(out, cap, "%s:%d", node->host, node->port); }

int rnode_same(const rnode *a, const rnode *b) { return a->port == b->port && strcmp(a->host, b->host) == 0; }
