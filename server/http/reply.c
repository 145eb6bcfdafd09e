/*
 * reply.c - one HTTP answer. See reply.h.
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "reply.h"

void http_reply(nng_aio *aio, uint16_t status, const char *type, const char *body, size_t len) {
    nng_http_res *res = NULL;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_status(res, status);
    nng_http_res_set_header(res, "Content-Type", type);
    /* Every answer is live state (a rank, a health check): nothing may
     * serve it again later. */
    nng_http_res_set_header(res, "Cache-Control", "no-store");
    if (nng_http_res_copy_data(res, body, len) != 0) {
        nng_http_res_free(res);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}
