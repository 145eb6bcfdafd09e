/*
 * query.c - query-string values; see query.h.
 */
#include <stdio.h>
#include <string.h>

#include "query.h"

void query_value(const char *uri, const char *key, char *out, size_t cap) {
    out[0] = '\0';
    const char *q = strchr(uri, '?');
    size_t kl = strlen(key);
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            snprintf(out, cap, "%.*s", (int)(len - kl - 1), p + kl + 1);
            return;
        }
        p = amp ? amp + 1 : NULL;
    }
}
