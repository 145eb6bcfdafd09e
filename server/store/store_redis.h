/*
 * store_redis.h - rankd's live boards in Redis.
 *
 * One rstore is one Redis connection, owned by one thread (hiredis
 * contexts are not thread-safe). Every board operation is a call of a
 * function in rankd.lua, loaded at start with FUNCTION LOAD REPLACE, so a
 * submission or a ranked read is one round trip; a batch of submissions is
 * one pipelined round trip. A broken connection is reopened on the next
 * call; until then calls fail with RK_UNAVAILABLE.
 */
#ifndef RANKD_STORE_REDIS_H
#define RANKD_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rankd/status.h>

#include "board.h"
#include "ranks.h"
#include "window.h"

#define RSTORE_KEY_MAX 256
/* A stream entry id ("<ms>-<seq>"), qualified by its board (up to 64
 * bytes and "/") in the split layout. */
#define RSTORE_ENTRY_ID_MAX 112
#define RSTORE_NAME_MAX 40

typedef struct rstore rstore;
struct redisReply;

/* Where the keys of one call live (rankd.lua, "Layouts"). RSTORE_ONE: one
 * Redis, where rk_submit changes the board, the global board and the
 * board's aggregates in one call and appends to rk:wb. RSTORE_SPLIT: each
 * call's keys are in one slot, as a Redis Cluster requires; a board has
 * its own stream (rk:{b}:wb), and the global board and the aggregates are
 * fed from those streams by rk_apply (the applier job). Chosen once at
 * start, before any other thread runs (the setting redis-layout). */
typedef enum rstore_layout { RSTORE_ONE = 0, RSTORE_SPLIT = 1 } rstore_layout;
void rstore_set_layout(rstore_layout l);
rstore_layout rstore_get_layout(void);
/* The write-behind stream of board b (NULL: rk:wb, the one-key layout's). */
void rstore_stream_key(const char *board_id, char *out, size_t cap);

/* The sorted set (and member hash) that one window of one board lives in. */
typedef struct rview {
    char zkey[RSTORE_KEY_MAX];
    char mkey[RSTORE_KEY_MAX]; /* the member hash: {lo, hi} and buckets mkey:<k> (rankd.lua) */
    char flag[RSTORE_KEY_MAX]; /* set while the board is rebuilt */
    char xkey[RSTORE_KEY_MAX]; /* the board's record metadata (rk:{b}:meta) on its all-time view; "" elsewhere */
    int desc;                  /* 1: higher is better (list with ZREVRANGE) */
} rview;

/* Where a board keeps its players' record metadata: one hash, user id ->
 * the JSON text of the submission that gave the all-time entry its value
 * (rankd.lua says which one each policy keeps). */
void rstore_meta_key(const char *board_id, char *out, size_t cap);

/* The key that marks a board (NULL: the global board) as being rebuilt:
 * submissions to it are refused and reads wait until it is gone. */
void rstore_rebuild_flag(const board *b, char *out, size_t cap);
/* The aggregates b feeds as rk:{b}:agg holds them: ids, comma-separated. */
void rstore_feeds_list(const board *b, char *out, size_t cap);
/* Writes b's list of aggregates to rk:{b}:agg (see rankd.lua): from then
 * on a submission to b from a rankd that knows another list is refused
 * UNAVAILABLE, and that rankd reads the board again. */
int rstore_set_feeds(rstore *r, const board *b, rk_status *st);
/* Whether a status is rk_submit's refusal for a stale list of aggregates. */
int rstore_stale_board(const rk_status *st);

/* b == NULL names the global board (all-time only). */
void rstore_view(const board *b, window_kind k, time_t now, rview *v);
/* The live marker a read of v checks (rk:live, or in the split layout
 * its board's rk:{b}:live). */
void rstore_view_live(const rview *v, char *out, size_t cap);

/* addr is one "host:port" or a comma-separated list of them (rnode.h):
 * the first that answers is used, and a lost connection tries them all
 * again, starting with the one that answered last. */
int rstore_open(rstore **out, const char *addr, rk_status *st);

/* A handle whose commands go through a shared pipeline (rpipe.h) instead
 * of a connection of its own, so concurrent callers share round trips. */
struct rpipe;
int rstore_open_piped(rstore **out, struct rpipe *pipe, const char *addr, rk_status *st);
void rstore_close(rstore *r);

/* PING; on a cluster every master of the map, and the first that does not
 * answer is named in st. */
int rstore_ping(rstore *r, rk_status *st);

/* *yes = 1 when the Redis answering is a node of a Redis Cluster
 * (INFO cluster says cluster_enabled:1). */
int rstore_cluster_enabled(rstore *r, int *yes, rk_status *st);

/* The most fields a member hash's bucket holds (rankd.lua: 64 players and
 * a latest board's last times). Redis keeps a hash of at most
 * hash-max-listpack-entries fields as a listpack; a bucket above it
 * becomes a hashtable, correct but several times the memory. */
#define RSTORE_BUCKET_FIELDS 128

/* Redis's hash-max-listpack-entries; -1 when CONFIG GET is not allowed
 * (a managed Redis may rename it) or does not answer it. On a cluster,
 * the smallest of its masters' (each keeps its own share of the boards);
 * node ("host:port", cap bytes) says whose. */
int rstore_listpack_entries(rstore *r, long long *n, char *node, size_t cap, rk_status *st);

/* Room for a node's "host:port" and its NUL. */
#define RSTORE_ADDR_MAX 272

/* The "host:port" in use (or tried next), for messages. */
void rstore_addr(const rstore *r, char *out, size_t cap);
int rstore_load_functions(rstore *r, rk_status *st);

/* rk:live marks a Redis that holds every board. A Redis that restarted
 * empty lacks it: ranked reads then wait (and end RK_UNAVAILABLE, which
 * callers answer from PostgreSQL) and submissions are refused with
 * RK_UNAVAILABLE, until a rankd has restored it and calls rstore_set_live. */
int rstore_set_live(rstore *r, rk_status *st);
int rstore_is_live(rstore *r, int *live, rk_status *st);

/* One look at Redis for the recovery module: does it answer, is it still
 * loading its data set, does it hold the live view? r must not be piped. */
typedef enum rstore_probe_result { RSTORE_GONE = 0, RSTORE_LOADING, RSTORE_EMPTY, RSTORE_LIVE } rstore_probe_result;
rstore_probe_result rstore_probe(rstore *r);

typedef struct rstore_submit_in {
    const board *b;
    int64_t user_id;
    int64_t score;
    int64_t ts_us;        /* submission time, microseconds since the epoch */
    const char *idem_key; /* NULL: not idempotent */
    int history_done;     /* already in PostgreSQL's history: do not queue it again */
    const char *meta;     /* record metadata, a checked JSON object's text; NULL or "": none */
} rstore_submit_in;

typedef struct rstore_submit_out {
    rk_status status; /* per item */
    int64_t score;    /* stored all-time score after this submission */
    int64_t rank;     /* competition rank on the all-time board */
    int64_t board_size;
    int personal_best;
    int replayed;                       /* answered from the idempotency record */
    int64_t previous_rank;              /* all-time rank before it; 0: not on the board, or not known */
    int64_t previous_score;             /* all-time score before it, when previous_rank > 0 */
    char entry_id[RSTORE_ENTRY_ID_MAX]; /* write-behind stream entry */
    int held;                           /* held for review by the board's plausibility rule: counts nowhere yet */
} rstore_submit_out;

/* Applies n submissions in one pipelined round trip; out[i] gets each
 * item's own status. A daily, weekly or monthly set expires `retention`
 * seconds after its window ends. Returns RK_UNAVAILABLE when Redis cannot be reached
 * (then no item's outcome is known). */
/* With replicas > 0, the batch is followed by WAIT replicas timeout_ms on
 * the same connection: an item Redis took is answered RK_OK only when
 * that many replicas confirmed the batch in time, else RK_UNAVAILABLE
 * (it is in the master; a retry with its idempotency key answers the
 * same and waits again). */
typedef struct rstore_wait {
    int64_t replicas;
    int64_t timeout_ms;
} rstore_wait;
int rstore_submit(rstore *r, const rstore_submit_in *in, size_t n, int64_t idem_ttl, int64_t retention,
                  const rstore_wait *wait, rstore_submit_out *out, rk_status *st);

/* One submission's FCALL, with the storage its argv points into, for
 * callers that send it themselves; rsubmit_parse reads its reply into
 * o->status and the rest of o (an error reply is o's status too). */
/* rk_submit's keys and arguments for moderation, after the windows'. */
#define RSUBMIT_MOD_KEYS 2
#define RSUBMIT_MOD_ARGS 3
/* Record metadata's key and argument, after moderation's; then the
 * board's season key, the board's list of aggregates (rk:{b}:agg) and
 * three keys for each aggregate the board feeds. */
#define RSUBMIT_META_KEYS 1
#define RSUBMIT_META_ARGS 1
#define RSUBMIT_SEASON_KEYS 1
#define RSUBMIT_AGG_KEYS (1 + 3 * BOARD_AGG_MAX)
#define RSUBMIT_KEYS \
    (9 + 2 * WINDOW_KINDS + RSUBMIT_MOD_KEYS + RSUBMIT_META_KEYS + RSUBMIT_SEASON_KEYS + RSUBMIT_AGG_KEYS)
/* What is written comes first and the keys are packed one after another
 * in `pool`, so a command touches a kilobyte or two of its struct: a
 * batch's array of them costs few fresh pages. */
typedef struct rsubmit_cmd {
    const char *argv[3 + RSUBMIT_KEYS + 15 + WINDOW_KINDS + RSUBMIT_MOD_ARGS + RSUBMIT_META_ARGS];
    int argc;
    char nums[7 + WINDOW_KINDS][32];
    char mods[RSUBMIT_MOD_ARGS][32];
    char tag[BOARD_TAG_MAX + 1]; /* the board's tag, or its player's shard's (board_tag) */
    size_t used;                 /* bytes of pool taken */
    char pool[RSUBMIT_KEYS * RSTORE_KEY_MAX + BOARD_AGG_MAX * (BOARD_ID_MAX + 1) + 1];
} rsubmit_cmd;
void rsubmit_build(const rstore_submit_in *s, int64_t idem_ttl, int64_t retention, rsubmit_cmd *c);
int rsubmit_parse(const struct redisReply *rep, rstore_submit_out *o);

typedef struct rank_row {
    int64_t user_id;
    int64_t score;
    int64_t rank;
    int64_t position;    /* 1-based place in the board's order (unique rank) */
    int64_t competition; /* competition rank whatever the mode: percentiles count it */
    int ranked;          /* 0: the player has no score on this board */
    char username[RSTORE_NAME_MAX];
    /* The entry's record metadata (a JSON object's text), NULL for none.
     * It points into the allocation the rows came in, after the rows, so
     * free(rows) frees it too; a copy of rows is made with rank_rows_copy,
     * never with memcpy alone. */
    const char *meta;
} rank_row;

/* A malloc'ed copy of n rows and their metadata in one allocation (the
 * caller frees it), or NULL when out of memory. */
rank_row *rank_rows_copy(const rank_row *rows, size_t n);

/* Rows are malloc'ed into *rows (caller frees); *n their count. */
int rstore_top(rstore *r, const rview *v, int64_t offset, int64_t count, rank_mode mode, rank_row **rows, size_t *n,
               int64_t *size, rk_status *st);
/* RK_NOT_FOUND when the player is not ranked on the board. */
int rstore_around(rstore *r, const rview *v, int64_t user_id, int64_t above, int64_t below, rank_mode mode,
                  rank_row **rows, size_t *n, int64_t *size, rk_status *st);
/* One row per user id, in order; rows of unranked players have ranked 0. */
int rstore_ranks(rstore *r, const rview *v, const int64_t *uids, size_t nuids, rank_mode mode, rank_row **rows,
                 int64_t *size, rk_status *st);
int rstore_count(rstore *r, const rview *v, int64_t *count, rk_status *st);

/* The same reads as a command and the reading of its reply, for callers
 * that send commands themselves (the event loops, through store_async.h).
 * rread_* fill q with the command (argv points into q and into uids,
 * which must outlive q); rread_parse reads the reply; rread_done frees
 * what q holds. */
typedef enum rread_kind {
    RREAD_TOP,
    RREAD_AROUND,
    RREAD_RANKS,
    RREAD_COUNT,
    RREAD_RANGE,
    RREAD_PERCENTILE,
    RREAD_HISTOGRAM
} rread_kind;

/* One bucket of a histogram: the scores in [min, max], and how many
 * players have one. */
typedef struct rread_bucket {
    int64_t min, max, count;
} rread_bucket;

/* Inclusive score bounds, either open (range reads). */
typedef struct score_bounds {
    int has_min, has_max;
    int64_t min, max;
} score_bounds;

typedef struct rread {
    rread_kind kind;
    rank_mode mode;
    int64_t offset;       /* top */
    int64_t count;        /* top */
    int64_t user_id;      /* around */
    int64_t above, below; /* around */
    const int64_t *uids;  /* ranks */
    size_t nuids;
    score_bounds range; /* range, histogram: the bounds; offset and count a range's page */
    int by_score;       /* percentile: of `score` (else at `pct`) */
    int64_t score;
    double pct;
    int64_t nbuckets; /* histogram: at most this many */
    int64_t mark_uid; /* histogram: the player to mark (0: none) */
    int argc;
    const char **argv; /* fixed, or malloc'ed for ranks */
    const char *fixed[16];
    char nums[4][24];
    char (*heap_nums)[24];
    /* The user directory and the live marker as this layout names them:
     * rk:names and rk:live, or in the split layout a name of the view's
     * slot that is never written (names are filled in after the read,
     * rstore_fill_names) and the board's own rk:{b}:live. */
    char names[RSTORE_KEY_MAX];
    char live[RSTORE_KEY_MAX];
} rread;

typedef struct rread_result {
    rank_row *rows; /* malloc'ed, the caller's; ranks: one per uid, in order */
    size_t n;
    int64_t size;          /* the board's size; for count, the count */
    int64_t in_range;      /* range: players with a score in the range */
    int64_t before;        /* range: players ranked before the range */
    rread_bucket *buckets; /* histogram: malloc'ed, the caller's */
    size_t nbuckets;
    rank_row marked; /* histogram: the player to mark (ranked 0: not on the board) */
} rread_result;

void rread_top(rread *q, const rview *v, int64_t offset, int64_t count, rank_mode mode);
void rread_around(rread *q, const rview *v, int64_t user_id, int64_t above, int64_t below, rank_mode mode);
int rread_ranks(rread *q, const rview *v, const int64_t *uids, size_t nuids, rank_mode mode, rk_status *st);
void rread_count(rread *q, const rview *v);
/* The players with a score in r, `count` of them from `offset` (0: only
 * the counts), in board order, ranked under mode. */
void rread_range(rread *q, const rview *v, const score_bounds *r, int64_t offset, int64_t count, rank_mode mode);
/* A percentile: the score at `pct` (in (0, 100]: the lowest still in the
 * top pct%), or with by_score the place of `score`. The result is one row
 * (score, competition rank), none on an empty board. */
void rread_percentile(rread *q, const rview *v, int by_score, int64_t score, double pct);
/* A histogram of at most n buckets over r's bounds (an open end: the
 * board's lowest or highest score), ranks_buckets' rule; with mark_uid
 * > 0, that player's score and competition rank in out->marked. */
void rread_histogram(rread *q, const rview *v, const score_bounds *r, int64_t n, int64_t mark_uid);
void rread_done(rread *q);
/* Sends q with a blocking round trip (waiting out a rebuild as the
 * rstore_* reads do), reads its reply into *out, and frees q. */
int rstore_read(rstore *r, rread *q, rread_result *out, rk_status *st);
/* Fills the names of rows that have none from rk:names, in one command
 * (nothing when every row has one): the split layout reads no names with
 * the rows (rk:names is in another slot), nor does a hot board's merge. */
int rstore_fill_names(rstore *r, rank_row *rows, size_t n, rk_status *st);
/* The split layout's live marker of board_id (NULL: the global board's),
 * set with rk:live by rstore_set_live for every board the store knows,
 * and for a new board when it is created. */
int rstore_set_board_live(rstore *r, const board *b, rk_status *st);
/* RK_NOT_FOUND for around a player without a score; an error reply is
 * RK_INTERNAL with Redis's words. */
int rread_parse(const rread *q, const struct redisReply *rep, rread_result *out, rk_status *st);
/* 1 when the reply says "not now": the board is being rebuilt, or Redis
 * restarted empty and has no functions yet. */
int rread_retry_later(const struct redisReply *rep);
/* 1 when the reply is an error reply of any kind, so that a caller
 * holding one need not look inside hiredis's reply itself. */
int rread_is_error(const struct redisReply *rep);

/* Removes every key of a board, taking its all-time scores out of the
 * global board first. */
int rstore_drop_board(rstore *r, const board *b, rk_status *st);
/* Where a board keeps when its current season began (rk_submit refuses a
 * submission timed before it), and setting it: since_us 0 deletes it. */
void rstore_season_key(const board *b, char *out, size_t cap);
int rstore_set_season(rstore *r, const board *b, int64_t since_us, rk_status *st);
/* Takes a player's entry off the board's windows `views` (all-time
 * first) and their all-time score out of the global board, in one
 * rk_remove. `others` are the other boards that count toward global: a
 * player on none of them leaves the global board. *found: the player had
 * an entry in one of the views. */
int rstore_remove_entry(rstore *r, const board *b, const rview *views, size_t nviews, const board *others,
                        size_t nothers, int64_t user_id, int *found, rk_status *st);

/* rk:names (user id -> username, read by listings) and rk:uids (username
 * -> user id): the user directory the hot path reads instead of
 * PostgreSQL. Users never change name, so entries never go stale. */
int rstore_set_names(rstore *r, const int64_t *uids, char *const *names, size_t n, rk_status *st);

/* Looks players up in the directory: ids[i] > 0 by id, else names[i] by
 * name. Sets found[i], ids[i] and out_names[i] for those it knows. */
int rstore_resolve_users(rstore *r, int64_t *ids, const char *const *names, size_t n, int *found,
                         char (*out_names)[RSTORE_NAME_MAX], rk_status *st);

/* PUBLISH line on rk:ev, the channel every rankd's events thread reads
 * (line formats: rankd.lua's header). */
int rstore_publish(rstore *r, const char *line, rk_status *st);

/* How login attempts are slowed down (rankd.lua, rk_login_try): after
 * *_free counted attempts on an account, or from a client address, within
 * window_s of each other, each further one waits 2^(k - free) s since the
 * last, at most *_cap_ms. */
typedef struct rstore_throttle {
    int64_t window_s;
    int64_t account_free, account_cap_ms;
    int64_t address_free, address_cap_ms;
} rstore_throttle;

/* Counts a login attempt on username from peer (rpc_call.peer) before its
 * password is checked, in one round trip: *wait_ms 0 means go ahead (the
 * attempt is counted), above 0 that it came too early (not counted) and
 * when the next may come. */
int rstore_login_try(rstore *r, const char *username, const char *peer, const rstore_throttle *t, int64_t *wait_ms,
                     rk_status *st);
/* The attempt had the right password: clears the account's count and
 * takes the attempt back from the address's. */
int rstore_login_ok(rstore *r, const char *username, const char *peer, rk_status *st);

/* Which of n idempotency keys of a board, keys[i] of player uids[i], have
 * an answer recorded: present[i] is 1 or 0. */
int rstore_idem_present(rstore *r, const board *b, const int64_t *uids, const char *const *keys, size_t n, int *present,
                        rk_status *st);

/* Takes key for ttl_s seconds if nobody holds it (SET NX EX): *taken is 1
 * for the one caller, of any rankd process, that set it, 0 for everyone
 * else until it expires. Never released early: a lock per interval (the
 * archive's snapshots) lets one process do the interval's work once. */
int rstore_lock_once(rstore *r, const char *key, int64_t ttl_s, int *taken, rk_status *st);

/* ---- rebuild primitives (rebuild.h): keys built aside, then swapped in */

/* One ranked entry as rk_load takes it. */
typedef struct rstore_load_row {
    int64_t user_id, value, reached_us, last_us;
} rstore_load_row;

/* Loads n rows into a temporary sorted set and member hash, a few hundred
 * per command. desc: higher is better. */
int rstore_load(rstore *r, const char *zkey, const char *mkey, int desc, const rstore_load_row *rows, size_t n,
                rk_status *st);
/* HSET key field value..., n pairs, a few hundred per command. */
int rstore_hset_ints(rstore *r, const char *key, const int64_t *fields, const int64_t *values, size_t n, rk_status *st);
/* The same with text values (record metadata). */
int rstore_hset_texts(rstore *r, const char *key, const int64_t *fields, const char *const *values, size_t n,
                      rk_status *st);
/* Sets one player's record metadata on a board (NULL or "": removes it),
 * as a rebuild computes it: an unban, an approval, a removal. */
int rstore_meta_set(rstore *r, const board *b, int64_t user_id, const char *meta, rk_status *st);
/* Puts one player's entry (row) back into the window v, as a rebuild
 * would write it, with the window's time to live (0: none); announce
 * names the board on rk:ev ("d"), NULL for none. With global (v an
 * all-time view), the player's global total moves by the change. */
int rstore_restore_entry(rstore *r, const rview *v, const rview *global, const char *announce,
                         const rstore_load_row *row, int64_t ttl_s, rk_status *st);
/* Renames npairs temporary keys onto their live ones at once (rk_swap):
 * keys[2i] onto keys[2i+1], with ttl_s[i] (0: none). */
int rstore_swap(rstore *r, const char *const *keys, const int64_t *ttl_s, size_t npairs, rk_status *st);
/* Deletes keys; a member hash (rview.mkey) goes with its buckets. */
int rstore_del(rstore *r, const char *const *keys, size_t n, rk_status *st);
/* *old = 1 when v's sorted set exists and its member hash is not in this
 * release's layout (one hash of every player, before the buckets of
 * rankd.lua): the view must be rebuilt before rankd's functions read it. */
int rstore_view_outdated(rstore *r, const rview *v, int *old, rk_status *st);
int rstore_exists(rstore *r, const char *key, int *yes, rk_status *st);
/* The rebuild flag as a lock: *won when it was free and is now owner's
 * for ttl_s; clearing removes it only if owner still holds it. */
int rstore_flag_take(rstore *r, const char *flag, const char *owner, int64_t ttl_s, int *won, rk_status *st);
int rstore_flag_clear(rstore *r, const char *flag, const char *owner, rk_status *st);
/* The split layout's stand-in for a target's flag in its sources' slots:
 * while target (the global board, an aggregate) is rebuilt, board_id
 * refuses submissions (rk:{b}:hold, a hash target -> owner that expires
 * ttl_s after the last hold), as the target's flag makes rk_submit refuse
 * them in the one-key layout. */
int rstore_hold(rstore *r, const char *board_id, const char *target, const char *owner, int on, int64_t ttl_s,
                rk_status *st);
/* After a rebuild of target from the history, with its sources held and
 * drained: the target has applied everything board_id's stream holds
 * (it is in what the rebuild read), so rk_apply skips it all. */
int rstore_applied_reset(rstore *r, const char *target, const char *board_id, rk_status *st);

/* ---- the events channel rk:ev (events.h), on a handle used for nothing
 * else */

/* Connects if needed and subscribes to the channel. */
int rstore_sub_open(rstore *r, rk_status *st);
/* Waits up to timeout_ms for what the channel sends and hands each of it
 * to fn in order: a published line (subscribed 0; fn may change it in
 * place), or the subscription's confirmation (subscribed 1, line NULL).
 * RK_OK also when nothing came; RK_UNAVAILABLE when the connection is
 * lost (open it again). */
int rstore_sub_poll(rstore *r, int timeout_ms, void (*fn)(void *arg, int subscribed, char *line), void *arg,
                    rk_status *st);

/* Sets st from an error reply (rep->type == REDIS_REPLY_ERROR) and returns
 * its canonical code: Redis's "not now" errors (LOADING while a restarted
 * Redis loads its data, BUSY, MASTERDOWN, TRYAGAIN) are RK_UNAVAILABLE,
 * as when Redis cannot be reached; rankd.lua's UNAVAILABLE, OUT_OF_RANGE
 * and NO_USER are theirs; anything else is RK_INTERNAL. The one place that
 * maps them: every caller that sees an error reply goes through it. */
struct redisReply;
int rstore_reply_error(const struct redisReply *rep, rk_status *st);

#endif
