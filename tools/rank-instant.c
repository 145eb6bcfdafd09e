/*
 * rank-instant.c - a REP server that answers every rankd call at once with
 * a fixed, valid reply: the ceiling of the transport on the machine it runs
 * on. tools/bench.sh runs the same rank-bench calls against it and against
 * rankd, so the gap between the two columns is what rankd's own request
 * path costs (hand-offs, stores, encoding), not what nng and the client do.
 *
 * Design. The nng asynchronous REP pattern: N contexts on one socket, each
 * with its own aio and a two-state callback (receive, then send), so up to
 * N requests are in flight and no thread of ours ever blocks. The callback
 * reads only the envelope's method and payload fields straight from the
 * wire bytes, then writes a reply envelope packed once at start into the
 * request's own message. SubmitBatch is the one reply that depends on the
 * request: it carries one result per entry, so the callback counts the
 * request's entries and copies that many pre-packed results.
 *
 * The replies are fixed, not meaningful: a list of 10 or 11 entries for
 * Top, Around and RanksOf, one entry for Rank, a count, a submit answer,
 * and a login token (so rank-bench can set up player tokens here too).
 * Any other method is answered UNIMPLEMENTED, as rankd would.
 *
 * What it must never do: allocate or encode per request beyond copying
 * the prepared bytes, or it stops being a ceiling.
 *
 * usage: rank-instant [--contexts N] [--max-message BYTES] URL
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include <rankd/rankd.pb-c.h>

#define DEFAULT_CONTEXTS 256
#define DEFAULT_MAX_MESSAGE (256u << 10) /* rankd's default max-message */
#define MAX_BATCH 1000                   /* rankd's limit on SubmitBatch entries */
#define CODE_INVALID_ARGUMENT 3
#define CODE_UNIMPLEMENTED 12

/* ---------------------------------------------------------------- packed bytes */

/* A packed message; owned by whoever holds the struct. */
typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static int pack(const ProtobufCMessage *m, bytes *out) {
    out->len = protobuf_c_message_get_packed_size(m);
    out->data = malloc(out->len ? out->len : 1);
    if (out->data == NULL) return -1;
    protobuf_c_message_pack(m, out->data);
    return 0;
}

/* Packs ReplyEnvelope{code, message, payload} into out. */
static int pack_envelope(int code, const char *message, const bytes *payload, bytes *out) {
    Rankd__ReplyEnvelope env = RANKD__REPLY_ENVELOPE__INIT;
    env.has_code = 1;
    env.code = code;
    env.message = (char *)message;
    if (payload) {
        env.has_payload = 1;
        env.payload.data = payload->data;
        env.payload.len = payload->len;
    }
    return pack(&env.base, out);
}

/* ---------------------------------------------------------------- the fixed replies */

#define LIST_MAX 11

static void fill_entry(Rankd__RankEntry *e, char *name, size_t cap, int i) {
    snprintf(name, cap, "instant-p%d", i);
    e->has_user_id = e->has_score = e->has_rank = 1;
    e->user_id = 1000 + i;
    e->username = name;
    e->score = 999999 - i;
    e->rank = i + 1;
}

/* A RankListReply of n entries (n <= LIST_MAX). */
static int reply_list(size_t n, bytes *out) {
    Rankd__RankEntry entries[LIST_MAX], *ptrs[LIST_MAX];
    char names[LIST_MAX][24];
    Rankd__RankListReply r = RANKD__RANK_LIST_REPLY__INIT;
    for (size_t i = 0; i < n; i++) {
        rankd__rank_entry__init(&entries[i]);
        fill_entry(&entries[i], names[i], sizeof(names[i]), (int)i);
        ptrs[i] = &entries[i];
    }
    r.n_entries = n;
    r.entries = ptrs;
    r.has_board_size = 1;
    r.board_size = 1000;
    return pack(&r.base, out);
}

static int reply_top(bytes *out) { return reply_list(10, out); }
static int reply_around(bytes *out) { return reply_list(11, out); } /* 5 above, the player, 5 below */
static int reply_ranks_of(bytes *out) { return reply_list(10, out); }

static int reply_rank(bytes *out) {
    Rankd__RankEntry e = RANKD__RANK_ENTRY__INIT;
    Rankd__RankReply r = RANKD__RANK_REPLY__INIT;
    char name[24];
    fill_entry(&e, name, sizeof(name), 41);
    r.entry = &e;
    r.has_board_size = 1;
    r.board_size = 1000;
    return pack(&r.base, out);
}

static int reply_count(bytes *out) {
    Rankd__CountReply r = RANKD__COUNT_REPLY__INIT;
    r.has_count = 1;
    r.count = 1000;
    return pack(&r.base, out);
}

static void fill_submit(Rankd__SubmitReply *r) {
    r->has_score = r->has_rank = r->has_personal_best = r->has_board_size = r->has_user_id = 1;
    r->score = 500000;
    r->rank = 500;
    r->personal_best = 1;
    r->board_size = 1000;
    r->user_id = 1041;
}

static int reply_submit(bytes *out) {
    Rankd__SubmitReply r = RANKD__SUBMIT_REPLY__INIT;
    fill_submit(&r);
    return pack(&r.base, out);
}

/* One BatchResult, as a field of SubmitBatchReply (tag, length, bytes): the
 * reply to a batch of n entries is n copies of it. */
static int batch_result_field(bytes *out) {
    Rankd__SubmitReply s = RANKD__SUBMIT_REPLY__INIT;
    Rankd__BatchResult r = RANKD__BATCH_RESULT__INIT;
    Rankd__SubmitBatchReply one = RANKD__SUBMIT_BATCH_REPLY__INIT;
    Rankd__BatchResult *ptr = &r;
    fill_submit(&s);
    r.has_code = 1;
    r.code = 0;
    r.reply = &s;
    one.n_results = 1;
    one.results = &ptr;
    return pack(&one.base, out);
}

/* A token of the length rankd's login tokens have. */
static int reply_login(bytes *out) {
    static char token[] = "aW5zdGFudHx2MnwxMDQxfDF8NDEwMjQ0NDgwMHwxfDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
                          ".aW5zdGFudC1zaWduYXR1cmUtb2YtdGhlLWZpeGVkLXRva2Vu";
    Rankd__LoginReply r = RANKD__LOGIN_REPLY__INIT;
    r.token = token;
    r.has_expires_at = r.has_user_id = r.has_role = 1;
    r.expires_at = 4102444800;
    r.user_id = 1041;
    r.role = RANKD__ROLE__ROLE_PLAYER;
    return pack(&r.base, out);
}

/* ---------------------------------------------------------------- the method table */

/* One row per method answered. `payload` packs the method's reply message;
 * `per_entry` marks SubmitBatch, whose reply is built per request. The
 * envelope is packed at start and never changes after. */
typedef struct method {
    const char *name;
    int (*payload)(bytes *out);
    int per_entry;
    bytes env; /* the whole reply envelope; for per_entry, one result field */
} method;

static method methods[] = {
    {.name = "rankd.Ranking/Top", .payload = reply_top},
    {.name = "rankd.Ranking/Rank", .payload = reply_rank},
    {.name = "rankd.Ranking/Around", .payload = reply_around},
    {.name = "rankd.Ranking/RanksOf", .payload = reply_ranks_of},
    {.name = "rankd.Ranking/Count", .payload = reply_count},
    {.name = "rankd.Scores/Submit", .payload = reply_submit},
    {.name = "rankd.Scores/SubmitBatch", .payload = batch_result_field, .per_entry = 1},
    {.name = "rankd.Auth/Login", .payload = reply_login},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static bytes env_unimplemented, env_invalid;

static int methods_init(void) {
    for (size_t i = 0; i < NMETHODS; i++) {
        bytes p;
        if (methods[i].payload(&p) != 0) return -1;
        if (methods[i].per_entry) {
            methods[i].env = p;
            continue;
        }
        int rc = pack_envelope(0, NULL, &p, &methods[i].env);
        free(p.data);
        if (rc != 0) return -1;
    }
    if (pack_envelope(CODE_UNIMPLEMENTED,
                      "rank-instant answers only Top, Rank, Around, RanksOf, Count, Submit, SubmitBatch and Login",
                      NULL, &env_unimplemented) != 0)
        return -1;
    return pack_envelope(CODE_INVALID_ARGUMENT, "malformed request", NULL, &env_invalid);
}

static void methods_free(void) {
    for (size_t i = 0; i < NMETHODS; i++) free(methods[i].env.data);
    free(env_unimplemented.data);
    free(env_invalid.data);
}

static const method *method_find(const uint8_t *name, size_t len) {
    for (size_t i = 0; i < NMETHODS; i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0) return &methods[i];
    return NULL;
}

/* ---------------------------------------------------------------- wire reading */

/* The few protobuf wire-format rules needed to find fields without
 * decoding the message. Each returns 0, or -1 on malformed input. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field at *p: its number, and for a length-delimited field its
 * bytes (*data NULL for the other wire types, which are skipped). */
static int next_field(const uint8_t **p, const uint8_t *end, uint64_t *field, const uint8_t **data, size_t *len) {
    uint64_t tag, n;
    if (get_varint(p, end, &tag) != 0) return -1;
    *field = tag >> 3;
    *data = NULL;
    switch (tag & 7) {
        case 0: return get_varint(p, end, &n);
        case 1: n = 8; break;
        case 5: n = 4; break;
        case 2:
            if (get_varint(p, end, &n) != 0 || n > (uint64_t)(end - *p)) return -1;
            *data = *p;
            *len = (size_t)n;
            *p += n;
            return 0;
        default: return -1;
    }
    if (n > (uint64_t)(end - *p)) return -1;
    *p += n;
    return 0;
}

static size_t put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* ---------------------------------------------------------------- answering */

/* SubmitBatch: ReplyEnvelope{code 0, payload: n copies of the result}. */
static int answer_batch(nng_msg *m, const method *me, const uint8_t *payload, size_t plen) {
    const uint8_t *p = payload, *end = payload + plen, *data;
    uint64_t field, n = 0;
    size_t len;
    while (p < end) {
        if (next_field(&p, end, &field, &data, &len) != 0) return -1;
        if (field == 1 && data) n++;
    }
    if (n > MAX_BATCH) return -1;
    uint8_t head[16];
    size_t h = 0;
    head[h++] = 0x08; /* code = 0 */
    head[h++] = 0x00;
    head[h++] = 0x1a; /* payload, length-delimited */
    h += put_varint(head + h, n * me->env.len);
    nng_msg_clear(m);
    if (nng_msg_append(m, head, h) != 0) return -1;
    for (uint64_t i = 0; i < n; i++)
        if (nng_msg_append(m, me->env.data, me->env.len) != 0) return -1;
    return 0;
}

/* Turns the request in m into its reply, in place: a malformed envelope
 * gets INVALID_ARGUMENT, an unknown method UNIMPLEMENTED. Returns -1 only
 * when nng cannot grow the message (the request is then dropped). */
static int answer(nng_msg *m) {
    const uint8_t *p = nng_msg_body(m), *end = p + nng_msg_len(m), *data;
    const uint8_t *name = NULL, *payload = (const uint8_t *)"";
    size_t name_len = 0, plen = 0, len;
    uint64_t field;
    const bytes *reply = &env_invalid;
    while (p < end) {
        if (next_field(&p, end, &field, &data, &len) != 0) {
            name = NULL;
            break;
        }
        if (field == 1 && data) {
            name = data;
            name_len = len;
        } else if (field == 5 && data) {
            payload = data;
            plen = len;
        }
    }
    if (name) {
        const method *me = method_find(name, name_len);
        if (me == NULL) {
            reply = &env_unimplemented;
        } else if (me->per_entry) {
            if (answer_batch(m, me, payload, plen) == 0) return 0;
        } else {
            reply = &me->env;
        }
    }
    nng_msg_clear(m);
    return nng_msg_append(m, reply->data, reply->len) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- contexts */

/* One request in flight: a context, its aio, and which half of the round
 * trip the aio is doing. Owned by main; the callback runs on nng's threads. */
typedef struct work {
    enum { W_RECV, W_SEND } state;
    nng_aio *aio;
    nng_ctx ctx;
} work;

static void work_cb(void *arg) {
    work *w = arg;
    int rv = nng_aio_result(w->aio);
    if (w->state == W_SEND) {
        if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio)); /* not sent: still ours */
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
        w->state = W_RECV;
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    if (rv == 0) {
        nng_msg *m = nng_aio_get_msg(w->aio);
        if (answer(m) == 0) {
            nng_aio_set_msg(w->aio, m);
            w->state = W_SEND;
            nng_ctx_send(w->ctx, w->aio);
            return;
        }
        nng_msg_free(m);
    }
    nng_ctx_recv(w->ctx, w->aio);
}

/* ---------------------------------------------------------------- main */

static int usage(void) {
    fprintf(stderr,
            "usage: rank-instant [--contexts N] [--max-message BYTES] URL\n"
            "  answers every rankd call on URL with a fixed reply, until SIGINT or SIGTERM\n"
            "  --contexts N         requests in flight (default %d)\n"
            "  --max-message BYTES  largest request accepted (default %u)\n",
            DEFAULT_CONTEXTS, DEFAULT_MAX_MESSAGE);
    return 2;
}

static int parse_count(const char *v, unsigned long lo, unsigned long hi, unsigned long *out) {
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

int main(int argc, char **argv) {
    unsigned long contexts = DEFAULT_CONTEXTS, max_message = DEFAULT_MAX_MESSAGE;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--contexts") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 1, 65536, &contexts) != 0) return usage();
        } else if (strcmp(argv[i], "--max-message") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 1024, 1ul << 30, &max_message) != 0) return usage();
        } else if (argv[i][0] == '-' || url) {
            return usage();
        } else {
            url = argv[i];
        }
    }
    if (url == NULL) return usage();

    /* nng's threads inherit this mask, so the signals reach sigwait below. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    int rv, status = 1;
    nng_socket sock = NNG_SOCKET_INITIALIZER;
    nng_listener l;
    work *works = calloc(contexts, sizeof(*works));
    if (works == NULL || methods_init() != 0) {
        fprintf(stderr, "rank-instant: out of memory\n");
        goto done;
    }
    if ((rv = nng_rep0_open(&sock)) != 0 ||
        (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, (size_t)max_message)) != 0) {
        fprintf(stderr, "rank-instant: cannot open a REP socket: %s\n", nng_strerror(rv));
        goto done;
    }
    for (unsigned long i = 0; i < contexts; i++) {
        if ((rv = nng_aio_alloc(&works[i].aio, work_cb, &works[i])) != 0 ||
            (rv = nng_ctx_open(&works[i].ctx, sock)) != 0) {
            fprintf(stderr, "rank-instant: cannot open context %lu: %s\n", i, nng_strerror(rv));
            goto done;
        }
    }
    if ((rv = nng_listener_create(&l, sock, url)) != 0 ||
        (rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, (size_t)max_message)) != 0 ||
        (rv = nng_listener_start(l, 0)) != 0) {
        fprintf(stderr, "rank-instant: cannot listen on %s: %s\n", url, nng_strerror(rv));
        goto done;
    }
    for (unsigned long i = 0; i < contexts; i++) {
        works[i].state = W_RECV;
        nng_ctx_recv(works[i].ctx, works[i].aio);
    }
    fprintf(stderr, "rank-instant: listening on %s, %lu contexts\n", url, contexts);

    int sig;
    sigwait(&sigs, &sig);
    status = 0;
done:
    /* Closing the socket ends every pending receive and send with
     * NNG_ECLOSED; nng_aio_stop then waits for each callback to return. */
    nng_close(sock);
    if (works)
        for (unsigned long i = 0; i < contexts; i++) {
            if (works[i].aio) nng_aio_stop(works[i].aio);
            if (works[i].aio) nng_aio_free(works[i].aio);
        }
    free(works);
    methods_free();
    nng_fini();
    return status;
}
