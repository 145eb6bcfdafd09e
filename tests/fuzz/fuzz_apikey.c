/*
 * fuzz_apikey.c - libFuzzer target: server/domain/credential.c, the form of an
 * envelope's auth_token (anonymous, API key or token) and of an API key.
 *
 * Checked against a second, deliberately plain statement of the rule:
 * "rk_" and exactly 40 lower-case hex digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int plain_rule(const char *s) {
    if (strlen(s) != 43 || s[0] != 'r' || s[1] != 'k' || s[2] != '_') return 0;
    for (int i = 3; i < 43; i++)
        if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (s == NULL) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    credential_kind k = credential_classify(s);
    int ok = credential_key_well_formed(s);
    if (ok != plain_rule(s)) abort();
    if (ok && k != CREDENTIAL_APIKEY) abort();
    if ((k == CREDENTIAL_NONE) != (s[0] == '\0')) abort();
    if ((k == CREDENTIAL_APIKEY) != (strncmp(s, "rk_", 3) == 0)) abort();
    free(s);
    return 0;
}
