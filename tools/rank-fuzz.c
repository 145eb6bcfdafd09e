/*
 * rank-fuzz - drives a running rankd with malformed and mutated requests,
 * then checks that it survived them unchanged.
 *
 *   rank-fuzz --url tcp://127.0.0.1:7400 --admin-user admin --admin-password pw
 *             [--seconds 10] [--contexts 16] [--seed N] [--log rankd.log]
 *
 * Set-up (as the admin): boards fuzz-b1 and fuzz-b2 (game "fuzz", the second
 * open to players), three players, a player's token and an API key for the
 * game, and a control board "fuzzctl" (game "fuzzctl") with three scores
 * whose Top is recorded. Then every context's thread sends, until time is
 * up, requests of every method of the schema (read from its service
 * descriptors, so a new method is fuzzed without a change here):
 *   - a payload generated from the method's input descriptor, field by
 *     field, with values from a dictionary of edge cases (ids at and past
 *     their limits, invalid UTF-8, NULs, extreme numbers, unknown enum
 *     values, repeated fields of 0 to 1001 items), sometimes a field of the
 *     wrong wire type, and then sometimes mutated byte-wise (flips,
 *     truncation, extension, duplicated or random runs);
 *   - an envelope around it with a valid, misspelt, unknown or missing
 *     method, every kind of deadline, no credential or one of the real ones
 *     or a damaged one, idempotency keys past 128 bytes, unknown fields;
 *     sometimes the whole envelope is then mutated, and sometimes a context
 *     abandons its request without waiting for the answer.
 * Every answer must be a ReplyEnvelope with a known status code; INTERNAL
 * counts as a finding (rankd says that means a bug). At the end rankd must
 * answer Admin/Status, the control board's Top must be byte for byte what it
 * was, and the log given with --log must hold no sanitizer report.
 *
 * The control board is kept out of the traffic: a request carrying a real
 * credential never names it, and the destructive admin calls (DeleteBoard,
 * UpdateBoard, RemoveEntry, EndSeason, Rebuild, SetRole, Logout) go out with the
 * admin's token only when they name a fuzz board or player; Ban and Unban,
 * which reach every board a player is on (the control's players are the
 * fuzz players), only when they name nobody the set-up made. Exit status:
 * 0 clean, 1 a finding, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <rankd/rankd.pb-c.h>
#include <rankd/status.h>

#include "rk_gen_services.h" /* RK_GEN_SERVICES: the schema's service descriptors */

#define MAX_METHODS 128
#define MAX_CONTEXTS 256
#define CONTROL_BOARD "fuzzctl"
#define FUZZ_GAME "fuzz"
#define PLAYER_PASSWORD "fuzz-password-1"
#define REPLY_TIMEOUT_MS 15000
#define MSG_MAX (256 * 1024) /* well below rankd's max-message */

static const struct {
    const ProtobufCServiceDescriptor *desc;
    const char *symbol;
} services[] = {RK_GEN_SERVICES};

typedef struct method {
    char name[128];
    const ProtobufCMessageDescriptor *input;
} method;

static method methods[MAX_METHODS];
static size_t nmethods;

/* ---------------------------------------------------------------- options and results */

static struct {
    const char *url, *admin_user, *admin_password, *log_path;
    double seconds;
    int contexts;
    uint64_t seed;
    int quiet;
} opt = {.seconds = 10, .contexts = 16, .seed = 1};

static char admin_token[512], player_token[512], api_key[128];
static nng_socket sock;
static atomic_int stop;

#define NCODES 17
static atomic_uint_fast64_t sent, answered, timeouts, abandoned, bad_replies, codes[NCODES], unknown_codes;
static atomic_uint_fast64_t per_method[MAX_METHODS];
static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;
static int findings;

static void finding(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void finding(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&report_mu);
    findings++;
    if (findings <= 20) {
        fprintf(stderr, "rank-fuzz: FINDING: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&report_mu);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- randomness */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r) {
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return r->s = x;
}
static uint32_t below(rng *r, uint32_t n) { return n ? (uint32_t)(next(r) % n) : 0; }
static int chance(rng *r, int percent) { return (int)below(r, 100) < percent; }

/* ---------------------------------------------------------------- a growable byte buffer */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) abort();
        b->p = p, b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void put_byte(buf *b, uint8_t c) { put(b, &c, 1); }
static void put_varint(buf *b, uint64_t v) {
    while (v >= 0x80) put_byte(b, (uint8_t)(v | 0x80)), v >>= 7;
    put_byte(b, (uint8_t)v);
}
static void put_tag(buf *b, uint32_t field, int wire_type) {
    put_varint(b, (uint64_t)field << 3 | (unsigned)wire_type);
}
static void put_len(buf *b, uint32_t field, const void *data, size_t n) {
    put_tag(b, field, 2);
    put_varint(b, n);
    put(b, data, n);
}

/* ---------------------------------------------------------------- values */

static const char *const board_ids[] = {
    "fuzz-b1",
    "fuzz-b2",
    "global",
    "tetris",
    "",
    "x",
    "Bad Id",
    "fuzz-b1 ",
    "-",
    "_",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 64: the longest */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
};
static const char *const usernames[] = {"fuzzp1",
                                        "fuzzp2",
                                        "fuzzp3",
                                        "nobody-here",
                                        "ab",
                                        "a.b-c_d",
                                        "",
                                        "abcdefghijklmnopqrstuvwxyzabcdef",
                                        "abcdefghijklmnopqrstuvwxyzabcdefg"};
static const char *const oddities[] = {
    "\xc0\x80", "\xed\xa0\x80", "\x80", "\xf4\x90\x80\x80", "\xe2\x82", "a\0b", "\xff", "\xc3\xa9",
    "%00",      "'; --",        "\\",
};
static const int64_t numbers[] = {0,
                                  1,
                                  -1,
                                  2,
                                  10,
                                  100,
                                  1000,
                                  1001,
                                  10000,
                                  10001,
                                  INT32_MAX,
                                  INT32_MIN,
                                  UINT32_MAX,
                                  INT64_MAX,
                                  INT64_MIN,
                                  9007199254740992LL,
                                  9007199254740993LL,
                                  -9007199254740992LL,
                                  -9007199254740993LL,
                                  1700000000,
                                  253402300799LL,
                                  253402300800LL,
                                  -62135596800LL};

static void put_string_value(rng *r, const char *field, buf *v) {
    const char *s = NULL;
    size_t n;
    uint32_t k = below(r, 100);
    if (k < 55) {
        if (strcmp(field, "board_id") == 0 || strcmp(field, "id") == 0)
            s = board_ids[below(r, sizeof(board_ids) / sizeof(board_ids[0]))];
        else if (strcmp(field, "username") == 0 || strcmp(field, "usernames") == 0)
            s = usernames[below(r, sizeof(usernames) / sizeof(usernames[0]))];
        else if (strcmp(field, "game") == 0)
            s = chance(r, 80) ? FUZZ_GAME : "Game!";
        else if (strcmp(field, "password") == 0)
            s = chance(r, 80) ? PLAYER_PASSWORD : "short";
    }
    if (s) {
        put(v, s, strlen(s));
    } else if (k < 75) {
        s = oddities[below(r, sizeof(oddities) / sizeof(oddities[0]))];
        n = strcmp(s, "a\0b") == 0 ? 3 : strlen(s);
        if (chance(r, 50)) put(v, "fuzz-", 5);
        put(v, s, n);
    } else if (k < 90) {
        n = below(r, 40);
        for (size_t i = 0; i < n; i++) put_byte(v, (uint8_t)("abcdefghijklmnopqrstuvwxyz0123456789-_."[below(r, 39)]));
    } else if (k < 97) {
        n = below(r, 24);
        for (size_t i = 0; i < n; i++) put_byte(v, (uint8_t)next(r));
    } else {
        n = 100 + below(r, 3000);
        for (size_t i = 0; i < n; i++) put_byte(v, 'a' + (uint8_t)(i % 26));
    }
}

static uint64_t number(rng *r) {
    if (chance(r, 75)) return (uint64_t)numbers[below(r, sizeof(numbers) / sizeof(numbers[0]))];
    return chance(r, 50) ? below(r, 200) : next(r);
}

/* ---------------------------------------------------------------- payloads */

static void gen_message(rng *r, const ProtobufCMessageDescriptor *d, int depth, buf *out);

static void gen_field(rng *r, const ProtobufCFieldDescriptor *f, int depth, buf *out) {
    buf v = {0};
    /* Now and then a field of the wrong wire type. */
    if (chance(r, 3)) {
        int wt = (int)below(r, 6);
        put_tag(out, f->id, wt);
        if (wt == 0) put_varint(out, number(r));
        if (wt == 1) put(out, "\1\2\3\4\5\6\7\x8", 8);
        if (wt == 2) put_varint(out, 3), put(out, "abc", 3);
        if (wt == 5) put(out, "\1\2\3\4", 4);
        return;
    }
    switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            put_string_value(r, f->name, &v);
            put_len(out, f->id, v.p, v.n);
            break;
        case PROTOBUF_C_TYPE_BYTES:
            for (uint32_t i = below(r, 64); i > 0; i--) put_byte(&v, (uint8_t)next(r));
            put_len(out, f->id, v.p, v.n);
            break;
        case PROTOBUF_C_TYPE_MESSAGE:
            if (depth < 10) gen_message(r, f->descriptor, depth + 1, &v);
            put_len(out, f->id, v.p, v.n);
            break;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumDescriptor *e = f->descriptor;
            uint64_t x =
                chance(r, 85) && e->n_values ? (uint64_t)(int64_t)e->values[below(r, e->n_values)].value : number(r);
            put_tag(out, f->id, 0);
            put_varint(out, x);
            break;
        }
        case PROTOBUF_C_TYPE_BOOL:
            put_tag(out, f->id, 0);
            put_varint(out, chance(r, 90) ? below(r, 2) : number(r));
            break;
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_DOUBLE: {
            uint64_t x = number(r);
            put_tag(out, f->id, 1);
            put(out, &x, 8);
            break;
        }
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_FLOAT: {
            uint32_t x = (uint32_t)number(r);
            put_tag(out, f->id, 5);
            put(out, &x, 4);
            break;
        }
        default: /* the varint integers */
            put_tag(out, f->id, 0);
            put_varint(out, number(r));
            break;
    }
    free(v.p);
}

static void gen_message(rng *r, const ProtobufCMessageDescriptor *d, int depth, buf *out) {
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (chance(r, 25)) continue;
        uint32_t count = 1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            uint32_t k = below(r, 100);
            count = k < 80 ? below(r, 5) : k < 97 ? below(r, 60) : 1000 + below(r, 2);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth > 1 && count > 5) count = 5;
        } else if (chance(r, 5)) {
            count = 2; /* an optional field twice: the last one wins */
        }
        for (uint32_t k = 0; k < count; k++) gen_field(r, f, depth, out);
    }
    if (chance(r, 5)) put_tag(out, 1000 + below(r, 1000), 0), put_varint(out, number(r)); /* unknown field */
}

/* Byte-wise damage to b. */
static void mutate(rng *r, buf *b) {
    int rounds = 1 + (int)below(r, 4);
    for (int i = 0; i < rounds; i++) {
        size_t at = b->n ? below(r, (uint32_t)b->n) : 0;
        switch (below(r, 6)) {
            case 0:
                if (b->n) b->p[at] ^= (uint8_t)(1u << below(r, 8));
                break;
            case 1:
                if (b->n) b->p[at] = (uint8_t)next(r);
                break;
            case 2: b->n = at; break; /* truncated */
            case 3:
                for (uint32_t k = below(r, 16) + 1; k > 0; k--) put_byte(b, (uint8_t)next(r)); /* extended */
                break;
            case 4:
                if (b->n && b->n < MSG_MAX / 4) {
                    size_t len = below(r, (uint32_t)(b->n - at)) + 1;
                    uint8_t *copy = malloc(len);
                    memcpy(copy, b->p + at, len);
                    put(b, copy, len); /* a run repeated at the end */
                    free(copy);
                }
                break;
            default:
                if (b->n) b->p[at] = (uint8_t)(chance(r, 50) ? 0xff : 0x00);
                break;
        }
    }
}

/* ---------------------------------------------------------------- calls */

/* One request and its answer on ctx. *reply is NULL on timeout. Returns 0,
 * or an nng error. */
static int call(nng_ctx ctx, nng_aio *aio, const buf *req, nng_msg **reply, int wait) {
    nng_msg *m;
    int rv;
    *reply = NULL;
    if ((rv = nng_msg_alloc(&m, 0)) != 0) return rv;
    if ((rv = nng_msg_append(m, req->p, req->n)) != 0) {
        nng_msg_free(m);
        return rv;
    }
    nng_aio_set_msg(aio, m);
    nng_aio_set_timeout(aio, REPLY_TIMEOUT_MS);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        nng_msg_free(nng_aio_get_msg(aio));
        return rv;
    }
    if (!wait) return 0;
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) return rv;
    *reply = nng_aio_get_msg(aio);
    return 0;
}

static void envelope(buf *out, const char *method_name, const char *auth, const buf *payload) {
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    env.method = (char *)method_name;
    env.auth_token = auth && auth[0] ? (char *)auth : NULL;
    env.has_deadline_ms = 1;
    env.deadline_ms = 10000;
    if (payload) env.has_payload = 1, env.payload.data = payload->p, env.payload.len = payload->n;
    out->n = 0;
    size_t n = protobuf_c_message_get_packed_size(&env.base);
    uint8_t *p = malloc(n ? n : 1);
    protobuf_c_message_pack(&env.base, p);
    put(out, p, n);
    free(p);
}

/* A well-formed call for set-up and checks: the reply's code, and its
 * payload in *out when out is given. */
static int plain_call(const char *method_name, const char *auth, const ProtobufCMessage *msg, buf *out, char *errbuf,
                      size_t errcap) {
    nng_ctx ctx;
    nng_aio *aio;
    buf payload = {0}, req = {0};
    nng_msg *reply = NULL;
    int code = -1;
    if (nng_ctx_open(&ctx, sock) != 0) return -1;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
        nng_ctx_close(ctx);
        return -1;
    }
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    payload.p = malloc(n ? n : 1);
    payload.n = payload.cap = n;
    if (msg) protobuf_c_message_pack(msg, payload.p);
    envelope(&req, method_name, auth, &payload);
    int rv = call(ctx, aio, &req, &reply, 1);
    if (rv == 0 && reply) {
        Rankd__ReplyEnvelope *env = rankd__reply_envelope__unpack(NULL, nng_msg_len(reply), nng_msg_body(reply));
        if (env) {
            code = env->code;
            if (errbuf) snprintf(errbuf, errcap, "%s", env->message ? env->message : "");
            if (out) out->n = 0, put(out, env->payload.data, env->payload.len);
            rankd__reply_envelope__free_unpacked(env, NULL);
        }
        nng_msg_free(reply);
    } else if (errbuf) {
        snprintf(errbuf, errcap, "%s", nng_strerror(rv));
    }
    free(payload.p);
    free(req.p);
    nng_aio_free(aio);
    nng_ctx_close(ctx);
    return code;
}

/* ---------------------------------------------------------------- set-up and the control */

static int login(const char *user, const char *password, char *token, size_t cap) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    buf out = {0};
    char err[256];
    req.username = (char *)user;
    req.password = (char *)password;
    int code, wait_s = 0;
    /* A run before this one may have sent fuzzed logins for the same
     * account, which rankd counts against it: wait as it says, a few times. */
    for (int tries = 0;; tries++) {
        code = plain_call("rankd.Auth/Login", NULL, &req.base, &out, err, sizeof(err));
        const char *hint = code == RK_RESOURCE_EXHAUSTED ? strstr(err, "retry in ") : NULL;
        if (hint == NULL || tries == 5 || sscanf(hint, "retry in %d s", &wait_s) != 1 || wait_s < 1 || wait_s > 30)
            break;
        free(out.p);
        out = (buf){0};
        sleep((unsigned)wait_s);
    }
    if (code != 0) {
        fprintf(stderr, "rank-fuzz: login as %s: code %d %s\n", user, code, err);
        free(out.p);
        return -1;
    }
    Rankd__LoginReply *rep = rankd__login_reply__unpack(NULL, out.n, out.p);
    free(out.p);
    if (rep == NULL || rep->token == NULL) return -1;
    snprintf(token, cap, "%s", rep->token);
    rankd__login_reply__free_unpacked(rep, NULL);
    return 0;
}

static int setup_call(const char *what, const char *method_name, const char *auth, const ProtobufCMessage *msg,
                      buf *out) {
    char err[256];
    int code = plain_call(method_name, auth, msg, out, err, sizeof(err));
    if (code == 0 || code == 6 /* ALREADY_EXISTS */) return code;
    fprintf(stderr, "rank-fuzz: set-up: %s: code %d %s\n", what, code, err);
    return -1;
}

static int create_board(const char *id, const char *game, int player_submit) {
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    b.id = (char *)id;
    b.game = (char *)game;
    b.has_player_submit = 1;
    b.player_submit = player_submit;
    req.board = &b;
    return setup_call(id, "rankd.Boards/CreateBoard", admin_token, &req.base, NULL) < 0 ? -1 : 0;
}

static int control_top(buf *out) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    char err[256];
    req.board_id = CONTROL_BOARD;
    req.has_limit = 1;
    req.limit = 10;
    out->n = 0;
    int code = plain_call("rankd.Ranking/Top", NULL, &req.base, out, err, sizeof(err));
    if (code != 0) fprintf(stderr, "rank-fuzz: control Top: code %d %s\n", code, err);
    return code;
}

static int setup(buf *control) {
    if (login(opt.admin_user, opt.admin_password, admin_token, sizeof(admin_token)) != 0) return -1;
    if (create_board(CONTROL_BOARD, CONTROL_BOARD, 0) || create_board("fuzz-b1", FUZZ_GAME, 0) ||
        create_board("fuzz-b2", FUZZ_GAME, 1))
        return -1;
    for (int i = 1; i <= 3; i++) {
        char name[16];
        Rankd__SignUpRequest su = RANKD__SIGN_UP_REQUEST__INIT;
        snprintf(name, sizeof(name), "fuzzp%d", i);
        su.username = name;
        su.password = PLAYER_PASSWORD;
        if (setup_call(name, "rankd.Auth/SignUp", NULL, &su.base, NULL) < 0) return -1;
        Rankd__SubmitRequest sub = RANKD__SUBMIT_REQUEST__INIT;
        sub.board_id = CONTROL_BOARD;
        sub.username = name;
        sub.has_score = 1;
        sub.score = 100 * (4 - i);
        if (setup_call("control score", "rankd.Scores/Submit", admin_token, &sub.base, NULL) < 0) return -1;
    }
    if (login("fuzzp1", PLAYER_PASSWORD, player_token, sizeof(player_token)) != 0) return -1;
    Rankd__CreateApiKeyRequest ck = RANKD__CREATE_API_KEY_REQUEST__INIT;
    buf out = {0};
    ck.game = FUZZ_GAME;
    ck.label = "rank-fuzz";
    if (setup_call("API key", "rankd.Auth/CreateApiKey", admin_token, &ck.base, &out) != 0) return -1;
    Rankd__CreateApiKeyReply *kr = rankd__create_api_key_reply__unpack(NULL, out.n, out.p);
    free(out.p);
    if (kr == NULL || kr->key == NULL) return -1;
    snprintf(api_key, sizeof(api_key), "%s", kr->key);
    rankd__create_api_key_reply__free_unpacked(kr, NULL);

    /* The control: three entries, read until it says so. */
    for (int tries = 0; tries < 100; tries++) {
        if (control_top(control) != 0) return -1;
        Rankd__RankListReply *rl = rankd__rank_list_reply__unpack(NULL, control->n, control->p);
        size_t n = rl ? rl->n_entries : 0;
        if (rl) rankd__rank_list_reply__free_unpacked(rl, NULL);
        if (n == 3) return 0;
        usleep(50000);
    }
    fprintf(stderr, "rank-fuzz: set-up: the control board never showed its three scores\n");
    return -1;
}

/* ---------------------------------------------------------------- the traffic */

static int contains(const buf *b, const char *s) { return b->n && memmem(b->p, b->n, s, strlen(s)) != NULL; }

/* Whether a request with a real credential may carry this payload. */
static int safe_with_credential(const method *m, const buf *payload, int admin) {
    if (contains(payload, CONTROL_BOARD)) return 0;
    const char *sl = strchr(m->name, '/') + 1;
    int destructive = strcmp(sl, "DeleteBoard") == 0 || strcmp(sl, "Rebuild") == 0 || strcmp(sl, "UpdateBoard") == 0 ||
                      strcmp(sl, "RemoveEntry") == 0 || strcmp(sl, "EndSeason") == 0;
    if (strcmp(sl, "Logout") == 0) return !admin; /* the player's token may go */
    if (!admin) return 1;
    if (strcmp(sl, "SetRole") == 0) {
        Rankd__SetRoleRequest *q = rankd__set_role_request__unpack(NULL, payload->n, payload->p);
        int ok = q && q->username && strncmp(q->username, "fuzzp", 5) == 0;
        if (q) rankd__set_role_request__free_unpacked(q, NULL);
        return ok;
    }
    if (strcmp(sl, "Ban") == 0 || strcmp(sl, "Unban") == 0) {
        /* Ban and Unban share their first two fields: user_id, username. */
        Rankd__BanRequest *q = rankd__ban_request__unpack(NULL, payload->n, payload->p);
        int ok = q && !q->has_user_id && q->username && strncasecmp(q->username, "fuzzp", 5) != 0;
        if (q) rankd__ban_request__free_unpacked(q, NULL);
        return ok;
    }
    if (destructive) {
        ProtobufCMessage *q = protobuf_c_message_unpack(m->input, NULL, payload->n, payload->p);
        const ProtobufCFieldDescriptor *f =
            q ? protobuf_c_message_descriptor_get_field_by_name(m->input, "board_id") : NULL;
        const char *id = f ? *(char **)(void *)((char *)q + f->offset) : NULL;
        int ok = id && strncmp(id, "fuzz-b", 6) == 0;
        if (q) protobuf_c_message_free_unpacked(q, NULL);
        return ok;
    }
    return 1;
}

/* Sends one fuzzed request on ctx; 1 when it was abandoned. */
static int one_request(rng *r, nng_ctx ctx, nng_aio *aio, buf *payload, buf *req) {
    size_t mi = below(r, (uint32_t)nmethods);
    const method *m = &methods[mi];
    payload->n = 0;
    gen_message(r, m->input, 0, payload);
    if (chance(r, 30)) mutate(r, payload);
    if (payload->n > MSG_MAX) payload->n = MSG_MAX;

    /* The credential. */
    const char *auth = NULL;
    char damaged[600];
    int real = 0, admin = 0;
    switch (below(r, 10)) {
        case 0:
        case 1:
        case 2: auth = admin_token, real = admin = 1; break;
        case 3: auth = player_token, real = 1; break;
        case 4: auth = api_key, real = 1; break;
        case 5: {
            const char *src = chance(r, 50) ? admin_token : api_key;
            snprintf(damaged, sizeof(damaged), "%s", src);
            size_t n = strlen(damaged);
            if (n) damaged[below(r, (uint32_t)n)] ^= (char)(1 + below(r, 0x7e));
            if (chance(r, 30)) damaged[below(r, (uint32_t)n + 1)] = '\0';
            auth = damaged;
            break;
        }
        default: break;
    }
    if (real && !safe_with_credential(m, payload, admin)) auth = NULL, real = 0;

    /* The envelope, field by field. */
    req->n = 0;
    uint32_t k = below(r, 100);
    if (k < 85) {
        put_len(req, 1, m->name, strlen(m->name));
    } else if (k < 90) {
        char name[sizeof(m->name)];
        size_t n = strlen(m->name);
        memcpy(name, m->name, n);
        name[below(r, (uint32_t)n)] = (char)(chance(r, 80) ? 'a' + below(r, 26) : below(r, 256));
        put_len(req, 1, name, n);
    } else if (k < 95) {
        put_len(req, 1, "rankd.Nope/Nothing", 18);
    } /* else no method */
    if (chance(r, 70)) {
        static const uint64_t deadlines[] = {0, 1, 2, 50, 1000, 5000, 10000, UINT32_MAX, UINT64_MAX};
        put_tag(req, 2, 0);
        put_varint(req, deadlines[below(r, sizeof(deadlines) / sizeof(deadlines[0]))]);
    }
    if (auth && auth[0]) put_len(req, 3, auth, strlen(auth));
    if (chance(r, 20)) {
        buf key = {0};
        if (chance(r, 20))
            for (int i = 0; i < 129; i++) put_byte(&key, 'k');
        else
            put_string_value(r, "idempotency_key", &key);
        put_len(req, 4, key.p, key.n);
        free(key.p);
    }
    if (chance(r, 95)) put_len(req, 5, payload->p, payload->n);
    if (chance(r, 3)) put_tag(req, 6 + below(r, 100), 0), put_varint(req, number(r));
    if (chance(r, 10)) {
        /* Damage to the whole envelope; with a real credential only at the
         * end, so that no byte of the payload changes. */
        if (real) {
            if (chance(r, 50))
                req->n = below(r, (uint32_t)req->n + 1);
            else
                for (uint32_t i = below(r, 16) + 1; i > 0; i--) put_byte(req, (uint8_t)next(r));
        } else {
            mutate(r, req);
        }
    }

    int wait = !chance(r, 2); /* sometimes a context abandons its request */
    nng_msg *reply = NULL;
    atomic_fetch_add(&sent, 1);
    atomic_fetch_add(&per_method[mi], 1);
    int rv = call(ctx, aio, req, &reply, wait);
    if (!wait) {
        atomic_fetch_add(&abandoned, 1);
        return 1;
    }
    if (rv != 0 || reply == NULL) {
        atomic_fetch_add(&timeouts, 1);
        return 0;
    }
    atomic_fetch_add(&answered, 1);
    Rankd__ReplyEnvelope *env = rankd__reply_envelope__unpack(NULL, nng_msg_len(reply), nng_msg_body(reply));
    if (env == NULL) {
        atomic_fetch_add(&bad_replies, 1);
        finding("%s: the reply is not a ReplyEnvelope (%zu bytes)", m->name, nng_msg_len(reply));
    } else {
        int code = env->code;
        if (code < 0 || code >= NCODES) {
            atomic_fetch_add(&unknown_codes, 1);
            finding("%s: unknown status code %d", m->name, code);
        } else {
            atomic_fetch_add(&codes[code], 1);
            if (code == 13)
                finding("%s answered INTERNAL: %s (request %zu bytes)", m->name, env->message ? env->message : "",
                        req->n);
        }
        rankd__reply_envelope__free_unpacked(env, NULL);
    }
    nng_msg_free(reply);
    return 0;
}

typedef struct worker {
    pthread_t thread;
    rng r;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    buf payload = {0}, req = {0};
    nng_aio *aio;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0) return NULL;
    while (!atomic_load(&stop)) {
        nng_ctx ctx;
        if (nng_ctx_open(&ctx, sock) != 0) break;
        /* A context for a few requests, then a fresh one. */
        for (uint32_t n = 1 + below(&w->r, 50); n > 0 && !atomic_load(&stop); n--) {
            if (one_request(&w->r, ctx, aio, &payload, &req) && chance(&w->r, 50)) break;
        }
        nng_ctx_close(ctx);
    }
    nng_aio_free(aio);
    free(payload.p);
    free(req.p);
    return NULL;
}

/* ---------------------------------------------------------------- the end checks */

static int log_clean(const char *path) {
    static const char *const marks[] = {"ERROR: AddressSanitizer",
                                        "ERROR: LeakSanitizer",
                                        "runtime error:",
                                        "WARNING: ThreadSanitizer",
                                        "SUMMARY: UndefinedBehaviorSanitizer",
                                        "AddressSanitizer:DEADLYSIGNAL"};
    FILE *f = fopen(path, "r");
    char line[4096];
    int clean = 1;
    if (f == NULL) {
        finding("cannot read the log %s: %s", path, strerror(errno));
        return 0;
    }
    while (fgets(line, sizeof(line), f))
        for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
            if (strstr(line, marks[i])) {
                if (clean) finding("sanitizer report in %s: %s", path, line);
                clean = 0;
            }
    fclose(f);
    return clean;
}

static void usage(void) {
    fprintf(stderr, "usage: rank-fuzz --url URL --admin-user NAME --admin-password PW [--seconds S]\n"
                    "                 [--contexts N] [--seed N] [--log RANKD_LOG] [--quiet]\n"
                    "  (the admin's name and password default to $RANKD_ADMIN_USER and $RANKD_ADMIN_PASSWORD)\n");
    exit(2);
}

int main(int argc, char **argv) {
    opt.admin_user = getenv("RANKD_ADMIN_USER");
    opt.admin_password = getenv("RANKD_ADMIN_PASSWORD");
    opt.seed = (uint64_t)time(NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            opt.quiet = 1;
            continue;
        }
        if (v == NULL) usage();
        i++;
        if (strcmp(a, "--url") == 0)
            opt.url = v;
        else if (strcmp(a, "--admin-user") == 0)
            opt.admin_user = v;
        else if (strcmp(a, "--admin-password") == 0)
            opt.admin_password = v;
        else if (strcmp(a, "--log") == 0)
            opt.log_path = v;
        else if (strcmp(a, "--seconds") == 0)
            opt.seconds = atof(v);
        else if (strcmp(a, "--contexts") == 0)
            opt.contexts = atoi(v);
        else if (strcmp(a, "--seed") == 0)
            opt.seed = strtoull(v, NULL, 10);
        else
            usage();
    }
    if (opt.url == NULL || opt.admin_user == NULL || opt.admin_password == NULL || opt.seconds <= 0 ||
        opt.contexts < 1 || opt.contexts > MAX_CONTEXTS)
        usage();
    signal(SIGPIPE, SIG_IGN);

    for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++)
        for (unsigned m = 0; m < services[s].desc->n_methods && nmethods < MAX_METHODS; m++) {
            snprintf(methods[nmethods].name, sizeof(methods[nmethods].name), "%s/%s", services[s].desc->name,
                     services[s].desc->methods[m].name);
            methods[nmethods++].input = services[s].desc->methods[m].input;
        }

    int rv;
    if ((rv = nng_req0_open(&sock)) != 0 || (rv = nng_dial(sock, opt.url, NULL, 0)) != 0) {
        fprintf(stderr, "rank-fuzz: cannot reach %s: %s\n", opt.url, nng_strerror(rv));
        return 1;
    }
    nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);

    buf control = {0}, after = {0};
    if (setup(&control) != 0) {
        fprintf(stderr, "rank-fuzz: set-up failed\n");
        return 1;
    }
    if (!opt.quiet)
        fprintf(stderr, "rank-fuzz: %zu methods, %d contexts, %.0f s, seed %" PRIu64 "\n", nmethods, opt.contexts,
                opt.seconds, opt.seed);

    worker *ws = calloc((size_t)opt.contexts, sizeof(*ws));
    double t0 = now_s();
    for (int i = 0; i < opt.contexts; i++) {
        ws[i].r.s = opt.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL + 1;
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    }
    while (now_s() - t0 < opt.seconds) usleep(100000);
    atomic_store(&stop, 1);
    for (int i = 0; i < opt.contexts; i++) pthread_join(ws[i].thread, NULL);
    double elapsed = now_s() - t0;
    free(ws);

    /* Alive, unchanged, clean. */
    char err[256];
    int code = -1;
    for (int tries = 0; tries < 20 && code != 0; tries++) {
        code = plain_call("rankd.Admin/Status", NULL, NULL, NULL, err, sizeof(err));
        if (code != 0) usleep(250000);
    }
    if (code != 0) finding("rankd does not answer Admin/Status after the run: code %d %s", code, err);
    if (code == 0 && control_top(&after) != 0)
        finding("the control Top failed after the run");
    else if (code == 0 && (after.n != control.n || memcmp(after.p, control.p, control.n) != 0))
        finding("the control board's Top changed during the run (%zu bytes before, %zu after)", control.n, after.n);
    if (opt.log_path) log_clean(opt.log_path);

    printf("rank-fuzz: %" PRIuFAST64 " requests in %.1f s (%.0f/s), %" PRIuFAST64 " answered, %" PRIuFAST64
           " abandoned, %" PRIuFAST64 " without an answer\n",
           atomic_load(&sent), elapsed, (double)atomic_load(&sent) / elapsed, atomic_load(&answered),
           atomic_load(&abandoned), atomic_load(&timeouts));
    printf("rank-fuzz: codes:");
    for (int c = 0; c < NCODES; c++)
        if (atomic_load(&codes[c])) printf(" %d=%" PRIuFAST64, c, atomic_load(&codes[c]));
    printf("\n");
    if (!opt.quiet) {
        for (size_t i = 0; i < nmethods; i++) printf("  %-28s %" PRIuFAST64 "\n", methods[i].name, per_method[i]);
    }
    printf("rank-fuzz: %s (%d finding%s)\n", findings ? "FAILED" : "clean", findings, findings == 1 ? "" : "s");
    nng_close(sock);
    free(control.p);
    free(after.p);
    return findings ? 1 : 0;
}
