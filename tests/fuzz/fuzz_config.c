/*
 * fuzz_config.c - libFuzzer target: server/base/config.c's file parser.
 *
 * The input is a configuration file, read over the defaults. Whatever it
 * says, every string setting stays NUL-terminated inside its field, and a
 * refusal says which line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) (memchr(cfg.f, '\0', sizeof(cfg.f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    config cfg;
    rk_status st = {0};
    if (size == 0) return 0; /* fmemopen wants a buffer */
    if (config_defaults(&cfg, &st) != RK_OK) abort();
    FILE *f = fmemopen((void *)data, size, "r");
    if (f == NULL) return 0;
    if (config_read(&cfg, f, "fuzz.conf", &st) != RK_OK &&
        (st.code != RK_INVALID_ARGUMENT || strncmp(st.message, "fuzz.conf:", 10) != 0))
        abort();
    fclose(f);
    if (!TERMINATED(listen) || !TERMINATED(redis) || !TERMINATED(postgres) || !TERMINATED(token_secret) ||
        !TERMINATED(log_level) || !TERMINATED(node) || !TERMINATED(create_admin) || !TERMINATED(events) ||
        !TERMINATED(http))
        abort();
    return 0;
}
