/*
 * make_corpus.c - writes the fuzz targets' seed corpora.
 *
 * usage: fuzz_make_corpus DIR   (DIR is tests/fuzz/corpus)
 *
 * A few valid inputs per target, and a few that sit on a rule's edge, so
 * that each run starts from the shapes rankd really sees instead of
 * discovering the schema byte by byte. The files are checked in; rerun
 * this after a schema change and commit what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>
#include <rankd/rankd.pb-c.h>

#include "request_check.h"
#include "token.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t len) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void put_text(const char *target, const char *name, const char *text) { put(target, name, text, strlen(text)); }

/* Packs msg into a static buffer, with `prefix` bytes before it. */
static size_t pack(const ProtobufCMessage *msg, const void *prefix, size_t plen, uint8_t *buf, size_t cap) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (plen + n > cap) abort();
    memcpy(buf, prefix, plen);
    protobuf_c_message_pack(msg, buf + plen);
    return plen + n;
}

static size_t method_index(const char *name) {
    size_t n;
    const fuzz_method *m = fuzz_methods(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0) return i;
    abort();
}

/* A payload seed: the method's index byte, then msg. */
static void put_payload(const char *file, const char *method, const ProtobufCMessage *msg) {
    uint8_t buf[4096], ix = (uint8_t)method_index(method);
    put("payload", file, buf, pack(msg, &ix, 1, buf, sizeof(buf)));
}

/* An envelope seed around msg. */
static void put_envelope(const char *file, const char *method, const char *auth, const char *key,
                         const ProtobufCMessage *msg) {
    uint8_t payload[4096], buf[8192];
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    env.method = (char *)method;
    env.has_deadline_ms = 1;
    env.deadline_ms = 2000;
    env.auth_token = (char *)auth;
    env.idempotency_key = (char *)key;
    if (msg) {
        env.has_payload = 1;
        env.payload.len = pack(msg, NULL, 0, payload, sizeof(payload));
        env.payload.data = payload;
    }
    put("envelope", file, buf, pack(&env.base, NULL, 0, buf, sizeof(buf)));
}

static void requests(void) {
    Rankd__TopRequest top = RANKD__TOP_REQUEST__INIT;
    top.board_id = "tetris";
    top.has_limit = 1;
    top.limit = 3;
    Rankd__SignUpRequest su = RANKD__SIGN_UP_REQUEST__INIT;
    su.username = "ann.b-c_1";
    su.password = "correct horse";
    Rankd__SubmitRequest sub = RANKD__SUBMIT_REQUEST__INIT;
    sub.board_id = "tetris";
    sub.username = "ann";
    sub.has_score = 1;
    sub.score = 9007199254740992LL; /* the bound */
    sub.meta = "{\"car\":\"rx7\",\"replay\":\"r-8812\",\"laps\":[61.2,-6e1,null,true]}";
    Rankd__BatchEntry e1 = RANKD__BATCH_ENTRY__INIT, e2 = RANKD__BATCH_ENTRY__INIT;
    e1.board_id = "tetris", e1.has_user_id = 1, e1.user_id = 7, e1.has_score = 1, e1.score = -5;
    e1.idempotency_key = "k1";
    e1.meta = "{\"map\":\"n\\u00fcrburgring\"}";
    e2.board_id = "global", e2.username = "bob", e2.has_score = 1, e2.score = 100;
    Rankd__BatchEntry *entries[] = {&e1, &e2};
    Rankd__SubmitBatchRequest batch = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    batch.n_entries = 2;
    batch.entries = entries;
    Rankd__Board board = RANKD__BOARD__INIT;
    Rankd__Window windows[] = {RANKD__WINDOW__WINDOW_DAILY, RANKD__WINDOW__WINDOW_MONTHLY};
    board.id = "tetris";
    board.game = "tetris";
    board.title = "Tetris \xc3\xa9t\xc3\xa9";
    board.has_order = 1;
    board.order = RANKD__ORDER__ORDER_LOWER_IS_BETTER;
    board.has_policy = 1;
    board.policy = RANKD__POLICY__POLICY_SUM;
    board.n_windows = 2;
    board.windows = windows;
    board.has_min_score = 1;
    board.min_score = 0;
    board.has_max_score = 1;
    board.max_score = 1000000;
    board.season_schedule = "weekly mon 00:00";
    Rankd__CreateBoardRequest cb = RANKD__CREATE_BOARD_REQUEST__INIT;
    cb.board = &board;
    Rankd__ReportRequest rep = RANKD__REPORT_REQUEST__INIT;
    rep.board_id = "tetris";
    rep.has_from = 1;
    rep.from = 1700000000;
    rep.has_to = 1;
    rep.to = 253402300799LL; /* TIME_MAX_S */
    rep.has_limit = 1;
    rep.limit = 10000;
    Rankd__RanksOfRequest ro = RANKD__RANKS_OF_REQUEST__INIT;
    int64_t ids[] = {1, 2, 3};
    ro.board_id = "tetris";
    ro.n_user_ids = 3;
    ro.user_ids = ids;

    Rankd__EndSeasonRequest es = RANKD__END_SEASON_REQUEST__INIT;
    es.board_id = "tetris";
    es.has_season = 1;
    es.season = 3;
    es.reason = "weekly reset";
    Rankd__GetSeasonRequest gs = RANKD__GET_SEASON_REQUEST__INIT;
    gs.board_id = "tetris";
    gs.has_season = gs.has_offset = gs.has_limit = 1;
    gs.season = 2;
    gs.offset = 10;
    gs.limit = 1000;

    put_payload("top", "rankd.Ranking/Top", &top.base);
    put_payload("signup", "rankd.Auth/SignUp", &su.base);
    put_payload("submit", "rankd.Scores/Submit", &sub.base);
    put_payload("batch", "rankd.Scores/SubmitBatch", &batch.base);
    put_payload("create_board", "rankd.Boards/CreateBoard", &cb.base);
    put_payload("report", "rankd.History/Report", &rep.base);
    put_payload("ranks_of", "rankd.Ranking/RanksOf", &ro.base);
    put_payload("end_season", "rankd.Seasons/EndSeason", &es.base);
    put_payload("get_season", "rankd.Seasons/GetSeason", &gs.base);
    /* Every method with an empty payload: one byte each. */
    size_t n;
    const fuzz_method *m = fuzz_methods(&n);
    for (size_t i = 0; i < n; i++) {
        char file[160];
        uint8_t ix = (uint8_t)i;
        snprintf(file, sizeof(file), "empty_%s", strchr(m[i].name, '/') + 1);
        put("payload", file, &ix, 1);
    }

    put_envelope("top", "rankd.Ranking/Top", NULL, NULL, &top.base);
    put_envelope("submit", "rankd.Scores/Submit", "rk_0123456789abcdef0123456789abcdef01234567", "retry-1", &sub.base);
    put_envelope("batch", "rankd.Scores/SubmitBatch", "rk_0123456789abcdef0123456789abcdef01234567", NULL, &batch.base);
    put_envelope("create_board", "rankd.Boards/CreateBoard", "djJ8MXwzfDk5OTk5OTk5OTl8.eA", NULL, &cb.base);
    put_envelope("signup", "rankd.Auth/SignUp", NULL, NULL, &su.base);
    put_envelope("report", "rankd.History/Report", NULL, NULL, &rep.base);
    put_envelope("no_payload", "rankd.Admin/Status", NULL, NULL, NULL);
    put_envelope("unknown_method", "rankd.Nope/Nothing", NULL, NULL, &top.base);
    /* Edge cases by hand: a NUL inside the method, a lone continuation
     * byte, a length running past the end, nothing at all. */
    static const uint8_t nul[] = {0x0a, 0x05, 'r', 'a', 0x00, 'k', 'd'};
    static const uint8_t cont[] = {0x0a, 0x01, 0x80};
    static const uint8_t past[] = {0x2a, 0x7f, 0x0a, 0x01, 'x'};
    put("envelope", "nul_in_method", nul, sizeof(nul));
    put("envelope", "bad_utf8", cont, sizeof(cont));
    put("envelope", "truncated", past, sizeof(past));
    put("envelope", "empty", "", 0);
}

static void events(void) {
    uint8_t buf[4096];
    Rankd__RankEntry a = RANKD__RANK_ENTRY__INIT, b = RANKD__RANK_ENTRY__INIT;
    a.has_user_id = 1, a.user_id = 1, a.username = "ann", a.has_score = 1, a.score = 900, a.has_rank = 1, a.rank = 1;
    b.has_user_id = 1, b.user_id = 2, b.username = "bob", b.has_score = 1, b.score = 800, b.has_rank = 1, b.rank = 2;
    Rankd__RankEntry *entries[] = {&a, &b};
    Rankd__TopChanged tc = RANKD__TOP_CHANGED__INIT;
    tc.board_id = "tetris", tc.game = "tetris", tc.has_seq = 1, tc.seq = 41, tc.n_entries = 2, tc.entries = entries;
    Rankd__RankChanged rc = RANKD__RANK_CHANGED__INIT;
    rc.board_id = "tetris", rc.has_user_id = 1, rc.user_id = 2, rc.has_new_rank = 1, rc.new_rank = 1;
    rc.n_passed = 1, rc.passed = entries;
    Rankd__WindowRolled wr = RANKD__WINDOW_ROLLED__INIT;
    wr.board_id = "tetris", wr.closed = "2026-W47", wr.opened = "2026-W48";
    Rankd__Event ev = RANKD__EVENT__INIT;
    static const char t1[] = "tetris/tetris/top/all/", t2[] = "tetris/tetris/player/2/", t3[] = "tetris/tetris/window/";
    ev.kind_case = RANKD__EVENT__KIND_TOP, ev.top = &tc;
    put("event", "top", buf, pack(&ev.base, t1, sizeof(t1), buf, sizeof(buf)));
    ev.kind_case = RANKD__EVENT__KIND_RANK, ev.rank = &rc;
    put("event", "rank", buf, pack(&ev.base, t2, sizeof(t2), buf, sizeof(buf)));
    ev.kind_case = RANKD__EVENT__KIND_ROLLED, ev.rolled = &wr;
    put("event", "rolled", buf, pack(&ev.base, t3, sizeof(t3), buf, sizeof(buf)));
    put("event", "topic_only", t1, sizeof(t1));
    put_text("event", "no_nul", "tetris/tetris/top/all/");
}

static void tokens(void) {
    /* The target's key; mode byte 0 is a whole token, 1 is claims it signs. */
    static const uint8_t key[TOKEN_KEY_LEN] = "fuzz-key-fuzz-key-fuzz-key-fuzz";
    token_claims cl = {.user_id = 42, .role = 1, .expires_at = 4102444800LL, .gen = 3};
    memcpy(cl.jti, "0123456789abcdef0123456789abcdef", TOKEN_JTI_LEN + 1);
    char tok[TOKEN_MAX + 1] = {0};
    rk_status st = {0};
    if (token_sign(key, &cl, tok + 1, &st) != 0) abort();
    put("token", "signed_v2", tok, 1 + strlen(tok + 1));
    put_text("token", "claims_v2", "\x01v2|42|1|4102444800|0123456789abcdef0123456789abcdef|3");
    put_text("token", "claims_v1", "\x01v1|7|3|4102444800|0123456789abcdef0123456789abcdef");
    put_text("token", "claims_expired", "\x01v2|42|1|1000|0123456789abcdef0123456789abcdef|0");
    put_text("token", "claims_negative_gen", "\x01v2|42|1|4102444800|0123456789abcdef0123456789abcdef|-1");
    put_text("token", "no_dot", "\x00djJ8NDJ8MXw0MTAyNDQ0ODAw");
}

static void texts(void) {
    put_text("apikey", "valid", "rk_0123456789abcdef0123456789abcdef01234567");
    put_text("apikey", "upper", "rk_0123456789ABCDEF0123456789abcdef01234567");
    put_text("apikey", "short", "rk_0123456789abcdef");
    put_text("apikey", "long", "rk_0123456789abcdef0123456789abcdef012345678");
    put_text("apikey", "token", "djJ8NDJ8MXw0MTAyNDQ0ODAw.eA");
    put_text("config", "full",
             "# rankd.conf\nlisten = tcp://0.0.0.0:7400\nworkers = 16\n"
             "max-message = 4194304\nlog-level = info\n\ntoken-secret = \n");
    put_text("config", "bad_int", "workers = 16x\n");
    put_text("config", "range", "contexts = 99999999999999999999\n");
    put_text("config", "no_eq", "listen tcp://x\n");
    put_text("config", "unknown", "  colour=blue  \n");
    put_text("json", "object", "{\"car\":\"rx7\",\"replay\":\"r-8812\"}");
    put_text("json", "nested", " {\"a\": [1, -2.5e+3, 0.0, true, false, null, {\"b\": {}}, []]}\n");
    put_text("json", "escapes", "{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9\"}");
    put_text("json", "trailing_comma", "{\"a\":1,}");
    put_text("json", "array", "[1,2]");
    put_text("json", "deep",
             "{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{\"\":{}}}}}}}}"
             "}}}}}}}}}");
    put("json", "nul", "{\"a\":\"x\0\"}", 10);
    put_text("query", "top", "/api/top?board=tetris&window=daily");
    put_text("query", "empty_value", "/api/top?board=&window=");
    put_text("query", "no_query", "/api/top");
    put("query", "custom_key", "/x?a=1&&b=2&b=3\0b", 18);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_corpus DIR\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    requests();
    events();
    tokens();
    texts();
    return 0;
}
