/*
 * shards.h - the reads of a hot board (shards > 1), merged from its
 * shards, and the ranks of a submission's reply.
 *
 * A hot board keeps player u in shard u mod shards (board.h), each shard
 * a sorted set in its own slot, so submissions to the board spread over
 * as many Redis masters. Ranks stay exact: the place of an entry is the
 * sum over the shards of the entries ahead of it, in the order of a plain
 * board (score, then the time the score was reached), and a top page is
 * the merge of the shards' tops. A read takes one to four round trips,
 * each asking every shard at once (one write per master), and is not one
 * atomic step: a submission between two round trips may show in one and
 * not the other, as it would one read later. docs/ARCHITECTURE.md, Hot boards,
 * says what a hot board does not do yet.
 */
#ifndef RANKD_SHARDS_H
#define RANKD_SHARDS_H

#include "board.h"
#include "store_redis.h"
#include "window.h"

/* Answers q (a top page, the page around a player, the ranks of players,
 * or the count) for the window of kind k holding `at` of hot board b
 * from its shards, into *out (rows malloc'ed, the caller's, with names).
 * Dense ranks apart from a top page are RK_FAILED_PRECONDITION; other
 * reads RK_UNIMPLEMENTED (shards_merges); RK_UNAVAILABLE when Redis
 * cannot answer. q is not freed. */
int shards_read(rstore *r, const board *b, window_kind k, time_t at, const rread *q, rread_result *out, rk_status *st);

/* Whether shards_read answers q: the other reads of a hot board (and a
 * top page that ends past its 10,000th entry) are the history's
 * (ranking.c). */
int shards_merges(const rread *q);

/* A submission of uid to hot board b, stored on its shard: its rank, its
 * previous rank and the board's size in *o are the shard's, made the
 * board's by counting the other shards' entries (on failure the ranks
 * are 0, not known: the submission is stored either way). */
int shards_submitted(rstore *r, const board *b, int64_t uid, rstore_submit_out *o, rk_status *st);

/* After shards_submitted: a submission that moved uid's all-time score on
 * hot board b is published as a rank change ("r", rankd.lua, Events) with
 * the board's ranks, as rk_submit publishes a plain board's (a shard's
 * function knows only the shard's). Who was passed comes from one more
 * merged read: the nearest 10 behind the player's new place, up to 30
 * players tied with them apart; none past the 10,000th place. */
int shards_publish_rank(rstore *r, const board *b, int64_t uid, const rstore_submit_out *o, rk_status *st);

#endif
