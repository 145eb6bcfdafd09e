/*
 * fuzz_envelope.c - libFuzzer target: a whole request envelope, as rankd
 * receives it, through every check before a handler (request_check.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "request_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_check_envelope(data, size);
    return 0;
}
