/*
 * credential.c - the form of a credential; see credential.h.
 */
#include <string.h>

#include "credential.h"

credential_kind credential_classify(const char *credential) {
    if (credential == NULL || credential[0] == '\0') return CREDENTIAL_NONE;
    if (strncmp(credential, CREDENTIAL_KEY_PREFIX, strlen(CREDENTIAL_KEY_PREFIX)) == 0) return CREDENTIAL_APIKEY;
    return CREDENTIAL_TOKEN;
}

int credential_key_well_formed(const char *key) {
    size_t pl = strlen(CREDENTIAL_KEY_PREFIX);
    if (strncmp(key, CREDENTIAL_KEY_PREFIX, pl) != 0) return 0;
    const char *h = key + pl;
    size_t i = 0;
    for (; h[i]; i++)
        if (i == CREDENTIAL_KEY_HEX || !((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
    return i == CREDENTIAL_KEY_HEX;
}
