/*
 * json_out.h - any protobuf-c message as a cJSON tree.
 *
 * The conversion is driven by the message's descriptor alone, so a field
 * added to proto/rankd.proto shows up in `rankctl --json` without a line of
 * code changing here. The mapping:
 *
 *   field names      as written in the schema ("user_id", "board_size")
 *   absent fields    left out (proto2 presence: has_ flag or NULL pointer)
 *   32-bit integers  JSON numbers
 *   64-bit integers  JSON numbers written digit for digit, so ids and
 *                    scores above 2^53 survive (cJSON would round them
 *                    through a double)
 *   enums            their value names ("ORDER_HIGHER_IS_BETTER"); a number
 *                    the schema does not know stays a number
 *   bool             true / false
 *   string           JSON string
 *   bytes            standard base64 with padding
 *   repeated         arrays, empty arrays included
 *   nested messages  objects
 */
#ifndef RANKCTL_JSON_OUT_H
#define RANKCTL_JSON_OUT_H

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>
#include <rankd/status.h>

/* Converts `msg` into a new cJSON object stored in *out, which the caller
 * frees with cJSON_Delete. `msg` is only read. Returns RK_OK, or
 * RK_RESOURCE_EXHAUSTED / RK_INTERNAL with `st` saying why; *out is then
 * untouched. */
int json_out_message(const ProtobufCMessage *msg, cJSON **out, rk_status *st);

#endif
