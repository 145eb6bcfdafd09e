/*
 * reply.h - one HTTP answer, the same way for every route of http.c and
 * api.c: a status, a content type, the body copied, never cached.
 */
#ifndef RANKD_REPLY_H
#define RANKD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

/* Finishes aio with the response (or NNG_ENOMEM when it cannot be made). */
void http_reply(nng_aio *aio, uint16_t status, const char *type, const char *body, size_t len);

#endif
