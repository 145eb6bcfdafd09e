/*
 * request_check.h - the server's boundary checks on a request, for the
 * fuzz targets.
 *
 * The same steps, in the same order, as server/rpc.c's prepare() and the
 * handlers' first lines, without a store: the strings rule on the wire
 * (wire_check_strings), protobuf-c's unpacking of the envelope and of the
 * method's input type, the envelope's own limits, then server/validate.c's
 * rules on every field they apply to. Methods are found by name in the
 * schema's service descriptors, as server/main.c's check_methods does, so
 * a method added to the schema is fuzzed without a change here.
 */
#ifndef RANKD_FUZZ_REQUEST_CHECK_H
#define RANKD_FUZZ_REQUEST_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Every method of the schema: its full name and input type. */
typedef struct fuzz_method {
    char name[128]; /* "rankd.Ranking/Top" */
    const ProtobufCMessageDescriptor *input;
} fuzz_method;

/* The schema's methods, in service then method order; *n is their count. */
const fuzz_method *fuzz_methods(size_t *n);

/* The input type of the method named `name`, or NULL. */
const ProtobufCMessageDescriptor *fuzz_method_input(const char *name);

/* Runs the payload checks of a method whose input type is desc on data. */
void fuzz_check_payload(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len);

/* Runs the envelope checks, then the payload checks of the method it names. */
void fuzz_check_envelope(const uint8_t *data, size_t len);

#endif
