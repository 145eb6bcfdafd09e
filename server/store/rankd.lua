#!lua name=rankd
--[[
rankd's Redis functions: every change to a board and every ranked read is
one of these, so each submission or query is one round trip and atomic.

Layout of a board (tag {b} keeps one board's keys in one cluster slot):
  rk:{b}:<window>     sorted set; member = <9-byte tie key><user id>
  rk:{b}:<window>:m   hash {lo, hi}: the buckets of the member hash in use
  rk:{b}:<window>:m:<k>  hash (u mod 64) -> tie key of player u in that
                      sorted set, for the 64 players with floor(u / 64) =
                      k; on latest boards also "t<u mod 64>" -> the time
                      (us) of the player's last submission, while it is
                      later than the tie time (a repeat of the same score)
  rk:{b}:pb           hash user id -> best score ever submitted
                      (latest and sum boards; best boards read all-time)
  rk:{b}:idem:<key>   the first answer to an idempotent submission, and its
                      player and score
  rk:{b}:rl:<uid>     sorted set: the times (us) of the player's last
                      submissions, for the board's rate limit (gone a
                      minute after the last)
  rk:{b}:ls           hash user id -> time (us) of the player's previous
                      submission, for the board's max_rate rule
  rk:{b}:meta         hash user id -> record metadata (a JSON object's text,
                      at most 1 KiB) of the submission that gave the
                      player's all-time entry its value: best boards the
                      one that set the best, latest boards the last one
                      (not an older one arriving late), sum boards the last
                      one taken; no field when it carried none. All-time
                      only: windows and the global board keep none
  rk:{b}:agg          the aggregate boards b counts toward, comma-separated
                      (absent: none), as PostgreSQL has them: a submission
                      from a rankd that knows another list is refused
  rk:{b}:season       when the board's current season began (us); a
                      submission timed before it is refused (its rankd's
                      clock is behind), so each counts in one season
  rk:wb               stream of accepted submissions, drained to PostgreSQL
                      (the one-key layout)
  rk:{b}:wb           the same, one per board (the split layout)
  rk:{t}:applied      hash source stream -> the last of its entries applied
                      to target board t (the global board or an aggregate;
                      the split layout)
  rk:{b}:mirror       hash target -> what rk:{t}:applied said of rk:{b}:wb
                      when last read: a copy in the board's slot for the
                      trim (split layout)
  rk:names            hash user id -> username
  rk:live             set by rankd once Redis holds every board; a Redis
                      that restarted empty lacks it, so reads wait and
                      submissions go to PostgreSQL until it is restored
  rk:ev               pub/sub channel: every change, for rankd's live events
                      and every revocation, for rankd's local sets
  rk:{login}:u:<name> login attempts on an account (lower-cased name)
  rk:{login}:a:<addr> login attempts from a client address

Events: after a change rk_submit publishes one line on rk:ev, fields split
by tabs, so every rankd process (not only the one that took the request)
can tell its subscribers:
  "r" board uid old_score new_score old_rank new_rank passed_uids
      the player's all-time score changed (old_* empty/0 when new);
      passed_uids: up to 10 comma-separated ids of players overtaken
  "w" board
      only a daily, weekly or monthly window changed
  "c" board
      an admin changed the board's settings (rankd publishes it)
  "d" board uid
      an admin took the player's entry off the board (every window), or
      put it back (an unban); or a hot board's shard changed (its ranks
      are not the board's: rankd publishes the "r" line itself)
  "a" board
      rk_apply moved the all-time totals of the global board or an
      aggregate (the split layout)
rankd itself (not these functions) publishes the revocations, after
PostgreSQL has them, so each rankd's memory-only credential checks hear of
them (rankd re-reads PostgreSQL whenever it may have missed a line):
  "x" jti expires_at
      a logged-out token, void until expires_at (Unix seconds)
  "g" uid gen
      the user's token generation is now gen: older tokens are void
  "k" key_id
      a revoked API key: drop it from the key cache

Layouts: on one Redis (the one-key layout) rk_submit changes the board,
the global board and the board's aggregates in one call and appends to
rk:wb. On a Redis Cluster (the split layout) every call stays in one slot:
rk_submit changes the board and appends to the board's own stream, whose
entries carry the all-time change ("p" the previous value, "n" the new,
"g" the targets: "global" and the aggregates); rk_apply then applies them
to each target, in the target's slot, exactly once per entry (rk:{t}:applied).

Ties: Redis orders equal scores by member bytes. The 9 tie digits in front
of the user id make that order "who reached the score first": the submit
time in microseconds, inverted for boards that list highest first (ZREVRANGE
walks members in reverse byte order). A member is rewritten only when the
player's value changes, so a repeat keeps the first time; on latest boards
the repeat's time, which decides what "latest" is, goes to the t field.

Numbers: scores are doubles in Redis and in Lua, exact up to 2^53; rankd
rejects anything larger before calling here. A sum of two such numbers may
not be exact, so totals are added with exact_sum, which refuses a total
outside +-2^53 before any double rounds it. Numbers go back to Redis as
string.format('%d') so no digit is lost to Lua's %.14g.
]]

local LIMIT = 9007199254740992 -- 2^53
local MOD_KEYS = 2 -- moderation's keys at the end of rk_submit's
local META_KEYS = 1 -- record metadata's key, after moderation's
local SEASON_KEYS = 1 -- then the board's season key (rk:{b}:season)
local SPLIT = 134217728 -- 2^27
local HALF = 67108864 -- 2^26: LIMIT is HALF * SPLIT

local function fmt(n) return string.format('%d', n) end

-- The sum of its arguments, integers within +-2^53, or nil when the sum
-- leaves +-2^53; decided exactly. Each term is split as h * 2^27 + l with
-- 0 <= l < 2^27 (% and / by a power of two are exact on doubles), and the
-- h and the l are summed apart: with a few terms neither sum comes near
-- 2^53, so no step rounds. With the l carried into h, the total is
-- h * 2^27 + l, 0 <= l < 2^27, and its range is read off h and l; a total
-- within the range is a double exactly, so the last step is exact too.
local function exact_sum(...)
  local h, l = 0, 0
  for _, x in ipairs({...}) do
    local lo = x % SPLIT
    h = h + (x - lo) / SPLIT
    l = l + lo
  end
  local carry = math.floor(l / SPLIT)
  h, l = h + carry, l - carry * SPLIT
  if h > HALF or (h == HALF and l > 0) or h < -HALF then return nil end
  return h * SPLIT + l
end

local function better(desc, a, b)
  if desc then return a > b end
  return a < b
end

-- Tie keys: a number below 2^54 in TIE_LEN digits of base 64, most
-- significant first, from an alphabet in ASCII order, so comparing the
-- bytes (what Redis does with equal scores) compares the numbers. 9
-- printable bytes instead of 14 hex digits: a member of a 9-digit user id
-- stays in jemalloc's 24-byte class.
local DIGITS = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
local TIE_LEN = 9
local DIGIT_OF -- byte -> digit, made by the first call that needs it
                -- (the library's load has no string library)

local function tie_text(v)
  local out = {}
  for i = TIE_LEN, 1, -1 do
    local d = v % 64
    out[i] = string.sub(DIGITS, d + 1, d + 1)
    v = (v - d) / 64
  end
  return table.concat(out)
end

local function tie_key(desc, ts)
  if desc then return tie_text(LIMIT - ts) end
  return tie_text(ts)
end

-- The user id of a sorted-set member.
local function member_uid(member) return string.sub(member, TIE_LEN + 1) end

--[[ Member hashes: finding a player's member by user id. mkey itself is
a small hash {lo, hi}: the lowest and highest bucket in use. Player u is
in the hash mkey:<floor(u / BUCKET)>, field u mod BUCKET -> their tie key
(the member is the tie key and u); on latest boards also "t" .. field ->
the time (us) of their last submission, while later than the tie time. A
bucket has at most 2 * BUCKET fields, within Redis's default
hash-max-listpack-entries (128), so it stays a listpack of about 13 bytes
per player, where one hash of every player would be a hashtable of about
100. Buckets share mkey's hash tag, so its slot. ]]
local BUCKET = 64

local function bucket(mkey, uid)
  local n = tonumber(uid)
  local b = math.floor(n / BUCKET)
  return mkey .. ':' .. fmt(b), fmt(n - b * BUCKET), b
end

-- The player's tie key, or false.
local function tie_of(mkey, uid)
  local k, f = bucket(mkey, uid)
  return redis.call('HGET', k, f)
end

local function member_of(mkey, uid)
  local t = tie_of(mkey, uid)
  if t then return t .. uid end
  return false
end

local function mset(mkey, uid, tie)
  local k, f, b = bucket(mkey, uid)
  if redis.call('HSET', k, f, tie) == 1 then
    local r = redis.call('HMGET', mkey, 'lo', 'hi')
    if not r[1] or b < tonumber(r[1]) then redis.call('HSET', mkey, 'lo', fmt(b)) end
    if not r[2] or b > tonumber(r[2]) then redis.call('HSET', mkey, 'hi', fmt(b)) end
  end
end

-- Forgets the player (and their last time).
local function mdel(mkey, uid)
  local k, f = bucket(mkey, uid)
  redis.call('HDEL', k, f, 't' .. f)
end

local function mtime(mkey, uid)
  local k, f = bucket(mkey, uid)
  return redis.call('HGET', k, 't' .. f)
end

-- ts nil: no last time apart from the tie time.
local function mtime_set(mkey, uid, ts)
  local k, f = bucket(mkey, uid)
  if ts then
    redis.call('HSET', k, 't' .. f, ts)
  else
    redis.call('HDEL', k, 't' .. f)
  end
end

-- The player's bucket and mkey expire in ttl s (all of a window's buckets
-- get the same instant: its end plus the retention).
local function mexpire(mkey, uid, ttl)
  local k = bucket(mkey, uid)
  redis.call('EXPIRE', k, ttl)
  redis.call('EXPIRE', mkey, ttl)
end

-- The buckets in use: lo, hi (nil when none). mkey is a member hash only
-- if it has hi: no other hash of rankd's has that field.
local function mrange(mkey)
  if redis.call('TYPE', mkey).ok ~= 'hash' then return nil end
  local r = redis.call('HMGET', mkey, 'lo', 'hi')
  if not r[2] then return nil end
  return tonumber(r[1]), tonumber(r[2])
end

-- Deletes a member hash: its buckets and mkey.
local function mdrop(mkey)
  local lo, hi = mrange(mkey)
  if lo then
    for b = lo, hi do redis.call('UNLINK', mkey .. ':' .. fmt(b)) end
  end
  redis.call('UNLINK', mkey)
end

-- The player's score in a sorted set, and their member there.
local function current(zkey, mkey, uid)
  local m = member_of(mkey, uid)
  if not m then return nil end
  local s = redis.call('ZSCORE', zkey, m)
  if not s then return nil end
  return tonumber(s), m
end

-- The submit time (us) a member's tie key was made from.
local function member_ts(desc, member)
  if not DIGIT_OF then
    DIGIT_OF = {}
    for i = 1, 64 do DIGIT_OF[string.byte(DIGITS, i)] = i - 1 end
  end
  local t = 0
  for i = 1, TIE_LEN do t = t * 64 + DIGIT_OF[string.byte(member, i)] end
  if desc then return LIMIT - t end
  return t
end

-- The time (us) of the player's last submission that counted on a latest
-- board: the t field after a repeat, else the tie time.
local function last_ts(mkey, uid, desc, member)
  local t = mtime(mkey, uid)
  if t then return tonumber(t) end
  return member_ts(desc, member)
end

local function place(zkey, mkey, uid, score, desc, ts)
  local old = member_of(mkey, uid)
  if old then redis.call('ZREM', zkey, old) end
  local tie = tie_key(desc, ts)
  redis.call('ZADD', zkey, fmt(score), tie .. uid)
  mset(mkey, uid, tie)
end

-- Players strictly better than score.
local function count_better(zkey, desc, score)
  if desc then return redis.call('ZCOUNT', zkey, '(' .. fmt(score), '+inf') end
  return redis.call('ZCOUNT', zkey, '-inf', '(' .. fmt(score))
end

-- Distinct scores strictly better than score: O(D log N) for D of them.
local function distinct_better(zkey, desc, score)
  local n, bound = 0, score
  while true do
    local r
    if desc then
      r = redis.call('ZRANGEBYSCORE', zkey, '(' .. fmt(bound), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    else
      r = redis.call('ZREVRANGEBYSCORE', zkey, '(' .. fmt(bound), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
    end
    if #r == 0 then return n end
    n = n + 1
    bound = tonumber(r[2])
  end
end

-- Where the player stood on the all-time set before a submission, as
-- {score text, competition rank}: {'', 0} when they had no score there.
-- old_rank is the rank already counted for the event (0 when it was not,
-- because the value does not change: then the rank is the same after).
local function previous_place(zkey, desc, old, old_rank)
  if old == nil then return '', 0 end
  if old_rank > 0 then return fmt(old), old_rank end
  return fmt(old), count_better(zkey, desc, old) + 1
end

local function new_score(policy, cur, score, desc)
  if policy == 'best' then
    if cur == nil or better(desc, score, cur) then return score end
    return cur
  elseif policy == 'latest' then
    return score
  end
  return exact_sum(cur or 0, score) -- nil: the total would leave +-2^53
end

-- Players overtaken: now strictly behind the new score and at or ahead of
-- the old one (equal to the old score counts as overtaken), nearest first,
-- at most 10. A first score overtakes everyone behind it.
local function publish_rank(zkey, board, uid, old, new, old_rank, new_rank, desc)
  local passed = {}
  if old == nil or better(desc, new, old) then
    local r
    local lo = old == nil and (desc and '-inf' or '+inf') or fmt(old)
    if desc then
      r = redis.call('ZREVRANGEBYSCORE', zkey, '(' .. fmt(new), lo, 'LIMIT', 0, 11)
    else
      r = redis.call('ZRANGEBYSCORE', zkey, '(' .. fmt(new), lo, 'LIMIT', 0, 11)
    end
    for i = 1, #r do
      local p = member_uid(r[i])
      if p ~= uid and #passed < 10 then passed[#passed + 1] = p end
    end
  end
  redis.call('PUBLISH', 'rk:ev', table.concat({'r', board, uid, old and fmt(old) or '', fmt(new),
    old_rank, new_rank, table.concat(passed, ',')}, '\t'))
end

-- Moderation's part of rk_submit: the board's submission limit. At most
-- `limit` submissions per player in any 60 s, by the submission times
-- kept in the player's set; nil when this one may go, else the seconds
-- until the oldest of them leaves the minute. Inside the function, so the
-- check and the count cannot be split by another submission.
local MINUTE_US = 60000000
local function limit_wait(key, limit, ts)
  if limit <= 0 then return nil end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(ts - MINUTE_US))
  if redis.call('ZCARD', key) < limit then return nil end
  local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
  return math.max(1, math.ceil((oldest + MINUTE_US - ts) / 1000000))
end

-- Counts a submission that was taken against the limit.
local function limit_count(key, limit, ts)
  if limit <= 0 then return end
  redis.call('ZADD', key, fmt(ts), fmt(ts) .. ':' .. redis.call('ZCARD', key))
  redis.call('PEXPIRE', key, MINUTE_US / 1000 + 1000)
end

-- Moderation's plausibility rule: the gain this submission would make on
-- the player's all-time value, in the board's direction (a first score on
-- a higher-is-better board gains on 0; a first time on a lower-is-better
-- board is not judged). Returns the rule it breaks ('max_step': more than
-- that in one submission; 'max_rate': more than that per second since the
-- player's previous submission that counted), or nil.
local function implausible(desc, old, new, ts, max_step, max_rate, lskey, uid)
  if max_step <= 0 and max_rate <= 0 then return nil end
  local gain
  if desc then
    gain = new - (old or 0)
  elseif old ~= nil then
    gain = old - new
  else
    return nil
  end
  if gain <= 0 then return nil end
  if max_step > 0 and gain > max_step then return 'max_step' end
  if max_rate > 0 then
    local prev = redis.call('HGET', lskey, uid)
    if prev and gain > max_rate * ((ts - tonumber(prev)) / 1000000) then return 'max_rate' end
  end
  return nil
end

-- Record metadata (rk:{b}:meta, see the top). Whether this submission
-- becomes the all-time entry's record: on best boards when it changes the
-- value (a new best; an equal one keeps the first, as the tie time does),
-- on latest boards unless it is older than the last one, on sum boards
-- always. p is the all-time window's plan.
local function meta_is_record(policy, p)
  if policy == 'best' then return p[4] ~= p[3] end
  return not p[5]
end

local function meta_keep(key, uid, meta)
  if meta == '' then
    redis.call('HDEL', key, uid)
  else
    redis.call('HSET', key, uid, meta)
  end
end

-- A stream entry's fields, with the metadata's ('x') when there is any.
local function with_meta(fields, meta)
  if meta ~= '' then
    fields[#fields + 1] = 'x'
    fields[#fields + 1] = meta
  end
  return unpack(fields)
end

-- The board a key's hash tag names: a hot board's shards are "<id>~<k>".
local function board_name(tag) return string.match(tag, '^[^~]+') end

-- A submission's id as rankd gives it out: the stream entry's, qualified
-- by the board in the split layout, where every board has its own stream
-- (so two boards' entries may have the same stream id).
local function entry_id(split, board, id)
  if split then return board .. '/' .. id end
  return id
end

-- A held submission: recorded (its stream entry carries the rule, so the
-- history keeps it as held) and acknowledged, but no board changes until
-- an admin approves it. The reply is the player's standing as it was,
-- with held set.
local function hold(keys, args, uid, ts, rule, old_all, desc, has_idem, idem_ttl, meta, split)
  local id = ''
  if args[12] ~= '1' then
    id = entry_id(split, args[8], redis.call('XADD', keys[1], '*', with_meta({'b', board_name(args[8]), 'u', uid, 's',
                  fmt(tonumber(args[2])), 't', fmt(ts), 'k', args[10], 'h', rule}, meta)))
  end
  local rank = 0
  if old_all ~= nil then rank = count_better(keys[10], desc, old_all) + 1 end
  local size = redis.call('ZCARD', keys[10])
  local cur = old_all and fmt(old_all) or '0'
  -- Nothing moved: the previous place is the place.
  local prev_score = old_all and cur or ''
  if has_idem then
    redis.call('SET', keys[2], cjson.encode({cur, rank, 0, size, id, prev_score, rank, 1, uid, args[2]}), 'EX',
               idem_ttl)
  end
  return {cur, rank, 0, size, 0, id, prev_score, rank, 1}
end

-- The boards an all-time change goes on to in the split layout: "global"
-- when the board counts toward it, then its aggregates (comma-separated).
local function split_targets(in_global, aggs)
  if in_global and aggs ~= '' then return 'global,' .. aggs end
  if in_global then return 'global' end
  return aggs
end

--[[
rk_submit
KEYS: 1 rk:wb, 2 idempotency key (or a placeholder), 3 global zset,
      4 global member hash, 5 personal-best hash, 6 the board's rebuild
      flag, 7 the global board's rebuild flag, 8 rk:names (the player must
      be in it), 9 rk:live, 10.. (zset, member hash) for each window,
      all-time first, then the MOD_KEYS moderation keys: the player's
      rate-limit set, the board's previous-submission hash; then the
      META_KEYS record metadata key: the board's rk:{b}:meta; then the
      board's season key, its rk:{b}:agg and for each aggregate board the
      board counts toward: its all-time zset, member hash and rebuild flag.
ARGV: 1 user id, 2 score, 3 time (us), 4 policy, 5 desc (1/0),
      6 has idempotency key (1/0), 7 idempotency ttl (s), 8 the board's tag (its id, or "<id>~<shard>" on a hot board),
      9 counts toward global (1/0), 10 idempotency key text,
      11 window retention (s), 12 "1" when the submission is in
      PostgreSQL's history already (a replay of what was accepted while
      Redis was away): no stream entry then, 13.. the end (Unix s) of each
      window after all-time, in KEYS order: a window's set expires
      retention seconds after its end; then the moderation arguments:
      rate limit (submissions per player per minute, 0: none), max_step,
      max_rate (0: none); then the record metadata ('' for none); then
      the layout ('1': one key space, 's': split, see "Layouts"); then
      the aggregates the caller knows of, as rk:{b}:agg holds them, and
      last the number of aggregates in KEYS. A caller whose list
      is not rk:{b}:agg's read the board before an aggregate of it was
      created or deleted: refused, so it reads the board again.
Split layout: KEYS 1 is the board's stream, 3 its rk:{b}:mirror (each target
gets a field there with its first entry, so the trim waits for it), 7 its
rk:{b}:hold (set while a target is rebuilt: refused then, as the target's
flag refuses in the one-key layout); 4 and 8 are unused names in the
board's slot (the caller has checked the player); no
aggregate's keys are given (their number is 0); the global board and the
aggregates learn of the change from the entry (rk_apply), and a replay
(ARGV 12) writes an entry too, marked "r" (the history has it), when it
changes what they hold.
Returns {score, rank, personal_best, board_size, replayed, entry id,
previous score ('' when none), previous rank (0 when none), held}.
]]
local function submit(keys, args)
  local uid, score, ts = args[1], tonumber(args[2]), tonumber(args[3])
  local policy, desc = args[4], args[5] == '1'
  local has_idem, idem_ttl = args[6] == '1', tonumber(args[7])
  local in_global, retention = args[9] == '1', tonumber(args[11])
  local now_s = math.floor(ts / 1000000)
  local split = args[#args - 2] == 's'

  if redis.call('EXISTS', keys[6], keys[7]) > 0 then
    return redis.error_reply('UNAVAILABLE the board is being rebuilt from PostgreSQL; retry shortly')
  end
  local nagg = tonumber(args[#args])
  local agg = #keys - 3 * nagg + 1 -- the first aggregate's zset
  if (redis.call('GET', keys[agg - 1]) or '') ~= args[#args - 1] then
    return redis.error_reply('UNAVAILABLE the board\'s aggregates changed (STALE_BOARD); retry')
  end
  for i = 0, nagg - 1 do
    if redis.call('EXISTS', keys[agg + 3 * i + 2]) > 0 then
      return redis.error_reply('UNAVAILABLE an aggregate of the board is being rebuilt from PostgreSQL; retry shortly')
    end
  end
  if redis.call('EXISTS', keys[9]) == 0 then
    return redis.error_reply('UNAVAILABLE Redis has lost its data; the live view is being restored')
  end
  if not split and redis.call('HEXISTS', keys[8], uid) == 0 then
    return redis.error_reply('NO_USER no such user')
  end
  -- Seasons: the history puts a submission in the season its time falls
  -- in, so one timed before the current season began (a rankd whose clock
  -- is behind the one that ended the season) would count live in this
  -- season and durably in the last. A replay is in the history already.
  local since = redis.call('GET', keys[agg - 2])
  if since and args[12] ~= '1' and ts < tonumber(since) then
    return redis.error_reply('UNAVAILABLE board ' .. board_name(args[8]) ..
      "'s season began after this submission's time (clocks out of step); retry shortly")
  end
  if has_idem then
    local rec = redis.call('GET', keys[2])
    if rec then
      local r = cjson.decode(rec)
      -- A key names one submission: another player or score under it is
      -- the caller's mistake, and the first answer would drop it unseen.
      -- A replay from the history is what was accepted, whatever the
      -- record says. Records written before they kept the player and the
      -- score are believed.
      if r[9] and args[12] ~= '1' and (r[9] ~= uid or r[10] ~= args[2]) then
        return redis.error_reply('INVALID_ARGUMENT this idempotency key was used for another submission on the ' ..
          'board (player ' .. r[9] .. ', score ' .. r[10] .. '); use a new key for each submission')
      end
      -- A record written before previous places (and holds) were kept
      -- has neither.
      return {r[1], r[2], r[3], r[4], 1, r[5], r[6] or '', r[7] or 0, r[8] or 0}
    end
  end

  -- Phase 1: compute every new value; refuse before writing anything.
  local plan = {}
  local nwin = (#keys - 10 - MOD_KEYS - META_KEYS - SEASON_KEYS - 3 * nagg) / 2
  local mod = {key = 10 + 2 * nwin, arg = 12 + nwin}
  local meta_key, meta = keys[mod.key + MOD_KEYS], args[mod.arg + 3]
  for i = 0, nwin - 1 do
    local z, m = keys[10 + 2 * i], keys[11 + 2 * i]
    local cur, member = current(z, m, uid)
    local new, stale = nil, false
    if policy == 'latest' and member and last_ts(m, uid, desc, member) > ts then
      -- "Latest" is by submit time, as in the history: a submission that
      -- arrives after a newer one (replayed after an outage, or from a
      -- rankd whose clock is behind) is recorded but changes nothing.
      new, stale = cur, true
    else
      new = new_score(policy, cur, score, desc)
    end
    if new == nil then
      return redis.error_reply('OUT_OF_RANGE the total would leave the exact range of +-2^53')
    end
    plan[i] = {z, m, cur, new, stale}
  end
  local old_all, new_all = plan[0][3], plan[0][4]
  local old_rank = 0
  if old_all ~= nil and new_all ~= old_all then old_rank = count_better(keys[10], desc, old_all) + 1 end
  local prev_score, prev_rank = previous_place(keys[10], desc, old_all, old_rank)
  local gcur, gnew
  if in_global and not split and new_all ~= old_all then
    gcur = current(keys[3], keys[4], uid)
    -- A first score of 0 leaves the total, and so the player's place, as
    -- it was; only a player new to the global board is placed by it.
    if gcur == nil or new_all ~= (old_all or 0) then
      gnew = exact_sum(gcur or 0, new_all, -(old_all or 0))
      if gnew == nil then
        return redis.error_reply('OUT_OF_RANGE the global total would leave the exact range of +-2^53')
      end
    end
  end

  -- Each aggregate moves by the change, as the global board does.
  local aplan = {}
  if new_all ~= old_all then
    for i = 0, nagg - 1 do
      local az, am = keys[agg + 3 * i], keys[agg + 3 * i + 1]
      local acur = current(az, am, uid)
      if acur == nil or new_all ~= (old_all or 0) then
        local anew = exact_sum(acur or 0, new_all, -(old_all or 0))
        if anew == nil then
          return redis.error_reply('OUT_OF_RANGE an aggregate total would leave the exact range of +-2^53')
        end
        aplan[#aplan + 1] = {az, am, anew}
      end
    end
  end

  local rlimit = tonumber(args[mod.arg])
  local wait = limit_wait(keys[mod.key], rlimit, ts)
  if wait then
    return redis.error_reply('RATE_LIMITED at most ' .. rlimit .. ' submissions a minute per player on board ' ..
      board_name(args[8]) .. '; retry in ' .. wait .. ' s')
  end
  limit_count(keys[mod.key], rlimit, ts)
  local max_rate = tonumber(args[mod.arg + 2])
  local rule = implausible(desc, old_all, new_all, ts, tonumber(args[mod.arg + 1]), max_rate, keys[mod.key + 1], uid)
  if rule then return hold(keys, args, uid, ts, rule, old_all, desc, has_idem, idem_ttl, meta, split) end
  if max_rate > 0 then redis.call('HSET', keys[mod.key + 1], uid, fmt(ts)) end

  -- Phase 2: write.
  for i = 0, nwin - 1 do
    local p = plan[i]
    -- Only a change moves the tie time: a repeat of the same score keeps
    -- the time the player first reached it (on latest boards the repeat's
    -- time is kept apart, for the next submission's "is it older?").
    if p[4] ~= p[3] then
      place(p[1], p[2], uid, p[4], desc, ts)
      if policy == 'latest' then mtime_set(p[2], uid, nil) end
      local ttl = i > 0 and tonumber(args[12 + i]) + retention - now_s or 0
      if ttl > 0 then
        redis.call('EXPIRE', p[1], ttl)
        mexpire(p[2], uid, ttl)
      end
    elseif policy == 'latest' and not p[5] then
      mtime_set(p[2], uid, fmt(ts))
    end
  end
  if gnew ~= nil then place(keys[3], keys[4], uid, gnew, true, ts) end
  if meta_is_record(policy, plan[0]) then meta_keep(meta_key, uid, meta) end
  for _, a in ipairs(aplan) do place(a[1], a[2], uid, a[3], true, ts) end

  local pb
  if policy == 'best' then
    pb = old_all == nil or better(desc, score, old_all)
  else
    local prev = redis.call('HGET', keys[5], uid)
    pb = not prev or better(desc, score, tonumber(prev))
    if pb then redis.call('HSET', keys[5], uid, fmt(score)) end
  end

  local id = ''
  local fields = {'b', board_name(args[8]), 'u', uid, 's', fmt(score), 't', fmt(ts), 'k', args[10]}
  local targets = split and new_all ~= old_all and split_targets(in_global, args[#args - 1]) or ''
  if targets ~= '' then
    for _, f in ipairs({'p', old_all and fmt(old_all) or '', 'n', fmt(new_all), 'g', targets}) do
      fields[#fields + 1] = f
    end
    for t in string.gmatch(targets, '[^,]+') do redis.call('HSETNX', keys[3], t, '0-0') end
  end
  if args[12] ~= '1' then
    id = entry_id(split, args[8], redis.call('XADD', keys[1], '*', with_meta(fields, meta)))
  elseif targets ~= '' then
    fields[#fields + 1] = 'r'
    fields[#fields + 1] = '1'
    redis.call('XADD', keys[1], '*', unpack(fields))
  end
  local rank = count_better(keys[10], desc, new_all) + 1
  local size = redis.call('ZCARD', keys[10])
  if new_all ~= old_all then
    if board_name(args[8]) ~= args[8] then
      -- A shard's ranks are not the board's: watchers are told the entry
      -- moved, and read the board's top again.
      redis.call('PUBLISH', 'rk:ev', table.concat({'d', board_name(args[8]), uid}, '\t'))
    else
      publish_rank(keys[10], args[8], uid, old_all, new_all, old_rank, rank, desc)
    end
  else
    for i = 1, nwin - 1 do
      if plan[i][4] ~= plan[i][3] then
        redis.call('PUBLISH', 'rk:ev', 'w\t' .. board_name(args[8]))
        break
      end
    end
  end
  local out = {fmt(new_all), rank, pb and 1 or 0, size, 0, id, prev_score, prev_rank, 0}
  if has_idem then
    redis.call('SET', keys[2], cjson.encode({out[1], rank, out[3], size, id, prev_score, prev_rank, 0, uid, args[2]}),
               'EX', idem_ttl)
  end
  return out
end

-- A listing of count entries from 0-based position offset, with what the
-- caller needs to rank it: {size, first competition rank, first dense rank,
-- uid, score, name, meta, uid, score, name, meta, ...}; meta is '' without
-- xkey (the board's rk:{b}:meta, given for all-time reads only) and for
-- players without any.
local function listing(zkey, names, desc, offset, count, dense, xkey)
  local size = redis.call('ZCARD', zkey)
  local r
  if desc then
    r = redis.call('ZREVRANGE', zkey, offset, offset + count - 1, 'WITHSCORES')
  else
    r = redis.call('ZRANGE', zkey, offset, offset + count - 1, 'WITHSCORES')
  end
  local out = {size, 0, 0}
  if #r == 0 then return out end
  local first = tonumber(r[2])
  out[2] = count_better(zkey, desc, first) + 1
  if dense then out[3] = distinct_better(zkey, desc, first) + 1 end
  local uids = {}
  for i = 1, #r, 2 do uids[#uids + 1] = member_uid(r[i]) end
  local nm = redis.call('HMGET', names, unpack(uids))
  local mt = xkey and redis.call('HMGET', xkey, unpack(uids)) or {}
  for i = 1, #uids do
    out[#out + 1] = uids[i]
    out[#out + 1] = r[2 * i]
    out[#out + 1] = nm[i] or ''
    out[#out + 1] = mt[i] or ''
  end
  return out
end

-- A read waits while its board is rebuilt, and while an emptied Redis
-- (restarted without its data) has not been given its boards back: rk:live
-- is set once it has.
local function check_rebuild(flag, live)
  if redis.call('EXISTS', flag) == 1 then
    return redis.error_reply('REBUILDING the board is being rebuilt from PostgreSQL')
  end
  if redis.call('EXISTS', live) == 0 then
    return redis.error_reply('REBUILDING Redis has lost its data; the live view is being restored')
  end
end

--[[ rk_top  KEYS: zset, names, rebuild flag, rk:live[, meta hash]
ARGV: desc, offset, count, dense ]]
local function top(keys, args)
  local busy = check_rebuild(keys[3], keys[4])
  if busy then return busy end
  return listing(keys[1], keys[2], args[1] == '1', tonumber(args[2]), tonumber(args[3]),
                 args[4] == '1', keys[5])
end

-- The page around 0-based position pos of a set of size members: above
-- before and below after, a page cut short at one end taking the missing
-- members from the other side, so it stays full where the set allows (the
-- same rule as ranks_around_page in ranks.c). Returns offset, count.
local function around_page(pos, size, above, below)
  local want = math.min(above + below + 1, size)
  local offset = pos - above
  if offset + want > size then offset = size - want end
  if offset < 0 then offset = 0 end
  return offset, want
end

--[[ rk_around  KEYS: zset, member hash, names, rebuild flag, rk:live[, meta hash]
ARGV: desc, uid, above, below, dense
Returns a listing around uid, kept full at the ends of the set (around_page),
or {size, -1} when uid is not ranked. ]]
local function around(keys, args)
  local busy = check_rebuild(keys[4], keys[5])
  if busy then return busy end
  local desc = args[1] == '1'
  local m = member_of(keys[2], args[2])
  local pos = m and (desc and redis.call('ZREVRANK', keys[1], m) or redis.call('ZRANK', keys[1], m))
  if not pos then return {redis.call('ZCARD', keys[1]), -1} end
  local offset, n = around_page(pos, redis.call('ZCARD', keys[1]), tonumber(args[3]), tonumber(args[4]))
  local out = listing(keys[1], keys[3], desc, offset, n, args[5] == '1', keys[6])
  table.insert(out, 2, offset)
  return out
end

--[[ rk_ranks  KEYS: zset, member hash, names, rebuild flag, rk:live[, meta hash]
ARGV: desc, dense, uid...
Returns {size, then per uid: uid, score, competition, dense, unique, name,
meta ('' for none)} with score false for players not on the board. ]]
local function ranks(keys, args)
  local busy = check_rebuild(keys[4], keys[5])
  if busy then return busy end
  local desc, dense = args[1] == '1', args[2] == '1'
  local out = {redis.call('ZCARD', keys[1])}
  for i = 3, #args do
    local uid = args[i]
    local m = member_of(keys[2], uid)
    local s = m and redis.call('ZSCORE', keys[1], m)
    if s then
      local n = tonumber(s)
      local pos = desc and redis.call('ZREVRANK', keys[1], m) or redis.call('ZRANK', keys[1], m)
      out[#out + 1] = uid
      out[#out + 1] = s
      out[#out + 1] = count_better(keys[1], desc, n) + 1
      out[#out + 1] = dense and distinct_better(keys[1], desc, n) + 1 or 0
      out[#out + 1] = pos + 1
      out[#out + 1] = redis.call('HGET', keys[3], uid) or ''
      out[#out + 1] = keys[6] and redis.call('HGET', keys[6], uid) or ''
    else
      out[#out + 1] = uid
      out[#out + 1] = false
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = ''
      out[#out + 1] = ''
    end
  end
  return out
end

--[[ rk_range  KEYS: zset, names, rebuild flag, rk:live[, meta hash]
ARGV: desc, min, max (inclusive score bounds, '-inf' / '+inf' when open),
offset, count, dense
The players with a score in [min, max], in board order: {size, players in
the range, players before the range, then a listing of count of them from
offset: first competition rank, first dense rank, uid, score, name, meta...}.
The range is one run of the board's order, so its page is the board's
page from (players before it) + offset; count 0 only counts. ]]
local function range(keys, args)
  local busy = check_rebuild(keys[3], keys[4])
  if busy then return busy end
  local desc, lo, hi = args[1] == '1', args[2], args[3]
  local inside = redis.call('ZCOUNT', keys[1], lo, hi)
  local before = 0
  if desc and hi ~= '+inf' then before = redis.call('ZCOUNT', keys[1], '(' .. hi, '+inf') end
  if not desc and lo ~= '-inf' then before = redis.call('ZCOUNT', keys[1], '-inf', '(' .. lo) end
  local offset, count = tonumber(args[4]), tonumber(args[5])
  if offset + count > inside then count = inside - offset end
  local out = {redis.call('ZCARD', keys[1]), 0, 0}
  if count > 0 then out = listing(keys[1], keys[2], desc, before + offset, count, args[6] == '1', keys[5]) end
  table.insert(out, 2, inside)
  table.insert(out, 3, before)
  return out
end

--[[ rk_percentile  KEYS: zset, rebuild flag, rk:live
ARGV: desc, then 'p' and a percentile in (0, 100], or 's' and a score
Returns {size, score, its competition rank}: for 'p' the score of the
player at place max(1, floor(p * size / 100)), the lowest still in the
top p%; for 's' the score itself (the rank a player with it has, or would
have). {0} on an empty set. ]]
local function percentile(keys, args)
  local busy = check_rebuild(keys[2], keys[3])
  if busy then return busy end
  local desc = args[1] == '1'
  local size = redis.call('ZCARD', keys[1])
  if size == 0 then return {0} end
  local score = tonumber(args[3])
  if args[2] == 'p' then
    local k = math.max(1, math.floor(score * size / 100))
    local r
    if desc then
      r = redis.call('ZREVRANGE', keys[1], k - 1, k - 1, 'WITHSCORES')
    else
      r = redis.call('ZRANGE', keys[1], k - 1, k - 1, 'WITHSCORES')
    end
    score = tonumber(r[2])
  end
  return {size, fmt(score), count_better(keys[1], desc, score) + 1}
end

-- The buckets of a histogram of [lo, hi] in at most n of equal width, as
-- ranks_buckets in ranks.c: width, count.
local function buckets(lo, hi, n)
  local span = hi - lo + 1
  local w = math.ceil(span / n)
  return w, math.ceil(span / w)
end

--[[ rk_histogram  KEYS: zset, rebuild flag, rk:live, member hash
ARGV: lo, hi (inclusive; '' for the set's lowest and highest score), n,
a player to mark ('' for none), desc
Returns {size, the player's score and competition rank ('' and 0 when
not on the set), then per bucket, lowest first: min, max, count}; no
bucket when the set is empty and a bound was left to it. ]]
local function histogram(keys, args)
  local busy = check_rebuild(keys[2], keys[3])
  if busy then return busy end
  local z = keys[1]
  local size = redis.call('ZCARD', z)
  local mine, my_rank = '', 0
  if args[4] ~= '' then
    local s = current(z, keys[4], args[4])
    if s ~= nil then mine, my_rank = fmt(s), count_better(z, args[5] == '1', s) + 1 end
  end
  local lo, hi = tonumber(args[1]), tonumber(args[2])
  if (lo == nil or hi == nil) and size == 0 then return {0, mine, my_rank} end
  if lo == nil then lo = tonumber(redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')[2]) end
  if hi == nil then hi = tonumber(redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')[2]) end
  local out = {size, mine, my_rank}
  if lo > hi then return out end -- a bound given beyond every score
  local w, n = buckets(lo, hi, tonumber(args[3]))
  for i = 0, n - 1 do
    local a = lo + i * w
    local b = math.min(a + w - 1, hi)
    out[#out + 1] = fmt(a)
    out[#out + 1] = fmt(b)
    out[#out + 1] = redis.call('ZCOUNT', z, fmt(a), fmt(b))
  end
  return out
end

--[[ rk_unflag  KEYS: a rebuild flag  ARGV: its owner
Ends a rebuild: clears the flag only if this rebuild still holds it. ]]
local function unflag(keys, args)
  if redis.call('GET', keys[1]) == args[1] then return redis.call('DEL', keys[1]) end
  return 0
end

--[[ rk_count  KEYS: zset, rebuild flag, rk:live  Returns the set's size. ]]
local function count(keys, args)
  local busy = check_rebuild(keys[2], keys[3])
  if busy then return busy end
  return redis.call('ZCARD', keys[1])
end

--[[ rk_drop_board  KEYS: all-time zset, its member hash, global zset,
global member hash  ARGV: counts toward global (1/0), time (us)
Takes a deleted board's all-time scores back out of the global board. The
caller deletes the board's keys afterwards. ]]
local function drop_board(keys, args)
  if args[1] ~= '1' then return 0 end
  local ts = tonumber(args[2])
  local n = 0
  local lo, hi = mrange(keys[2])
  for b = lo or 1, hi or 0 do
    local all = redis.call('HGETALL', keys[2] .. ':' .. fmt(b))
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 1) ~= 't' then -- not a latest board's last time
        local uid = fmt(b * BUCKET + tonumber(all[i]))
        local s = tonumber(redis.call('ZSCORE', keys[1], all[i + 1] .. uid) or '0')
        local g = current(keys[3], keys[4], uid)
        if g ~= nil and s ~= 0 then place(keys[3], keys[4], uid, g - s, true, ts) end
        n = n + 1
      end
    end
  end
  return n
end

--[[ rk_remove
KEYS: 1 global zset, 2 global member hash, 3 personal-best hash, 4 rk:live,
      5.. (zset, member hash) for each window, all-time first, then the
      all-time member hash of every other board that counts toward global.
ARGV: 1 user id, 2 windows (pairs in KEYS), 3 counts toward global (1/0),
      4 board id
Takes the player's entry off every window of the board at once, and their
all-time score out of their global total. The global entry keeps its tie
time (the player's other boards did not change); a player left on no
board that counts toward global leaves the global board, as a rebuild
would have it. Returns {found (1/0), the all-time score taken or ''}. ]]
local function remove_entry(keys, args)
  local uid, nwin, in_global = args[1], tonumber(args[2]), args[3] == '1'
  if redis.call('EXISTS', keys[4]) == 0 then
    return redis.error_reply('UNAVAILABLE Redis has lost its data; the live view is being restored')
  end
  local old_all = current(keys[5], keys[6], uid)
  local found = false
  for i = 0, nwin - 1 do
    local z, m = keys[5 + 2 * i], keys[6 + 2 * i]
    local member = member_of(m, uid)
    if member then
      redis.call('ZREM', z, member)
      mdel(m, uid)
      found = true
    end
  end
  redis.call('HDEL', keys[3], uid)
  if in_global and old_all ~= nil then
    local g, gm = current(keys[1], keys[2], uid)
    if g ~= nil then
      local elsewhere = false
      for i = 5 + 2 * nwin, #keys do
        if tie_of(keys[i], uid) then
          elsewhere = true
          break
        end
      end
      if not elsewhere then
        redis.call('ZREM', keys[1], gm)
        mdel(keys[2], uid)
      elseif old_all ~= 0 then
        redis.call('ZADD', keys[1], fmt(exact_sum(g, -old_all) or g), gm)
      end
    end
  end
  if found then redis.call('PUBLISH', 'rk:ev', table.concat({'d', args[4], uid}, '\t')) end
  return {found and 1 or 0, old_all and fmt(old_all) or ''}
end

--[[ rk_restore  KEYS: zset, member hash[, global zset, global member hash]
ARGV: desc, uid, value, tie time us, last submission us, ttl s (0: none),
      board id to announce ('' for none)
Puts one player's entry back as a rebuild computes it from the history
(an unban, an approval): the value, the tie time it was reached, and on
latest boards the last submission when later. With the global keys (an
all-time entry), the global total moves by the change, as rk_submit
moves it. ]]
local function restore_entry(keys, args)
  local uid = args[2]
  local old = current(keys[1], keys[2], uid)
  local new = tonumber(args[3])
  if keys[4] then
    local g = current(keys[3], keys[4], uid)
    if g == nil or new ~= (old or 0) then
      local total = exact_sum(g or 0, new, -(old or 0))
      if total == nil then
        return redis.error_reply('OUT_OF_RANGE the global total would leave the exact range of +-2^53')
      end
      place(keys[3], keys[4], uid, total, true, tonumber(args[4]))
    end
  end
  place(keys[1], keys[2], uid, new, args[1] == '1', tonumber(args[4]))
  mtime_set(keys[2], uid, args[5] ~= args[4] and args[5] or nil)
  local ttl = tonumber(args[6])
  if ttl > 0 then
    redis.call('EXPIRE', keys[1], ttl)
    mexpire(keys[2], uid, ttl)
  end
  if args[7] ~= '' then redis.call('PUBLISH', 'rk:ev', table.concat({'d', args[7], uid}, '\t')) end
  return 1
end

--[[ rk_load  KEYS: zset, member hash
ARGV: desc, then (uid, score, tie time us, last submission us)...
Writes rebuilt entries (into the temporary keys of a rebuild); a last
submission later than the tie time is a latest board's repeat. ]]
local function load(keys, args)
  local desc = args[1] == '1'
  for i = 2, #args, 4 do
    local tie = tie_key(desc, tonumber(args[i + 2]))
    redis.call('ZADD', keys[1], args[i + 1], tie .. args[i])
    mset(keys[2], args[i], tie)
    if args[i + 3] ~= args[i + 2] then mtime_set(keys[2], args[i], args[i + 3]) end
  end
  return (#args - 1) / 4
end

--[[ rk_swap  KEYS: (temporary, live)...  ARGV: ttl seconds per pair (0: none)
Puts every rebuilt key in place at once: queries see the old state or the
new one, never a half-built board. A missing temporary key clears its live
key. ]]
local function swap(keys, args)
  for i = 1, #keys, 2 do
    local tmp, live = keys[i], keys[i + 1]
    local ttl = tonumber(args[(i + 1) / 2] or '0')
    -- A member hash moves bucket by bucket (the live one's buckets that
    -- the rebuilt one lacks go).
    local tlo, thi = mrange(tmp)
    local llo, lhi = mrange(live)
    if tlo or llo then
      for b = math.min(tlo or llo, llo or tlo), math.max(thi or lhi, lhi or thi) do
        local tb, lb = tmp .. ':' .. fmt(b), live .. ':' .. fmt(b)
        if redis.call('EXISTS', tb) == 1 then
          redis.call('RENAME', tb, lb)
          if ttl > 0 then redis.call('EXPIRE', lb, ttl) end
        else
          redis.call('UNLINK', lb)
        end
      end
    end
    if redis.call('EXISTS', tmp) == 1 then
      redis.call('RENAME', tmp, live)
      if ttl > 0 then redis.call('EXPIRE', live, ttl) end
    else
      redis.call('DEL', live)
    end
  end
  return #keys / 2
end

--[[ rk_del  KEYS: keys to delete; a member hash goes with its buckets. ]]
local function del(keys, args)
  for i = 1, #keys do mdrop(keys[i]) end
  return #keys
end

--[[ Login throttling. Each key is a hash: n = attempts counted (failures,
and the attempt in progress), t = Redis's time (ms) of the last counted
one. KEYS: the account's key and the client address's key, both under the
{login} tag so they share a slot. After `free` counted attempts each
further one must come at least 2^(n - free) s (at most cap ms) after the
last; one that comes earlier is not counted. Counting happens here, before
the password is checked, so parallel guesses cannot all slip past. ]]
local function login_wait(key, free, cap, now)
  local v = redis.call('HMGET', key, 'n', 't')
  local n = tonumber(v[1] or '0') or 0
  if n < free then return 0 end
  local wait = cap
  if n - free < 40 then wait = math.min(cap, 1000 * 2 ^ (n - free)) end
  return math.max(0, (tonumber(v[2] or '0') or 0) + wait - now)
end

--[[ rk_login_try  KEYS: account key, address key
ARGV: window s, account free, account cap ms, address free, address cap ms
Returns 0 when the attempt may check its password (it is counted, and the
keys expire a window after it), else the ms to wait before the next one. ]]
local function login_try(keys, args)
  local tm = redis.call('TIME')
  local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
  local left = math.max(login_wait(keys[1], tonumber(args[2]), tonumber(args[3]), now),
                        login_wait(keys[2], tonumber(args[4]), tonumber(args[5]), now))
  if left > 0 then return math.ceil(left) end
  for _, k in ipairs(keys) do
    redis.call('HINCRBY', k, 'n', 1)
    redis.call('HSET', k, 't', fmt(now))
    redis.call('EXPIRE', k, args[1])
  end
  return 0
end

--[[ rk_login_ok  KEYS: account key, address key
The attempt was the right password: the account starts afresh, and the
address takes back the one attempt it was counted (not its failures, or a
guesser could clear them by logging into an account of its own). ]]
local function login_ok(keys, args)
  redis.call('DEL', keys[1])
  if redis.call('HINCRBY', keys[2], 'n', -1) <= 0 then redis.call('DEL', keys[2]) end
  return 0
end

--[[
Counters (counter_store.c): a counter's value in one window is the sum of
its sub-keys rk:{c:<game>:<name>:<i>}:<label>, i in 0..shards-1 (plain
integers, so INCRBY is exact); an increment touches one sub-key of each
window, so a hot counter spreads over several keys (and, on a cluster,
slots). Increments publish nothing: each rankd reads the totals every
coalesce-ms and publishes the changes itself.
]]

-- KEYS: rk:live, the idempotency record (used only with ARGV[2] == '1'),
-- then the sub-key of each window: all-time, day, week, month.
-- ARGV: delta, has_idem, idem_ttl, then the Unix second each periodic
-- window's key expires at (its end plus the retention).
-- Returns 1 when answered from the idempotency record, else 0. The record
-- holds 'd' and the delta (a key names one increment: another delta under
-- it is refused); '1', an older rankd's, is believed.
local function counter_incr(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then
    return redis.error_reply('UNAVAILABLE Redis has lost its data; the live view is being restored')
  end
  if args[2] == '1' then
    local rec = redis.call('GET', keys[2])
    if rec and rec ~= '1' and rec ~= 'd' .. args[1] then
      return redis.error_reply('INVALID_ARGUMENT this idempotency key was used for another increment of the ' ..
        'counter (delta ' .. string.sub(rec, 2) .. '); use a new key for each increment')
    end
    if rec then return 1 end
  end
  local delta = tonumber(args[1])
  -- Refuse before writing anything: a script is not rolled back.
  for i = 3, 6 do
    if exact_sum(tonumber(redis.call('GET', keys[i]) or '0'), delta) == nil then
      return redis.error_reply('OUT_OF_RANGE the counter would leave the exact range of +-2^53')
    end
  end
  for i = 3, 6 do
    redis.call('INCRBY', keys[i], args[1])
    if i > 3 then redis.call('EXPIREAT', keys[i], args[i]) end
  end
  if args[2] == '1' then redis.call('SET', keys[2], 'd' .. args[1], 'EX', args[3]) end
  return 0
end

-- KEYS: rk:live, then sub-keys. Returns each sub-key's value, false for a
-- missing one, so a caller can tell "never counted (or expired)" from 0.
local function counter_read(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then
    return redis.error_reply('UNAVAILABLE Redis has lost its data; the live view is being restored')
  end
  local out = {}
  for i = 2, #keys do out[i - 1] = redis.call('GET', keys[i]) end
  return out
end

-- Puts a window's total back after Redis lost it: KEYS are the window's
-- sub-keys; ARGV: total, expire-at (0: never). Only when every sub-key is
-- missing (anything there is newer than PostgreSQL's copy). 1 when set.
local function counter_restore(keys, args)
  for i = 1, #keys do
    if redis.call('EXISTS', keys[i]) == 1 then return 0 end
  end
  redis.call('SET', keys[1], args[1])
  if args[2] ~= '0' then redis.call('EXPIREAT', keys[1], args[2]) end
  return 1
end

-- Adds what was counted without Redis, once: KEYS: the replay's marker,
-- the window's first sub-key; ARGV: delta, the marker's ttl, expire-at
-- (0: never). 1 when added, 0 when the marker says it was already.
local function counter_add(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then return 0 end
  redis.call('INCRBY', keys[2], args[1])
  if args[3] ~= '0' then redis.call('EXPIREAT', keys[2], args[3]) end
  redis.call('SET', keys[1], '1', 'EX', args[2])
  return 1
end

-- Drops the write-behind's stream entries every group is done with:
-- those below each group's oldest pending entry, or below the entry after
-- the last it was given when nothing is pending. One XTRIM frees whole
-- nodes of the stream; XDEL of each acknowledged id cost more than the
-- read that fetched them (6 ms against 0.15 ms a batch of 1000).
-- keys: the stream. Replies the number of entries dropped.
local function next_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms .. '-' .. string.format('%d', tonumber(seq) + 1)
end

local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  return tonumber(as) < tonumber(bs)
end

--[[ rk_wb_trim  KEYS: a write-behind stream[, its rk:{b}:mirror]
Drops every entry that no consumer group still needs (there must be one:
the write-behind's) and,
in the split layout, that every target named in rk:{b}:mirror has applied (by
the mirror, which may lag: it then keeps more, never less). ]]
local function wb_trim(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return 0 end
  local bound = nil
  local ap = keys[2] and redis.call('HGETALL', keys[2]) or {}
  for i = 2, #ap, 2 do
    local b = next_id(ap[i])
    if bound == nil or older(b, bound) then bound = b end
  end
  -- Until a group exists (the write-behind's), nothing has been read:
  -- what the targets applied must still reach PostgreSQL.
  local grouped = false
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', keys[1])) do
    local name, last = nil, nil
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    grouped = true
    local b = next_id(last)
    local p = redis.call('XPENDING', keys[1], name)
    if p[1] > 0 then b = p[2] end
    if bound == nil or older(b, bound) then bound = b end
  end
  if bound == nil or not grouped then return 0 end
  return redis.call('XTRIM', keys[1], 'MINID', bound)
end

-- A total as h * SPLIT + l, 0 <= l < SPLIT: exact for any total of a few
-- terms within +-2^53 each, beyond 2^53 too.
local function norm(h, l)
  local carry = math.floor(l / SPLIT)
  return h + carry, l - carry * SPLIT
end

local function parts(x) return norm(0, x) end

local function in_range(h, l) return not (h > HALF or (h == HALF and l > 0) or h < -HALF) end

-- The player's total on a target: the exact one kept aside when it left
-- +-2^53, else the sorted set's (cur; nil: none).
local function exact_total(key, uid, cur)
  local kept = redis.call('HGET', key, uid)
  if kept then
    local h, l = string.match(kept, '^(%S+) (%S+)$')
    return tonumber(h), tonumber(l)
  end
  return parts(cur or 0)
end

--[[ rk_apply  KEYS: the target's all-time zset, its member hash, its
rk:{t}:applied, its rebuild flag, its rk:{t}:exact
ARGV: 1 the source stream, 2 the last entry read from it, 3 the target's
id, then for each entry of it that goes to this target: id, user id,
previous all-time value ('' none), new value, time (us)
The split layout's second half of a submission: the target's total of the
player moves by the change, as rk_submit moves it in the one-key layout.
Entries at or below the one the target applied last are skipped, so each
counts once however often, and by however many rankd, it is sent; their
order is the stream's. The total's tie time is the latest change's, so
two boards' streams may be applied in either order, and a total is kept
exactly (rk:{t}:exact, while beyond +-2^53, where one order of the
changes may pass on the way): it is ranked at +-2^53 while it is beyond,
and each time it leaves the range is counted (the field out_of_range).
Refused while the target is rebuilt.
Returns the last entry applied. ]]
local function apply(keys, args)
  if redis.call('EXISTS', keys[4]) == 1 then
    return redis.error_reply('UNAVAILABLE the board is being rebuilt from PostgreSQL; retry shortly')
  end
  local last = redis.call('HGET', keys[3], args[1]) or '0-0'
  local moved = false
  for i = 4, #args, 5 do
    if older(last, args[i]) then
      moved = true
      local uid, prev, new, ts = args[i + 1], tonumber(args[i + 2]), tonumber(args[i + 3]), tonumber(args[i + 4])
      local cur, member = current(keys[1], keys[2], uid)
      if cur == nil or new ~= (prev or 0) then
        -- Two boards' streams are applied in either order: the total is
        -- the same, and its time is the later change's, as in one call.
        if member and member_ts(true, member) > ts then ts = member_ts(true, member) end
        local h, l = exact_total(keys[5], uid, cur)
        local nh, nl = parts(new)
        local ph, pl = parts(prev or 0)
        h, l = norm(h + nh - ph, l + nl - pl)
        local total = h * SPLIT + l -- exact when within +-2^53
        if in_range(h, l) then
          redis.call('HDEL', keys[5], uid)
        else
          -- Beyond +-2^53 (one order of the changes may pass there): kept
          -- exactly aside, ranked at the bound, counted.
          redis.call('HSET', keys[5], uid, fmt(h) .. ' ' .. fmt(l))
          redis.call('HINCRBY', keys[3], 'out_of_range', 1)
          total = h < 0 and -LIMIT or LIMIT
        end
        place(keys[1], keys[2], uid, total, true, ts)
      end
    end
  end
  if older(last, args[2]) then
    redis.call('HSET', keys[3], args[1], args[2])
    last = args[2]
  end
  if moved then redis.call('PUBLISH', 'rk:ev', 'a\t' .. args[3]) end
  return last
end

--[[ Hot boards: a board's players spread over shards, each shard a whole
board's keys under its own tag. service/shards.c merges them; these
functions give it what a merge needs: each entry's member (the tie key
and the user id), whose bytes order equal scores. ]]

-- Whether member a comes before member b byte by byte (Lua's < on
-- strings follows the server's collation locale).
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Entries of a shard ahead of (score, member) in the board's order: those
-- strictly better, then with an equal score those whose member comes first
-- (ZREVRANGE lists equal scores by member from the highest bytes down on a
-- higher-is-better board). The equal scores are one run of the set by
-- index: a binary search over it, O(log^2 N). Returns better, ahead
-- (member '': only better).
local function ahead_of(zkey, desc, score, member)
  local better = count_better(zkey, desc, score)
  if member == '' then return better, better end
  local eq = redis.call('ZCOUNT', zkey, fmt(score), fmt(score))
  if eq == 0 then return better, better end
  local first = better -- the run's first index in ascending order
  if desc then first = redis.call('ZCARD', zkey) - better - eq end
  local lo, hi = 0, eq -- members of run[0, lo) are below member, of run[hi, eq) above
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local x = redis.call('ZRANGE', zkey, first + mid, first + mid)[1]
    if bytes_less(x, member) then lo = mid + 1 else hi = mid end
  end
  if desc then return better, better + eq - lo end
  return better, better + lo
end

--[[ rk_shard_rows  KEYS: zset, rebuild flag, live marker[, meta hash]
ARGV: desc, offset, count
Returns {size, then per entry from 0-based offset in the shard's order:
member, score, meta ('' for none)}. ]]
local function shard_rows(keys, args)
  local busy = check_rebuild(keys[2], keys[3])
  if busy then return busy end
  local desc, offset, count = args[1] == '1', tonumber(args[2]), tonumber(args[3])
  local out = {redis.call('ZCARD', keys[1])}
  if count <= 0 then return out end
  local r
  if desc then
    r = redis.call('ZREVRANGE', keys[1], offset, offset + count - 1, 'WITHSCORES')
  else
    r = redis.call('ZRANGE', keys[1], offset, offset + count - 1, 'WITHSCORES')
  end
  if #r == 0 then return out end
  local mt = {}
  if keys[4] then
    local uids = {}
    for i = 1, #r, 2 do uids[#uids + 1] = member_uid(r[i]) end
    mt = redis.call('HMGET', keys[4], unpack(uids))
  end
  for i = 1, #r, 2 do
    out[#out + 1] = r[i]
    out[#out + 1] = r[i + 1]
    out[#out + 1] = mt[(i + 1) / 2] or ''
  end
  return out
end

--[[ rk_shard_places  KEYS: zset, member hash, rebuild flag, live marker[, meta hash]
ARGV: desc, uid...
Returns {size, then per uid: member (false: not on the shard), score,
0-based position in the shard's order, meta ('' for none)}. ]]
local function shard_places(keys, args)
  local busy = check_rebuild(keys[3], keys[4])
  if busy then return busy end
  local desc = args[1] == '1'
  local out = {redis.call('ZCARD', keys[1])}
  for i = 2, #args do
    local m = member_of(keys[2], args[i])
    local s = m and redis.call('ZSCORE', keys[1], m)
    if s then
      out[#out + 1] = m
      out[#out + 1] = s
      out[#out + 1] = desc and redis.call('ZREVRANK', keys[1], m) or redis.call('ZRANK', keys[1], m)
      out[#out + 1] = keys[5] and redis.call('HGET', keys[5], args[i]) or ''
    else
      out[#out + 1] = false
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = ''
    end
  end
  return out
end

--[[ rk_shard_ahead  KEYS: zset, rebuild flag, live marker
ARGV: desc, then score, member pairs (member '': only the better count)
Returns {size, then per pair: entries strictly better, entries ahead
(ahead_of)}. ]]
local function shard_ahead(keys, args)
  local busy = check_rebuild(keys[2], keys[3])
  if busy then return busy end
  local desc = args[1] == '1'
  local out = {redis.call('ZCARD', keys[1])}
  for i = 2, #args - 1, 2 do
    local better, ahead = ahead_of(keys[1], desc, tonumber(args[i]), args[i + 1])
    out[#out + 1] = better
    out[#out + 1] = ahead
  end
  return out
end

redis.register_function('rk_submit', submit)
redis.register_function('rk_apply', apply)
redis.register_function('rk_wb_trim', wb_trim)
redis.register_function('rk_load', load)
redis.register_function('rk_swap', swap)
redis.register_function('rk_del', del)
redis.register_function('rk_unflag', unflag)
redis.register_function{function_name = 'rk_top', callback = top, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_around', callback = around, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_ranks', callback = ranks, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_count', callback = count, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_range', callback = range, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_shard_rows', callback = shard_rows, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_shard_places', callback = shard_places, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_shard_ahead', callback = shard_ahead, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_percentile', callback = percentile, flags = {'no-writes'}}
redis.register_function{function_name = 'rk_histogram', callback = histogram, flags = {'no-writes'}}
redis.register_function('rk_drop_board', drop_board)
redis.register_function('rk_remove', remove_entry)
redis.register_function('rk_restore', restore_entry)
redis.register_function('rk_login_try', login_try)
redis.register_function('rk_login_ok', login_ok)
redis.register_function('rk_counter_incr', counter_incr)
redis.register_function{function_name = 'rk_counter_read', callback = counter_read, flags = {'no-writes'}}
redis.register_function('rk_counter_restore', counter_restore)
redis.register_function('rk_counter_add', counter_add)
