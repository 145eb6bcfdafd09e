/*
 * fuzz_query.c - libFuzzer target: server/domain/query.c, the HTTP handlers'
 * query-string reader.
 *
 * The input is a request URI (up to its first NUL); the keys are the ones
 * the live page uses plus one taken from the input's tail. A value found
 * is cut to the buffer and is a piece of the URI's query.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *uri, const char *key, size_t cap) {
    char out[80];
    memset(out, 'x', sizeof(out));
    query_value(uri, key, out, cap);
    size_t n = strnlen(out, cap);
    if (n >= cap) abort();
    if (n && (strchr(uri, '?') == NULL || strstr(strchr(uri, '?'), out) == NULL)) abort();
    if (strchr(out, '&')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *uri = malloc(size + 1);
    if (uri == NULL) return 0;
    memcpy(uri, data, size);
    uri[size] = '\0';
    char key[16] = "";
    size_t ul = strlen(uri);
    if (ul + 1 < size) {
        size_t kl = size - ul - 1 < sizeof(key) - 1 ? size - ul - 1 : sizeof(key) - 1;
        memcpy(key, data + ul + 1, kl);
        key[kl] = '\0';
    }
    one(uri, "board", 66);
    one(uri, "window", 16);
    one(uri, key, 1);
    one(uri, key, sizeof(key));
    free(uri);
    return 0;
}
