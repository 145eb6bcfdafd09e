/*
 * fuzz_json.c - libFuzzer target: server/domain/json.c, the strict JSON
 * object check behind record metadata (validate_meta).
 *
 * The input is the text itself, NUL bytes included. The check must never
 * read past the text, must name a fault inside it (or at its end), and
 * must agree with itself on a copy surrounded by whitespace.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy, so ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    if (text == NULL) return 0;
    memcpy(text, data, size);
    const char *why = NULL;
    size_t at = 0;
    int ok = json_is_object(text, size, &why, &at);
    if (ok && why != NULL) abort();
    if (!ok && (why == NULL || at > size)) abort();
    char *padded = malloc(size + 2);
    if (padded) {
        padded[0] = ' ';
        memcpy(padded + 1, data, size);
        padded[size + 1] = '\n';
        if (json_is_object(padded, size + 2, NULL, NULL) != ok) abort();
        free(padded);
    }
    free(text);
    return 0;
}
