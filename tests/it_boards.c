/* Journey 2 (a studio sets up a game): admins create, read, list and
 * delete boards; everyone else is refused with the right code. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin;

static void admin_creates_tetris_and_speedrun(void) {
    CHECK_INT(it_create_board(c, admin, "tetris", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0xE, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "speedrun-1-1", "mario", 1, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "tetris", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_ALREADY_EXISTS);

    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    req.board_id = "tetris";
    CHECK_INT(rk_boards_get_board(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_STR(rep->board->game, "tetris");
        CHECK_INT(rep->board->order, RANKD__ORDER__ORDER_HIGHER_IS_BETTER);
        CHECK_INT(rep->board->n_windows, 4); /* all-time, daily, weekly, monthly */
        CHECK(rep->board->created_at > 0);
    }
    rk_reply_free(rep);
    rep = NULL;
    req.board_id = "speedrun-1-1";
    CHECK_INT(rk_boards_get_board(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) CHECK_INT(rep->board->order, RANKD__ORDER__ORDER_LOWER_IS_BETTER);
    rk_reply_free(rep);
}

static void bounds_are_kept(void) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    b.id = "bounded";
    b.game = "tetris";
    b.has_min_score = b.has_max_score = 1;
    b.min_score = 0;
    b.max_score = 1000000000;
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->board->min_score, 0);
        CHECK_INT(rep->board->max_score, 1000000000);
    }
    rk_reply_free(rep);
    b.id = "inverted";
    b.min_score = 10;
    b.max_score = 1;
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    b.id = "Bad Id";
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    req.board = NULL;
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
}

static void only_admins_manage_boards(void) {
    it_sign_up(c, "carol", "carol-password");
    char *tok = it_login(c, "carol", "carol-password");
    CHECK_INT(it_create_board(c, tok, "carols", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_PERMISSION_DENIED);
    CHECK_INT(it_create_board(c, NULL, "anon", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_UNAUTHENTICATED);
    free(tok);
}

static void list_filters_by_game(void) {
    Rankd__ListBoardsRequest req = RANKD__LIST_BOARDS_REQUEST__INIT;
    Rankd__ListBoardsReply *rep = NULL;
    rk_status st;
    req.game = "mario";
    CHECK_INT(rk_boards_list_boards(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_boards, 1);
        if (rep->n_boards == 1) CHECK_STR(rep->boards[0]->id, "speedrun-1-1");
    }
    rk_reply_free(rep);
    rep = NULL;
    req.game = NULL;
    CHECK_INT(rk_boards_list_boards(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) CHECK_INT(rep->n_boards, 3);
    rk_reply_free(rep);
}

static void delete_then_not_found(void) {
    Rankd__DeleteBoardRequest req = RANKD__DELETE_BOARD_REQUEST__INIT;
    Rankd__Empty *rep = NULL;
    rk_status st;
    req.board_id = "bounded";
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_delete_board(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    rep = NULL;
    CHECK_INT(rk_boards_delete_board(c, &req, &rep, &o, &st), RK_NOT_FOUND);
    Rankd__GetBoardRequest g = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *gr = NULL;
    g.board_id = "bounded";
    CHECK_INT(rk_boards_get_board(c, &g, &gr, NULL, &st), RK_NOT_FOUND);
    CHECK(strstr(st.message, "bounded") != NULL);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    RUN(admin_creates_tetris_and_speedrun);
    RUN(bounds_are_kept);
    RUN(only_admins_manage_boards);
    RUN(list_filters_by_game);
    RUN(delete_then_not_found);
    free(admin);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
