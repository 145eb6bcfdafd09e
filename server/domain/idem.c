/*
 * idem.c - idempotency keys, scoped to their caller (idem.h).
 */
#include <stdio.h>

#include "idem.h"

void idem_scope(char *out, size_t cap, int api, int64_t caller_id, const char *key) {
    snprintf(out, cap, "%c%lld:%s", api ? 'k' : 'u', (long long)caller_id, key);
}

const char *idem_unscoped(const char *stored) {
    const char *p = stored;
    if (*p != 'k' && *p != 'u') return stored;
    p++;
    if (*p < '0' || *p > '9') return stored;
    while (*p >= '0' && *p <= '9') p++;
    return *p == ':' ? p + 1 : stored;
}
