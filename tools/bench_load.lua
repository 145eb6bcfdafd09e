--[[
bench_load.lua - loads synthetic data straight into Redis, in the layout
rankd keeps (server/store/rankd.lua), so tools/bench.sh can measure
millions of players without signing up millions of players. Boards go in
through rankd's own rk_load instead (tools/bench_gen.py).

  redis-cli --eval tools/bench_load.lua KEY1 KEY2 NAMES UIDS , MODE FIRST COUNT UIDBASE PREFIX TS

MODE "directory": NAMES maps uid -> PREFIX..i and UIDS the reverse (the
  user directory rankd resolves usernames with).
MODE "stream": KEY1 (rk:wb) gets COUNT write-behind entries in the fields
  rk_submit writes (board PREFIX, user, score, time, no idempotency key),
  all at once, so the write-behind finds a backlog to measure itself on.

Player i (FIRST <= i < FIRST+COUNT) has uid UIDBASE+i and a score spread
over 0..999999 by a fixed permutation, so loads are repeatable. Keep
COUNT to about 100000 per call so Redis is never blocked for long.
]]
local mode = ARGV[1]
local first, count = tonumber(ARGV[2]), tonumber(ARGV[3])
local base, prefix, ts = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local CHUNK = 500

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

return redis.error_reply('bench_load.lua: unknown mode ' .. mode)
