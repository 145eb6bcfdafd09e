--[[
bench_load.lua - loads synthetic players straight into Redis, in the exact
layout rankd keeps (server/store/rankd.lua), so tools/bench.sh can measure a
board of millions without signing up millions of players.

  redis-cli --eval tools/bench_load.lua ZSET MHASH NAMES UIDS , MODE FIRST COUNT UIDBASE PREFIX TS

MODE "board": ZSET gets member <14 hex tie key><uid> with a score, MHASH
  maps uid -> member (what rk_submit writes for one board and window).
MODE "directory": NAMES maps uid -> PREFIX..i and UIDS the reverse (the
  user directory rankd resolves usernames with).
MODE "bare": ZSET gets member <uid> only: the plain sorted set that
  rankd's per-member cost is compared with.
MODE "stream": ZSET (rk:wb) gets COUNT write-behind entries in the fields
  rk_submit writes (board PREFIX, user, score, time, no idempotency key),
  all at once, so the write-behind finds a backlog to measure itself on.

Player i (FIRST <= i < FIRST+COUNT) has uid UIDBASE+i and a score spread
over 0..999999 by a fixed permutation, so loads are repeatable. Members go
in 500 per ZADD/HSET call; keep COUNT to about 100000 per call so Redis is
never blocked for long.
]]
local mode = ARGV[1]
local first, count = tonumber(ARGV[2]), tonumber(ARGV[3])
local base, prefix, ts = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local LIMIT = 9007199254740992
local CHUNK = 500

local z, m = {}, {}
local function flush()
  if #z > 0 then redis.call('ZADD', KEYS[1], unpack(z)) end
  if #m > 0 then
    if mode == 'board' then redis.call('HSET', KEYS[2], unpack(m)) end
  end
  z, m = {}, {}
end

if mode == 'stream' then
  for i = first, first + count - 1 do
    redis.call('XADD', KEYS[1], '*', 'b', prefix, 'u', string.format('%d', base + i),
               's', string.format('%d', (i * 7919) % 1000000), 't', string.format('%d', ts + i), 'k', '')
  end
  return count
end

if mode == 'directory' then
  local names, uids = {}, {}
  for i = first, first + count - 1 do
    local uid = string.format('%d', base + i)
    local name = prefix .. string.format('%d', i)
    names[#names + 1] = uid
    names[#names + 1] = name
    uids[#uids + 1] = name
    uids[#uids + 1] = uid
    if #names >= 2 * CHUNK then
      redis.call('HSET', KEYS[3], unpack(names))
      redis.call('HSET', KEYS[4], unpack(uids))
      names, uids = {}, {}
    end
  end
  if #names > 0 then
    redis.call('HSET', KEYS[3], unpack(names))
    redis.call('HSET', KEYS[4], unpack(uids))
  end
  return count
end

for i = first, first + count - 1 do
  local uid = string.format('%d', base + i)
  local score = string.format('%d', (i * 7919) % 1000000)
  if mode == 'bare' then
    z[#z + 1] = score
    z[#z + 1] = uid
  else
    local member = string.format('%014x', LIMIT - (ts + i)) .. uid
    z[#z + 1] = score
    z[#z + 1] = member
    m[#m + 1] = uid
    m[#m + 1] = member
  end
  if #z >= 2 * CHUNK then flush() end
end
flush()
return count
