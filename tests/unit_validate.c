/* Input rules: ids, usernames, passwords, times, board definitions and
 * score bounds, including the exact-integer limit of Redis scores; record
 * metadata and its strict JSON object check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rankd/rankd.pb-c.h>

#include "check.h"
#include "config.h"
#include "json.h"
#include "validate.h"
#include "window.h"

static void ids_and_usernames(void) {
    rk_status st;
    CHECK_INT(validate_id("board id", "tetris-1_a", &st), RK_OK);
    CHECK_INT(validate_id("board id", "Tetris", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_id("board id", "", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_id("board id", NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_username("alice.b-1", &st), RK_OK);
    CHECK_INT(validate_username("al", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_username("bad name", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_password("short", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "password must be at least 8 characters");
    CHECK_INT(validate_password("long enough", &st), RK_OK);
}

/* Every time a request may carry, and nothing else, has a calendar date. */
static void times(void) {
    rk_status st;
    CHECK_INT(validate_time("from", 0, &st), RK_OK);
    CHECK_INT(validate_time("from", TIME_MAX_S, &st), RK_OK);
    CHECK_INT(validate_time("from", TIME_MAX_S + 1, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_time("to", -1, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "to must be Unix seconds from 0 (1970) to 253402300799 (the end of 9999), not -1");
    CHECK_INT(validate_time("at", INT64_MIN, &st), RK_INVALID_ARGUMENT);
    char label[WINDOW_LABEL_MAX];
    window_label(WINDOW_DAY, (time_t)TIME_MAX_S, label);
    CHECK_STR(label, "d:9999-12-31");
}

static void board_defaults(void) {
    Rankd__Board in = RANKD__BOARD__INIT;
    board b;
    rk_status st;
    in.id = "tetris";
    in.game = "tetris";
    CHECK_INT(validate_board(&in, &b, &st), RK_OK);
    CHECK_INT(b.higher_is_better, 1);
    CHECK_INT(b.policy, POLICY_BEST);
    CHECK_INT(b.windows, WINDOW_BIT(WINDOW_ALL));
    CHECK_INT(b.min_score, -SCORE_LIMIT);
    CHECK_INT(b.max_score, SCORE_LIMIT);
    CHECK_INT(b.player_submit, 0);
}

static void board_rules(void) {
    Rankd__Board in = RANKD__BOARD__INIT;
    Rankd__Window wins[] = {RANKD__WINDOW__WINDOW_DAILY, RANKD__WINDOW__WINDOW_WEEKLY};
    board b;
    rk_status st;
    in.id = "global";
    in.game = "g";
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.id = "speedrun-1-1";
    in.has_order = 1;
    in.order = RANKD__ORDER__ORDER_LOWER_IS_BETTER;
    in.n_windows = 2;
    in.windows = wins;
    in.has_min_score = in.has_max_score = 1;
    in.min_score = 10;
    in.max_score = 5;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.max_score = SCORE_LIMIT + 1;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.max_score = 3600000;
    CHECK_INT(validate_board(&in, &b, &st), RK_OK);
    CHECK_INT(b.higher_is_better, 0);
    CHECK_INT(b.windows, WINDOW_BIT(WINDOW_ALL) | WINDOW_BIT(WINDOW_DAY) | WINDOW_BIT(WINDOW_WEEK));
    CHECK_INT(validate_score(&b, 9, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "score 9 is below board speedrun-1-1's minimum 10");
    CHECK_INT(validate_score(&b, 3600001, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(validate_score(&b, 10, &st), RK_OK);
}

static void aggregate_rules(void) {
    Rankd__Board in = RANKD__BOARD__INIT;
    board b;
    rk_status st;
    char *two[] = {"duel", "team"};
    in.id = "all";
    in.game = "g";
    in.sources = two;
    in.n_sources = 2;
    CHECK_INT(validate_board(&in, &b, &st), RK_OK);
    CHECK_INT(b.nsources, 2);
    CHECK_STR(b.sources[1], "team");
    CHECK_INT(b.policy, POLICY_SUM);
    CHECK_INT(board_in_global(&b), 0); /* its points are on global already */
    /* An aggregate read back and sent again is the same aggregate. */
    {
        Rankd__Board back;
        Rankd__Window wins[WINDOW_KINDS];
        char *ptrs[2 * BOARD_AGG_MAX];
        board again;
        board_to_message(&b, &back, wins, ptrs);
        CHECK_INT(validate_board(&back, &again, &st), RK_OK);
        CHECK_INT(again.nsources, 2);
    }
    char *self[] = {"duel", "all"}, *global[] = {"global"}, *twice[] = {"duel", "duel"}, *bad[] = {"Duel!"};
    char *nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    char **lists[] = {self, global, twice, bad, nine};
    size_t lens[] = {2, 1, 2, 1, 9};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        in.sources = lists[i];
        in.n_sources = lens[i];
        CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    }
    in.sources = two;
    in.n_sources = 2;
    /* What an aggregate keeps follows from its sources. */
    in.has_order = 1;
    in.order = RANKD__ORDER__ORDER_LOWER_IS_BETTER;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.has_order = 0;
    in.has_policy = 1;
    in.policy = RANKD__POLICY__POLICY_BEST;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.has_policy = 0;
    in.has_max_score = 1;
    in.max_score = 10;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.has_max_score = 0;
    in.has_player_submit = in.player_submit = 1;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
    in.has_player_submit = in.player_submit = 0;
    in.has_rate_limit = 1;
    in.rate_limit = 5;
    CHECK_INT(validate_board(&in, &b, &st), RK_INVALID_ARGUMENT);
}

/* A message may wrap the one the status holds already. */
static void status_wraps_its_own_message(void) {
    rk_status st;
    rk_status_set(&st, RK_UNAVAILABLE, "Redis is away");
    rk_status_set(&st, RK_INTERNAL, "filling the board failed (%s); rebuild it", st.message);
    CHECK_INT(st.code, RK_INTERNAL);
    CHECK_STR(st.message, "filling the board failed (Redis is away); rebuild it");
}

static void config_precedence(void) {
    config cfg;
    rk_status st;
    char *argv[] = {"rankd", "--workers", "7", "--redis=10.0.0.1:1", NULL};
    setenv("RANKD_WORKERS", "3", 1);
    setenv("RANKD_TOKEN_TTL", "120", 1);
    CHECK_INT(config_load(&cfg, 4, argv, &st), RK_OK);
    CHECK_INT(cfg.workers, 7);     /* flag beats environment */
    CHECK_INT(cfg.token_ttl, 120); /* environment beats default */
    CHECK_STR(cfg.redis, "10.0.0.1:1");
    char *bad[] = {"rankd", "--workers", "zero", NULL};
    CHECK_INT(config_load(&cfg, 3, bad, &st), RK_INVALID_ARGUMENT);
    char *unknown[] = {"rankd", "--nope=1", NULL};
    CHECK_INT(config_load(&cfg, 2, unknown, &st), RK_INVALID_ARGUMENT);
    unsetenv("RANKD_WORKERS");
    unsetenv("RANKD_TOKEN_TTL");
}

static int is_obj(const char *s) { return json_is_object(s, strlen(s), NULL, NULL); }

/* Every production of the grammar, accepted and refused at its edges. */
static void json_objects(void) {
    CHECK_INT(is_obj("{}"), 1);
    CHECK_INT(is_obj(" \t\r\n{ } \n"), 1);
    CHECK_INT(is_obj("{\"car\":\"rx7\",\"replay\":\"r-8812\"}"), 1);
    CHECK_INT(is_obj("{\"a\":[1,-2,3.5,-0.0e+10,1E-3,0],\"b\":{\"c\":[true,false,null,[],{}]}}"), 1);
    CHECK_INT(is_obj("{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\"}"), 1);
    CHECK_INT(is_obj("{\"k\":\"caf\xc3\xa9\"}"), 1); /* UTF-8 passes through */
    /* Not an object at the top. */
    CHECK_INT(is_obj(""), 0);
    CHECK_INT(is_obj("[]"), 0);
    CHECK_INT(is_obj("\"x\""), 0);
    CHECK_INT(is_obj("42"), 0);
    CHECK_INT(is_obj("null"), 0);
    /* No extensions. */
    CHECK_INT(is_obj("{\"a\":1,}"), 0);
    CHECK_INT(is_obj("{\"a\":[1,]}"), 0);
    CHECK_INT(is_obj("{'a':1}"), 0);
    CHECK_INT(is_obj("{a:1}"), 0);
    CHECK_INT(is_obj("{\"a\":1} /* c */"), 0);
    CHECK_INT(is_obj("{\"a\":NaN}"), 0);
    CHECK_INT(is_obj("{\"a\":tru}"), 0);
    CHECK_INT(is_obj("{\"a\":True}"), 0);
    CHECK_INT(is_obj("{\"a\":1}{}"), 0);
    CHECK_INT(is_obj("{\"a\" 1}"), 0);
    CHECK_INT(is_obj("{\"a\":1 \"b\":2}"), 0);
    CHECK_INT(is_obj("{\"a\":"), 0);
    CHECK_INT(is_obj("{\"a\":1"), 0);
    /* Numbers exactly as JSON writes them. */
    CHECK_INT(is_obj("{\"a\":01}"), 0);
    CHECK_INT(is_obj("{\"a\":+1}"), 0);
    CHECK_INT(is_obj("{\"a\":1.}"), 0);
    CHECK_INT(is_obj("{\"a\":.5}"), 0);
    CHECK_INT(is_obj("{\"a\":1e}"), 0);
    CHECK_INT(is_obj("{\"a\":-}"), 0);
    CHECK_INT(is_obj("{\"a\":0x10}"), 0);
    /* Strings: escapes checked, control characters escaped, closed. */
    CHECK_INT(is_obj("{\"a\":\"\\x\"}"), 0);
    CHECK_INT(is_obj("{\"a\":\"\\u12G4\"}"), 0);
    CHECK_INT(is_obj("{\"a\":\"\\u12\"}"), 0);
    CHECK_INT(is_obj("{\"a\":\"tab\there\"}"), 0);
    CHECK_INT(is_obj("{\"a\":\"open}"), 0);
    CHECK_INT(json_is_object("{\"a\":\"x\0y\"}", 10, NULL, NULL), 0); /* a NUL inside */
    /* Depth: JSON_DEPTH_MAX levels pass, one more does not. */
    char ok[256] = "{", bad[256] = "{";
    for (int d = 1; d < JSON_DEPTH_MAX; d++) strcat(ok, "\"\":{");
    for (int d = 1; d < JSON_DEPTH_MAX; d++) strcat(ok, "}");
    strcat(ok, "}");
    for (int d = 1; d <= JSON_DEPTH_MAX; d++) strcat(bad, "\"\":{");
    for (int d = 1; d <= JSON_DEPTH_MAX; d++) strcat(bad, "}");
    strcat(bad, "}");
    CHECK_INT(is_obj(ok), 1);
    CHECK_INT(is_obj(bad), 0);
    const char *why = NULL;
    size_t at = 99;
    CHECK_INT(json_is_object(bad, strlen(bad), &why, &at), 0);
    CHECK_STR(why, "nested too deeply");
    CHECK_INT(json_is_object("{\"a\":1,}", 8, &why, &at), 0);
    CHECK_STR(why, "expected a string as an object key");
    CHECK_INT(at, 7);
}

static void metadata(void) {
    rk_status st;
    CHECK_INT(validate_meta(NULL, &st), RK_OK);
    CHECK_INT(validate_meta("", &st), RK_OK);
    CHECK_INT(validate_meta("{\"car\":\"rx7\",\"replay\":\"r-8812\"}", &st), RK_OK);
    CHECK_INT(validate_meta("not json", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "meta must be a JSON object: not a JSON object at byte 0");
    CHECK_INT(validate_meta("{\"a\":1,}", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "meta must be a JSON object: expected a string as an object key at byte 7");
    CHECK_INT(validate_meta("{\"k\":\"\xff\"}", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "meta is not valid UTF-8");
    /* Exactly META_MAX bytes pass; one more is refused for its size,
     * whatever it holds (so the parser never sees it). */
    static char big[META_MAX + 2];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[META_MAX - 1] = '}';
    big[META_MAX] = '\0';
    CHECK_INT(validate_meta(big, &st), RK_OK);
    big[META_MAX] = 'x';
    big[META_MAX + 1] = '\0';
    CHECK_INT(validate_meta(big, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "meta must be at most 1024 bytes");
}

int main(void) {
    RUN(ids_and_usernames);
    RUN(times);
    RUN(board_defaults);
    RUN(board_rules);
    RUN(aggregate_rules);
    RUN(status_wraps_its_own_message);
    RUN(config_precedence);
    RUN(json_objects);
    RUN(metadata);
    return CHECK_SUMMARY();
}
