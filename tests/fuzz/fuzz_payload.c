/*
 * fuzz_payload.c - libFuzzer target: one method's payload.
 *
 * The first byte picks the method (modulo the schema's method count), the
 * rest is its request message, which then goes through the same checks as
 * inside an envelope. Reaching a method's payload through fuzz_envelope
 * needs the fuzzer to spell the method's name first; here every method's
 * input type is one byte away.
 */
#include <stddef.h>
#include <stdint.h>

#include "request_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n;
    const fuzz_method *m = fuzz_methods(&n);
    if (size < 1 || n == 0) return 0;
    fuzz_check_payload(m[data[0] % n].input, data + 1, size - 1);
    return 0;
}
